// The mpf tunnel header, wire format v3 (docs/protocol.md has it byte by byte).
//
// Outer Ethernet / IPv4 / UDP, then this 24-byte header, then the payload (the inner IPv4
// packet, no inner Ethernet, its header possibly in compact form: tunnel/compact.hpp; or a
// control body), then the 12-byte authentication tag (tunnel/auth.hpp).
#pragma once
#include <cstddef>
#include <cstdint>

#include "stats/drop_reason.hpp"

namespace mpf::tunnel {

constexpr uint8_t kVersion = 3;
constexpr size_t kHeaderLen = 24;
constexpr size_t kFrameTagLen = 12;  // tag_len of every v3 frame (tunnel::kTagLen)
// Outer IPv4 + UDP + mpf header + tag: what a tunnel frame adds to an inner packet sent whole.
constexpr size_t kOverhead = 20 + 8 + kHeaderLen + kFrameTagLen;
// What the compact inner header (tunnel/compact.hpp: 9 bytes for the 20 of the IPv4 header)
// saves, and so what a frame adds to an inner packet sent compact: most of them.
constexpr size_t kCompactSaving = 11;
constexpr size_t kCompactOverhead = kOverhead - kCompactSaving;

// Which way a frame goes: it picks the session key (tunnel/auth.hpp) and which inner address a
// compact header leaves out (tunnel/compact.hpp).
enum class Direction : uint8_t { gateway_to_server, server_to_gateway };

enum class FrameType : uint8_t {
  data = 0,         // inner IPv4 packet
  probe = 1,        // path probe / keepalive, gateway -> server (payload: probe body)
  probe_reply = 2,  // echo of a probe, server -> gateway
  feedback = 3,     // receiver report (loss, rate); multipath issue
};
constexpr uint8_t kMaxFrameType = 3;

// Flags (byte 1).
constexpr uint8_t kFlagDuplicate = 0x01;  // a redundant copy sent on another path
constexpr uint8_t kFlagRetransmit = 0x02; // resent after a loss report
// Deliver at once, no delay equalisation: the sender's mode keeps the flow on one path or
// copies it (pinned, active-backup, lowest-rtt, redundant), so latency comes first.
constexpr uint8_t kFlagPrompt = 0x04;
// Data only: the inner IPv4 header travels compact (tunnel/compact.hpp); with it, kFlagInnerDf
// says the inner packet had DF set.
constexpr uint8_t kFlagCompact = 0x08;
constexpr uint8_t kFlagInnerDf = 0x10;
constexpr uint8_t kFlagsKnown = 0x1f;
// The flags that describe the payload's form: a resend or a copy keeps them.
constexpr uint8_t kFlagsForm = kFlagCompact | kFlagInnerDf;

struct Header {
  FrameType type = FrameType::data;
  uint8_t flags = 0;
  uint8_t path_id = 0;       // sender's path index (0..7)
  uint8_t tag_len = kFrameTagLen;  // bytes of auth tag after the payload
  uint32_t tunnel_id = 0;    // selects the peer (and its key)
  uint16_t epoch = 0;        // sender start epoch: a change means the peer restarted
  uint16_t stream_id = 0;    // high byte: sending lcore (0xff: main); low: flow bucket
  uint32_t stream_seq = 0;   // per stream: reordering, duplicates, replay
  uint32_t path_seq = 0;     // low 32 bits of the sender's counter per (type, lcore, path)
  uint32_t timestamp_us = 0; // sender clock, microseconds, wraps
  bool operator==(const Header&) const = default;
};

// Writes kHeaderLen bytes at out.
void encode(const Header& h, uint8_t* out);

// Field offsets inside the header, for the sender's dequeue-time stamping: a frame gets its
// path_seq when it leaves the path's shaper queue, so the path sees path_seqs in sending order
// whichever lane the frame waited in.
constexpr size_t kFlagsOffset = 1;
constexpr size_t kStreamIdOffset = 10;
constexpr size_t kStreamSeqOffset = 12;
constexpr size_t kPathSeqOffset = 16;
// Rewrites the path_seq of an encoded header.
void set_path_seq(uint8_t* header, uint32_t path_seq);

// Parses the header of a frame of frame_len bytes (header + payload + tag). Drop::none and *out
// filled, or tunnel_truncated / tunnel_bad_version / tunnel_bad_type / tunnel_bad_length
// (unknown flags, compact on a frame other than data, inner_df without compact, or a tag longer
// than what follows the header).
Drop decode(const uint8_t* frame, size_t frame_len, Header* out);

}  // namespace mpf::tunnel
