// lib/tunnel: the v3 header encoding and its checks, the outer headers, frame authentication
// (tunnel/auth.hpp), and the worked example of docs/protocol.md (the bytes below are the ones
// printed there).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/ipv4_packet.hpp"
#include "net/protocol.hpp"
#include "tunnel/auth.hpp"
#include "tunnel/compact.hpp"
#include "tunnel/outer.hpp"
#include "tunnel/wire.hpp"

using namespace mpf;
using namespace mpf::tunnel;

namespace {

Header sample() {
  Header h;
  h.type = FrameType::probe_reply;
  h.flags = kFlagDuplicate;
  h.path_id = 5;
  h.tag_len = 0;  // the header decoder judges tag_len against the frame only; 12 is the dataplane's rule
  h.tunnel_id = 0x01020304;
  h.epoch = 0xa1b2;
  h.stream_id = 0x0c0d;
  h.stream_seq = 0xdeadbeef;
  h.path_seq = 0x00112233;
  h.timestamp_us = 0xfedcba98;
  return h;
}

// docs/protocol.md, "Worked example": a 99-byte data frame (compact inner header), as printed
// there.
const char kExFrameHex[] =
    "020000000002020000000001080045000055123440004011c224c633640acb00"
    "7101c3511194004100003018010c00000007beef00010000002a0000001100ab"
    "cdef0040110001c00002359c400035000c69576d7066212e15469b832cf91b39"
    "200b4d";
constexpr size_t kExLen = 99;

std::vector<uint8_t> from_hex(const char* h) {
  std::vector<uint8_t> v;
  for (; h[0] && h[1]; h += 2) v.push_back(uint8_t(std::stoi(std::string(h, 2), nullptr, 16)));
  return v;
}

// The inner packet it carries, whole: UDP 100.64.0.2:40000 -> 192.0.2.53:53, "mpf!", DF.
const uint8_t kExInner[32] = {0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0x14,
                              0x55, 0x64, 0x40, 0x00, 0x02, 0xc0, 0x00, 0x02, 0x35, 0x9c, 0x40,
                              0x00, 0x35, 0x00, 0x0c, 0x69, 0x57, 0x6d, 0x70, 0x66, 0x21};

}  // namespace

TEST(TunnelWire, ExactLayout) {
  uint8_t b[kHeaderLen];
  encode(sample(), b);
  const uint8_t want[kHeaderLen] = {0x32, 0x01, 0x05, 0x00, 0x01, 0x02, 0x03, 0x04,
                                    0xa1, 0xb2, 0x0c, 0x0d, 0xde, 0xad, 0xbe, 0xef,
                                    0x00, 0x11, 0x22, 0x33, 0xfe, 0xdc, 0xba, 0x98};
  EXPECT_EQ(0, std::memcmp(b, want, kHeaderLen));
  Header h;
  ASSERT_EQ(decode(want, sizeof want, &h), Drop::none);
  EXPECT_EQ(h, sample());
}

TEST(TunnelWire, EncodeWritesExactly24Bytes) {
  uint8_t b[kHeaderLen + 8];
  std::memset(b, 0xee, sizeof b);
  encode(sample(), b + 4);
  for (int i : {0, 1, 2, 3}) EXPECT_EQ(b[i], 0xee);
  for (size_t i = 4 + kHeaderLen; i < sizeof b; ++i) EXPECT_EQ(b[i], 0xee);
}

TEST(TunnelWire, RandomRoundTrip) {
  std::mt19937 rng(24);
  std::vector<uint8_t> frame(kHeaderLen + 300);
  for (int i = 0; i < 10000; ++i) {
    Header h;
    h.type = FrameType(rng() % (kMaxFrameType + 1));
    h.flags = uint8_t(rng() & kFlagsKnown);
    if (h.type != FrameType::data) h.flags &= uint8_t(~kFlagsForm);
    if (!(h.flags & kFlagCompact)) h.flags &= uint8_t(~kFlagInnerDf);
    h.path_id = uint8_t(rng());
    h.tag_len = uint8_t(rng() % 33);
    h.tunnel_id = uint32_t(rng());
    h.epoch = uint16_t(rng());
    h.stream_id = uint16_t(rng());
    h.stream_seq = uint32_t(rng());
    h.path_seq = uint32_t(rng());
    h.timestamp_us = uint32_t(rng());
    encode(h, frame.data());
    const size_t len = kHeaderLen + h.tag_len + rng() % 200;
    Header d;
    ASSERT_EQ(decode(frame.data(), len, &d), Drop::none) << i;
    ASSERT_EQ(d, h) << i;
    ASSERT_EQ(frame[0] >> 4, 3);
  }
}

TEST(TunnelWire, Truncated) {
  uint8_t b[kHeaderLen];
  encode(sample(), b);
  Header h;
  for (size_t n = 0; n < kHeaderLen; ++n) EXPECT_EQ(decode(b, n, &h), Drop::tunnel_truncated) << n;
  EXPECT_EQ(decode(b, kHeaderLen, &h), Drop::none);
}

TEST(TunnelWire, BadVersion) {
  uint8_t b[kHeaderLen];
  encode(sample(), b);
  Header h;
  for (uint8_t v : {0, 1, 2, 4, 15}) {  // 1: the unauthenticated v1; 2: the 16-byte tag, no compact form
    b[0] = uint8_t(v << 4 | (b[0] & 0x0f));
    EXPECT_EQ(decode(b, sizeof b, &h), Drop::tunnel_bad_version) << int(v);
  }
}

TEST(TunnelWire, BadType) {
  uint8_t b[kHeaderLen];
  encode(sample(), b);
  Header h;
  for (uint8_t t = 0; t < 16; ++t) {
    b[0] = uint8_t(0x30 | t);
    EXPECT_EQ(decode(b, sizeof b, &h), t <= kMaxFrameType ? Drop::none : Drop::tunnel_bad_type)
        << int(t);
  }
}

TEST(TunnelWire, UnknownFlags) {
  uint8_t b[kHeaderLen];
  for (FrameType t : {FrameType::data, FrameType::probe, FrameType::probe_reply,
                      FrameType::feedback}) {
    Header s = sample();
    s.type = t;
    encode(s, b);
    Header h;
    for (unsigned f = 0; f < 256; ++f) {
      b[1] = uint8_t(f);
      // compact only on data frames; inner_df only with compact.
      const bool ok = !(f & ~kFlagsKnown) &&
                      ((f & kFlagCompact) ? t == FrameType::data : !(f & kFlagInnerDf));
      EXPECT_EQ(decode(b, sizeof b, &h), ok ? Drop::none : Drop::tunnel_bad_length)
          << f << " type " << int(t);
    }
  }
}

TEST(TunnelWire, TagLongerThanFrame) {
  uint8_t b[kHeaderLen + 16] = {};
  Header s = sample();
  Header h;
  s.tag_len = 16;
  encode(s, b);
  EXPECT_EQ(decode(b, kHeaderLen + 16, &h), Drop::none);
  EXPECT_EQ(h.tag_len, 16);
  EXPECT_EQ(decode(b, kHeaderLen + 15, &h), Drop::tunnel_bad_length);
  s.tag_len = 255;
  encode(s, b);
  EXPECT_EQ(decode(b, kHeaderLen + 16, &h), Drop::tunnel_bad_length);
  s.tag_len = 1;
  encode(s, b);
  EXPECT_EQ(decode(b, kHeaderLen, &h), Drop::tunnel_bad_length);
}

TEST(TunnelWire, EmptyDataFrameAccepted) {
  // The header does not judge the payload: the dataplane validates the inner packet itself.
  Header s = sample();
  s.type = FrameType::data;
  s.flags = 0;
  uint8_t b[kHeaderLen];
  encode(s, b);
  Header h;
  ASSERT_EQ(decode(b, kHeaderLen, &h), Drop::none);
  EXPECT_EQ(h.type, FrameType::data);
  EXPECT_EQ(h, s);
}

TEST(TunnelOuter, ExactBytes) {
  OuterAddrs a;
  a.src_mac = net::Mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
  a.dst_mac = net::Mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
  a.src_ip = 0xc633640a;  // 198.51.100.10
  a.dst_ip = 0xcb007101;  // 203.0.113.1
  a.src_port = 50001;
  a.dst_port = 4500;
  uint8_t out[kOuterLen + 2];
  std::memset(out, 0xee, sizeof out);
  write_outer(out, a, 57, 0x1234);  // mpf header + 21-byte compact inner packet + tag
  const std::vector<uint8_t> ex = from_hex(kExFrameHex);
  EXPECT_EQ(0, std::memcmp(out, ex.data(), kOuterLen));
  EXPECT_EQ(out[kOuterLen], 0xee);  // nothing written past the headers

  // Another size and id: lengths, id and checksum follow.
  write_outer(out, a, 1000, 0xffff);
  EXPECT_EQ(net::load16(out + 14 + 2), 1028);
  EXPECT_EQ(net::load16(out + 14 + 4), 0xffff);
  EXPECT_EQ(net::load16(out + 14 + 6), 0x4000);
  EXPECT_EQ(net::load16(out + 14 + 10), net::ipv4_header_checksum(out + 14));
  EXPECT_EQ(net::load16(out + 34 + 4), 1008);
  EXPECT_EQ(net::load16(out + 34 + 6), 0);
}

Key example_key() {
  Key k;
  for (unsigned i = 0; i < kKeyLen; i++) k[i] = uint8_t(0x10 + i);
  return k;
}
Salt example_salt() {
  Salt s;
  for (unsigned i = 0; i < kSaltLen; i++) s[i] = uint8_t(i);
  return s;
}

TEST(TunnelDoc, WorkedExampleFrame) {
  ASSERT_EQ(crypto_init(), "");
  // Builds the documented frame with the library, as a gateway's worker does (compact the
  // inner header, prepend the outer and mpf headers, tag), and compares every byte.
  const size_t payload = sizeof kExInner - kCompactSaving;
  uint8_t frame[kOuterLen + kHeaderLen + payload + kTagLen];
  static_assert(sizeof frame == kExLen);
  uint8_t inner[sizeof kExInner];
  std::memcpy(inner, kExInner, sizeof inner);
  ASSERT_TRUE(can_compact(inner, Direction::gateway_to_server, 0x64400002));
  const uint8_t form = compact(inner, Direction::gateway_to_server);
  EXPECT_EQ(form, kFlagCompact | kFlagInnerDf);
  OuterAddrs a;
  a.src_mac = net::Mac{{0x02, 0, 0, 0, 0, 0x01}};
  a.dst_mac = net::Mac{{0x02, 0, 0, 0, 0, 0x02}};
  a.src_ip = *net::parse_ipv4("198.51.100.10");
  a.dst_ip = *net::parse_ipv4("203.0.113.1");
  a.src_port = 50000 + 1;  // base port + stream id
  a.dst_port = 4500;
  write_outer(frame, a, uint16_t(kHeaderLen + payload + kTagLen), 0x1234);
  Header h;
  h.type = FrameType::data;
  h.flags = form;
  h.path_id = 1;
  h.tunnel_id = 7;
  h.epoch = 0xbeef;
  h.stream_id = 1;
  h.stream_seq = 42;
  h.path_seq = 17;
  h.timestamp_us = 0x00abcdef;
  encode(h, frame + kOuterLen);
  std::memcpy(frame + kOuterLen + kHeaderLen, inner + kCompactSaving, payload);
  const Sealer tx(example_key(), Direction::gateway_to_server, example_salt());
  tx.seal(make_nonce(0, 0, 1, 17), frame + kOuterLen, kHeaderLen + payload,
          frame + kOuterLen + kHeaderLen + payload);
  const std::vector<uint8_t> want = from_hex(kExFrameHex);
  ASSERT_EQ(want.size(), sizeof frame);
  for (size_t i = 0; i < sizeof frame; ++i) ASSERT_EQ(frame[i], want[i]) << "offset " << i;

  // And the receiver's view of it: outer IPv4 valid, header decodes, the tag verifies with the
  // key the session's salt gives, the restored inner packet is the original, valid, with its
  // UDP checksum right: 100.64.0.2:40000 -> 192.0.2.53:53.
  net::Ipv4Packet outer;
  ASSERT_EQ(net::parse_ipv4(frame + 14, sizeof frame - 14, &outer), Drop::none);
  EXPECT_EQ(outer.dport, 4500);
  EXPECT_EQ(outer.sport, 50001);
  Header d;
  ASSERT_EQ(decode(frame + kOuterLen, sizeof frame - kOuterLen, &d), Drop::none);
  h.tag_len = 12;
  EXPECT_EQ(d, h);
  const Sealer rx(example_key(), Direction::gateway_to_server, example_salt());
  EXPECT_TRUE(rx.open(make_nonce(0, 0, 1, 17), frame + kOuterLen, kHeaderLen + payload,
                      frame + kOuterLen + kHeaderLen + payload));
  uint8_t* c = frame + kOuterLen + kHeaderLen;
  expand(c, payload, d.flags, Direction::gateway_to_server, 0x64400002, c - kCompactSaving);
  uint8_t* restored = c - kCompactSaving;
  EXPECT_EQ(0, std::memcmp(restored, kExInner, sizeof kExInner));
  net::Ipv4Packet in;
  ASSERT_EQ(net::parse_ipv4(restored, sizeof kExInner, &in), Drop::none);
  EXPECT_EQ(in.src, *net::parse_ipv4("100.64.0.2"));
  EXPECT_EQ(in.dst, *net::parse_ipv4("192.0.2.53"));
  EXPECT_EQ(in.sport, 40000);
  EXPECT_EQ(in.dport, 53);
  EXPECT_EQ(net::l4_checksum(restored, in.l4, in.l4_len), 0);
  EXPECT_EQ(0, std::memcmp(in.l4 + 8, "mpf!", 4));
  // Overhead: the frame minus Ethernet is the inner packet plus kCompactOverhead; whole, the
  // packet would take kOverhead.
  EXPECT_EQ(sizeof frame - 14, sizeof kExInner + kCompactOverhead);
  EXPECT_EQ(kCompactOverhead, 53u);
  EXPECT_EQ(kOverhead, 64u);
}

// --- authentication (tunnel/auth.hpp) ----------------------------------------------------------

TEST(TunnelAuth, KeysAre64HexDigits) {
  auto k = parse_key("101112131415161718191a1b1c1d1e1f202122232425262728292A2B2C2D2E2F");
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, example_key());
  EXPECT_FALSE(parse_key(""));
  EXPECT_FALSE(parse_key("change-me"));
  EXPECT_FALSE(parse_key("101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e"));    // 62
  EXPECT_FALSE(parse_key("101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f00"));  // 66
  EXPECT_FALSE(parse_key("101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2g"));
  EXPECT_FALSE(parse_key(" 01112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"));
}

TEST(TunnelAuth, NonceLayout) {
  const Nonce n = make_nonce(3, 0xff, 7, 0x0102030405060708ull);
  const Nonce want = {3, 0xff, 7, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(n, want);
}

TEST(TunnelAuth, ExtendCounterRestoresTheHighBits) {
  EXPECT_EQ(extend_counter(0, 0), 0u);
  EXPECT_EQ(extend_counter(0, 5), 5u);
  EXPECT_EQ(extend_counter(100, 90), 90u);  // a little behind
  EXPECT_EQ(extend_counter(100, 0x7fffffff), 0x7fffffffull);
  // Past the 32-bit wrap, forward and back.
  EXPECT_EQ(extend_counter(0xfffffff0ull, 0x10), 0x100000010ull);
  EXPECT_EQ(extend_counter(0x100000010ull, 0xfffffff0), 0xfffffff0ull);
  EXPECT_EQ(extend_counter(0x5fffffff0ull, 0x20), 0x600000020ull);
  EXPECT_EQ(extend_counter(0x600000020ull, 0x00000010), 0x600000010ull);
  // Nothing below 0: a low value far "behind" 0 is ahead.
  EXPECT_EQ(extend_counter(5, 0xfffffff0), 0xfffffff0ull);
  // Every distance within 2^31 either way comes back exactly.
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100000; i++) {
    const uint64_t last = (rng() >> 8) + (uint64_t(1) << 32);
    const int64_t d = int64_t(rng() % (uint64_t(1) << 32)) - (int64_t(1) << 31);
    const uint64_t c = uint64_t(int64_t(last) + d);
    ASSERT_EQ(extend_counter(last, uint32_t(c)), c) << last << " " << d;
  }
}

TEST(TunnelAuth, TagCoversEveryByteAndTheNonce) {
  ASSERT_EQ(crypto_init(), "");
  const Sealer s(example_key(), Direction::server_to_gateway, example_salt());
  std::vector<uint8_t> data(24 + 300);
  for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t(i * 7);
  uint8_t tag[kTagLen];
  const Nonce n = make_nonce(0, 2, 1, 1000);
  s.seal(n, data.data(), data.size(), tag);
  EXPECT_TRUE(s.open(n, data.data(), data.size(), tag));
  // Any bit of header or payload, any bit of the tag, another nonce: refused.
  for (size_t i = 0; i < data.size(); i += 13) {
    data[i] ^= 0x10;
    EXPECT_FALSE(s.open(n, data.data(), data.size(), tag)) << "byte " << i;
    data[i] ^= 0x10;
  }
  for (size_t i = 0; i < kTagLen; i++) {
    tag[i] ^= 1;
    EXPECT_FALSE(s.open(n, data.data(), data.size(), tag)) << "tag byte " << i;
    tag[i] ^= 1;
  }
  EXPECT_FALSE(s.open(make_nonce(0, 2, 1, 1001), data.data(), data.size(), tag));
  EXPECT_FALSE(s.open(make_nonce(0, 3, 1, 1000), data.data(), data.size(), tag));
  EXPECT_FALSE(s.open(n, data.data(), data.size() - 1, tag));
  // Another direction, salt or key is another key.
  EXPECT_FALSE(Sealer(example_key(), Direction::gateway_to_server, example_salt())
                   .open(n, data.data(), data.size(), tag));
  Salt salt2 = example_salt();
  salt2[15] ^= 1;
  EXPECT_FALSE(Sealer(example_key(), Direction::server_to_gateway, salt2)
                   .open(n, data.data(), data.size(), tag));
  Key k2 = example_key();
  k2[0] ^= 1;
  EXPECT_FALSE(Sealer(k2, Direction::server_to_gateway, example_salt())
                   .open(n, data.data(), data.size(), tag));
  // Fresh salts differ (CSPRNG).
  EXPECT_NE(random_salt(), random_salt());
}

// --- compact inner header (tunnel/compact.hpp) --------------------------------------------------

namespace {

// A valid IPv4 header (checksum set) with these fields, then 8 bytes of L4.
std::vector<uint8_t> inner_packet(uint8_t tos, uint8_t ttl, uint8_t proto, uint16_t id,
                                  uint16_t frag, net::Ipv4 src, net::Ipv4 dst) {
  std::vector<uint8_t> p(28);
  p[0] = 0x45;
  p[1] = tos;
  net::store16(&p[2], uint16_t(p.size()));
  net::store16(&p[4], id);
  net::store16(&p[6], frag);
  p[8] = ttl;
  p[9] = proto;
  net::store32(&p[12], src);
  net::store32(&p[16], dst);
  net::ipv4_set_checksum(p.data());
  for (size_t i = 20; i < p.size(); i++) p[i] = uint8_t(0xa0 + i);
  return p;
}

constexpr net::Ipv4 kGw = 0x64400002;   // 100.64.0.2, the gateway's tunnel address
constexpr net::Ipv4 kFar = 0xc0000235;  // 192.0.2.53

}  // namespace

TEST(TunnelCompact, ExactBytesBothDirections) {
  // Gateway -> server: the near address is the source; the destination travels.
  std::vector<uint8_t> p = inner_packet(0xb9, 63, 17, 0x1234, 0x4000, kGw, kFar);
  const std::vector<uint8_t> orig = p;
  ASSERT_TRUE(can_compact(p.data(), Direction::gateway_to_server, kGw));
  EXPECT_EQ(compact(p.data(), Direction::gateway_to_server), kFlagCompact | kFlagInnerDf);
  const uint8_t want[kCompactLen] = {0xb9, 63, 17, 0x12, 0x34, 0xc0, 0x00, 0x02, 0x35};
  EXPECT_EQ(0, std::memcmp(p.data() + kCompactSaving, want, kCompactLen));
  EXPECT_EQ(0, std::memcmp(p.data() + 20, orig.data() + 20, 8));  // L4 untouched
  // Server -> gateway: the near address is the destination; the source travels. No DF.
  std::vector<uint8_t> q = inner_packet(0x02, 5, 6, 0xfffe, 0x0000, kFar, kGw);
  EXPECT_FALSE(can_compact(q.data(), Direction::gateway_to_server, kGw));
  ASSERT_TRUE(can_compact(q.data(), Direction::server_to_gateway, kGw));
  EXPECT_EQ(compact(q.data(), Direction::server_to_gateway), kFlagCompact);
  const uint8_t want2[kCompactLen] = {0x02, 5, 6, 0xff, 0xfe, 0xc0, 0x00, 0x02, 0x35};
  EXPECT_EQ(0, std::memcmp(q.data() + kCompactSaving, want2, kCompactLen));
}

TEST(TunnelCompact, RestoresEveryByteInPlace) {
  std::mt19937 rng(9);
  const uint8_t kProtos[3] = {net::kProtoUdp, net::kProtoIcmp, 47};  // 8 bytes of L4 suffice
  for (int i = 0; i < 5000; i++) {
    const Direction dir = i % 2 ? Direction::gateway_to_server : Direction::server_to_gateway;
    const net::Ipv4 far = uint32_t(rng());
    const uint16_t frag = rng() % 2 ? 0x4000 : 0;
    std::vector<uint8_t> p =
        inner_packet(uint8_t(rng()), uint8_t(rng()), kProtos[rng() % 3], uint16_t(rng()), frag,
                     dir == Direction::gateway_to_server ? kGw : far,
                     dir == Direction::gateway_to_server ? far : kGw);
    const std::vector<uint8_t> orig = p;
    ASSERT_TRUE(can_compact(p.data(), dir, kGw));
    const uint8_t flags = compact(p.data(), dir);
    // What a receiver sees: the payload from the compact header on; it restores the header
    // over the 11 bytes before it (the end of the mpf header in a frame).
    std::memset(p.data(), 0xee, kCompactSaving);
    uint8_t* payload = p.data() + kCompactSaving;
    expand(payload, p.size() - kCompactSaving, flags, dir, kGw, payload - kCompactSaving);
    for (size_t j = 0; j < p.size(); j++) ASSERT_EQ(p[j], orig[j]) << i << " byte " << j;
    net::Ipv4Packet parsed;
    ASSERT_EQ(net::parse_ipv4(p.data(), uint32_t(p.size()), &parsed), Drop::none) << i;
  }
}

TEST(TunnelCompact, WhatCannotTravelCompact) {
  const std::vector<uint8_t> ok = inner_packet(0, 64, 6, 1, 0x4000, kGw, kFar);
  EXPECT_TRUE(can_compact(ok.data(), Direction::gateway_to_server, kGw));
  EXPECT_FALSE(can_compact(ok.data(), Direction::gateway_to_server, kGw + 1));  // not the near address
  std::vector<uint8_t> p = ok;
  p[0] = 0x46;  // options
  EXPECT_FALSE(can_compact(p.data(), Direction::gateway_to_server, kGw));
  for (uint16_t frag : {0x2000, 0x0001, 0x6000, 0x8000}) {  // MF, an offset, reserved bit
    p = ok;
    net::store16(&p[6], frag);
    EXPECT_FALSE(can_compact(p.data(), Direction::gateway_to_server, kGw)) << frag;
  }
}
