// Building tunnel frames towards a peer on one path: shared by the workers (data, feedback,
// retransmits) and the main lcore (probes, probe replies).
#pragma once
#include <rte_mbuf.h>

#include "app.hpp"
#include "tunnel/outer.hpp"
#include "tunnel/wire.hpp"

namespace mpf::dp {

// Where a frame for (peer, path) goes: out port, addresses, next-hop MAC.
struct PathRoute {
  bool ok = false;           // false: path unknown (server: not learned yet)
  bool mac_known = false;    // false: next hop unresolved (gateway): hold for ARP
  uint8_t port = 0;          // our port index
  net::Ipv4 next_hop = 0;
  tunnel::OuterAddrs addrs;  // dst_mac valid only when mac_known
};
PathRoute route_to_peer(const App& app, uint16_t peer, uint8_t path);

// Prepends the outer headers and the mpf header to m (whose data is the payload: an inner
// packet or a control body) and appends room for the tag (tag_len is always kFrameTagLen).
// h.timestamp_us must be set. False (m untouched) without headroom or tailroom, or when m is
// in segments that cannot be joined (a tag covers one contiguous run of bytes).
bool encapsulate(rte_mbuf* m, const PathRoute& r, const tunnel::Header& h, uint16_t ip_id);

// The last step before a frame leaves: writes the low 32 bits of counter (the sender's counter
// for the frame's type, lcore and path: docs/protocol.md 6) as its path_seq and the tag of
// its header and payload, under our session's key s.
void seal_frame(rte_mbuf* m, const tunnel::Sealer& s, uint64_t counter);

}  // namespace mpf::dp
