// Bodies of the control frames (docs/protocol.md, sections 3.1-3.3): probe, probe_reply and
// feedback. Fixed big-endian layouts; the frame type is the version (a new layout needs a new
// type), so decoding is strict: exact length, every reserved field zero, every count in range.
//
// All functions are allocation-free and may be called per packet. A body is the frame's
// payload: frame length - kHeaderLen - tag_len bytes after the mpf header.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include "stats/drop_reason.hpp"

namespace mpf::tunnel {

constexpr size_t kProbeBodyLen = 56;
constexpr size_t kProbeReplyBodyLen = 44;
constexpr size_t kSessionSaltLen = 16;  // tunnel::kSaltLen
constexpr size_t kFeedbackHeadLen = 4;    // count u8, reserved u8[3]
constexpr size_t kFeedbackEntryLen = 12;
constexpr unsigned kFeedbackMaxEntries = 16;
constexpr uint16_t kFeedbackMaxMissing = 1024;
constexpr uint8_t kBodyMaxPathId = 7;     // paths 0..7, as in the header's path_id
constexpr size_t kFeedbackMaxLen = kFeedbackHeadLen + kFeedbackMaxEntries * kFeedbackEntryLen;

constexpr size_t feedback_len(unsigned count) {
  return kFeedbackHeadLen + size_t(count) * kFeedbackEntryLen;
}

// queue_us (both bodies): the one-way queueing delay its sender measures on the frames it
// receives from the far end on this path (docs/multipath.md, "Rate control"): how much queue
// the far end's sending builds in the network. 0 = none or not measured.

// Both probes and replies end with their sender's session (docs/protocol.md 6): the random
// salt its frames' key is derived from, and when that session started (the sender's wall
// clock, ms since 1970), so that a replayed announcement of an older session is refused.
struct SessionAnnounce {
  std::array<uint8_t, kSessionSaltLen> salt{};
  uint64_t start_ms = 0;
  bool operator==(const SessionAnnounce&) const = default;
};

// probe (gateway -> server), 52 bytes.
struct ProbeBody {
  uint32_t probe_seq = 0;  // per path, +1 per probe
  uint32_t rx_frames = 0;  // frames the sender received on this path from the far end (wraps)
  uint64_t rx_bytes = 0;   // bytes of those frames (the sender's own counting)
  uint32_t srtt_us = 0;    // sender's smoothed RTT on this path; 0 = unknown
  uint32_t queue_us = 0;   // queueing of the server's frames towards the gateway on this path
  // The gateway's probe interval on this path now: its next probe leaves within this many ms.
  // It grows when the tunnel is idle (multipath.idle_probe_interval_ms); the server scales its
  // dead time by it. 0 = not given (the server assumes its own probe_interval_ms).
  uint32_t interval_ms = 0;
  SessionAnnounce session;  // the gateway's
  uint32_t rttvar_us = 0;  // sender's RTT variation on this path; 0 = unknown
  bool operator==(const ProbeBody&) const = default;
};

// probe_reply (server -> gateway, same path), 44 bytes.
struct ProbeReplyBody {
  uint32_t probe_seq = 0;  // echo of the probe's
  uint32_t rx_frames = 0;  // replier's frames received on this path from the gateway (wraps)
  uint64_t rx_bytes = 0;
  uint32_t queue_us = 0;   // queueing of the answered probe on its way to the server
  SessionAnnounce session;  // the server's
  bool operator==(const ProbeReplyBody&) const = default;
};

// One loss report: `missing` consecutive path_seqs from first_missing of (sender worker, path).
// Or, with missing 0, a progress report: first_missing is the highest path_seq received from
// (sender worker, path) so far (docs/protocol.md 3.3).
struct FeedbackEntry {
  uint8_t sender_worker = 0;  // high byte of the frames' stream_id
  uint8_t path_id = 0;        // 0..kBodyMaxPathId
  uint32_t first_missing = 0; // first missing path_seq; progress: the highest received
  uint16_t missing = 0;       // 1..kFeedbackMaxMissing; 0: a progress report
  bool operator==(const FeedbackEntry&) const = default;
};

// feedback (either direction), 4 + 12 * count bytes, count 1..16.
struct FeedbackBody {
  uint8_t count = 0;
  std::array<FeedbackEntry, kFeedbackMaxEntries> entries{};
  bool operator==(const FeedbackBody& o) const;  // compares count and the first count entries
};

// Encoders write the body at out and return the bytes written, or 0 (nothing written) when cap
// is too small or, for feedback, the body is not encodable (count or an entry out of range):
// an encoder never produces what the decoder would reject.
size_t encode(const ProbeBody& b, uint8_t* out, size_t cap);
size_t encode(const ProbeReplyBody& b, uint8_t* out, size_t cap);
size_t encode(const FeedbackBody& b, uint8_t* out, size_t cap);

// Decoders: Drop::none and *out filled, or (with *out untouched)
//   tunnel_bad_length  length not exactly the layout's (for feedback: for its count), count
//                      0 or > 16, missing > 1024, a reserved field not zero;
//   tunnel_bad_path    a feedback entry's path_id beyond kBodyMaxPathId.
Drop decode(const uint8_t* body, size_t len, ProbeBody* out);
Drop decode(const uint8_t* body, size_t len, ProbeReplyBody* out);
Drop decode(const uint8_t* body, size_t len, FeedbackBody* out);

}  // namespace mpf::tunnel
