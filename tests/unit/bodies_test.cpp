// lib/tunnel/bodies: the probe, probe_reply and feedback bodies of docs/protocol.md 3.1-3.3,
// byte for byte, and every rejection.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tunnel/bodies.hpp"

using namespace mpf;
using namespace mpf::tunnel;

namespace {

ProbeBody sample_probe() {
  ProbeBody b;
  b.probe_seq = 0x01020304;
  b.rx_frames = 0x05060708;
  b.rx_bytes = 0x090a0b0c0d0e0f10;
  b.srtt_us = 0x11121314;
  b.queue_us = 0x15161718;
  b.interval_ms = 0x191a1b1c;
  for (unsigned i = 0; i < kSessionSaltLen; i++) b.session.salt[i] = uint8_t(0x1d + i);
  b.session.start_ms = 0x2d2e2f3031323334;
  b.rttvar_us = 0x35363738;
  return b;
}

ProbeReplyBody sample_reply() {
  ProbeReplyBody b;
  b.probe_seq = 0xa1a2a3a4;
  b.rx_frames = 0xb1b2b3b4;
  b.rx_bytes = 0xc1c2c3c4c5c6c7c8;
  b.queue_us = 0xd1d2d3d4;
  for (unsigned i = 0; i < kSessionSaltLen; i++) b.session.salt[i] = uint8_t(0xe1 + i);
  b.session.start_ms = 0xf1f2f3f4f5f6f7f8;
  return b;
}

FeedbackBody sample_feedback() {
  FeedbackBody b;
  b.count = 2;
  b.entries[0] = {3, 1, 0xfffffffe, 5};
  b.entries[1] = {0, 7, 0x00000011, 1024};
  return b;
}

// The bytes docs/protocol.md sections 3.1-3.3 print for these samples.
// (The probe's bytes count up from 0x01, the reply's follow its field names.)
const std::vector<uint8_t> kProbeV = [] {
  std::vector<uint8_t> v;
  for (unsigned i = 1; i <= 56; i++) v.push_back(uint8_t(i));
  return v;
}();
const uint8_t* const kProbe = kProbeV.data();
const std::vector<uint8_t> kReplyV = {
    0xa1, 0xa2, 0xa3, 0xa4, 0xb1, 0xb2, 0xb3, 0xb4, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
    0xc8, 0xd1, 0xd2, 0xd3, 0xd4, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea,
    0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8};
const uint8_t* const kReply = kReplyV.data();
const uint8_t kFeedback[28] = {0x02, 0x00, 0x00, 0x00,                          //
                               0x03, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xfe,  //
                               0x00, 0x05, 0x00, 0x00,                          //
                               0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11,  //
                               0x04, 0x00, 0x00, 0x00};

FeedbackBody random_feedback(std::mt19937& rng) {
  FeedbackBody b;
  b.count = uint8_t(1 + rng() % kFeedbackMaxEntries);
  for (unsigned i = 0; i < b.count; i++)
    b.entries[i] = {uint8_t(rng()), uint8_t(rng() % 8), uint32_t(rng()),
                    uint16_t(1 + rng() % kFeedbackMaxMissing)};
  return b;
}

template <class Body>
void expect_rejected(const std::vector<uint8_t>& bytes, Drop want, const char* what) {
  Body out;
  const Body before = out;
  EXPECT_EQ(decode(bytes.data(), bytes.size(), &out), want) << what;
  EXPECT_EQ(out, before) << what << ": a rejected body must leave *out untouched";
}

}  // namespace

TEST(Bodies, Sizes) {
  EXPECT_EQ(kProbeBodyLen, 56u);
  EXPECT_EQ(kProbeReplyBodyLen, 44u);
  EXPECT_EQ(feedback_len(1), 16u);
  EXPECT_EQ(feedback_len(16), 196u);
  EXPECT_EQ(kFeedbackMaxLen, 196u);
}

TEST(Bodies, ProbeExactLayout) {
  uint8_t b[64];
  std::memset(b, 0xee, sizeof b);
  ASSERT_EQ(encode(sample_probe(), b, sizeof b), kProbeBodyLen);
  EXPECT_EQ(0, std::memcmp(b, kProbe, kProbeBodyLen));
  EXPECT_EQ(b[kProbeBodyLen], 0xee) << "wrote beyond the body";
  ProbeBody p;
  ASSERT_EQ(decode(kProbe, kProbeBodyLen, &p), Drop::none);
  EXPECT_EQ(p, sample_probe());
}

TEST(Bodies, ProbeReplyExactLayout) {
  uint8_t b[64];
  std::memset(b, 0xee, sizeof b);
  ASSERT_EQ(encode(sample_reply(), b, sizeof b), kProbeReplyBodyLen);
  EXPECT_EQ(0, std::memcmp(b, kReply, kProbeReplyBodyLen));
  EXPECT_EQ(b[kProbeReplyBodyLen], 0xee);
  ProbeReplyBody r;
  ASSERT_EQ(decode(kReply, kProbeReplyBodyLen, &r), Drop::none);
  EXPECT_EQ(r, sample_reply());
}

TEST(Bodies, FeedbackExactLayout) {
  uint8_t b[kFeedbackMaxLen + 8];
  std::memset(b, 0xee, sizeof b);
  ASSERT_EQ(encode(sample_feedback(), b, sizeof b), sizeof kFeedback);
  EXPECT_EQ(0, std::memcmp(b, kFeedback, sizeof kFeedback));
  EXPECT_EQ(b[sizeof kFeedback], 0xee);
  FeedbackBody f;
  ASSERT_EQ(decode(kFeedback, sizeof kFeedback, &f), Drop::none);
  EXPECT_EQ(f, sample_feedback());
}

// The examples printed in docs/protocol.md are these bytes: the first code block after each of
// the "### 3.1", "### 3.2" and "### 3.3" headings, read as hex.
TEST(Bodies, DocExamplesMatch) {
  std::ifstream in(std::string(MPF_SOURCE_ROOT) + "/docs/protocol.md");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  auto example = [&](const char* heading) {
    std::vector<uint8_t> out;
    const size_t h = doc.find(heading);
    if (h == std::string::npos) return out;
    const size_t open = doc.find("```", h);
    const size_t close = doc.find("```", open + 3);
    std::istringstream hex(doc.substr(open + 3, close - open - 3));
    std::string tok;
    while (hex >> tok) out.push_back(uint8_t(std::stoul(tok, nullptr, 16)));
    return out;
  };
  EXPECT_EQ(example("### 3.1"), std::vector<uint8_t>(kProbe, kProbe + kProbeBodyLen));
  EXPECT_EQ(example("### 3.2"), std::vector<uint8_t>(kReply, kReply + kProbeReplyBodyLen));
  EXPECT_EQ(example("### 3.3"), std::vector<uint8_t>(kFeedback, kFeedback + sizeof kFeedback));
}

TEST(Bodies, RoundTrips) {
  std::mt19937 rng(7);
  uint8_t b[kFeedbackMaxLen];
  for (int i = 0; i < 2000; i++) {
    ProbeBody p{uint32_t(rng()), uint32_t(rng()), uint64_t(rng()) << 32 | rng(), uint32_t(rng()),
                uint32_t(rng()), uint32_t(rng()), {}};
    for (auto& x : p.session.salt) x = uint8_t(rng());
    p.session.start_ms = uint64_t(rng()) << 32 | rng();
    ASSERT_EQ(encode(p, b, sizeof b), kProbeBodyLen);
    ProbeBody p2;
    ASSERT_EQ(decode(b, kProbeBodyLen, &p2), Drop::none);
    ASSERT_EQ(p2, p);

    ProbeReplyBody r{uint32_t(rng()), uint32_t(rng()), uint64_t(rng()) << 32 | rng(), 0, {}};
    for (auto& x : r.session.salt) x = uint8_t(rng());
    r.session.start_ms = uint64_t(rng()) << 32 | rng();
    ASSERT_EQ(encode(r, b, sizeof b), kProbeReplyBodyLen);
    ProbeReplyBody r2;
    ASSERT_EQ(decode(b, kProbeReplyBodyLen, &r2), Drop::none);
    ASSERT_EQ(r2, r);

    const FeedbackBody f = random_feedback(rng);
    const size_t n = encode(f, b, sizeof b);
    ASSERT_EQ(n, feedback_len(f.count));
    FeedbackBody f2;
    ASSERT_EQ(decode(b, n, &f2), Drop::none);
    ASSERT_EQ(f2, f);
  }
}

TEST(Bodies, FeedbackLimitsAccepted) {
  uint8_t b[kFeedbackMaxLen];
  FeedbackBody f;
  f.count = 16;
  for (unsigned i = 0; i < 16; i++) f.entries[i] = {uint8_t(255 - i), uint8_t(i % 8), 0xffffffff, 1};
  f.entries[15].missing = kFeedbackMaxMissing;
  ASSERT_EQ(encode(f, b, sizeof b), kFeedbackMaxLen);
  FeedbackBody g;
  ASSERT_EQ(decode(b, kFeedbackMaxLen, &g), Drop::none);
  EXPECT_EQ(g, f);
  // A decode of a short body after a long one: the entries beyond count are reset.
  ASSERT_EQ(decode(kFeedback, sizeof kFeedback, &g), Drop::none);
  EXPECT_EQ(g.entries[2], FeedbackEntry{});
}

TEST(Bodies, ProbeRejects) {
  const std::vector<uint8_t> good(kProbe, kProbe + kProbeBodyLen);
  for (size_t len : {size_t(0), size_t(1), size_t(28), size_t(44), size_t(52), size_t(55), size_t(57)}) {
    std::vector<uint8_t> v(good);
    v.resize(len, 0);
    expect_rejected<ProbeBody>(v, Drop::tunnel_bad_length, "length");
  }
  uint8_t b[kProbeBodyLen];
  EXPECT_EQ(encode(sample_probe(), b, kProbeBodyLen - 1), 0u);
}

TEST(Bodies, ProbeReplyRejects) {
  const std::vector<uint8_t> good(kReply, kReply + kProbeReplyBodyLen);
  for (size_t len : {size_t(0), size_t(20), size_t(43), size_t(45), size_t(52)}) {
    std::vector<uint8_t> v(good);
    v.resize(len, 0);
    expect_rejected<ProbeReplyBody>(v, Drop::tunnel_bad_length, "length");
  }
  // A probe body is not a probe reply body, nor the other way round.
  expect_rejected<ProbeReplyBody>(std::vector<uint8_t>(kProbe, kProbe + kProbeBodyLen),
                                  Drop::tunnel_bad_length, "probe as reply");
  expect_rejected<ProbeBody>(good, Drop::tunnel_bad_length, "reply as probe");
  uint8_t b[kProbeReplyBodyLen];
  EXPECT_EQ(encode(sample_reply(), b, kProbeReplyBodyLen - 1), 0u);
}

TEST(Bodies, FeedbackRejects) {
  const std::vector<uint8_t> good(kFeedback, kFeedback + sizeof kFeedback);
  auto mutate = [&](size_t i, uint8_t v) {
    std::vector<uint8_t> m(good);
    m[i] = v;
    return m;
  };
  using D = Drop;
  // Lengths.
  for (size_t len : {size_t(0), size_t(1), size_t(3), size_t(4), size_t(16), size_t(27),
                     size_t(29), size_t(40)}) {
    std::vector<uint8_t> v(good);
    v.resize(len, 0);
    expect_rejected<FeedbackBody>(v, D::tunnel_bad_length, "length");
  }
  // Count out of range, or not matching the length.
  expect_rejected<FeedbackBody>(mutate(0, 0), D::tunnel_bad_length, "count 0");
  expect_rejected<FeedbackBody>(mutate(0, 1), D::tunnel_bad_length, "count 1 for 2 entries");
  expect_rejected<FeedbackBody>(mutate(0, 3), D::tunnel_bad_length, "count 3 for 2 entries");
  {
    std::vector<uint8_t> v(feedback_len(17), 0);
    v[0] = 17;
    for (size_t e = 0; e < 17; e++) v[4 + 12 * e + 9] = 1;
    expect_rejected<FeedbackBody>(v, D::tunnel_bad_length, "count 17");
    v[0] = 255;
    expect_rejected<FeedbackBody>(v, D::tunnel_bad_length, "count 255");
  }
  // Reserved bytes: the head's three and each entry's four.
  for (size_t i : {size_t(1), size_t(2), size_t(3)})
    expect_rejected<FeedbackBody>(mutate(i, 0x01), D::tunnel_bad_length, "head reserved");
  for (size_t e = 0; e < 2; e++)
    for (size_t off : {size_t(2), size_t(3), size_t(10), size_t(11)})
      expect_rejected<FeedbackBody>(mutate(4 + 12 * e + off, 0x40), D::tunnel_bad_length,
                                    "entry reserved");
  // missing beyond 1024 (entry 0's missing is at 12..13, entry 1's at 24..25); 0 is a
  // progress report (Bodies.FeedbackProgressEntry).
  {
    std::vector<uint8_t> v(good);
    v[12] = 0x04;
    v[13] = 0x01;
    expect_rejected<FeedbackBody>(v, D::tunnel_bad_length, "missing 1025");
    v[12] = 0xff;
    v[13] = 0xff;
    expect_rejected<FeedbackBody>(v, D::tunnel_bad_length, "missing 65535");
    std::vector<uint8_t> w(good);
    w[25] = 0x01;  // entry 1: 0x0401
    expect_rejected<FeedbackBody>(w, D::tunnel_bad_length, "missing 1025 in the last entry");
  }
  // path_id beyond 7.
  expect_rejected<FeedbackBody>(mutate(5, 8), D::tunnel_bad_path, "path 8");
  expect_rejected<FeedbackBody>(mutate(17, 0xff), D::tunnel_bad_path, "path 255");
}

TEST(Bodies, FeedbackEncodeRefusesWhatDecodeRejects) {
  uint8_t b[kFeedbackMaxLen];
  std::memset(b, 0xee, sizeof b);
  FeedbackBody f = sample_feedback();
  EXPECT_EQ(encode(f, b, feedback_len(2) - 1), 0u) << "cap";
  f.count = 0;
  EXPECT_EQ(encode(f, b, sizeof b), 0u) << "count 0";
  f.count = 17;
  EXPECT_EQ(encode(f, b, sizeof b), 0u) << "count 17";
  f = sample_feedback();
  f.entries[1].missing = 1025;
  EXPECT_EQ(encode(f, b, sizeof b), 0u) << "missing 1025";
  f = sample_feedback();
  f.entries[0].path_id = 8;
  EXPECT_EQ(encode(f, b, sizeof b), 0u) << "path 8";
  for (uint8_t x : b) ASSERT_EQ(x, 0xee) << "a refused encode wrote";
}

TEST(Bodies, FeedbackProgressEntry) {
  // missing 0: "the highest path_seq received from worker 2 on path 1 is 0xfffffff0",
  // next to a loss report.
  FeedbackBody f;
  f.count = 2;
  f.entries[0] = {2, 1, 0xfffffff0u, 0};
  f.entries[1] = {2, 0, 77, 3};
  uint8_t b[kFeedbackMaxLen];
  ASSERT_EQ(encode(f, b, sizeof b), feedback_len(2));
  const uint8_t want[] = {0x02, 0, 0, 0, 0x02, 0x01, 0, 0, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0,
                          0x02, 0x00, 0, 0, 0, 0, 0, 77, 0, 3, 0, 0};
  ASSERT_EQ(sizeof want, feedback_len(2));
  EXPECT_EQ(0, std::memcmp(b, want, sizeof want));
  FeedbackBody d;
  ASSERT_EQ(decode(want, sizeof want, &d), Drop::none);
  EXPECT_EQ(d, f);
  EXPECT_EQ(d.entries[0].missing, 0);
}

// Mutated and random bytes: never a crash, and whatever is accepted re-encodes to the same bytes
// (the layouts are canonical: no two encodings of one body).
TEST(Bodies, MutatedBytesCanonical) {
  std::mt19937 rng(11);
  std::vector<uint8_t> v;
  uint8_t b[kFeedbackMaxLen + 64];
  unsigned accepted[3] = {0, 0, 0}, rejected[3] = {0, 0, 0};
  for (int i = 0; i < 300000; i++) {
    const int kind = i % 3;
    // A valid body...
    v.assign(sizeof b, 0);
    size_t len = kind == 0   ? encode(ProbeBody{uint32_t(rng()), uint32_t(rng()), rng(), uint32_t(rng()), 0, 0, {}}, v.data(), v.size())
                 : kind == 1 ? encode(ProbeReplyBody{uint32_t(rng()), uint32_t(rng()), rng(), 0, {}}, v.data(), v.size())
                             : encode(random_feedback(rng), v.data(), v.size());
    // ...with a few bytes changed, sometimes another length, sometimes noise.
    if (rng() % 8 == 0) len = rng() % (kFeedbackMaxLen + 8);
    if (rng() % 16 == 0)
      for (auto& x : v) x = uint8_t(rng());
    for (unsigned k = rng() % 3; k > 0 && len > 0; k--) v[rng() % len] = uint8_t(rng());
    Drop d;
    size_t n = 0;
    if (kind == 0) {
      ProbeBody p;
      d = decode(v.data(), len, &p);
      if (d == Drop::none) n = encode(p, b, sizeof b);
    } else if (kind == 1) {
      ProbeReplyBody p;
      d = decode(v.data(), len, &p);
      if (d == Drop::none) n = encode(p, b, sizeof b);
    } else {
      FeedbackBody p;
      d = decode(v.data(), len, &p);
      if (d == Drop::none) n = encode(p, b, sizeof b);
    }
    if (d != Drop::none) {
      ASSERT_TRUE(d == Drop::tunnel_bad_length || d == Drop::tunnel_bad_path);
      rejected[kind]++;
      continue;
    }
    accepted[kind]++;
    ASSERT_EQ(n, len);
    ASSERT_EQ(0, std::memcmp(b, v.data(), len));
  }
  for (int k = 0; k < 3; k++) {
    EXPECT_GT(accepted[k], 10000u) << k;
    EXPECT_GT(rejected[k], 10000u) << k;
  }
}
