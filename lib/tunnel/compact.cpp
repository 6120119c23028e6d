#include "tunnel/compact.hpp"

#include <cstring>

#include "net/bytes.hpp"
#include "net/ipv4_packet.hpp"
#include "net/protocol.hpp"

namespace mpf::tunnel {

using namespace mpf::net;

namespace {
// The near address is implied; the far one travels in the compact header.
size_t near_off(Direction dir) { return dir == Direction::gateway_to_server ? kIpSrc : kIpDst; }
size_t far_off(Direction dir) { return dir == Direction::gateway_to_server ? kIpDst : kIpSrc; }
}  // namespace

bool can_compact(const uint8_t* ip, Direction dir, net::Ipv4 near) {
  return ip[0] == 0x45 && (load16(ip + kIpFragOff) & ~kIpFlagDf) == 0 &&
         load32(ip + near_off(dir)) == near;
}

uint8_t compact(uint8_t* ip, Direction dir) {
  uint8_t c[kCompactLen];
  c[0] = ip[kIpTos];
  c[1] = ip[kIpTtl];
  c[2] = ip[kIpProto];
  std::memcpy(c + 3, ip + kIpId, 2);
  std::memcpy(c + 5, ip + far_off(dir), 4);
  const bool df = load16(ip + kIpFragOff) & kIpFlagDf;
  std::memcpy(ip + kCompactSaving, c, kCompactLen);
  return uint8_t(kFlagCompact | (df ? kFlagInnerDf : 0));
}

void expand(const uint8_t* c, size_t payload_len, uint8_t flags, Direction dir, net::Ipv4 near,
            uint8_t* out) {
  uint8_t h[kIpv4HdrLen] = {};
  h[0] = 0x45;
  h[kIpTos] = c[0];
  store16(h + kIpTotalLen, uint16_t(payload_len + kCompactSaving));
  std::memcpy(h + kIpId, c + 3, 2);
  store16(h + kIpFragOff, (flags & kFlagInnerDf) ? kIpFlagDf : 0);
  h[kIpTtl] = c[1];
  h[kIpProto] = c[2];
  std::memcpy(h + far_off(dir), c + 5, 4);
  store32(h + near_off(dir), near);
  ipv4_set_checksum(h);
  std::memcpy(out, h, sizeof h);
}

}  // namespace mpf::tunnel
