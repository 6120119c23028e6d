// The compact inner header (docs/protocol.md, "Compact inner header"): a data frame's inner
// IPv4 header in 9 bytes instead of 20.
//
// Every inner packet a tunnel carries has the gateway's tunnel address on its near side (the
// source of what the gateway sends, after its SNAT; the destination of what the server sends):
// both ends know it, so the frame need not carry it. Nor the version and IHL (4, 5), the total
// length (the payload's), the fragment fields (only DF may be set: a flag) or the checksum
// (recomputed). What is left, in this order: TOS, TTL, protocol, identification (2), the far
// address (4). Stateless: each frame stands alone, so nothing is lost with a frame, unlike
// ROHC's contexts. 11 bytes a frame are 0.75% of a 1500-byte link's goodput.
#pragma once
#include <cstddef>
#include <cstdint>

#include "net/addr.hpp"
#include "tunnel/wire.hpp"

namespace mpf::tunnel {

constexpr size_t kCompactLen = 9;
static_assert(20 - kCompactLen == kCompactSaving);

// True when the IPv4 packet at ip (a valid header: the caller parsed it) can travel compact in
// direction dir with near = the gateway's tunnel address: no options, not a fragment, and its
// near-side address (source gateway -> server, destination server -> gateway) is near.
bool can_compact(const uint8_t* ip, Direction dir, net::Ipv4 near);

// Rewrites the 20-byte IPv4 header at ip (can_compact() was true) as the compact header at
// ip + kCompactSaving, which the caller makes the start of the payload. Returns the flags the
// frame's header takes for it: kFlagCompact, and kFlagInnerDf when DF was set.
uint8_t compact(uint8_t* ip, Direction dir);

// Restores the 20-byte IPv4 header a compact payload of payload_len bytes at c stands for (its
// frame's header had flags): writes it at out, which may overlap c (out = c - kCompactSaving
// when restoring in place). payload_len >= kCompactLen, and the restored total length
// payload_len + kCompactSaving must fit 16 bits (the caller checks both). The checksum is
// computed: the caller's usual IPv4 checks then apply to the restored packet.
void expand(const uint8_t* c, size_t payload_len, uint8_t flags, Direction dir, net::Ipv4 near,
            uint8_t* out);

}  // namespace mpf::tunnel
