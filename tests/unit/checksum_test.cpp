// Internet checksum: known vectors, a byte-wise reference model, incremental updates (RFC 1624)
// against full recomputation, and the TCP/UDP pseudo-header checksum on hand-built packets.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/protocol.hpp"

using namespace mpf::net;

namespace {

// Straightforward model: big-endian 16-bit words, odd byte padded, end-around carry.
uint16_t ref_sum(const uint8_t* p, size_t n, uint32_t init = 0) {
  uint64_t s = init;
  for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t(p[i]) << 8 | p[i + 1];
  if (n & 1) s += uint32_t(p[n - 1]) << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(s);
}

// One's-complement values: 0x0000 and 0xffff both mean zero.
uint16_t canon(uint16_t v) { return v == 0xffff ? 0 : v; }

// A random valid IPv4 header (no options) + L4 bytes of the given protocol, checksums filled.
std::vector<uint8_t> random_packet(std::mt19937& rng, uint8_t proto, size_t l4_len) {
  std::vector<uint8_t> pkt(20 + l4_len);
  for (auto& b : pkt) b = uint8_t(rng());
  uint8_t* ip = pkt.data();
  ip[0] = 0x45;
  store16(ip + kIpTotalLen, uint16_t(pkt.size()));
  ip[kIpProto] = proto;
  store16(ip + kIpCsum, 0);
  store16(ip + kIpCsum, ipv4_header_checksum(ip));
  uint8_t* l4 = ip + 20;
  unsigned off = proto == kProtoTcp ? kTcpCsum : kUdpCsum;
  store16(l4 + off, 0);
  store16(l4 + off, l4_checksum(ip, l4, uint16_t(l4_len)));
  return pkt;
}

}  // namespace

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d.
  const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(csum_partial(d, sizeof d), 0xddf2u);
  EXPECT_EQ(csum_finish(csum_partial(d, sizeof d)), 0x220d);
  // Split on an even boundary and chained gives the same.
  EXPECT_EQ(csum_partial(d + 4, 4, csum_partial(d, 4)), 0xddf2u);
}

TEST(Checksum, OddLengthPadsLowByte) {
  const uint8_t d[] = {0xab};
  EXPECT_EQ(csum_partial(d, 1), 0xab00u);
  const uint8_t e[] = {0x12, 0x34, 0x56};
  EXPECT_EQ(csum_partial(e, 3), 0x1234u + 0x5600u);
  EXPECT_EQ(csum_partial(e, 0), 0u);
  EXPECT_EQ(csum_partial(e, 0, 0x1234), 0x1234u);
}

TEST(Checksum, CarryFolding) {
  std::vector<uint8_t> ff(4096, 0xff);
  // Any number of 0xffff words sums to 0xffff (negative zero) in one's complement.
  EXPECT_EQ(csum_partial(ff.data(), ff.size()), 0xffffu);
  const uint8_t d[] = {0xff, 0xff, 0x00, 0x01};
  EXPECT_EQ(csum_partial(d, 4), 0x0001u);  // 0xffff + 1 = 0x10000 -> 0x0001
  // A 32-bit initial sum is folded too: 0xffffffff is 0xffff + 0xffff = 0xffff, + 1 = 0x0001.
  EXPECT_EQ(csum_partial(d + 2, 2, 0xffffffffu), 0x0001u);
}

TEST(Checksum, MatchesReferenceAnyLengthAndAlignment) {
  std::mt19937 rng(1071);
  std::vector<uint8_t> buf(3000 + 8);
  for (int i = 0; i < 4000; ++i) {
    for (auto& b : buf) b = uint8_t(rng());
    size_t off = rng() % 8;
    size_t len = i < 64 ? size_t(i) : rng() % 3000;
    uint32_t init = i % 3 == 0 ? 0 : uint32_t(rng());
    // ref folds init the same way csum_partial does (end-around carry of a 32-bit value).
    uint32_t got = csum_partial(buf.data() + off, len, init);
    ASSERT_LE(got, 0xffffu);
    ASSERT_EQ(canon(uint16_t(got)), canon(ref_sum(buf.data() + off, len, init)))
        << "len " << len << " off " << off << " init " << init;
  }
}

TEST(Checksum, Ipv4HeaderKnownVector) {
  // The classic example header: 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7.
  uint8_t ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                  0x12, 0x34, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  // The stale value in the checksum field is ignored.
  EXPECT_EQ(ipv4_header_checksum(ip), 0xb861);
  store16(ip + kIpCsum, 0xb861);
  EXPECT_EQ(csum_fold(csum_partial(ip, 20)), 0xffff);
}

TEST(Checksum, Ipv4HeaderWithOptionsCoversIhl) {
  std::mt19937 rng(7);
  for (unsigned ihl = 5; ihl <= 15; ++ihl) {
    uint8_t ip[60];
    for (auto& b : ip) b = uint8_t(rng());
    ip[0] = uint8_t(0x40 | ihl);
    uint16_t c = ipv4_header_checksum(ip);
    store16(ip + kIpCsum, 0);
    EXPECT_EQ(c, uint16_t(~ref_sum(ip, ihl * 4))) << ihl;
    // Bytes beyond ihl*4 do not matter.
    ip[59] ^= 0x5a;
    if (ihl < 15) {
      EXPECT_EQ(ipv4_header_checksum(ip), c);
    }
  }
}

TEST(Checksum, UdpHandBuilt) {
  // 192.168.0.1:1024 -> 192.168.0.199:53, payload "abcde"; checksum computed independently.
  uint8_t pkt[20 + 8 + 5] = {0x45, 0, 0, 33, 0, 0, 0, 0, 64, 17, 0, 0, 192, 168, 0, 1,
                             192, 168, 0, 199,
                             0x04, 0x00, 0x00, 0x35, 0x00, 0x0d, 0x00, 0x00, 'a', 'b', 'c', 'd', 'e'};
  EXPECT_EQ(l4_checksum(pkt, pkt + 20, 13), 0x4fbf);
  store16(pkt + 20 + kUdpCsum, 0x4fbf);
  // With the checksum in place, the receiver's sum over pseudo-header + datagram is 0xffff
  // (l4_checksum then yields 0).
  EXPECT_EQ(l4_checksum(pkt, pkt + 20, 13), 0);
}

TEST(Checksum, TcpHandBuilt) {
  // SYN 192.168.0.1:40000 -> 192.168.0.199:80, seq 0x01020304, doff 6, win 65535, MSS 1460.
  uint8_t pkt[20 + 24] = {0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 168, 0, 1,
                          192, 168, 0, 199,
                          0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0,
                          0x60, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4};
  EXPECT_EQ(l4_checksum(pkt, pkt + 20, 24), 0x7577);
  // The protocol number is part of the pseudo-header.
  pkt[kIpProto] = kProtoUdp;
  EXPECT_NE(l4_checksum(pkt, pkt + 20, 24), 0x7577);
  pkt[kIpProto] = kProtoTcp;
  // So are the addresses.
  pkt[kIpSrc + 3] = 2;
  EXPECT_NE(l4_checksum(pkt, pkt + 20, 24), 0x7577);
}

TEST(Checksum, OddLengthL4) {
  std::mt19937 rng(99);
  for (int i = 0; i < 500; ++i) {
    size_t l4_len = 8 + rng() % 200;
    auto pkt = random_packet(rng, kProtoUdp, l4_len);
    const uint8_t* ip = pkt.data();
    std::vector<uint8_t> ph(12 + l4_len);
    std::memcpy(ph.data(), ip + kIpSrc, 8);
    ph[8] = 0;
    ph[9] = kProtoUdp;
    store16(ph.data() + 10, uint16_t(l4_len));
    std::memcpy(ph.data() + 12, ip + 20, l4_len);
    ASSERT_EQ(ref_sum(ph.data(), ph.size()), 0xffff) << l4_len;
  }
}

// RFC 1624: updating the checksum for a changed field gives what full recomputation gives,
// for the IPv4 header checksum and for TCP/UDP checksums (which cover the addresses through
// the pseudo-header), over thousands of random packets and field changes.
TEST(Checksum, IncrementalEqualsFullRecompute) {
  std::mt19937 rng(1624);
  for (int i = 0; i < 5000; ++i) {
    const uint8_t proto = (i & 1) ? kProtoTcp : kProtoUdp;
    const size_t l4_len = (proto == kProtoTcp ? 20 : 8) + rng() % 300;
    auto pkt = random_packet(rng, proto, l4_len);
    uint8_t* ip = pkt.data();
    uint8_t* l4 = ip + 20;
    const unsigned l4c = proto == kProtoTcp ? kTcpCsum : kUdpCsum;

    // Change source or destination address (32 bits, both checksums), as SNAT/DNAT do.
    const unsigned aoff = (rng() & 1) ? kIpSrc : kIpDst;
    const uint32_t old_a = load32(ip + aoff), new_a = uint32_t(rng());
    store32(ip + aoff, new_a);
    store16(ip + kIpCsum, csum_update32(load16(ip + kIpCsum), old_a, new_a));
    store16(l4 + l4c, csum_update32(load16(l4 + l4c), old_a, new_a));
    // Change a port (16 bits, L4 checksum only).
    const unsigned poff = (rng() & 1) ? kL4Sport : kL4Dport;
    const uint16_t old_p = load16(l4 + poff), new_p = uint16_t(rng());
    store16(l4 + poff, new_p);
    store16(l4 + l4c, csum_update16(load16(l4 + l4c), old_p, new_p));
    // Change the TTL (the high byte of a 16-bit word).
    const uint16_t old_w = load16(ip + kIpTtl);
    ip[kIpTtl] = uint8_t(rng());
    store16(ip + kIpCsum, csum_update16(load16(ip + kIpCsum), old_w, load16(ip + kIpTtl)));

    const uint16_t inc_ip = load16(ip + kIpCsum), inc_l4 = load16(l4 + l4c);
    ASSERT_EQ(inc_ip, ipv4_header_checksum(ip)) << i;
    store16(l4 + l4c, 0);
    ASSERT_EQ(inc_l4, l4_checksum(ip, l4, uint16_t(l4_len))) << i;
  }
}

TEST(Checksum, IncrementalNoChangeIsIdentity) {
  std::mt19937 rng(5);
  for (int i = 0; i < 1000; ++i) {
    uint16_t c = uint16_t(rng() % 0xffff);  // a checksum full computation can produce
    uint16_t v = uint16_t(rng());
    ASSERT_EQ(csum_update16(c, v, v), c);
  }
}
