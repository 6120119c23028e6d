// lib/net: address text forms, IPv4 parsing, TTL, ICMP replies/errors, MSS clamp, ARP.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "net/addr.hpp"
#include "net/arp.hpp"
#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/icmp_build.hpp"
#include "net/ipv4_packet.hpp"
#include "net/protocol.hpp"

using namespace mpf;
using namespace mpf::net;

namespace {

constexpr Ipv4 kA = 0x0a000001;  // 10.0.0.1
constexpr Ipv4 kB = 0xc0000235;  // 192.0.2.53

// Packet buffer with headroom in front of the IPv4 header (for ICMP errors).
struct Buf {
  static constexpr size_t kHead = 64;
  std::vector<uint8_t> mem;
  explicit Buf(size_t n) : mem(kHead + n, 0) {}
  uint8_t* ip() { return mem.data() + kHead; }
};

// Builds IPv4 (ihl 5 + options of opt_len bytes) + l4 bytes; valid header checksum.
Buf make_ip(uint8_t proto, const std::vector<uint8_t>& l4, Ipv4 src = kA, Ipv4 dst = kB,
            size_t opt_len = 0, uint16_t frag = kIpFlagDf, uint8_t ttl = 64) {
  const size_t hl = 20 + opt_len;
  Buf b(hl + l4.size());
  uint8_t* ip = b.ip();
  ip[0] = uint8_t(0x40 | (hl / 4));
  store16(ip + kIpTotalLen, uint16_t(hl + l4.size()));
  store16(ip + 4, 0x1234);
  store16(ip + kIpFragOff, frag);
  ip[kIpTtl] = ttl;
  ip[kIpProto] = proto;
  store32(ip + kIpSrc, src);
  store32(ip + kIpDst, dst);
  for (size_t i = 0; i < opt_len; ++i) ip[20 + i] = 1;  // NOP options
  std::memcpy(ip + hl, l4.data(), l4.size());
  ipv4_set_checksum(ip);
  return b;
}

std::vector<uint8_t> udp_bytes(uint16_t sport, uint16_t dport, size_t payload) {
  std::vector<uint8_t> u(8 + payload);
  store16(u.data(), sport);
  store16(u.data() + 2, dport);
  store16(u.data() + 4, uint16_t(u.size()));
  for (size_t i = 0; i < payload; ++i) u[8 + i] = uint8_t(i * 7 + 3);
  return u;
}

// TCP header with the given flags and option bytes (padded to a multiple of 4 with EOL).
std::vector<uint8_t> tcp_bytes(uint8_t flags, std::vector<uint8_t> opts, size_t payload = 0) {
  while (opts.size() % 4) opts.push_back(0);
  std::vector<uint8_t> t(20 + opts.size() + payload);
  store16(t.data(), 40000);
  store16(t.data() + 2, 443);
  store32(t.data() + 4, 0x11223344);
  t[12] = uint8_t(((20 + opts.size()) / 4) << 4);
  t[13] = flags;
  store16(t.data() + 14, 64240);
  std::memcpy(t.data() + 20, opts.data(), opts.size());
  for (size_t i = 0; i < payload; ++i) t[20 + opts.size() + i] = uint8_t(i ^ 0x5a);
  return t;
}

void set_l4_checksum(uint8_t* ip) {
  const unsigned hl = (ip[0] & 0xf) * 4u;
  const uint16_t l4_len = uint16_t(load16(ip + kIpTotalLen) - hl);
  uint8_t* l4 = ip + hl;
  if (ip[kIpProto] == kProtoTcp) {
    store16(l4 + kTcpCsum, 0);
    store16(l4 + kTcpCsum, l4_checksum(ip, l4, l4_len));
  } else if (ip[kIpProto] == kProtoIcmp) {
    store16(l4 + kIcmpCsum, 0);
    store16(l4 + kIcmpCsum, csum_finish(csum_partial(l4, l4_len)));
  }
}

// True when the checksum over [p, p+n) (checksum field included) verifies.
bool sum_ok(const uint8_t* p, size_t n) { return csum_fold(csum_partial(p, n)) == 0xffff; }
bool tcp_ok(const uint8_t* ip) {
  const unsigned hl = (ip[0] & 0xf) * 4u;
  return l4_checksum(ip, ip + hl, uint16_t(load16(ip + kIpTotalLen) - hl)) == 0;
}

}  // namespace

// ---------------------------------------------------------------------------- addresses

TEST(Addr, ParseIpv4) {
  EXPECT_EQ(parse_ipv4("10.0.0.1"), 0x0a000001u);
  EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
  EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xffffffffu);
  EXPECT_EQ(parse_ipv4("192.168.100.7"), 0xc0a86407u);
  for (const char* bad : {"", "10", "10.0.0", "10.0.0.1.", ".10.0.0.1", "10.0.0.1.2", "10..0.1",
                          "10.0.0.256", "1000.0.0.1", "010.0.0.1", "10.0.0.01", " 10.0.0.1",
                          "10.0.0.1 ", "a.b.c.d", "10.0.0.-1", "+1.0.0.1", "10.0.0.1/8",
                          "10.0.0.1:80", "10.0.0.0x1"})
    EXPECT_FALSE(parse_ipv4(bad)) << '"' << bad << '"';
}

TEST(Addr, ParsePrefix) {
  EXPECT_EQ(parse_prefix("10.0.0.0/8"), (Prefix{0x0a000000, 8}));
  EXPECT_EQ(parse_prefix("0.0.0.0/0"), (Prefix{0, 0}));
  EXPECT_EQ(parse_prefix("100.64.0.2/32"), (Prefix{0x64400002, 32}));
  for (const char* bad : {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/8x",
                          "10.0.0.0/-1", "/8", "10.0.0/8", "10.0.0.0/8/8", "10.0.0.0/100"})
    EXPECT_FALSE(parse_prefix(bad)) << '"' << bad << '"';
}

TEST(Addr, PrefixMaskContains) {
  Prefix p{0x0a000000, 8};
  EXPECT_EQ(p.mask(), 0xff000000u);
  EXPECT_TRUE(p.contains(0x0affffff));
  EXPECT_FALSE(p.contains(0x0b000000));
  EXPECT_EQ((Prefix{0, 0}).mask(), 0u);
  EXPECT_TRUE((Prefix{0, 0}).contains(0xdeadbeef));
  EXPECT_EQ((Prefix{1, 32}).mask(), 0xffffffffu);
  EXPECT_FALSE((Prefix{1, 32}).contains(2));
}

TEST(Addr, ParseEndpoint) {
  EXPECT_EQ(parse_endpoint("10.0.0.1:4500"), (Endpoint{0x0a000001, 4500}));
  EXPECT_EQ(parse_endpoint("1.2.3.4:65535"), (Endpoint{0x01020304, 65535}));
  EXPECT_EQ(parse_endpoint("1.2.3.4:1"), (Endpoint{0x01020304, 1}));
  for (const char* bad : {"10.0.0.1", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536",
                          "10.0.0.1:99999", "10.0.0.1:045", "10.0.0.1:45a", ":4500",
                          "10.0.0.1:4500:1", "10.0.0:4500"})
    EXPECT_FALSE(parse_endpoint(bad)) << '"' << bad << '"';
}

TEST(Addr, ParseMac) {
  auto m = parse_mac("02:00:5e:10:AB:ff");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->b, (std::array<uint8_t, 6>{0x02, 0x00, 0x5e, 0x10, 0xab, 0xff}));
  EXPECT_FALSE(m->is_zero());
  EXPECT_TRUE(parse_mac("00:00:00:00:00:00")->is_zero());
  for (const char* bad : {"", "02:00:5e:10:ab", "02:00:5e:10:ab:ff:", "02-00-5e-10-ab-ff",
                          "2:00:5e:10:ab:ff0", "02:00:5e:10:ab:fg", "0200.5e10.abff",
                          "02:00:5e:10:ab:f", " 02:00:5e:10:ab:ff"})
    EXPECT_FALSE(parse_mac(bad)) << '"' << bad << '"';
}

TEST(Addr, ToStringRoundTrips) {
  EXPECT_EQ(to_string(Ipv4(0xc0a86407)), "192.168.100.7");
  EXPECT_EQ(to_string(Ipv4(0)), "0.0.0.0");
  EXPECT_EQ(to_string(Prefix{0x64400000, 10}), "100.64.0.0/10");
  EXPECT_EQ(to_string(Endpoint{0xcb007101, 4500}), "203.0.113.1:4500");
  EXPECT_EQ(to_string(Mac{{0x02, 0, 0x5e, 0x10, 0xab, 0xff}}), "02:00:5e:10:ab:ff");
  std::mt19937 rng(3);
  for (int i = 0; i < 1000; ++i) {
    Ipv4 a = uint32_t(rng());
    ASSERT_EQ(parse_ipv4(to_string(a)), a);
    Endpoint e{a, uint16_t(1 + rng() % 65535)};
    ASSERT_EQ(parse_endpoint(to_string(e)), e);
    Prefix p{a, uint8_t(rng() % 33)};
    ASSERT_EQ(parse_prefix(to_string(p)), p);
    Mac m;
    for (auto& x : m.b) x = uint8_t(rng());
    ASSERT_EQ(parse_mac(to_string(m)), m);
  }
}

// ---------------------------------------------------------------------------- IPv4 parsing

TEST(Ipv4Parse, UdpFieldsFilled) {
  Buf b = make_ip(kProtoUdp, udp_bytes(5353, 53, 10), kA, kB, 0, kIpFlagDf, 17);
  Ipv4Packet p;
  ASSERT_EQ(parse_ipv4(b.ip(), 38, &p), Drop::none);
  EXPECT_EQ(p.ip, b.ip());
  EXPECT_EQ(p.hdr_len, 20);
  EXPECT_EQ(p.total_len, 38);
  EXPECT_EQ(p.proto, kProtoUdp);
  EXPECT_EQ(p.ttl, 17);
  EXPECT_TRUE(p.dont_fragment);
  EXPECT_EQ(p.src, kA);
  EXPECT_EQ(p.dst, kB);
  EXPECT_EQ(p.l4, b.ip() + 20);
  EXPECT_EQ(p.l4_len, 18);
  EXPECT_EQ(p.sport, 5353);
  EXPECT_EQ(p.dport, 53);
  EXPECT_EQ(p.icmp_type, 0);
}

TEST(Ipv4Parse, TcpWithIpOptionsAndLinkPadding) {
  Buf b = make_ip(kProtoTcp, tcp_bytes(kTcpSyn, {2, 4, 5, 0xb4}), kA, kB, 8, 0);
  Ipv4Packet p;
  // 28 + 24 = 52 bytes; the frame has 10 more bytes of padding after it.
  b.mem.resize(b.mem.size() + 10);
  ASSERT_EQ(parse_ipv4(b.ip(), 62, &p), Drop::none);
  EXPECT_EQ(p.hdr_len, 28);
  EXPECT_EQ(p.total_len, 52);
  EXPECT_EQ(p.l4, b.ip() + 28);
  EXPECT_EQ(p.l4_len, 24);
  EXPECT_FALSE(p.dont_fragment);
  EXPECT_EQ(p.sport, 40000);
  EXPECT_EQ(p.dport, 443);
}

TEST(Ipv4Parse, IcmpEchoIdIsPort) {
  std::vector<uint8_t> icmp = {kIcmpEchoRequest, 0, 0, 0, 0xab, 0xcd, 0, 1};
  Buf b = make_ip(kProtoIcmp, icmp);
  Ipv4Packet p;
  ASSERT_EQ(parse_ipv4(b.ip(), 28, &p), Drop::none);
  EXPECT_EQ(p.icmp_type, kIcmpEchoRequest);
  EXPECT_EQ(p.sport, 0xabcd);
  EXPECT_EQ(p.dport, 0xabcd);
  icmp[0] = kIcmpEchoReply;
  b = make_ip(kProtoIcmp, icmp);
  ASSERT_EQ(parse_ipv4(b.ip(), 28, &p), Drop::none);
  EXPECT_EQ(p.sport, 0xabcd);
  // An error carries no identifier.
  icmp = {kIcmpTimeExceeded, 1, 0, 0, 0xab, 0xcd, 0, 1};
  b = make_ip(kProtoIcmp, icmp);
  ASSERT_EQ(parse_ipv4(b.ip(), 28, &p), Drop::none);
  EXPECT_EQ(p.icmp_type, kIcmpTimeExceeded);
  EXPECT_EQ(p.icmp_code, 1);
  EXPECT_EQ(p.sport, 0);
  EXPECT_EQ(p.dport, 0);
}

TEST(Ipv4Parse, OtherProtocolNoPorts) {
  Buf b = make_ip(47, {});  // GRE, empty payload
  Ipv4Packet p;
  p.sport = 7;
  ASSERT_EQ(parse_ipv4(b.ip(), 20, &p), Drop::none);
  EXPECT_EQ(p.proto, 47);
  EXPECT_EQ(p.l4_len, 0);
  EXPECT_EQ(p.sport, 0);
  EXPECT_EQ(p.dport, 0);
}

TEST(Ipv4Parse, Rejections) {
  Ipv4Packet p;
  auto fresh = [] { return make_ip(kProtoUdp, udp_bytes(1, 2, 4)); };  // 32 bytes
  {
    Buf b = fresh();
    EXPECT_EQ(parse_ipv4(b.ip(), 19, &p), Drop::ipv4_truncated);
    EXPECT_EQ(parse_ipv4(b.ip(), 0, &p), Drop::ipv4_truncated);
    EXPECT_EQ(parse_ipv4(b.ip(), 31, &p), Drop::ipv4_truncated);  // total_len 32 > avail
    EXPECT_EQ(parse_ipv4(b.ip(), 32, &p), Drop::none);
  }
  for (uint8_t v : {0, 6, 5, 15}) {
    Buf b = fresh();
    b.ip()[0] = uint8_t(v << 4 | 5);
    ipv4_set_checksum(b.ip());
    EXPECT_EQ(parse_ipv4(b.ip(), 32, &p), Drop::ipv4_bad_version) << int(v);
  }
  for (uint8_t ihl : {0, 1, 4}) {
    Buf b = fresh();
    b.ip()[0] = uint8_t(0x40 | ihl);
    EXPECT_EQ(parse_ipv4(b.ip(), 32, &p), Drop::ipv4_bad_ihl) << int(ihl);
  }
  {  // ihl 15 = 60 bytes of header in a 32-byte buffer
    Buf b = fresh();
    b.ip()[0] = 0x4f;
    EXPECT_EQ(parse_ipv4(b.ip(), 32, &p), Drop::ipv4_truncated);
  }
  {  // total length below the header
    Buf b = fresh();
    store16(b.ip() + kIpTotalLen, 19);
    ipv4_set_checksum(b.ip());
    EXPECT_EQ(parse_ipv4(b.ip(), 32, &p), Drop::ipv4_bad_length);
    store16(b.ip() + kIpTotalLen, 0);
    ipv4_set_checksum(b.ip());
    EXPECT_EQ(parse_ipv4(b.ip(), 32, &p), Drop::ipv4_bad_length);
  }
  {  // one bit flipped anywhere in the header
    for (unsigned byte = 0; byte < 20; ++byte) {
      if (byte == 0 || byte == 2 || byte == 3) continue;  // version/ihl/length: own errors
      Buf b = fresh();
      b.ip()[byte] ^= 0x10;
      EXPECT_EQ(parse_ipv4(b.ip(), 32, &p), Drop::ipv4_bad_checksum) << byte;
    }
  }
  {  // fragments: MF set, or any offset, with or without DF
    for (uint16_t frag : {uint16_t(kIpFlagMf), uint16_t(1), uint16_t(0x1fff),
                          uint16_t(kIpFlagDf | 8), uint16_t(kIpFlagMf | 100)}) {
      Buf b = make_ip(kProtoUdp, udp_bytes(1, 2, 4), kA, kB, 0, frag);
      EXPECT_EQ(parse_ipv4(b.ip(), 32, &p), Drop::ipv4_fragment) << frag;
    }
    Buf b = make_ip(kProtoUdp, udp_bytes(1, 2, 4), kA, kB, 0, 0);  // DF clear, not a fragment
    EXPECT_EQ(parse_ipv4(b.ip(), 32, &p), Drop::none);
    EXPECT_FALSE(p.dont_fragment);
  }
}

TEST(Ipv4Parse, L4Truncated) {
  Ipv4Packet p;
  // UDP: 8 bytes needed in total_len (bytes after total_len do not count).
  for (size_t n = 0; n < 8; ++n) {
    auto u = udp_bytes(1, 2, 0);
    u.resize(n);
    Buf b = make_ip(kProtoUdp, u);
    b.mem.resize(b.mem.size() + 16);  // padding present but beyond total_len
    EXPECT_EQ(parse_ipv4(b.ip(), uint32_t(20 + n + 16), &p), Drop::l4_truncated) << n;
  }
  {
    Buf b = make_ip(kProtoUdp, udp_bytes(1, 2, 0));
    EXPECT_EQ(parse_ipv4(b.ip(), 28, &p), Drop::none);
  }
  // ICMP: 8 bytes.
  {
    Buf b = make_ip(kProtoIcmp, {8, 0, 0, 0, 0, 1, 0});
    EXPECT_EQ(parse_ipv4(b.ip(), 27, &p), Drop::l4_truncated);
  }
  // TCP: 20 bytes, then the data offset must be >= 5 and fit.
  {
    auto t = tcp_bytes(kTcpAck, {});
    t.resize(19);
    Buf b = make_ip(kProtoTcp, t);
    EXPECT_EQ(parse_ipv4(b.ip(), 39, &p), Drop::l4_truncated);
  }
  for (uint8_t doff : {0, 4, 6, 15}) {
    auto t = tcp_bytes(kTcpAck, {});  // 20 bytes
    t[12] = uint8_t(doff << 4);
    Buf b = make_ip(kProtoTcp, t);
    EXPECT_EQ(parse_ipv4(b.ip(), 40, &p), Drop::l4_truncated) << int(doff);
  }
  {
    auto t = tcp_bytes(kTcpAck, {1, 1, 1, 1, 1, 1, 1, 1});  // doff 7, fits exactly
    Buf b = make_ip(kProtoTcp, t);
    EXPECT_EQ(parse_ipv4(b.ip(), 48, &p), Drop::none);
  }
}

TEST(Ipv4, SetChecksum) {
  Buf b = make_ip(kProtoUdp, udp_bytes(1, 2, 4), kA, kB, 12);
  store16(b.ip() + kIpCsum, 0xdead);
  ipv4_set_checksum(b.ip());
  EXPECT_TRUE(sum_ok(b.ip(), 32));
  Ipv4Packet p;
  EXPECT_EQ(parse_ipv4(b.ip(), 48, &p), Drop::none);
}

TEST(Ipv4, DecrementTtl) {
  std::mt19937 rng(8);
  for (int i = 0; i < 2000; ++i) {
    uint8_t ttl = uint8_t(2 + rng() % 254);
    Buf b = make_ip(kProtoUdp, udp_bytes(uint16_t(rng()), 2, 4), uint32_t(rng()), uint32_t(rng()),
                    0, uint16_t(rng() & kIpFlagDf), ttl);
    ASSERT_TRUE(ipv4_decrement_ttl(b.ip()));
    ASSERT_EQ(b.ip()[kIpTtl], ttl - 1);
    ASSERT_EQ(load16(b.ip() + kIpCsum), ipv4_header_checksum(b.ip()));
  }
  for (uint8_t ttl : {0, 1}) {
    Buf b = make_ip(kProtoUdp, udp_bytes(1, 2, 4), kA, kB, 0, kIpFlagDf, ttl);
    auto before = b.mem;
    EXPECT_FALSE(ipv4_decrement_ttl(b.ip()));
    EXPECT_EQ(b.mem, before);
  }
}

// ---------------------------------------------------------------------------- ICMP

TEST(Icmp, EchoReply) {
  std::vector<uint8_t> icmp = {kIcmpEchoRequest, 0, 0, 0, 0x12, 0x34, 0x00, 0x07};
  for (int i = 0; i < 37; ++i) icmp.push_back(uint8_t(i * 13));  // odd-sized payload
  Buf b = make_ip(kProtoIcmp, icmp, kA, kB, 0, kIpFlagDf, 5);
  set_l4_checksum(b.ip());
  uint8_t* ip = b.ip();
  const auto req = b.mem;
  Ipv4Packet p;
  ASSERT_EQ(parse_ipv4(ip, uint32_t(20 + icmp.size()), &p), Drop::none);
  make_echo_reply(p);

  EXPECT_EQ(load32(ip + kIpSrc), kB);
  EXPECT_EQ(load32(ip + kIpDst), kA);
  EXPECT_EQ(ip[kIpTtl], 64);
  EXPECT_EQ(load16(ip + kIpTotalLen), 20 + icmp.size());
  EXPECT_EQ(load16(ip + kIpCsum), ipv4_header_checksum(ip));
  EXPECT_EQ(ip[20], kIcmpEchoReply);
  EXPECT_EQ(ip[21], 0);
  // Identifier, sequence and payload unchanged.
  EXPECT_EQ(0, std::memcmp(ip + 24, req.data() + Buf::kHead + 24, icmp.size() - 4));
  // ICMP checksum matches a full recomputation.
  const uint16_t got = load16(ip + 22);
  store16(ip + 22, 0);
  EXPECT_EQ(got, csum_finish(csum_partial(ip + 20, icmp.size())));
  store16(ip + 22, got);

  EXPECT_EQ(p.src, kB);
  EXPECT_EQ(p.dst, kA);
  EXPECT_EQ(p.ttl, 64);
  EXPECT_EQ(p.icmp_type, kIcmpEchoReply);
  EXPECT_EQ(p.sport, 0x1234);
  Ipv4Packet q;
  ASSERT_EQ(parse_ipv4(ip, uint32_t(20 + icmp.size()), &q), Drop::none);
  EXPECT_EQ(q.src, kB);
}

namespace {
void check_icmp_error(Buf& b, uint32_t orig_len, uint8_t type, uint8_t code, uint16_t mtu,
                      uint16_t want_field, uint16_t want_len) {
  const auto before = b.mem;
  uint8_t* orig = b.ip();
  Ipv4Packet p;
  ASSERT_EQ(parse_ipv4(orig, orig_len, &p), Drop::none);
  const Ipv4 from = 0x64400001;
  Built e = build_icmp_error(p, type, code, mtu, from);
  ASSERT_EQ(e.ip, orig - 28);
  ASSERT_EQ(e.len, want_len);
  const uint8_t* ip = e.ip;
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(load16(ip + kIpTotalLen), want_len);
  EXPECT_EQ(load16(ip + kIpFragOff), 0);  // DF clear, no fragment
  EXPECT_EQ(ip[kIpTtl], 64);
  EXPECT_EQ(ip[kIpProto], kProtoIcmp);
  EXPECT_EQ(load32(ip + kIpSrc), from);
  EXPECT_EQ(load32(ip + kIpDst), p.src);
  EXPECT_EQ(load16(ip + kIpCsum), ipv4_header_checksum(ip));
  const uint8_t* icmp = ip + 20;
  EXPECT_EQ(icmp[0], type);
  EXPECT_EQ(icmp[1], code);
  EXPECT_EQ(load16(icmp + 4), 0);
  EXPECT_EQ(load16(icmp + 6), want_field);
  EXPECT_TRUE(sum_ok(icmp, want_len - 20u));
  std::vector<uint8_t> msg(icmp, icmp + (want_len - 20));
  store16(msg.data() + 2, 0);
  EXPECT_EQ(load16(icmp + 2), csum_finish(csum_partial(msg.data(), msg.size())));
  // The original packet is untouched (quote in place, nothing after it changed).
  EXPECT_EQ(0, std::memcmp(before.data() + Buf::kHead, b.mem.data() + Buf::kHead,
                           b.mem.size() - Buf::kHead));
  // Nothing before the 28 bytes of new header was written.
  EXPECT_EQ(0, std::memcmp(before.data(), b.mem.data(), Buf::kHead - 28));
  // The result is itself a valid IPv4/ICMP packet.
  Ipv4Packet q;
  ASSERT_EQ(parse_ipv4(e.ip, e.len, &q), Drop::none);
  EXPECT_EQ(q.icmp_type, type);
  EXPECT_EQ(q.icmp_code, code);
}
}  // namespace

TEST(Icmp, TimeExceededSmallPacketQuotedWhole) {
  Buf b = make_ip(kProtoUdp, udp_bytes(1234, 53, 72), kA, kB, 0, kIpFlagDf, 1);  // 100 bytes
  // A next-hop MTU given for another type does not appear.
  check_icmp_error(b, 100, kIcmpTimeExceeded, 0, 1400, 0, 128);
}

TEST(Icmp, FragNeededLargePacketQuoteLimitedTo576) {
  Buf b = make_ip(kProtoTcp, tcp_bytes(kTcpAck, {}, 1480));  // 1520 bytes, DF
  check_icmp_error(b, 1520, kIcmpDestUnreach, kIcmpFragNeededCode, 1448, 1448, 576);
}

TEST(Icmp, QuoteBoundary) {
  Buf b = make_ip(kProtoUdp, udp_bytes(1, 2, 520));  // 548 bytes: 28 + 548 = 576 exactly
  check_icmp_error(b, 548, kIcmpDestUnreach, 1, 0, 0, 576);
  Buf c = make_ip(kProtoUdp, udp_bytes(1, 2, 521));  // 549 bytes: quote cut to 548
  check_icmp_error(c, 549, kIcmpDestUnreach, 1, 0, 0, 576);
  Buf d = make_ip(kProtoUdp, udp_bytes(1, 2, 21));  // odd total length
  check_icmp_error(d, 49, kIcmpDestUnreach, kIcmpFragNeededCode, 576, 576, 77);
}

TEST(Icmp, ErrorAllowed) {
  Ipv4Packet p;
  Buf b = make_ip(kProtoUdp, udp_bytes(1, 2, 4));
  ASSERT_EQ(parse_ipv4(b.ip(), 32, &p), Drop::none);
  EXPECT_TRUE(icmp_error_allowed(p));
  for (Ipv4 bad_src : {0u, 0x00000005u, 0x7f000001u, 0xe0000001u, 0xffffffffu, 0xf0000001u}) {
    Ipv4Packet q = p;
    q.src = bad_src;
    EXPECT_FALSE(icmp_error_allowed(q)) << to_string(bad_src);
  }
  for (Ipv4 bad_dst : {0xe0000001u, 0xefffffffu, 0xffffffffu}) {
    Ipv4Packet q = p;
    q.dst = bad_dst;
    EXPECT_FALSE(icmp_error_allowed(q)) << to_string(bad_dst);
  }
  Ipv4Packet q = p;
  q.proto = kProtoIcmp;
  for (uint8_t t : {3, 4, 5, 11, 12}) {
    q.icmp_type = t;
    EXPECT_FALSE(icmp_error_allowed(q)) << int(t);
  }
  for (uint8_t t : {0, 8, 13}) {
    q.icmp_type = t;
    EXPECT_TRUE(icmp_error_allowed(q)) << int(t);
  }
}

// ---------------------------------------------------------------------------- MSS clamp

namespace {
struct Syn {
  Buf b;
  Ipv4Packet p;
  std::vector<uint8_t> before;
  Syn(uint8_t flags, std::vector<uint8_t> opts, size_t payload = 0)
      : b(make_ip(kProtoTcp, tcp_bytes(flags, std::move(opts), payload))) {
    set_l4_checksum(b.ip());
    EXPECT_TRUE(tcp_ok(b.ip()));
    EXPECT_EQ(parse_ipv4(b.ip(), uint32_t(b.mem.size() - Buf::kHead), &p), Drop::none);
    before = b.mem;
  }
  uint16_t at(size_t tcp_off) { return load16(p.l4 + tcp_off); }
  bool unchanged() const { return b.mem == before; }
};
}  // namespace

TEST(MssClamp, AlignedMss) {
  Syn s(kTcpSyn, {2, 4, 0x05, 0xb4});
  EXPECT_TRUE(clamp_tcp_mss(s.p, 1400));
  EXPECT_EQ(s.at(22), 1400);
  EXPECT_TRUE(tcp_ok(s.b.ip()));
  // Only the MSS value and the TCP checksum changed.
  for (size_t i = 0; i < s.b.mem.size(); ++i) {
    size_t off = i - Buf::kHead - 20;
    if (off == 22 || off == 23 || off == 16 || off == 17) continue;
    ASSERT_EQ(s.b.mem[i], s.before[i]) << i;
  }
  // Clamping again to the same value changes nothing.
  EXPECT_FALSE(clamp_tcp_mss(s.p, 1400));
}

TEST(MssClamp, OddOffsetMssAfterNop) {
  // NOP then MSS: the value sits at TCP offset 23, straddling checksum words.
  Syn s(kTcpSyn | kTcpAck, {1, 2, 4, 0x23, 0x28, 1, 1, 1}, 3);
  EXPECT_TRUE(clamp_tcp_mss(s.p, 1360));
  EXPECT_EQ(s.at(23), 1360);
  EXPECT_TRUE(tcp_ok(s.b.ip()));
}

TEST(MssClamp, TypicalLinuxSyn) {
  // MSS, SACK permitted, timestamps, NOP, window scale.
  Syn s(kTcpSyn, {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7});
  EXPECT_TRUE(clamp_tcp_mss(s.p, 1448));
  EXPECT_EQ(s.at(22), 1448);
  EXPECT_TRUE(tcp_ok(s.b.ip()));
  // MSS after the other options.
  Syn t(kTcpSyn, {4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7, 2, 4, 0x05, 0xb4});
  EXPECT_TRUE(clamp_tcp_mss(t.p, 1200));
  EXPECT_EQ(t.at(38), 1200);
  EXPECT_TRUE(tcp_ok(t.b.ip()));
}

TEST(MssClamp, LeftAlone) {
  {
    Syn s(kTcpSyn, {2, 4, 0x05, 0x00});  // 1280 <= 1400
    EXPECT_FALSE(clamp_tcp_mss(s.p, 1400));
    EXPECT_TRUE(s.unchanged());
  }
  {
    Syn s(kTcpAck, {2, 4, 0x05, 0xb4});  // not a SYN
    EXPECT_FALSE(clamp_tcp_mss(s.p, 1400));
    EXPECT_TRUE(s.unchanged());
  }
  {
    Syn s(kTcpSyn, {});  // no options
    EXPECT_FALSE(clamp_tcp_mss(s.p, 1400));
    EXPECT_TRUE(s.unchanged());
  }
  {
    Syn s(kTcpSyn, {0, 2, 4, 0x05, 0xb4});  // after EOL: not an option
    EXPECT_FALSE(clamp_tcp_mss(s.p, 1400));
    EXPECT_TRUE(s.unchanged());
  }
  {  // UDP
    Buf b = make_ip(kProtoUdp, udp_bytes(1, 2, 24));
    Ipv4Packet p;
    ASSERT_EQ(parse_ipv4(b.ip(), 52, &p), Drop::none);
    b.ip()[20 + 13] = kTcpSyn;
    auto before = b.mem;
    EXPECT_FALSE(clamp_tcp_mss(p, 100));
    EXPECT_EQ(b.mem, before);
  }
}

TEST(MssClamp, MalformedOptionsUntouched) {
  const std::vector<std::vector<uint8_t>> bad = {
      {2, 4, 0x05, 0xb4, 8, 0, 1, 1},              // length 0 after a valid MSS
      {2, 4, 0x05, 0xb4, 8, 1, 1, 1},              // length 1
      {2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0, 0, 0, 0},  // length runs past the header
      {2, 3, 0x05, 0xb4},                          // MSS of wrong length
      {2, 5, 0x05, 0xb4, 0, 0, 0, 0},              // MSS of wrong length
      {2, 4, 0x05, 0xb4, 1, 1, 1, 8},              // kind in the last byte, no length
      {1, 1, 2, 4},                                // MSS cut by the header end
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    Syn s(kTcpSyn, bad[i]);
    EXPECT_FALSE(clamp_tcp_mss(s.p, 1000)) << i;
    EXPECT_TRUE(s.unchanged()) << i;
  }
}

TEST(MssClamp, RandomOptionsKeepChecksumValid) {
  std::mt19937 rng(2);
  int clamped = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> opts;
    size_t n = rng() % 41;
    // Mostly well-formed option lists with an MSS somewhere, some random noise.
    while (opts.size() < n) {
      switch (rng() % 5) {
        case 0: opts.push_back(1); break;
        case 1: opts.insert(opts.end(), {2, 4, uint8_t(rng()), uint8_t(rng())}); break;
        case 2: opts.insert(opts.end(), {3, 3, 7}); break;
        case 3: opts.insert(opts.end(), {4, 2}); break;
        default: opts.push_back(uint8_t(rng())); break;
      }
    }
    if (opts.size() > 40) opts.resize(40);
    Syn s(uint8_t(kTcpSyn | (rng() & kTcpAck)), opts, rng() % 7);
    const uint16_t mss = uint16_t(500 + rng() % 1000);
    bool ch = clamp_tcp_mss(s.p, mss);
    ASSERT_TRUE(tcp_ok(s.b.ip())) << i;
    if (!ch) {
      ASSERT_TRUE(s.unchanged()) << i;
    } else {
      ++clamped;
      ASSERT_FALSE(s.unchanged());
    }
  }
  EXPECT_GT(clamped, 300);
}

// ---------------------------------------------------------------------------- ARP

TEST(Arp, WriteExactBytes) {
  uint8_t arp[28];
  const Mac me{{0x02, 0, 0, 0, 0, 0x01}};
  write_arp(arp, kArpRequest, me, 0xc0a80001, Mac{}, 0xc0a80002);
  const uint8_t want[28] = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
                            0x02, 0, 0, 0, 0, 0x01, 192, 168, 0, 1,
                            0, 0, 0, 0, 0, 0, 192, 168, 0, 2};
  EXPECT_EQ(0, std::memcmp(arp, want, 28));

  uint8_t eth[14];
  write_eth(eth, Mac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, me, kEtherTypeArp);
  const uint8_t want_eth[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01,
                                0x08, 0x06};
  EXPECT_EQ(0, std::memcmp(eth, want_eth, 14));
}

TEST(Arp, ParseRoundTrip) {
  uint8_t arp[28];
  const Mac a{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}}, t{{0x02, 0x66, 0x77, 0x88, 0x99, 0xaa}};
  write_arp(arp, kArpReply, a, 0x0a000001, t, 0x0a0000fe);
  ArpMessage m;
  ASSERT_EQ(parse_arp(arp, 28, &m), Drop::none);
  EXPECT_EQ(m.op, kArpReply);
  EXPECT_EQ(m.sender_mac, a);
  EXPECT_EQ(m.sender_ip, 0x0a000001u);
  EXPECT_EQ(m.target_mac, t);
  EXPECT_EQ(m.target_ip, 0x0a0000feu);
  // Ethernet minimum-frame padding after the body is fine.
  uint8_t padded[46] = {};
  std::memcpy(padded, arp, 28);
  EXPECT_EQ(parse_arp(padded, 46, &m), Drop::none);
}

TEST(Arp, ParseRejections) {
  uint8_t good[28];
  write_arp(good, kArpRequest, Mac{{2, 0, 0, 0, 0, 1}}, 1, Mac{}, 2);
  ArpMessage m;
  EXPECT_EQ(parse_arp(good, 27, &m), Drop::arp_malformed);
  EXPECT_EQ(parse_arp(good, 0, &m), Drop::arp_malformed);
  struct Mut { unsigned off; uint8_t v; };
  for (Mut mu : {Mut{1, 6}, Mut{0, 1}, Mut{2, 0x86}, Mut{3, 0x06}, Mut{4, 8}, Mut{5, 16},
                 Mut{7, 0}, Mut{7, 3}, Mut{7, 4}, Mut{6, 1}}) {
    uint8_t a[28];
    std::memcpy(a, good, 28);
    a[mu.off] = mu.v;
    EXPECT_EQ(parse_arp(a, 28, &m), Drop::arp_malformed) << mu.off << "=" << int(mu.v);
  }
}
