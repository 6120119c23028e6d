// Internet checksum (RFC 1071). The one's-complement sum is independent of byte order
// (RFC 1071 2.(B)), so the data is summed as native 32-bit words into a 64-bit accumulator and
// the folded 16-bit result is swapped to the big-endian reading once at the end.
#include "net/checksum.hpp"

#include <bit>
#include <cstring>

#include "net/bytes.hpp"
#include "net/protocol.hpp"

namespace mpf::net {

namespace {

inline uint32_t load_native32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline uint16_t load_native16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

inline uint16_t fold64(uint64_t acc) {
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  uint32_t s = uint32_t(acc);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return uint16_t(s);
}

}  // namespace

uint32_t csum_partial(const uint8_t* data, size_t len, uint32_t sum) {
  uint64_t acc = 0;
  // Four independent accumulations per iteration; memcpy loads are fine at any alignment.
  while (len >= 16) {
    acc += uint64_t(load_native32(data)) + load_native32(data + 4) + load_native32(data + 8) +
           load_native32(data + 12);
    data += 16;
    len -= 16;
  }
  while (len >= 4) {
    acc += load_native32(data);
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    acc += load_native16(data);
    data += 2;
    len -= 2;
  }
  if (len) {
    // The odd byte is the high (first) byte of a zero-padded 16-bit word.
    if constexpr (std::endian::native == std::endian::little)
      acc += data[0];
    else
      acc += uint32_t(data[0]) << 8;
  }
  uint16_t r = fold64(acc);
  if constexpr (std::endian::native == std::endian::little) r = uint16_t(r >> 8 | r << 8);
  return fold64(uint64_t(r) + sum);
}

uint16_t ipv4_header_checksum(const uint8_t* ip) {
  const unsigned hl = (ip[0] & 0x0f) * 4u;
  uint32_t s = csum_partial(ip, kIpCsum);
  if (hl > kIpCsum + 2) s = csum_partial(ip + kIpCsum + 2, hl - (kIpCsum + 2), s);
  return csum_finish(s);
}

uint16_t l4_checksum(const uint8_t* ip, const uint8_t* l4, uint16_t l4_len) {
  // Pseudo-header: source, destination, zero, protocol, L4 length.
  uint32_t s = csum_partial(ip + kIpSrc, 8);
  s += ip[kIpProto];
  s += l4_len;
  s = csum_partial(l4, l4_len, s);
  return csum_finish(s);
}

}  // namespace mpf::net
