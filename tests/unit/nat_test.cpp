// NAT engine tests: real packets built byte by byte, translated, and compared with packets built
// from scratch with the expected addresses (so every byte, checksums included, is checked
// against a full recomputation).
#include <gtest/gtest.h>
#include <rte_cycles.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "nat/flow_select.hpp"
#include "nat/nat_table.hpp"
#include "nat/port_partition.hpp"
#include "net/ipv4_packet.hpp"
#include "net/protocol.hpp"

namespace mpf::nat {
namespace {

using Bytes = std::vector<uint8_t>;
using net::Ipv4;

constexpr Ipv4 ip4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return Ipv4(a << 24 | b << 16 | c << 8 | d);
}

const Ipv4 kIn = ip4(192, 168, 1, 10);
const Ipv4 kIn2 = ip4(192, 168, 1, 20);
const Ipv4 kExt = ip4(100, 64, 0, 1);
const Ipv4 kRem = ip4(203, 0, 113, 5);
const Ipv4 kRem2 = ip4(198, 51, 100, 7);
const Ipv4 kRouter = ip4(198, 51, 100, 254);

// ---- packet builders (their own checksum code: independent of lib/net) ----

void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = uint8_t(v >> 8);
  b[off + 1] = uint8_t(v);
}
void put32(Bytes& b, size_t off, uint32_t v) {
  put16(b, off, uint16_t(v >> 16));
  put16(b, off + 2, uint16_t(v));
}
uint16_t get16(const Bytes& b, size_t off) { return uint16_t(b[off] << 8 | b[off + 1]); }
uint32_t get32(const Bytes& b, size_t off) { return uint32_t(get16(b, off)) << 16 | get16(b, off + 2); }

uint32_t ref_sum(const uint8_t* d, size_t n, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t(d[i] << 8 | d[i + 1]);
  if (n & 1) s += uint32_t(d[n - 1]) << 8;
  return s;
}
uint16_t ref_fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(s);
}
uint16_t ref_csum(const uint8_t* d, size_t n, uint32_t s = 0) {
  return uint16_t(~ref_fold(ref_sum(d, n, s)));
}
uint32_t pseudo(Ipv4 s, Ipv4 d, uint8_t proto, size_t len) {
  return (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + proto + uint32_t(len);
}

Bytes ipv4(uint8_t proto, Ipv4 src, Ipv4 dst, const Bytes& l4, uint8_t ttl = 64) {
  Bytes b(20);
  b[0] = 0x45;
  put16(b, 2, uint16_t(20 + l4.size()));
  put16(b, 4, 0x1234);
  put16(b, 6, 0x4000);  // DF
  b[8] = ttl;
  b[9] = proto;
  put32(b, 12, src);
  put32(b, 16, dst);
  put16(b, 10, ref_csum(b.data(), 20));
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

Bytes tcp(Ipv4 s, uint16_t sp, Ipv4 d, uint16_t dp, uint8_t flags, size_t payload = 12) {
  Bytes l4(20 + payload);
  put16(l4, 0, sp);
  put16(l4, 2, dp);
  put32(l4, 4, 0x01020304);
  put32(l4, 8, (flags & net::kTcpAck) ? 0x0a0b0c0d : 0);
  l4[12] = 5 << 4;
  l4[13] = flags;
  put16(l4, 14, 0xfaf0);
  for (size_t i = 0; i < payload; ++i) l4[20 + i] = uint8_t(i * 7 + 3);
  put16(l4, 16, ref_csum(l4.data(), l4.size(), pseudo(s, d, net::kProtoTcp, l4.size())));
  return ipv4(net::kProtoTcp, s, d, l4);
}

Bytes udp_body(Ipv4 s, uint16_t sp, Ipv4 d, uint16_t dp, const Bytes& body, bool csum = true) {
  Bytes l4(8);
  put16(l4, 0, sp);
  put16(l4, 2, dp);
  put16(l4, 4, uint16_t(8 + body.size()));
  l4.insert(l4.end(), body.begin(), body.end());
  if (csum) {
    uint16_t c = ref_csum(l4.data(), l4.size(), pseudo(s, d, net::kProtoUdp, l4.size()));
    put16(l4, 6, c == 0 ? 0xffff : c);
  }
  return ipv4(net::kProtoUdp, s, d, l4);
}

Bytes udp(Ipv4 s, uint16_t sp, Ipv4 d, uint16_t dp, size_t payload = 10, bool csum = true) {
  Bytes body(payload);
  for (size_t i = 0; i < payload; ++i) body[i] = uint8_t(i * 13 + 1);
  return udp_body(s, sp, d, dp, body, csum);
}

Bytes icmp(uint8_t type, uint8_t code, Ipv4 s, Ipv4 d, uint32_t rest, const Bytes& body) {
  Bytes l4(8);
  l4[0] = type;
  l4[1] = code;
  put32(l4, 4, rest);
  l4.insert(l4.end(), body.begin(), body.end());
  put16(l4, 2, ref_csum(l4.data(), l4.size()));
  return ipv4(net::kProtoIcmp, s, d, l4);
}

Bytes echo(uint8_t type, Ipv4 s, Ipv4 d, uint16_t id, uint16_t seq = 1) {
  Bytes body(16);
  for (size_t i = 0; i < body.size(); ++i) body[i] = uint8_t(0xa0 + i);
  return icmp(type, 0, s, d, uint32_t(id) << 16 | seq, body);
}

Bytes icmp_error(uint8_t type, uint8_t code, Ipv4 s, Ipv4 d, const Bytes& quoted,
                 size_t quote_len = SIZE_MAX) {
  Bytes q(quoted.begin(), quoted.begin() + std::min(quote_len, quoted.size()));
  return icmp(type, code, s, d, type == net::kIcmpDestUnreach && code == 4 ? 1400 : 0, q);
}

// ---- harness ----

net::Ipv4Packet parse(Bytes& b) {
  net::Ipv4Packet p;
  EXPECT_EQ(net::parse_ipv4(b.data(), uint32_t(b.size()), &p), Drop::none);
  return p;
}

// Translates in place; on success checks that p's fields match the rewritten bytes.
Drop in2out(NatTable& t, Bytes& b, uint64_t now) {
  net::Ipv4Packet p = parse(b);
  Drop d = t.inside_to_outside(p, now);
  if (d == Drop::none) {
    net::Ipv4Packet q = parse(b);
    EXPECT_EQ(p.src, q.src);
    EXPECT_EQ(p.dst, q.dst);
    EXPECT_EQ(p.sport, q.sport);
    EXPECT_EQ(p.dport, q.dport);
  }
  return d;
}
Drop out2in(NatTable& t, Bytes& b, uint64_t now) {
  net::Ipv4Packet p = parse(b);
  Drop d = t.outside_to_inside(p, now);
  if (d == Drop::none) {
    net::Ipv4Packet q = parse(b);
    EXPECT_EQ(p.src, q.src);
    EXPECT_EQ(p.dst, q.dst);
    EXPECT_EQ(p.sport, q.sport);
    EXPECT_EQ(p.dport, q.dport);
  }
  return d;
}

uint16_t sport_of(const Bytes& b) { return get16(b, 20 + (b[9] == net::kProtoIcmp ? 4 : 0)); }

// Checks every checksum of a packet by recomputation (outer only).
void expect_checksums_valid(const Bytes& b) {
  EXPECT_EQ(ref_fold(ref_sum(b.data(), 20)), 0xffff) << "IPv4 header checksum";
  const uint8_t* l4 = b.data() + 20;
  size_t n = b.size() - 20;
  switch (b[9]) {
    case net::kProtoTcp:
      EXPECT_EQ(ref_fold(ref_sum(l4, n, pseudo(get32(b, 12), get32(b, 16), b[9], n))), 0xffff);
      break;
    case net::kProtoUdp:
      if (get16(b, 26) != 0) {
        EXPECT_EQ(ref_fold(ref_sum(l4, n, pseudo(get32(b, 12), get32(b, 16), b[9], n))), 0xffff);
      }
      break;
    case net::kProtoIcmp:
      EXPECT_EQ(ref_fold(ref_sum(l4, n)), 0xffff);
      break;
  }
}

int g_table = 0;
std::string unique_name() { return "nat_t" + std::to_string(g_table++); }

TableParams params(uint16_t first = 20000, uint16_t last = 20999, uint32_t max = 1024) {
  TableParams p;
  p.name = unique_name();
  p.external_ip = kExt;
  p.port_first = first;
  p.port_last = last;
  p.max_sessions = max;
  p.timeouts.tcp_established_s = 7440;
  p.timeouts.tcp_transitory_s = 240;
  p.timeouts.udp_s = 300;
  p.timeouts.icmp_s = 60;
  return p;
}

std::unique_ptr<NatTable> make(const TableParams& p) {
  std::string err;
  auto t = NatTable::create(p, &err);
  EXPECT_TRUE(t) << err;
  return t;
}

// ---- tests ----

TEST(NatTable, CreateRejectsBadParams) {
  std::string err;
  TableParams p = params();
  auto t1 = NatTable::create(p, &err);
  ASSERT_TRUE(t1) << err;
  auto dup = NatTable::create(p, &err);  // same name
  EXPECT_FALSE(dup);
  EXPECT_NE(err.find("name"), std::string::npos) << err;
  p.name = "this_name_is_far_too_long_for_rte_hash";
  EXPECT_FALSE(NatTable::create(p, &err));
  p = params(2000, 1000);
  EXPECT_FALSE(NatTable::create(p, &err));
  p = params(1000, 2000, 0);
  EXPECT_FALSE(NatTable::create(p, &err));
  // The names of a destroyed table are free again.
  std::string name = t1->params().name;
  t1.reset();
  p = params();
  p.name = name;
  EXPECT_TRUE(NatTable::create(p, &err)) << err;
}

TEST(NatTable, UdpMappingAndReverse) {
  auto t = make(params());
  Bytes b = udp(kIn, 40000, kRem, 53);
  ASSERT_EQ(in2out(*t, b, 1000), Drop::none);
  uint16_t e = sport_of(b);
  EXPECT_GE(e, 20000);
  EXPECT_LE(e, 20999);
  EXPECT_EQ(b, udp(kExt, e, kRem, 53));  // every byte, checksums by full recomputation
  expect_checksums_valid(b);
  EXPECT_EQ(t->stats().created, 1u);
  EXPECT_EQ(t->stats().active, 1u);

  Bytes r = udp(kRem, 53, kExt, e, 30);
  ASSERT_EQ(out2in(*t, r, 1500), Drop::none);
  EXPECT_EQ(r, udp(kRem, 53, kIn, 40000, 30));

  // The same flow again: same session, same port.
  Bytes b2 = udp(kIn, 40000, kRem, 53, 3);
  ASSERT_EQ(in2out(*t, b2, 2000), Drop::none);
  EXPECT_EQ(b2, udp(kExt, e, kRem, 53, 3));
  EXPECT_EQ(t->stats().created, 1u);
}

TEST(NatTable, InsidePortPreservedWhenInRange) {
  auto t = make(params());
  Bytes b = udp(kIn, 20500, kRem, 53);
  ASSERT_EQ(in2out(*t, b, 0), Drop::none);
  EXPECT_EQ(b, udp(kExt, 20500, kRem, 53));
  // Another inside host with the same port gets a different one.
  Bytes c = udp(kIn2, 20500, kRem, 53);
  ASSERT_EQ(in2out(*t, c, 0), Drop::none);
  EXPECT_NE(sport_of(c), 20500);
  EXPECT_EQ(c, udp(kExt, sport_of(c), kRem, 53));
}

TEST(NatTable, UdpZeroChecksumStaysZero) {
  auto t = make(params());
  Bytes b = udp(kIn, 40000, kRem, 53, 10, false);
  ASSERT_EQ(in2out(*t, b, 0), Drop::none);
  uint16_t e = sport_of(b);
  EXPECT_EQ(b, udp(kExt, e, kRem, 53, 10, false));
  EXPECT_EQ(get16(b, 26), 0);
  Bytes r = udp(kRem, 53, kExt, e, 10, false);
  ASSERT_EQ(out2in(*t, r, 0), Drop::none);
  EXPECT_EQ(r, udp(kRem, 53, kIn, 40000, 10, false));
}

TEST(NatTable, UdpChecksumNeverBecomesZero) {
  // A payload chosen so that the translated datagram's checksum computes to 0, which UDP must
  // send as 0xffff (RFC 768); then the same for the reverse direction.
  auto t = make(params());
  auto zeroing_body = [](Ipv4 s, uint16_t sp, Ipv4 d, uint16_t dp) {
    Bytes body = {1, 2, 3, 4, 0, 0};
    Bytes probe = udp_body(s, sp, d, dp, body, false);
    uint16_t sum = ref_fold(ref_sum(probe.data() + 20, probe.size() - 20,
                                    pseudo(s, d, net::kProtoUdp, probe.size() - 20)));
    uint16_t w = uint16_t(0xffff - sum);
    body[4] = uint8_t(w >> 8);
    body[5] = uint8_t(w);
    return body;
  };
  Bytes body = zeroing_body(kExt, 20500, kRem, 53);
  Bytes b = udp_body(kIn, 20500, kRem, 53, body);
  ASSERT_NE(get16(b, 26), 0xffff);
  ASSERT_EQ(in2out(*t, b, 0), Drop::none);
  EXPECT_EQ(b, udp_body(kExt, 20500, kRem, 53, body));
  EXPECT_EQ(get16(b, 26), 0xffff);
  expect_checksums_valid(b);

  Bytes rbody = zeroing_body(kRem, 53, kIn, 20500);
  Bytes r = udp_body(kRem, 53, kExt, 20500, rbody);
  ASSERT_EQ(out2in(*t, r, 0), Drop::none);
  EXPECT_EQ(r, udp_body(kRem, 53, kIn, 20500, rbody));
  EXPECT_EQ(get16(r, 26), 0xffff);
}

TEST(NatTable, TcpMappingAndReverse) {
  auto t = make(params());
  Bytes syn = tcp(kIn, 40001, kRem, 443, net::kTcpSyn, 0);
  ASSERT_EQ(in2out(*t, syn, 0), Drop::none);
  uint16_t e = sport_of(syn);
  EXPECT_EQ(syn, tcp(kExt, e, kRem, 443, net::kTcpSyn, 0));
  expect_checksums_valid(syn);

  Bytes synack = tcp(kRem, 443, kExt, e, net::kTcpSyn | net::kTcpAck, 0);
  ASSERT_EQ(out2in(*t, synack, 10), Drop::none);
  EXPECT_EQ(synack, tcp(kRem, 443, kIn, 40001, net::kTcpSyn | net::kTcpAck, 0));

  Bytes data = tcp(kIn, 40001, kRem, 443, net::kTcpAck, 100);
  ASSERT_EQ(in2out(*t, data, 20), Drop::none);
  EXPECT_EQ(data, tcp(kExt, e, kRem, 443, net::kTcpAck, 100));
  EXPECT_EQ(t->stats().active, 1u);
}

TEST(NatTable, IcmpEchoMappingAndReverse) {
  auto t = make(params());
  Bytes req = echo(net::kIcmpEchoRequest, kIn, kRem, 0x4242, 7);
  ASSERT_EQ(in2out(*t, req, 0), Drop::none);
  uint16_t id = sport_of(req);
  EXPECT_GE(id, 20000);
  EXPECT_LE(id, 20999);
  EXPECT_EQ(req, echo(net::kIcmpEchoRequest, kExt, kRem, id, 7));
  expect_checksums_valid(req);

  Bytes rep = echo(net::kIcmpEchoReply, kRem, kExt, id, 7);
  ASSERT_EQ(out2in(*t, rep, 5), Drop::none);
  EXPECT_EQ(rep, echo(net::kIcmpEchoReply, kRem, kIn, 0x4242, 7));

  // A reply from another host with that id has no session.
  Bytes other = echo(net::kIcmpEchoReply, kRem2, kExt, id, 7);
  Bytes copy = other;
  EXPECT_EQ(out2in(*t, other, 5), Drop::nat_no_session);
  EXPECT_EQ(other, copy);
  // Requests from outside are not the NAT's business.
  Bytes inreq = echo(net::kIcmpEchoRequest, kRem, kExt, id, 7);
  EXPECT_EQ(out2in(*t, inreq, 5), Drop::icmp_unsupported);
}

TEST(NatTable, EndpointIndependentMapping) {
  auto t = make(params());
  for (uint8_t proto : {net::kProtoTcp, net::kProtoUdp}) {
    auto pkt = [&](Ipv4 s, uint16_t sp, Ipv4 d, uint16_t dp) {
      return proto == net::kProtoTcp ? tcp(s, sp, d, dp, net::kTcpSyn) : udp(s, sp, d, dp);
    };
    Bytes a = pkt(kIn, 40000, kRem, 1000);
    Bytes b = pkt(kIn, 40000, kRem2, 2000);
    Bytes c = pkt(kIn, 40000, kRem, 1001);
    Bytes d = pkt(kIn2, 40000, kRem, 1000);
    ASSERT_EQ(in2out(*t, a, 0), Drop::none);
    ASSERT_EQ(in2out(*t, b, 0), Drop::none);
    ASSERT_EQ(in2out(*t, c, 0), Drop::none);
    ASSERT_EQ(in2out(*t, d, 0), Drop::none);
    EXPECT_EQ(sport_of(a), sport_of(b));
    EXPECT_EQ(sport_of(a), sport_of(c));
    EXPECT_NE(sport_of(a), sport_of(d));
    EXPECT_EQ(b, pkt(kExt, sport_of(a), kRem2, 2000));
  }
  EXPECT_EQ(t->stats().active, 8u);
}

TEST(NatTable, UdpEndpointIndependentFiltering) {
  auto t = make(params());
  Bytes a = udp(kIn, 40000, kRem, 3478);
  ASSERT_EQ(in2out(*t, a, 0), Drop::none);
  uint16_t e = sport_of(a);
  // A different remote host and port reaches the mapping: a session is created.
  Bytes r = udp(kRem2, 9999, kExt, e);
  ASSERT_EQ(out2in(*t, r, 100), Drop::none);
  EXPECT_EQ(r, udp(kRem2, 9999, kIn, 40000));
  EXPECT_EQ(t->stats().active, 2u);
  EXPECT_EQ(t->stats().created, 2u);
  // The inside answers it through the same mapping.
  Bytes back = udp(kIn, 40000, kRem2, 9999);
  ASSERT_EQ(in2out(*t, back, 200), Drop::none);
  EXPECT_EQ(back, udp(kExt, e, kRem2, 9999));
  EXPECT_EQ(t->stats().active, 2u);
  // A port without a mapping filters.
  Bytes none = udp(kRem2, 9999, kExt, uint16_t(e == 20999 ? 20998 : e + 1));
  EXPECT_EQ(out2in(*t, none, 300), Drop::nat_no_session);
  // Not addressed to the external address.
  Bytes wrong = udp(kRem2, 9999, kExt + 1, e);
  EXPECT_EQ(out2in(*t, wrong, 300), Drop::nat_no_session);
}

TEST(NatTable, TcpUnsolicitedInboundDropped) {
  auto t = make(params());
  Bytes a = tcp(kIn, 40000, kRem, 80, net::kTcpSyn);
  ASSERT_EQ(in2out(*t, a, 0), Drop::none);
  uint16_t e = sport_of(a);
  // Same external port, other remote: TCP filtering is endpoint dependent.
  Bytes r = tcp(kRem2, 80, kExt, e, net::kTcpSyn);
  Bytes copy = r;
  EXPECT_EQ(out2in(*t, r, 1), Drop::nat_no_session);
  EXPECT_EQ(r, copy);
  // Nothing at all on this port.
  Bytes r2 = tcp(kRem, 80, kExt, 20999, net::kTcpSyn);
  EXPECT_EQ(out2in(*t, r2, 1), Drop::nat_no_session);
  // A RST from inside without a session creates nothing.
  Bytes rst = tcp(kIn, 41000, kRem, 80, net::kTcpRst);
  EXPECT_EQ(in2out(*t, rst, 1), Drop::nat_no_session);
  EXPECT_EQ(t->stats().active, 1u);
}

TEST(NatTable, ExpiryTransitoryVersusEstablished) {
  TableParams p = params();
  p.timeouts.tcp_transitory_s = 240;
  p.timeouts.tcp_established_s = 7440;
  p.timeouts.udp_s = 300;
  auto t = make(p);
  // Flow A: SYN only (transitory).
  Bytes a = tcp(kIn, 40000, kRem, 80, net::kTcpSyn);
  ASSERT_EQ(in2out(*t, a, 0), Drop::none);
  uint16_t ea = sport_of(a);
  // Flow B: handshake completed (established).
  Bytes b = tcp(kIn, 40001, kRem, 80, net::kTcpSyn);
  ASSERT_EQ(in2out(*t, b, 0), Drop::none);
  uint16_t eb = sport_of(b);
  Bytes sa = tcp(kRem, 80, kExt, eb, net::kTcpSyn | net::kTcpAck);
  ASSERT_EQ(out2in(*t, sa, 0), Drop::none);
  Bytes ack = tcp(kIn, 40001, kRem, 80, net::kTcpAck);
  ASSERT_EQ(in2out(*t, ack, 0), Drop::none);
  // Flow C: UDP.
  Bytes c = udp(kIn, 40002, kRem, 53);
  ASSERT_EQ(in2out(*t, c, 0), Drop::none);
  uint16_t ec = sport_of(c);
  EXPECT_EQ(t->stats().active, 3u);

  EXPECT_EQ(t->expire(239'999, 100), 0u);
  EXPECT_EQ(t->expire(240'000, 100), 1u);  // A
  EXPECT_EQ(t->stats().active, 2u);
  Bytes ra = tcp(kRem, 80, kExt, ea, net::kTcpAck);
  EXPECT_EQ(out2in(*t, ra, 240'001), Drop::nat_no_session);
  Bytes rb = tcp(kRem, 80, kExt, eb, net::kTcpAck);
  EXPECT_EQ(out2in(*t, rb, 240'001), Drop::none);  // refreshes B
  EXPECT_EQ(t->expire(300'000, 100), 1u);          // C
  Bytes rc = udp(kRem, 53, kExt, ec);
  EXPECT_EQ(out2in(*t, rc, 300'001), Drop::nat_no_session);
  EXPECT_EQ(t->expire(240'001 + 7'439'999, 100), 0u);
  EXPECT_EQ(t->expire(240'001 + 7'440'000, 100), 1u);  // B
  EXPECT_EQ(t->stats().active, 0u);
  EXPECT_EQ(t->stats().expired, 3u);

  // The ports are free again: the same inside endpoints get mapped afresh.
  Bytes a2 = tcp(kIn2, 40000, kRem, 80, net::kTcpSyn);
  ASSERT_EQ(in2out(*t, a2, 8'000'000), Drop::none);
}

TEST(NatTable, TcpFinAndRstTimeouts) {
  TableParams p = params();
  p.timeouts.tcp_transitory_s = 240;
  auto t = make(p);
  auto establish = [&](uint16_t sport, uint64_t now) {
    Bytes s = tcp(kIn, sport, kRem, 80, net::kTcpSyn);
    EXPECT_EQ(in2out(*t, s, now), Drop::none);
    uint16_t e = sport_of(s);
    Bytes sa = tcp(kRem, 80, kExt, e, net::kTcpSyn | net::kTcpAck);
    EXPECT_EQ(out2in(*t, sa, now), Drop::none);
    Bytes a = tcp(kIn, sport, kRem, 80, net::kTcpAck);
    EXPECT_EQ(in2out(*t, a, now), Drop::none);
    return e;
  };
  uint16_t e1 = establish(40000, 0);
  uint16_t e2 = establish(40001, 0);
  uint16_t e3 = establish(40002, 0);
  (void)e3;
  // 1: FIN both ways -> transitory (240 s).
  Bytes f1 = tcp(kIn, 40000, kRem, 80, net::kTcpFin | net::kTcpAck);
  ASSERT_EQ(in2out(*t, f1, 1000), Drop::none);
  Bytes f2 = tcp(kRem, 80, kExt, e1, net::kTcpFin | net::kTcpAck);
  ASSERT_EQ(out2in(*t, f2, 1000), Drop::none);
  // 2: RST from outside -> 10 s.
  Bytes r = tcp(kRem, 80, kExt, e2, net::kTcpRst);
  ASSERT_EQ(out2in(*t, r, 1000), Drop::none);
  // 3: a single FIN keeps it established.
  Bytes f3 = tcp(kIn, 40002, kRem, 80, net::kTcpFin | net::kTcpAck);
  ASSERT_EQ(in2out(*t, f3, 1000), Drop::none);

  EXPECT_EQ(t->expire(10'999, 100), 0u);
  EXPECT_EQ(t->expire(11'000, 100), 1u);   // RST
  EXPECT_EQ(t->expire(240'999, 100), 0u);
  EXPECT_EQ(t->expire(241'000, 100), 1u);  // FIN/FIN
  EXPECT_EQ(t->expire(7'000'000, 100), 0u);
  EXPECT_EQ(t->expire(7'441'000, 100), 1u);
  EXPECT_EQ(t->stats().active, 0u);
}

TEST(NatTable, ExpireRespectsBudget) {
  auto t = make(params());
  for (uint16_t i = 0; i < 50; ++i) {
    Bytes b = udp(kIn, uint16_t(30000 + i), kRem, 53);
    ASSERT_EQ(in2out(*t, b, 0), Drop::none);
  }
  EXPECT_EQ(t->expire(300'000, 20), 20u);
  EXPECT_EQ(t->expire(300'000, 20), 20u);
  EXPECT_EQ(t->expire(300'000, 20), 10u);
  EXPECT_EQ(t->expire(300'000, 20), 0u);
  EXPECT_EQ(t->stats().active, 0u);
}

TEST(NatTable, PortExhaustion) {
  auto t = make(params(20000, 20003));
  std::vector<uint16_t> seen;
  for (uint16_t i = 0; i < 4; ++i) {
    Bytes b = udp(kIn, uint16_t(40000 + i), kRem, 53);
    ASSERT_EQ(in2out(*t, b, 0), Drop::none);
    seen.push_back(sport_of(b));
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<uint16_t>{20000, 20001, 20002, 20003}));
  Bytes fifth = udp(kIn, 40004, kRem, 53);
  Bytes copy = fifth;
  EXPECT_EQ(in2out(*t, fifth, 0), Drop::nat_ports_exhausted);
  EXPECT_EQ(fifth, copy);
  // Existing mappings still take new destinations (no new port needed).
  Bytes more = udp(kIn, 40000, kRem2, 53);
  EXPECT_EQ(in2out(*t, more, 0), Drop::none);
  // TCP and ICMP have their own ports.
  Bytes tc = tcp(kIn, 40004, kRem, 80, net::kTcpSyn);
  EXPECT_EQ(in2out(*t, tc, 0), Drop::none);
  for (uint16_t i = 0; i < 4; ++i) {
    Bytes e = echo(net::kIcmpEchoRequest, kIn, kRem, uint16_t(7 + i));
    EXPECT_EQ(in2out(*t, e, 0), Drop::none);
  }
  Bytes e5 = echo(net::kIcmpEchoRequest, kIn, kRem, 99);
  EXPECT_EQ(in2out(*t, e5, 0), Drop::nat_ports_exhausted);
  EXPECT_EQ(t->stats().active, 10u);
  // Nothing leaked: after expiry all four ports are usable again.
  EXPECT_EQ(t->expire(1'000'000, 1000), 10u);
  EXPECT_EQ(t->stats().active, 0u);
  for (uint16_t i = 0; i < 4; ++i) {
    Bytes b = udp(kIn2, uint16_t(50000 + i), kRem, 53);
    ASSERT_EQ(in2out(*t, b, 2'000'000), Drop::none);
  }
  Bytes again = udp(kIn2, 50004, kRem, 53);
  EXPECT_EQ(in2out(*t, again, 2'000'000), Drop::nat_ports_exhausted);
}

TEST(NatTable, SinglePortRangeAndFullRange) {
  auto t = make(params(65535, 65535, 16));
  Bytes b = udp(kIn, 1, kRem, 53);
  ASSERT_EQ(in2out(*t, b, 0), Drop::none);
  EXPECT_EQ(sport_of(b), 65535);
  Bytes c = udp(kIn, 2, kRem, 53);
  EXPECT_EQ(in2out(*t, c, 0), Drop::nat_ports_exhausted);
  auto f = make(params(1, 65535, 16));
  Bytes d = udp(kIn, 65535, kRem, 53);
  ASSERT_EQ(in2out(*f, d, 0), Drop::none);
  EXPECT_EQ(sport_of(d), 65535);
}

TEST(NatTable, TableFull) {
  auto t = make(params(20000, 20999, 3));
  for (uint16_t i = 0; i < 3; ++i) {
    Bytes b = udp(kIn, uint16_t(40000 + i), kRem, 53);
    ASSERT_EQ(in2out(*t, b, uint64_t(i) * 1000), Drop::none);
  }
  Bytes b = udp(kIn, 40010, kRem, 53);
  Bytes copy = b;
  EXPECT_EQ(in2out(*t, b, 5000), Drop::nat_table_full);
  EXPECT_EQ(b, copy);
  // EIF from outside cannot create a session either.
  Bytes first = udp(kIn, 40000, kRem, 53);
  ASSERT_EQ(in2out(*t, first, 5000), Drop::none);  // existing session: fine
  Bytes eif = udp(kRem2, 1, kExt, sport_of(first));
  EXPECT_EQ(out2in(*t, eif, 5000), Drop::nat_table_full);
  EXPECT_EQ(t->stats().active, 3u);
  // Once the oldest session has expired, a new one reuses its slot without expire() first.
  // Sessions 40001 (t=1000) and 40002 (t=2000) expire at 301 s and 302 s.
  EXPECT_EQ(in2out(*t, b, 301'500), Drop::none);
  EXPECT_EQ(t->stats().active, 3u);
  EXPECT_EQ(t->stats().expired, 1u);
  Bytes r1 = udp(kRem, 53, kExt, sport_of(b));
  EXPECT_EQ(out2in(*t, r1, 301'500), Drop::none);
  // 40001's session is gone, 40002's still there.
  Bytes n2 = udp(kIn, 40003, kRem, 53);
  EXPECT_EQ(in2out(*t, n2, 301'600), Drop::nat_table_full);
}

TEST(NatTable, IcmpErrorFromOutsideQuotingUdp) {
  auto t = make(params());
  Bytes orig = udp(kIn, 40000, kRem, 53, 24);
  Bytes out = orig;
  ASSERT_EQ(in2out(*t, out, 0), Drop::none);
  // A router beyond quotes the whole translated datagram (TTL as it saw it).
  Bytes err = icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, out);
  ASSERT_EQ(out2in(*t, err, 10), Drop::none);
  EXPECT_EQ(err, icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kIn, orig));
  expect_checksums_valid(err);
  EXPECT_EQ(t->stats().icmp_errors, 1u);
  // Also with only 8 bytes of the UDP header quoted, and as "fragmentation needed".
  Bytes err2 = icmp_error(net::kIcmpDestUnreach, 4, kRouter, kExt, out, 28);
  ASSERT_EQ(out2in(*t, err2, 10), Drop::none);
  EXPECT_EQ(err2, icmp_error(net::kIcmpDestUnreach, 4, kRouter, kIn, orig, 28));
  // Port unreachable from the remote itself.
  Bytes err3 = icmp_error(net::kIcmpDestUnreach, 3, kRem, kExt, out);
  ASSERT_EQ(out2in(*t, err3, 10), Drop::none);
  EXPECT_EQ(err3, icmp_error(net::kIcmpDestUnreach, 3, kRem, kIn, orig));
  EXPECT_EQ(t->stats().icmp_errors, 3u);
}

TEST(NatTable, IcmpErrorFromOutsideQuotingUdpWithoutChecksum) {
  auto t = make(params());
  Bytes orig = udp(kIn, 40000, kRem, 53, 24, false);
  Bytes out = orig;
  ASSERT_EQ(in2out(*t, out, 0), Drop::none);
  Bytes err = icmp_error(net::kIcmpParamProblem, 0, kRouter, kExt, out);
  ASSERT_EQ(out2in(*t, err, 10), Drop::none);
  EXPECT_EQ(err, icmp_error(net::kIcmpParamProblem, 0, kRouter, kIn, orig));
}

TEST(NatTable, IcmpErrorFromOutsideQuotingTcp) {
  auto t = make(params());
  Bytes orig = tcp(kIn, 40000, kRem, 80, net::kTcpSyn, 40);
  Bytes out = orig;
  ASSERT_EQ(in2out(*t, out, 0), Drop::none);
  Bytes err = icmp_error(net::kIcmpDestUnreach, 1, kRouter, kExt, out);
  ASSERT_EQ(out2in(*t, err, 10), Drop::none);
  EXPECT_EQ(err, icmp_error(net::kIcmpDestUnreach, 1, kRouter, kIn, orig));
  // RFC 792 quote (IP header + 8 bytes): the TCP checksum is not in it.
  Bytes err2 = icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, out, 28);
  ASSERT_EQ(out2in(*t, err2, 10), Drop::none);
  EXPECT_EQ(err2, icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kIn, orig, 28));
  // A quote that just includes the checksum (18 bytes of TCP).
  Bytes err3 = icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, out, 38);
  ASSERT_EQ(out2in(*t, err3, 10), Drop::none);
  EXPECT_EQ(err3, icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kIn, orig, 38));
  // ICMP errors do not refresh or change the session.
  EXPECT_EQ(t->stats().active, 1u);
  EXPECT_EQ(t->expire(240'000, 10), 1u);
}

TEST(NatTable, IcmpErrorFromOutsideQuotingEcho) {
  auto t = make(params());
  Bytes orig = echo(net::kIcmpEchoRequest, kIn, kRem, 0x777);
  Bytes out = orig;
  ASSERT_EQ(in2out(*t, out, 0), Drop::none);
  Bytes err = icmp_error(net::kIcmpDestUnreach, 1, kRouter, kExt, out);
  ASSERT_EQ(out2in(*t, err, 10), Drop::none);
  EXPECT_EQ(err, icmp_error(net::kIcmpDestUnreach, 1, kRouter, kIn, orig));
  uint16_t port = 0;
  Bytes err2 = icmp_error(net::kIcmpDestUnreach, 1, kRouter, kExt, out);
  net::Ipv4Packet p = parse(err2);
  ASSERT_TRUE(outside_key_port(p, &port));
  EXPECT_EQ(port, sport_of(out));
}

TEST(NatTable, IcmpErrorFromInside) {
  auto t = make(params());
  Bytes a = udp(kIn, 40000, kRem, 5000);
  ASSERT_EQ(in2out(*t, a, 0), Drop::none);
  uint16_t e = sport_of(a);
  Bytes in_orig = udp(kRem, 5000, kExt, e, 20);
  Bytes in = in_orig;
  ASSERT_EQ(out2in(*t, in, 1), Drop::none);
  // The inside host answers "port unreachable" quoting what it received.
  Bytes err = icmp_error(net::kIcmpDestUnreach, 3, kIn, kRem, in);
  ASSERT_EQ(in2out(*t, err, 2), Drop::none);
  EXPECT_EQ(err, icmp_error(net::kIcmpDestUnreach, 3, kExt, kRem, in_orig));
  // An inside router (other source address) saying time exceeded: source becomes external.
  Bytes err2 = icmp_error(net::kIcmpTimeExceeded, 0, ip4(192, 168, 1, 1), kRem, in, 28);
  ASSERT_EQ(in2out(*t, err2, 2), Drop::none);
  EXPECT_EQ(err2, icmp_error(net::kIcmpTimeExceeded, 0, kExt, kRem, in_orig, 28));
  // About a packet with no session: dropped.
  Bytes stray = udp(kRem2, 5000, kIn, 40000);
  Bytes err3 = icmp_error(net::kIcmpDestUnreach, 3, kIn, kRem2, stray);
  EXPECT_EQ(in2out(*t, err3, 2), Drop::nat_no_session);
  EXPECT_EQ(t->stats().icmp_errors, 2u);
}

TEST(NatTable, MalformedPacketsDropped) {
  auto t = make(params());
  Bytes orig = udp(kIn, 40000, kRem, 53);
  Bytes out = orig;
  ASSERT_EQ(in2out(*t, out, 0), Drop::none);
  auto expect_drop = [&](Bytes b, Drop want, bool from_outside = true) {
    Bytes copy = b;
    EXPECT_EQ(from_outside ? out2in(*t, b, 1) : in2out(*t, b, 1), want);
    EXPECT_EQ(b, copy) << "a dropped packet must be untouched";
  };
  // Quote shorter than IP header + 8 bytes.
  expect_drop(icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, out, 27), Drop::icmp_bad_inner);
  expect_drop(icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, out, 10), Drop::icmp_bad_inner);
  expect_drop(icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, out, 0), Drop::icmp_bad_inner);
  expect_drop(icmp_error(net::kIcmpTimeExceeded, 0, kIn, kRem, out, 12), Drop::icmp_bad_inner,
              false);
  // Quoted version not 4 / bad IHL.
  Bytes v6 = out;
  v6[0] = 0x65;
  expect_drop(icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, v6), Drop::icmp_bad_inner);
  Bytes ihl = out;
  ihl[0] = 0x44;
  expect_drop(icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, ihl), Drop::icmp_bad_inner);
  // Quoted IHL claims options that are not there.
  Bytes opts = out;
  opts[0] = 0x4f;
  expect_drop(icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, opts, 40), Drop::icmp_bad_inner);
  // Quoted non-first fragment: no L4 header.
  Bytes frag = out;
  put16(frag, 6, 0x0010);
  expect_drop(icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, frag), Drop::icmp_bad_inner);
  // Quoted ICMP error (errors about errors) and quoted unknown protocol.
  Bytes qerr = icmp_error(net::kIcmpTimeExceeded, 0, kExt, kRem, out);
  expect_drop(icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, qerr), Drop::icmp_bad_inner);
  Bytes gre = ipv4(47, kExt, kRem, Bytes(8, 0));
  expect_drop(icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, gre), Drop::icmp_bad_inner);
  // Quoted packet from an address that is not ours, or naming no session.
  expect_drop(icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, orig), Drop::nat_no_session);
  Bytes other = udp(kExt, 20999, kRem, 53);
  expect_drop(icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, other), Drop::nat_no_session);
  // Unknown ICMP types, other protocols.
  expect_drop(icmp(13, 0, kRem, kExt, 0, Bytes(12, 0)), Drop::icmp_unsupported);
  expect_drop(icmp(13, 0, kIn, kRem, 0, Bytes(12, 0)), Drop::icmp_unsupported, false);
  expect_drop(echo(net::kIcmpEchoReply, kIn, kRem, 5), Drop::icmp_unsupported, false);
  expect_drop(ipv4(47, kRem, kExt, Bytes(8, 0)), Drop::l4_unsupported);
  expect_drop(ipv4(47, kIn, kRem, Bytes(8, 0)), Drop::l4_unsupported, false);
  EXPECT_EQ(t->stats().icmp_errors, 0u);
  EXPECT_EQ(t->stats().active, 1u);

  // A truncated quote makes outside_key_port fail too.
  Bytes trunc = icmp_error(net::kIcmpTimeExceeded, 0, kRouter, kExt, out, 20);
  net::Ipv4Packet p = parse(trunc);
  uint16_t port;
  EXPECT_FALSE(outside_key_port(p, &port));
}

TEST(NatTable, OutsideKeyPort) {
  uint16_t port = 0;
  Bytes u = udp(kRem, 53, kExt, 20123);
  net::Ipv4Packet p = parse(u);
  ASSERT_TRUE(outside_key_port(p, &port));
  EXPECT_EQ(port, 20123);
  Bytes tc = tcp(kRem, 80, kExt, 20124, net::kTcpAck);
  p = parse(tc);
  ASSERT_TRUE(outside_key_port(p, &port));
  EXPECT_EQ(port, 20124);
  Bytes rep = echo(net::kIcmpEchoReply, kRem, kExt, 20125);
  p = parse(rep);
  ASSERT_TRUE(outside_key_port(p, &port));
  EXPECT_EQ(port, 20125);
  Bytes quoted = tcp(kExt, 20126, kRem, 80, net::kTcpSyn);
  Bytes err = icmp_error(net::kIcmpDestUnreach, 3, kRem, kExt, quoted, 28);
  p = parse(err);
  ASSERT_TRUE(outside_key_port(p, &port));
  EXPECT_EQ(port, 20126);
  Bytes req = echo(net::kIcmpEchoRequest, kRem, kExt, 20127);
  p = parse(req);
  EXPECT_FALSE(outside_key_port(p, &port));
  Bytes gre = ipv4(47, kRem, kExt, Bytes(8, 0));
  p = parse(gre);
  EXPECT_FALSE(outside_key_port(p, &port));

  // With a partition, that port names the owner.
  PortPartition part{1024, 65535, 4};
  EXPECT_LT(part.owner(20126), 4u);
}

TEST(PortForwards, Lookups) {
  PortForwards empty;
  EXPECT_EQ(empty.by_external(net::kProtoTcp, 80), nullptr);
  EXPECT_EQ(empty.by_internal(net::kProtoTcp, kIn, 80), nullptr);
  PortForwards f({{net::kProtoTcp, 8080, kIn2, 80},
                  {net::kProtoUdp, 5353, kIn2, 53},
                  {net::kProtoTcp, 8081, kIn, 80},
                  {net::kProtoTcp, 8082, kIn2, 81}});
  ASSERT_NE(f.by_external(net::kProtoTcp, 8080), nullptr);
  EXPECT_EQ(f.by_external(net::kProtoTcp, 8080)->to_port, 80);
  EXPECT_EQ(f.by_external(net::kProtoUdp, 8080), nullptr);
  EXPECT_EQ(f.by_external(net::kProtoIcmp, 8080), nullptr);
  EXPECT_EQ(f.by_external(net::kProtoUdp, 5353)->to_addr, kIn2);
  EXPECT_EQ(f.by_internal(net::kProtoTcp, kIn2, 80)->ext_port, 8080);
  EXPECT_EQ(f.by_internal(net::kProtoTcp, kIn, 80)->ext_port, 8081);
  EXPECT_EQ(f.by_internal(net::kProtoTcp, kIn2, 81)->ext_port, 8082);
  EXPECT_EQ(f.by_internal(net::kProtoTcp, kIn2, 53), nullptr);
  EXPECT_EQ(f.by_internal(net::kProtoUdp, kIn2, 53)->ext_port, 5353);
  EXPECT_EQ(f.by_internal(net::kProtoUdp, kIn, 53), nullptr);
  EXPECT_EQ(f.by_internal(net::kProtoTcp, kRem, 80), nullptr);
  PortForwards copy = f;
  EXPECT_EQ(copy.by_external(net::kProtoTcp, 8081)->to_addr, kIn);
}

TEST(NatTable, PortForwardBothWays) {
  PortForwards fw({{net::kProtoTcp, 20001, kIn2, 80}, {net::kProtoUdp, 20002, kIn2, 53}});
  TableParams p = params(20000, 20003);
  p.forwards = &fw;
  auto t = make(p);
  Bytes in = tcp(kRem, 40000, kExt, 20001, net::kTcpSyn, 5);
  ASSERT_EQ(out2in(*t, in, 0), Drop::none);
  EXPECT_EQ(in, tcp(kRem, 40000, kIn2, 80, net::kTcpSyn, 5));
  Bytes back = tcp(kIn2, 80, kRem, 40000, net::kTcpSyn | net::kTcpAck, 5);
  ASSERT_EQ(in2out(*t, back, 0), Drop::none);
  EXPECT_EQ(back, tcp(kExt, 20001, kRem, 40000, net::kTcpSyn | net::kTcpAck, 5));
  Bytes uin = udp(kRem2, 1234, kExt, 20002);
  ASSERT_EQ(out2in(*t, uin, 0), Drop::none);
  EXPECT_EQ(uin, udp(kRem2, 1234, kIn2, 53));
  Bytes uout = udp(kIn2, 53, kRem2, 1234);
  ASSERT_EQ(in2out(*t, uout, 0), Drop::none);
  EXPECT_EQ(uout, udp(kExt, 20002, kRem2, 1234));
  EXPECT_EQ(t->stats().forwarded_in, 2u);
  EXPECT_EQ(t->stats().forwarded_out, 2u);
  EXPECT_EQ(t->stats().active, 0u);  // stateless
  // UDP to the TCP-forwarded port: not forwarded (no mapping there).
  Bytes wrongproto = udp(kRem, 1, kExt, 20001);
  EXPECT_EQ(out2in(*t, wrongproto, 0), Drop::nat_no_session);

  // ICMP errors about forwarded traffic, both ways.
  Bytes orig_out = tcp(kIn2, 80, kRem, 40000, net::kTcpAck, 5);
  Bytes out = orig_out;
  ASSERT_EQ(in2out(*t, out, 0), Drop::none);
  Bytes err = icmp_error(net::kIcmpDestUnreach, 1, kRouter, kExt, out);
  ASSERT_EQ(out2in(*t, err, 0), Drop::none);
  EXPECT_EQ(err, icmp_error(net::kIcmpDestUnreach, 1, kRouter, kIn2, orig_out));
  Bytes orig_in = udp(kRem2, 1234, kExt, 20002);
  Bytes fin = orig_in;
  ASSERT_EQ(out2in(*t, fin, 0), Drop::none);
  Bytes err2 = icmp_error(net::kIcmpDestUnreach, 3, kIn2, kRem2, fin);
  ASSERT_EQ(in2out(*t, err2, 0), Drop::none);
  EXPECT_EQ(err2, icmp_error(net::kIcmpDestUnreach, 3, kExt, kRem2, orig_in));

  // Forwarded ports are never allocated: TCP has 3 ports left, UDP 3, ICMP all 4.
  std::vector<uint16_t> tcp_ports, udp_ports;
  for (uint16_t i = 0; i < 4; ++i) {
    Bytes a = tcp(kIn, uint16_t(20000 + i), kRem, 80, net::kTcpSyn);  // tries to preserve
    Drop d = in2out(*t, a, 0);
    if (i < 3) {
      ASSERT_EQ(d, Drop::none);
      tcp_ports.push_back(sport_of(a));
    } else {
      EXPECT_EQ(d, Drop::nat_ports_exhausted);
    }
    Bytes b = udp(kIn, uint16_t(20000 + i), kRem, 53);
    d = in2out(*t, b, 0);
    if (i < 3) {
      ASSERT_EQ(d, Drop::none);
      udp_ports.push_back(sport_of(b));
    } else {
      EXPECT_EQ(d, Drop::nat_ports_exhausted);
    }
  }
  std::sort(tcp_ports.begin(), tcp_ports.end());
  std::sort(udp_ports.begin(), udp_ports.end());
  EXPECT_EQ(tcp_ports, (std::vector<uint16_t>{20000, 20002, 20003}));
  EXPECT_EQ(udp_ports, (std::vector<uint16_t>{20000, 20001, 20003}));
  for (uint16_t i = 0; i < 4; ++i) {
    Bytes e = echo(net::kIcmpEchoRequest, kIn, kRem, uint16_t(20000 + i));
    ASSERT_EQ(in2out(*t, e, 0), Drop::none);
    EXPECT_EQ(sport_of(e), 20000 + i);
  }
}

// Many sessions of every kind created, answered and expired; the table must end empty with
// every port free again.
TEST(NatTable, RandomizedChurn) {
  TableParams p = params(10000, 10511, 4096);  // 512 ports per protocol
  p.timeouts.tcp_established_s = 120;
  p.timeouts.tcp_transitory_s = 20;
  p.timeouts.udp_s = 30;
  p.timeouts.icmp_s = 10;
  auto t = make(p);
  std::mt19937 rng(12345);
  uint64_t now = 0;
  unsigned ok = 0, exhausted = 0, full = 0;
  for (int step = 0; step < 40000; ++step) {
    now += rng() % 40;
    Ipv4 in = ip4(10, 0, rng() % 4, 1 + rng() % 50);
    uint16_t sport = uint16_t(30000 + rng() % 20);
    Ipv4 rem = ip4(203, 0, 113, 1 + rng() % 20);
    uint16_t dport = uint16_t(1 + rng() % 3);
    unsigned kind = rng() % 3;
    Bytes out, orig;
    if (kind == 0) orig = udp(in, sport, rem, dport, rng() % 30);
    else if (kind == 1) orig = tcp(in, sport, rem, dport, rng() % 2 ? net::kTcpSyn : net::kTcpAck, 3);
    else orig = echo(net::kIcmpEchoRequest, in, rem, sport);
    out = orig;
    Drop d = in2out(*t, out, now);
    if (d == Drop::nat_ports_exhausted) { ++exhausted; continue; }
    if (d == Drop::nat_table_full) { ++full; continue; }
    ASSERT_EQ(d, Drop::none);
    ++ok;
    uint16_t e = sport_of(out);
    ASSERT_GE(e, 10000);
    ASSERT_LE(e, 10511);
    expect_checksums_valid(out);
    // The answer maps back to the inside endpoint.
    Bytes reply, want;
    if (kind == 0) {
      reply = udp(rem, dport, kExt, e, 4);
      want = udp(rem, dport, in, sport, 4);
    } else if (kind == 1) {
      reply = tcp(rem, dport, kExt, e, net::kTcpAck | net::kTcpSyn, 3);
      want = tcp(rem, dport, in, sport, net::kTcpAck | net::kTcpSyn, 3);
    } else {
      reply = echo(net::kIcmpEchoReply, rem, kExt, e);
      want = echo(net::kIcmpEchoReply, rem, in, sport);
    }
    ASSERT_EQ(out2in(*t, reply, now), Drop::none);
    ASSERT_EQ(reply, want);
    if (step % 7 == 0) t->expire(now, 64);
  }
  EXPECT_GT(ok, 10000u);
  EXPECT_GT(t->stats().expired, 1000u);
  std::printf("[          ] ok %u exhausted %u full %u created %lu expired %lu active %lu\n", ok,
              exhausted, full, (unsigned long)t->stats().created,
              (unsigned long)t->stats().expired, (unsigned long)t->stats().active);
  now += 200'000;
  while (t->expire(now, 100) > 0) {
  }
  EXPECT_EQ(t->stats().active, 0u);
  EXPECT_EQ(t->stats().created, t->stats().expired);
  // Every port of every protocol is free again, and each is preserved when asked for.
  for (uint16_t port = 10000; port <= 10511; ++port) {
    Bytes u = udp(kIn, port, kRem, 53);
    ASSERT_EQ(in2out(*t, u, now), Drop::none);
    ASSERT_EQ(sport_of(u), port);
    Bytes tc = tcp(kIn, port, kRem, 80, net::kTcpSyn);
    ASSERT_EQ(in2out(*t, tc, now), Drop::none);
    ASSERT_EQ(sport_of(tc), port);
    Bytes ic = echo(net::kIcmpEchoRequest, kIn, kRem, port);
    ASSERT_EQ(in2out(*t, ic, now), Drop::none);
    ASSERT_EQ(sport_of(ic), port);
  }
  Bytes u = udp(kIn2, 1, kRem, 53);
  EXPECT_EQ(in2out(*t, u, now), Drop::nat_ports_exhausted);
}

// Thousands of sessions in a large table (no exhaustion), all expiring back to zero.
TEST(NatTable, RandomizedLargeTable) {
  TableParams p = params(1024, 65535, 20000);
  auto t = make(p);
  std::mt19937 rng(777);
  std::map<std::pair<Ipv4, uint16_t>, uint16_t> mapping;  // (in, sport) -> ext port, UDP
  for (int i = 0; i < 15000; ++i) {
    Ipv4 in = ip4(10, 1, rng() % 256, rng() % 256);
    uint16_t sport = uint16_t(rng() % 65535 + 1);
    Ipv4 rem = ip4(198, 18, rng() % 256, rng() % 256);
    Bytes b = udp(in, sport, rem, 443, 0);
    ASSERT_EQ(in2out(*t, b, uint64_t(i)), Drop::none);
    auto [it, fresh] = mapping.emplace(std::make_pair(in, sport), sport_of(b));
    if (!fresh) {
      ASSERT_EQ(it->second, sport_of(b)) << "EIM";
    }
  }
  EXPECT_EQ(t->stats().active, t->stats().created);
  unsigned total = 0;
  for (unsigned n; (n = t->expire(10'000'000, 1000)) > 0;) total += n;
  EXPECT_EQ(total, t->stats().created);
  EXPECT_EQ(t->stats().active, 0u);
}

// ---- per-session counters, scan, flow selection ----

// Every session scan() lists at now, one pass, `budget` slots per call.
std::vector<SessionInfo> scan_all(const NatTable& t, uint64_t now, uint32_t budget = 1u << 30) {
  std::vector<SessionInfo> v;
  uint32_t cursor = 0;
  do {
    t.scan(&cursor, budget, now, [&](const SessionInfo& s) { v.push_back(s); });
  } while (cursor != 0);
  return v;
}

using FlowKey = std::tuple<uint8_t, Ipv4, uint16_t, Ipv4, uint16_t>;
FlowKey key_of(const SessionInfo& s) {
  return {s.proto, s.inside_ip, s.inside_port, s.remote_ip, s.remote_port};
}

TEST(NatTable, SessionCountersBothWays) {
  auto t = make(params());
  Bytes a = udp(kIn, 40000, kRem, 53, 10);  // 38 bytes
  ASSERT_EQ(in2out(*t, a, 1000), Drop::none);
  uint16_t e = sport_of(a);
  Bytes r = udp(kRem, 53, kExt, e, 30);  // 58
  ASSERT_EQ(out2in(*t, r, 1500), Drop::none);
  Bytes a2 = udp(kIn, 40000, kRem, 53, 3);  // 31
  ASSERT_EQ(in2out(*t, a2, 2000), Drop::none);
  // An ICMP error quoting the session is translated but is not the session's traffic.
  Bytes err = icmp_error(net::kIcmpDestUnreach, 3, kRouter, kExt, a2);
  ASSERT_EQ(out2in(*t, err, 2100), Drop::none);

  Bytes q = echo(net::kIcmpEchoRequest, kIn2, kRem2, 0x4242);  // 44
  ASSERT_EQ(in2out(*t, q, 3000), Drop::none);
  uint16_t id = sport_of(q);
  Bytes qr = echo(net::kIcmpEchoReply, kRem2, kExt, id);
  ASSERT_EQ(out2in(*t, qr, 3001), Drop::none);
  // Dropped packets count nowhere.
  Bytes stray = echo(net::kIcmpEchoReply, kRem, kExt, id);
  EXPECT_EQ(out2in(*t, stray, 3002), Drop::nat_no_session);

  std::vector<SessionInfo> v = scan_all(*t, 4000);
  ASSERT_EQ(v.size(), 2u);
  std::sort(v.begin(), v.end(), [](auto& x, auto& y) { return x.proto > y.proto; });
  const SessionInfo& u = v[0];
  EXPECT_EQ(u.proto, net::kProtoUdp);
  EXPECT_EQ(u.tcp_state, uint8_t(TcpState::none));
  EXPECT_EQ(u.inside_ip, kIn);
  EXPECT_EQ(u.inside_port, 40000);
  EXPECT_EQ(u.remote_ip, kRem);
  EXPECT_EQ(u.remote_port, 53);
  EXPECT_EQ(u.external_ip, kExt);
  EXPECT_EQ(u.external_port, e);
  EXPECT_EQ(u.created_ms, 1000u);
  EXPECT_EQ(u.last_ms, 2000u);
  EXPECT_EQ(u.packets_out, 2u);
  EXPECT_EQ(u.bytes_out, 38u + 31u);
  EXPECT_EQ(u.packets_in, 1u);
  EXPECT_EQ(u.bytes_in, 58u);
  EXPECT_EQ(u.bytes(), 38u + 31u + 58u);

  const SessionInfo& i = v[1];
  EXPECT_EQ(i.proto, net::kProtoIcmp);
  EXPECT_EQ(i.inside_ip, kIn2);
  EXPECT_EQ(i.inside_port, 0x4242);
  EXPECT_EQ(i.external_port, id);
  EXPECT_EQ(i.remote_ip, kRem2);
  EXPECT_EQ(i.remote_port, 0);
  EXPECT_EQ(i.created_ms, 3000u);
  EXPECT_EQ(i.last_ms, 3001u);
  EXPECT_EQ(i.packets_out, 1u);
  EXPECT_EQ(i.bytes_out, 44u);
  EXPECT_EQ(i.packets_in, 1u);
  EXPECT_EQ(i.bytes_in, 44u);

  // A slot freed and used again starts from zero.
  EXPECT_EQ(t->expire(10'000'000, 100), 2u);
  Bytes b = udp(kIn, 40000, kRem, 53, 0);  // 28
  ASSERT_EQ(in2out(*t, b, 10'000'001), Drop::none);
  v = scan_all(*t, 10'000'002);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].packets_out, 1u);
  EXPECT_EQ(v[0].bytes_out, 28u);
  EXPECT_EQ(v[0].packets_in, 0u);
  EXPECT_EQ(v[0].bytes_in, 0u);
  EXPECT_EQ(v[0].created_ms, 10'000'001u);
}

TEST(NatTable, SessionTcpStates) {
  auto t = make(params());
  auto state = [&](uint64_t now) {
    std::vector<SessionInfo> v = scan_all(*t, now);
    EXPECT_EQ(v.size(), 1u);
    return v.empty() ? 0xff : v[0].tcp_state;
  };
  Bytes syn = tcp(kIn, 40000, kRem, 80, net::kTcpSyn, 0);
  ASSERT_EQ(in2out(*t, syn, 0), Drop::none);
  uint16_t e = sport_of(syn);
  EXPECT_EQ(state(1), uint8_t(TcpState::opening));
  Bytes sa = tcp(kRem, 80, kExt, e, net::kTcpSyn | net::kTcpAck, 0);
  ASSERT_EQ(out2in(*t, sa, 1), Drop::none);
  EXPECT_EQ(state(1), uint8_t(TcpState::opening));
  Bytes ack = tcp(kIn, 40000, kRem, 80, net::kTcpAck, 0);
  ASSERT_EQ(in2out(*t, ack, 2), Drop::none);
  EXPECT_EQ(state(2), uint8_t(TcpState::established));
  Bytes fin = tcp(kIn, 40000, kRem, 80, net::kTcpFin | net::kTcpAck, 0);
  ASSERT_EQ(in2out(*t, fin, 3), Drop::none);
  EXPECT_EQ(state(3), uint8_t(TcpState::closing));
  Bytes fin2 = tcp(kRem, 80, kExt, e, net::kTcpFin | net::kTcpAck, 0);
  ASSERT_EQ(out2in(*t, fin2, 4), Drop::none);
  EXPECT_EQ(state(4), uint8_t(TcpState::closed));
  Bytes rst = tcp(kRem, 80, kExt, e, net::kTcpRst, 0);
  ASSERT_EQ(out2in(*t, rst, 5), Drop::none);
  EXPECT_EQ(state(5), uint8_t(TcpState::reset));
  // last_ms follows the class the session moved to (reset: at most 10 s).
  std::vector<SessionInfo> v = scan_all(*t, 6);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].last_ms, 5u);
  EXPECT_EQ(v[0].packets_out, 3u);
  EXPECT_EQ(v[0].packets_in, 3u);
  EXPECT_EQ(v[0].bytes_out, 3u * 40);
  EXPECT_STREQ(tcp_state_name(uint8_t(TcpState::established)), "established");
  EXPECT_STREQ(tcp_state_name(0), "-");
}

TEST(NatTable, PortForwardTrafficHasNoSession) {
  PortForwards fw({{net::kProtoTcp, 20001, kIn2, 80}});
  TableParams p = params(20000, 20003);
  p.forwards = &fw;
  auto t = make(p);
  Bytes in = tcp(kRem, 40000, kExt, 20001, net::kTcpSyn, 5);
  ASSERT_EQ(out2in(*t, in, 0), Drop::none);
  Bytes back = tcp(kIn2, 80, kRem, 40000, net::kTcpSyn | net::kTcpAck, 5);
  ASSERT_EQ(in2out(*t, back, 0), Drop::none);
  EXPECT_TRUE(scan_all(*t, 1).empty());
}

TEST(NatTable, ScanCursorAndBudget) {
  auto t = make(params(20000, 20999, 10));
  uint32_t cursor = 0;
  unsigned calls = 0;
  auto none = [&](const SessionInfo&) { ++calls; };
  EXPECT_EQ(t->scan(&cursor, 4, 0, none), 4u);
  EXPECT_EQ(cursor, 4u);
  EXPECT_EQ(t->scan(&cursor, 4, 0, none), 4u);
  EXPECT_EQ(cursor, 8u);
  EXPECT_EQ(t->scan(&cursor, 4, 0, none), 2u);  // the end: wraps
  EXPECT_EQ(cursor, 0u);
  EXPECT_EQ(t->scan(&cursor, 100, 0, none), 10u);
  EXPECT_EQ(cursor, 0u);
  cursor = 12345;  // beyond the pool: restarts at 0
  EXPECT_EQ(t->scan(&cursor, 3, 0, none), 3u);
  EXPECT_EQ(cursor, 3u);
  EXPECT_EQ(t->scan(&cursor, 0, 0, none), 0u);
  EXPECT_EQ(cursor, 3u);
  EXPECT_EQ(calls, 0u);  // an empty table lists nothing

  // The plain function pointer form.
  Bytes a = udp(kIn, 40000, kRem, 53);
  ASSERT_EQ(in2out(*t, a, 0), Drop::none);
  cursor = 0;
  unsigned n = 0;
  EXPECT_EQ(t->scan(&cursor, 10, 1,
                    [](const SessionInfo& s, void* ctx) {
                      EXPECT_EQ(s.inside_port, 40000);
                      ++*static_cast<unsigned*>(ctx);
                    },
                    &n),
            10u);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(cursor, 0u);
}

TEST(NatTable, ScanVisitsEveryLiveSessionOnce) {
  auto t = make(params(20000, 20999, 1024));
  std::set<FlowKey> want;
  for (uint16_t i = 0; i < 300; ++i) {
    Bytes b = udp(ip4(10, 0, i >> 8, i & 255), uint16_t(30000 + i % 11), kRem, 53);
    ASSERT_EQ(in2out(*t, b, 0), Drop::none);
    want.insert({net::kProtoUdp, ip4(10, 0, i >> 8, i & 255), uint16_t(30000 + i % 11), kRem, 53});
  }
  uint32_t cursor = 0, slots = 0;
  unsigned calls = 0;
  std::multiset<FlowKey> seen;
  do {
    slots += t->scan(&cursor, 7, 1, [&](const SessionInfo& s) { seen.insert(key_of(s)); });
    ++calls;
  } while (cursor != 0);
  EXPECT_EQ(slots, 1024u);
  EXPECT_EQ(calls, (1024u + 6) / 7);
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_EQ(std::set<FlowKey>(seen.begin(), seen.end()), want);
}

TEST(NatTable, ScanWhileTheTableChanges) {
  auto t = make(params(20000, 20999, 1024));
  std::set<FlowKey> stay;
  for (uint16_t i = 0; i < 300; ++i) {
    Ipv4 in = ip4(10, 1, 0, uint8_t(i));
    if (i % 3 == 0) {  // ICMP: 60 s, expired mid-pass
      Bytes b = echo(net::kIcmpEchoRequest, in, kRem, uint16_t(1000 + i));
      ASSERT_EQ(in2out(*t, b, 0), Drop::none);
    } else {  // UDP: 300 s, alive throughout
      Bytes b = udp(in, 5000, kRem, 53);
      ASSERT_EQ(in2out(*t, b, 0), Drop::none);
      stay.insert({net::kProtoUdp, in, 5000, kRem, 53});
    }
  }
  uint32_t cursor = 0;
  std::multiset<FlowKey> seen;
  auto collect = [&](const SessionInfo& s) { seen.insert(key_of(s)); };
  uint64_t now = 1000;
  for (int k = 0; k < 3; ++k) t->scan(&cursor, 50, now, collect);
  ASSERT_NE(cursor, 0u);
  // Mid-pass: the ICMP sessions expire and new sessions take their slots.
  now = 61'000;
  EXPECT_EQ(t->expire(now, 1000), 100u);
  for (uint16_t i = 0; i < 150; ++i) {
    Bytes b = udp(ip4(10, 2, 0, uint8_t(i)), 6000, kRem2, 123);
    ASSERT_EQ(in2out(*t, b, now), Drop::none);
  }
  do t->scan(&cursor, 50, now, collect);
  while (cursor != 0);
  for (const FlowKey& k : stay) EXPECT_EQ(seen.count(k), 1u);
  for (const FlowKey& k : seen) EXPECT_EQ(seen.count(k), 1u) << "visited twice";
}

TEST(NatTable, ScanSkipsExpiredSessions) {
  auto t = make(params());
  Bytes i = echo(net::kIcmpEchoRequest, kIn, kRem, 7);  // 60 s
  Bytes u = udp(kIn, 40000, kRem, 53);                  // 300 s
  Bytes c = tcp(kIn, 40001, kRem, 80, net::kTcpSyn);    // transitory 240 s
  ASSERT_EQ(in2out(*t, i, 0), Drop::none);
  ASSERT_EQ(in2out(*t, u, 0), Drop::none);
  ASSERT_EQ(in2out(*t, c, 0), Drop::none);
  EXPECT_EQ(scan_all(*t, 59'999, 5).size(), 3u);
  // Expired but not reaped yet: the table still holds it, scan does not list it.
  EXPECT_EQ(scan_all(*t, 60'000, 5).size(), 2u);
  EXPECT_EQ(t->stats().active, 3u);
  std::vector<SessionInfo> v = scan_all(*t, 240'000, 5);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].proto, net::kProtoUdp);
  EXPECT_EQ(t->expire(240'000, 100), 2u);
  EXPECT_EQ(scan_all(*t, 240'000, 5).size(), 1u);
  EXPECT_EQ(scan_all(*t, 300'000, 5).size(), 0u);
}

SessionInfo flow_info(uint8_t proto, Ipv4 in, uint16_t inp, Ipv4 rem, uint16_t remp, Ipv4 ext,
                      uint16_t extp, uint64_t bytes = 0) {
  SessionInfo s;
  s.proto = proto;
  s.inside_ip = in;
  s.inside_port = inp;
  s.remote_ip = rem;
  s.remote_port = remp;
  s.external_ip = ext;
  s.external_port = extp;
  s.bytes_out = bytes;
  return s;
}

TEST(FlowSelect, FilterMatches) {
  const SessionInfo s = flow_info(net::kProtoTcp, kIn, 40000, kRem, 443, kExt, 20001);
  auto filter = [](uint8_t proto, Ipv4 addr, uint8_t len, uint16_t port) {
    shm::FlowFilter f{};
    f.proto = proto;
    f.addr = addr;
    f.prefix_len = len;
    f.port = port;
    return f;
  };
  EXPECT_TRUE(matches(filter(0, 0, 0, 0), s));
  EXPECT_TRUE(matches(filter(net::kProtoTcp, 0, 0, 0), s));
  EXPECT_FALSE(matches(filter(net::kProtoUdp, 0, 0, 0), s));
  EXPECT_TRUE(matches(filter(0, ip4(192, 168, 1, 0), 24, 0), s));    // inside
  EXPECT_TRUE(matches(filter(0, ip4(203, 0, 113, 99), 24, 0), s));   // remote, host bits ignored
  EXPECT_TRUE(matches(filter(0, kExt, 32, 0), s));                    // external
  EXPECT_TRUE(matches(filter(0, kIn, 40, 0), s));                     // > 32 counts as 32
  EXPECT_FALSE(matches(filter(0, kIn + 1, 32, 0), s));
  EXPECT_FALSE(matches(filter(0, ip4(10, 0, 0, 0), 8, 0), s));
  EXPECT_TRUE(matches(filter(0, ip4(10, 0, 0, 0), 0, 0), s));         // prefix 0: any address
  EXPECT_TRUE(matches(filter(0, ip4(128, 0, 0, 0), 1, 0), s));        // 192/203/100: top bit
  EXPECT_TRUE(matches(filter(0, 0, 0, 40000), s));
  EXPECT_TRUE(matches(filter(0, 0, 0, 443), s));
  EXPECT_TRUE(matches(filter(0, 0, 0, 20001), s));
  EXPECT_FALSE(matches(filter(0, 0, 0, 80), s));
  EXPECT_TRUE(matches(filter(net::kProtoTcp, ip4(192, 168, 0, 0), 16, 443), s));
  EXPECT_FALSE(matches(filter(net::kProtoTcp, ip4(192, 168, 0, 0), 16, 80), s));
  EXPECT_FALSE(matches(filter(net::kProtoIcmp, ip4(192, 168, 0, 0), 16, 443), s));
}

TEST(FlowSelect, TopNKeepsTheLargest) {
  std::mt19937 rng(99);
  TopN top(shm::kFlowsPerLcore);
  for (uint32_t n : {0u, 1u, 10u, 256u, 1000u}) {
    top.reset(n);
    std::vector<uint64_t> all;
    for (unsigned i = 0; i < 700; ++i) {
      uint64_t bytes = (uint64_t(rng()) << 20) + i;  // distinct
      all.push_back(bytes);
      SessionInfo s = flow_info(net::kProtoUdp, kIn, uint16_t(i), kRem, 53, kExt, uint16_t(i));
      s.bytes_out = bytes / 3;
      s.bytes_in = bytes - bytes / 3;
      top.offer(s);
    }
    std::sort(all.rbegin(), all.rend());
    uint32_t keep = std::min<uint32_t>(n, shm::kFlowsPerLcore);
    ASSERT_EQ(top.size(), keep);
    std::span<const SessionInfo> got = top.sorted();
    ASSERT_EQ(got.size(), keep);
    for (uint32_t k = 0; k < keep; ++k) EXPECT_EQ(got[k].bytes(), all[k]) << "n " << n << " k " << k;
  }
  // Fewer offered than kept: all of them, sorted.
  top.reset(5);
  for (uint64_t b : {30u, 10u, 50u}) {
    SessionInfo s;
    s.bytes_in = b;
    top.offer(s);
  }
  std::span<const SessionInfo> got = top.sorted();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].bytes(), 50u);
  EXPECT_EQ(got[1].bytes(), 30u);
  EXPECT_EQ(got[2].bytes(), 10u);
}

TEST(FlowSelect, ToFlow) {
  SessionInfo s = flow_info(net::kProtoTcp, kIn, 40000, kRem, 443, kExt, 20001);
  s.tcp_state = uint8_t(TcpState::established);
  s.created_ms = 1000;
  s.last_ms = 9000;
  s.packets_out = 1;
  s.bytes_out = 2;
  s.packets_in = 3;
  s.bytes_in = 4;
  shm::Flow f = to_flow(s, 12'500);
  EXPECT_EQ(f.proto, net::kProtoTcp);
  EXPECT_EQ(f.tcp_state, uint8_t(TcpState::established));
  EXPECT_EQ(f.inside_ip, kIn);
  EXPECT_EQ(f.remote_ip, kRem);
  EXPECT_EQ(f.external_ip, kExt);
  EXPECT_EQ(f.inside_port, 40000);
  EXPECT_EQ(f.remote_port, 443);
  EXPECT_EQ(f.external_port, 20001);
  EXPECT_EQ(f.idle_ms, 3500u);
  EXPECT_EQ(f.age_s, 11u);
  EXPECT_EQ(f.packets_out, 1u);
  EXPECT_EQ(f.bytes_out, 2u);
  EXPECT_EQ(f.packets_in, 3u);
  EXPECT_EQ(f.bytes_in, 4u);
  f = to_flow(s, 500);  // a clock behind the session: zero, not a wrap
  EXPECT_EQ(f.idle_ms, 0u);
  EXPECT_EQ(f.age_s, 0u);
  s.last_ms = 0;
  f = to_flow(s, uint64_t(1) << 40);
  EXPECT_EQ(f.idle_ms, UINT32_MAX);
}

// Quick micro-measure, run with --gtest_also_run_disabled_tests.
TEST(NatTable, DISABLED_Cost) {
  TableParams p = params(1024, 65535, 65536);
  auto t = make(p);
  constexpr unsigned kFlows = 50000;
  std::vector<Bytes> pkts;
  for (unsigned i = 0; i < kFlows; ++i)
    pkts.push_back(udp(ip4(10, 2, (i >> 8) & 255, i & 255), uint16_t(5000 + i % 7), kRem, 53, 0));
  std::vector<Bytes> again = pkts;
  std::vector<net::Ipv4Packet> ps(kFlows);
  uint64_t c0 = rte_rdtsc();
  for (unsigned i = 0; i < kFlows; ++i) {
    net::parse_ipv4(pkts[i].data(), uint32_t(pkts[i].size()), &ps[i]);
    t->inside_to_outside(ps[i], 0);
  }
  uint64_t c1 = rte_rdtsc();
  // Hits: translate the translated packets back and forth.
  std::vector<Bytes> rev;
  for (unsigned i = 0; i < kFlows; ++i) rev.push_back(udp(kRem, 53, kExt, sport_of(pkts[i]), 0));
  uint64_t c2 = rte_rdtsc();
  for (unsigned i = 0; i < kFlows; ++i) {
    net::parse_ipv4(rev[i].data(), uint32_t(rev[i].size()), &ps[i]);
    t->outside_to_inside(ps[i], 1);
  }
  uint64_t c3 = rte_rdtsc();
  uint64_t c4 = rte_rdtsc();
  for (unsigned i = 0; i < kFlows; ++i) {
    net::parse_ipv4(again[i].data(), uint32_t(again[i].size()), &ps[i]);
    t->inside_to_outside(ps[i], 2);
  }
  uint64_t c5 = rte_rdtsc();
  EXPECT_EQ(t->stats().created, kFlows);
  std::printf("[          ] cycles/pkt incl. parse: create %.0f, out->in hit %.0f, in->out hit %.0f"
              " (tsc %lu Hz)\n",
              double(c1 - c0) / kFlows, double(c3 - c2) / kFlows, double(c5 - c4) / kFlows,
              (unsigned long)rte_get_tsc_hz());
}

}  // namespace
}  // namespace mpf::nat
