// lib/tunnel: the v1 header encoding and its checks, the outer headers, and the worked example
// of docs/protocol.md (the bytes below are the ones printed there).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/ipv4_packet.hpp"
#include "net/protocol.hpp"
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
  h.tag_len = 0;
  h.tunnel_id = 0x01020304;
  h.epoch = 0xa1b2;
  h.stream_id = 0x0c0d;
  h.stream_seq = 0xdeadbeef;
  h.path_seq = 0x00112233;
  h.timestamp_us = 0xfedcba98;
  return h;
}

// docs/protocol.md, "Worked example": a 98-byte data frame, layer by layer.
const uint8_t kExEth[14] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00,
                            0x00, 0x00, 0x00, 0x01, 0x08, 0x00};
const uint8_t kExOuterIp[20] = {0x45, 0x00, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11,
                                0xc2, 0x25, 0xc6, 0x33, 0x64, 0x0a, 0xcb, 0x00, 0x71, 0x01};
const uint8_t kExOuterUdp[8] = {0xc3, 0x51, 0x11, 0x94, 0x00, 0x40, 0x00, 0x00};
const uint8_t kExMpf[24] = {0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x07,
                            0xbe, 0xef, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2a,
                            0x00, 0x00, 0x00, 0x11, 0x00, 0xab, 0xcd, 0xef};
const uint8_t kExInner[32] = {0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0x14,
                              0x55, 0x64, 0x40, 0x00, 0x02, 0xc0, 0x00, 0x02, 0x35, 0x9c, 0x40,
                              0x00, 0x35, 0x00, 0x0c, 0x69, 0x57, 0x6d, 0x70, 0x66, 0x21};

}  // namespace

TEST(TunnelWire, ExactLayout) {
  uint8_t b[kHeaderLen];
  encode(sample(), b);
  const uint8_t want[kHeaderLen] = {0x12, 0x01, 0x05, 0x00, 0x01, 0x02, 0x03, 0x04,
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
    ASSERT_EQ(frame[0] >> 4, 1);
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
  for (uint8_t v : {0, 2, 3, 15}) {
    b[0] = uint8_t(v << 4 | (b[0] & 0x0f));
    EXPECT_EQ(decode(b, sizeof b, &h), Drop::tunnel_bad_version) << int(v);
  }
}

TEST(TunnelWire, BadType) {
  uint8_t b[kHeaderLen];
  encode(sample(), b);
  Header h;
  for (uint8_t t = 0; t < 16; ++t) {
    b[0] = uint8_t(0x10 | t);
    EXPECT_EQ(decode(b, sizeof b, &h), t <= kMaxFrameType ? Drop::none : Drop::tunnel_bad_type)
        << int(t);
  }
}

TEST(TunnelWire, UnknownFlags) {
  uint8_t b[kHeaderLen];
  encode(sample(), b);
  Header h;
  for (unsigned f = 0; f < 256; ++f) {
    b[1] = uint8_t(f);
    EXPECT_EQ(decode(b, sizeof b, &h), (f & ~kFlagsKnown) ? Drop::tunnel_bad_length : Drop::none)
        << f;
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
  write_outer(out, a, 56, 0x1234);
  EXPECT_EQ(0, std::memcmp(out, kExEth, 14));
  EXPECT_EQ(0, std::memcmp(out + 14, kExOuterIp, 20));
  EXPECT_EQ(0, std::memcmp(out + 34, kExOuterUdp, 8));
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

TEST(TunnelDoc, WorkedExampleFrame) {
  // Builds the documented frame with the library and compares every byte.
  uint8_t frame[kOuterLen + kHeaderLen + sizeof kExInner];
  static_assert(sizeof frame == 98);
  OuterAddrs a;
  a.src_mac = net::Mac{{0x02, 0, 0, 0, 0, 0x01}};
  a.dst_mac = net::Mac{{0x02, 0, 0, 0, 0, 0x02}};
  a.src_ip = *net::parse_ipv4("198.51.100.10");
  a.dst_ip = *net::parse_ipv4("203.0.113.1");
  a.src_port = 50000 + 1;  // base port + stream id
  a.dst_port = 4500;
  write_outer(frame, a, uint16_t(kHeaderLen + sizeof kExInner), 0x1234);
  Header h;
  h.type = FrameType::data;
  h.path_id = 1;
  h.tunnel_id = 7;
  h.epoch = 0xbeef;
  h.stream_id = 1;
  h.stream_seq = 42;
  h.path_seq = 17;
  h.timestamp_us = 0x00abcdef;
  encode(h, frame + kOuterLen);
  std::memcpy(frame + kOuterLen + kHeaderLen, kExInner, sizeof kExInner);

  std::vector<uint8_t> want;
  want.insert(want.end(), kExEth, kExEth + 14);
  want.insert(want.end(), kExOuterIp, kExOuterIp + 20);
  want.insert(want.end(), kExOuterUdp, kExOuterUdp + 8);
  want.insert(want.end(), kExMpf, kExMpf + 24);
  want.insert(want.end(), kExInner, kExInner + 32);
  ASSERT_EQ(want.size(), sizeof frame);
  for (size_t i = 0; i < sizeof frame; ++i) ASSERT_EQ(frame[i], want[i]) << "offset " << i;

  // And the receiver's view of it: outer IPv4 valid, header decodes, inner packet valid with
  // correct UDP checksum, 100.64.0.2:40000 -> 192.0.2.53:53.
  net::Ipv4Packet outer;
  ASSERT_EQ(net::parse_ipv4(frame + 14, sizeof frame - 14, &outer), Drop::none);
  EXPECT_EQ(outer.dport, 4500);
  EXPECT_EQ(outer.sport, 50001);
  Header d;
  ASSERT_EQ(decode(frame + kOuterLen, sizeof frame - kOuterLen, &d), Drop::none);
  EXPECT_EQ(d, h);
  net::Ipv4Packet in;
  uint8_t* inner = frame + kOuterLen + kHeaderLen;
  ASSERT_EQ(net::parse_ipv4(inner, sizeof kExInner, &in), Drop::none);
  EXPECT_EQ(in.src, *net::parse_ipv4("100.64.0.2"));
  EXPECT_EQ(in.dst, *net::parse_ipv4("192.0.2.53"));
  EXPECT_EQ(in.sport, 40000);
  EXPECT_EQ(in.dport, 53);
  EXPECT_EQ(net::l4_checksum(inner, in.l4, in.l4_len), 0);
  EXPECT_EQ(0, std::memcmp(in.l4 + 8, "mpf!", 4));
  // Overhead: the frame minus Ethernet is the inner packet plus kOverhead.
  EXPECT_EQ(sizeof frame - 14, sizeof kExInner + kOverhead);
}
