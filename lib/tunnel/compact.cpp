#include "tunnel/compact.hpp"

#include <cstring>

#include "net/bytes.hpp"
#include "net/checksum.hpp"

namespace mpf::tunnel {

namespace {
// IPv4 header offsets.
constexpr size_t kTos = 1, kTotalLen = 2, kId = 4, kFrag = 6, kTtl = 8, kProto = 9, kCsum = 10,
                 kSrc = 12, kDst = 16;
constexpr uint16_t kDf = 0x4000;
// The far address is the one the compact header carries.
size_t near_off(Direction dir) { return dir == Direction::gateway_to_server ? kSrc : kDst; }
size_t far_off(Direction dir) { return dir == Direction::gateway_to_server ? kDst : kSrc; }
}  // namespace

bool can_compact(const uint8_t* ip, Direction dir, net::Ipv4 near) {
  return ip[0] == 0x45 && (net::load16(ip + kFrag) & ~kDf) == 0 &&
         net::load32(ip + near_off(dir)) == near;
}

uint8_t compact(uint8_t* ip, Direction dir) {
  uint8_t c[kCompactLen];
  c[0] = ip[kTos];
  c[1] = ip[kTtl];
  c[2] = ip[kProto];
  std::memcpy(c + 3, ip + kId, 2);
  std::memcpy(c + 5, ip + far_off(dir), 4);
  const bool df = net::load16(ip + kFrag) & kDf;
  std::memcpy(ip + kCompactSaving, c, kCompactLen);
  return uint8_t(kFlagCompact | (df ? kFlagInnerDf : 0));
}

void expand(const uint8_t* c, size_t payload_len, uint8_t flags, Direction dir, net::Ipv4 near,
            uint8_t* out) {
  uint8_t h[20];
  h[0] = 0x45;
  h[kTos] = c[0];
  net::store16(h + kTotalLen, uint16_t(payload_len + kCompactSaving));
  std::memcpy(h + kId, c + 3, 2);
  net::store16(h + kFrag, (flags & kFlagInnerDf) ? kDf : 0);
  h[kTtl] = c[1];
  h[kProto] = c[2];
  std::memcpy(h + far_off(dir), c + 5, 4);
  net::store32(h + near_off(dir), near);
  net::store16(h + kCsum, net::ipv4_header_checksum(h));
  std::memcpy(out, h, sizeof h);
}

}  // namespace mpf::tunnel
