// Internet checksum (RFC 1071) and its incremental update (RFC 1624, eqn. 3).
#pragma once
#include <cstddef>
#include <cstdint>

namespace mpf::net {

// One's-complement sum of len bytes, folded to 16 bits, not inverted. Odd length is padded.
uint32_t csum_partial(const uint8_t* data, size_t len, uint32_t sum = 0);
inline uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}
// Final checksum value to store (host order) for data whose checksum field is zero.
inline uint16_t csum_finish(uint32_t sum) { return uint16_t(~csum_fold(sum)); }

// RFC 1624: new checksum after one 16-bit field changed from old_v to new_v (all host order).
inline uint16_t csum_update16(uint16_t csum, uint16_t old_v, uint16_t new_v) {
  uint32_t s = uint16_t(~csum) + uint32_t(uint16_t(~old_v)) + new_v;
  return uint16_t(~csum_fold(s));
}
inline uint16_t csum_update32(uint16_t csum, uint32_t old_v, uint32_t new_v) {
  csum = csum_update16(csum, uint16_t(old_v >> 16), uint16_t(new_v >> 16));
  return csum_update16(csum, uint16_t(old_v), uint16_t(new_v));
}

// IPv4 header checksum over ihl*4 bytes (the checksum field is taken as zero). Host order.
uint16_t ipv4_header_checksum(const uint8_t* ip);
// TCP/UDP checksum with the IPv4 pseudo-header over l4_len bytes at l4 (checksum field taken as
// it is: zero it first). Host order; for UDP a result of 0 must be sent as 0xffff.
uint16_t l4_checksum(const uint8_t* ip, const uint8_t* l4, uint16_t l4_len);

}  // namespace mpf::net
