// lib/recovery: the token bucket, the per-path gap detector (also against a reference model over
// random loss / reordering / duplication) and the retransmit slab.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "recovery/gap_detector.hpp"
#include "recovery/retransmit_slab.hpp"
#include "recovery/token_bucket.hpp"

using namespace mpf::recovery;
using Kind = GapResult::Kind;

// ---------------------------------------------------------------------------------------------
// TokenBucket

TEST(TokenBucket, StartsFullAndRefillsExactly) {
  TokenBucket tb(1000, 3000);  // 1000 B/s = 1 byte per ms
  EXPECT_EQ(tb.available(5), 3000u);
  EXPECT_TRUE(tb.take(3000, 5));
  EXPECT_FALSE(tb.take(1, 5));
  EXPECT_EQ(tb.available(5 + 999), 0u);
  EXPECT_FALSE(tb.take(1, 5 + 999));
  EXPECT_TRUE(tb.take(1, 5 + 1000));
  EXPECT_FALSE(tb.take(1, 5 + 1000));
  // Fractions of a byte are kept: 3 x 333 us + 1 us = 1 byte.
  EXPECT_FALSE(tb.take(1, 1005 + 333));
  EXPECT_FALSE(tb.take(1, 1005 + 666));
  EXPECT_FALSE(tb.take(1, 1005 + 999));
  EXPECT_TRUE(tb.take(1, 1005 + 1000));
  // Capped at the burst after a long idle time.
  EXPECT_EQ(tb.available(1'000'000'000), 3000u);
}

TEST(TokenBucket, WaitUsIsExact) {
  std::mt19937 rng(3);
  TokenBucket tb(12'345'678, 20'000);
  uint64_t now = 1000;
  for (int i = 0; i < 100000; i++) {
    const uint32_t bytes = 40 + rng() % 1500;
    const uint64_t w = tb.wait_us(bytes, now);
    ASSERT_NE(w, TokenBucket::kNever);
    if (w > 0) {
      TokenBucket early = tb;
      ASSERT_FALSE(early.take(bytes, now + w - 1)) << "wait_us too long";
    }
    now += w;
    ASSERT_TRUE(tb.take(bytes, now)) << "wait_us too short";
    now += rng() % 50;
  }
}

TEST(TokenBucket, NeverFits) {
  TokenBucket tb(1'000'000, 1500);
  EXPECT_EQ(tb.wait_us(1501, 0), TokenBucket::kNever);
  EXPECT_FALSE(tb.take(1501, 1'000'000'000));
  EXPECT_TRUE(tb.take(1500, 1'000'000'000));
  TokenBucket zero(0, 1500);
  EXPECT_TRUE(zero.take(1000, 10));
  EXPECT_EQ(zero.wait_us(1000, 10), TokenBucket::kNever);
  EXPECT_EQ(zero.wait_us(500, 10), 0u);
  EXPECT_FALSE(zero.take(501, 1'000'000'000));
}

TEST(TokenBucket, NoOverflowAndClockSteps) {
  TokenBucket tb(100'000'000'000ull, 1'000'000);  // 100 GB/s
  EXPECT_TRUE(tb.take(1'000'000, 1));
  // A huge time step saturates at the burst instead of overflowing.
  EXPECT_EQ(tb.available(uint64_t(1) << 62), 1'000'000u);
  EXPECT_TRUE(tb.take(1'000'000, uint64_t(1) << 62));
  // Time going backwards refills nothing and is not an error.
  EXPECT_FALSE(tb.take(1, 5));
  EXPECT_EQ(tb.available(5), 0u);
  EXPECT_TRUE(tb.take(100'000, (uint64_t(1) << 62) + 1));
  // Burst clamp.
  TokenBucket huge(1, ~uint64_t(0));
  EXPECT_EQ(huge.burst(), TokenBucket::kMaxBurst);
}

TEST(TokenBucket, SetRate) {
  TokenBucket tb(1000, 10'000);
  ASSERT_TRUE(tb.take(10'000, 0));
  tb.set_rate(2000, 1000);  // the first ms settled at 1000 B/s: 1 byte
  EXPECT_EQ(tb.rate(), 2000u);
  EXPECT_EQ(tb.available(1000), 1u);
  EXPECT_EQ(tb.available(2000), 3u);  // then 2 bytes per ms
  tb.set_rate(4000);                  // the one-argument form: from the last refill at 1000 us
  EXPECT_EQ(tb.available(2000), 5u);
  tb.set_burst(4);
  EXPECT_EQ(tb.available(2000), 4u);
  EXPECT_EQ(tb.burst(), 4u);
}

// Greedy senders over 10 simulated seconds get rate * time + burst within 0.1%, never more; and
// the accounting is exact: taken + what is left = rate * elapsed + burst, to the byte.
TEST(TokenBucket, LongRunExact) {
  struct Case {
    uint64_t rate;
    uint64_t burst;
    uint32_t max_pkt;
    bool poll;  // poll at a fixed step instead of sleeping exactly wait_us()
  };
  const Case cases[] = {{12'500'000, 15'000, 1500, false},     // 100 Mbit/s
                        {12'500'000, 15'000, 1500, true},
                        {1'250'000'000, 64'000, 9000, false},  // 10 Gbit/s
                        {33'333, 3'000, 200, true},            // slow, not a round number
                        {7'777'777, 1'500, 1500, true}};
  for (const Case& c : cases) {
    std::mt19937 rng(unsigned(c.rate));
    TokenBucket tb(c.rate, c.burst);
    const uint64_t t0 = 123'456, T = 10'000'000;
    uint64_t now = t0, taken = 0;
    auto size = [&] { return 40 + uint32_t(rng() % (c.max_pkt - 39)); };
    uint32_t next = size();
    while (now <= t0 + T) {
      if (tb.take(next, now)) {
        taken += next;
        // Never above the envelope at any moment.
        ASSERT_LE(taken * 1'000'000, c.rate * (now - t0) + c.burst * 1'000'000);
        next = size();
        continue;
      }
      now += c.poll ? 7 : std::max<uint64_t>(1, tb.wait_us(next, now));
    }
    // Exact unless the bucket can fill up while the sender waits (a burst of one packet, polled
    // late): then what overflows the burst is lost, as it should be.
    const bool can_fill = c.burst < c.max_pkt + c.rate * 7 / 1'000'000 + 1;
    if (!can_fill) {
      EXPECT_EQ(taken + tb.available(now), c.burst + c.rate * (now - t0) / 1'000'000)
          << "rate " << c.rate;
    }
    const double want = double(c.rate) * double(T) / 1e6 + double(c.burst);
    EXPECT_LE(double(taken), want + double(c.rate) * double(now - t0 - T) / 1e6);
    EXPECT_GE(double(taken), want * 0.999) << "rate " << c.rate;
  }
}

// ---------------------------------------------------------------------------------------------
// GapDetector

namespace {

GapResult gap(uint32_t first, uint32_t count) {
  GapResult r;
  r.kind = Kind::gap;
  r.first_missing = first;
  r.count = count;
  return r;
}
GapResult kind(Kind k) {
  GapResult r;
  r.kind = k;
  return r;
}

void expect(GapDetector& d, uint32_t seq, GapResult want) {
  const GapResult r = d.observe(seq);
  EXPECT_EQ(int(r.kind), int(want.kind)) << "seq " << seq;
  if (want.kind == Kind::gap) {
    EXPECT_EQ(r.first_missing, want.first_missing) << "seq " << seq;
    EXPECT_EQ(r.count, want.count) << "seq " << seq;
  }
}

}  // namespace

TEST(GapDetector, InOrderGapsLateFillsDuplicates) {
  GapDetector d;
  EXPECT_FALSE(d.synced());
  expect(d, 10, kind(Kind::in_order));  // synchronises
  EXPECT_TRUE(d.synced());
  expect(d, 11, kind(Kind::in_order));
  expect(d, 14, gap(12, 2));
  expect(d, 12, kind(Kind::late_fill));
  expect(d, 12, kind(Kind::duplicate_or_old));
  expect(d, 14, kind(Kind::duplicate_or_old));
  expect(d, 11, kind(Kind::duplicate_or_old));
  expect(d, 9, kind(Kind::duplicate_or_old));  // before the sync point: never reported
  expect(d, 15, kind(Kind::in_order));
  expect(d, 13, kind(Kind::late_fill));
  expect(d, 17, gap(16, 1));
  const GapStats& s = d.stats();
  EXPECT_EQ(s.received, 11u);
  EXPECT_EQ(s.gaps, 2u);
  EXPECT_EQ(s.missing_total, 3u);
  EXPECT_EQ(s.late_fills, 2u);
  EXPECT_EQ(s.duplicates, 4u);
  EXPECT_EQ(s.resyncs, 0u);
  EXPECT_EQ(d.highest(), 17u);
}

TEST(GapDetector, WrapsAt2To32) {
  GapDetector d;
  expect(d, 0xfffffffd, kind(Kind::in_order));
  expect(d, 0xfffffffe, kind(Kind::in_order));
  expect(d, 0xffffffff, kind(Kind::in_order));
  expect(d, 0x00000000, kind(Kind::in_order));
  expect(d, 0x00000001, kind(Kind::in_order));
  expect(d, 0xffffffff, kind(Kind::duplicate_or_old));

  GapDetector g;
  expect(g, 0xfffffffe, kind(Kind::in_order));
  expect(g, 0x00000002, gap(0xffffffff, 3));
  expect(g, 0x00000000, kind(Kind::late_fill));
  expect(g, 0xffffffff, kind(Kind::late_fill));
  expect(g, 0x00000001, kind(Kind::late_fill));
  expect(g, 0x00000001, kind(Kind::duplicate_or_old));
  expect(g, 0x00000003, kind(Kind::in_order));
  // Half the number space behind is "old", not ahead.
  expect(g, 0x80000003, kind(Kind::duplicate_or_old));
  expect(g, 0x80000002, kind(Kind::resync));  // 2^31 - 1 ahead is ahead: too far
}

TEST(GapDetector, JumpLimitAndResync) {
  GapDetector d;
  expect(d, 100, kind(Kind::in_order));
  expect(d, 100 + GapDetector::kMaxJump, gap(101, GapDetector::kMaxJump - 1));
  const uint32_t h = 100 + GapDetector::kMaxJump;
  expect(d, h + GapDetector::kMaxJump + 1, kind(Kind::resync));
  EXPECT_EQ(d.stats().resyncs, 1u);
  EXPECT_EQ(d.stats().gaps, 1u);
  EXPECT_EQ(d.highest(), h + GapDetector::kMaxJump + 1);
  // Nothing before a resync counts as missing, not even what the jump skipped.
  expect(d, h + 1, kind(Kind::duplicate_or_old));
  expect(d, h + 500, kind(Kind::duplicate_or_old));
  expect(d, h + GapDetector::kMaxJump + 2, kind(Kind::in_order));
  // What was missing before the resync does not come back as a late fill either.
  expect(d, 101, kind(Kind::duplicate_or_old));
}

TEST(GapDetector, LateFillWindow) {
  GapDetector d;
  expect(d, 0, kind(Kind::in_order));
  expect(d, 3, gap(1, 2));
  for (uint32_t s = 4; s <= GapDetector::kWindow + 1; s++) d.observe(s);
  // Seq 1 is now kWindow behind the highest: forgotten; seq 2 is kWindow - 1 behind: remembered.
  expect(d, 1, kind(Kind::duplicate_or_old));
  expect(d, 2, kind(Kind::late_fill));
  // A full-size gap, every one of its path_seqs filled late in reverse order.
  GapDetector g;
  expect(g, 5000, kind(Kind::in_order));
  expect(g, 5000 + GapDetector::kMaxJump, gap(5001, GapDetector::kMaxJump - 1));
  for (uint32_t s = 5000 + GapDetector::kMaxJump - 1; s > 5000; s--)
    expect(g, s, kind(Kind::late_fill));
  EXPECT_EQ(g.stats().late_fills, GapDetector::kMaxJump - 1);
  EXPECT_EQ(g.stats().missing_total, GapDetector::kMaxJump - 1);
}

TEST(GapDetector, RestartWithSameEpochResyncs) {
  GapDetector d;
  expect(d, 100000, kind(Kind::in_order));
  // The sender restarts at 0: far behind. kOldRunResync in a row resynchronise.
  for (uint32_t s = 0; s + 1 < GapDetector::kOldRunResync; s++)
    expect(d, s, kind(Kind::duplicate_or_old));
  expect(d, GapDetector::kOldRunResync - 1, kind(Kind::resync));
  expect(d, GapDetector::kOldRunResync, kind(Kind::in_order));
  expect(d, GapDetector::kOldRunResync + 2, gap(GapDetector::kOldRunResync + 1, 1));
  EXPECT_EQ(d.stats().resyncs, 1u);
  // A run interrupted by a frame within the window starts over.
  GapDetector e;
  expect(e, 100000, kind(Kind::in_order));
  for (uint32_t s = 0; s + 1 < GapDetector::kOldRunResync; s++) e.observe(s);
  expect(e, 100001, kind(Kind::in_order));
  expect(e, 50, kind(Kind::duplicate_or_old));
  EXPECT_EQ(e.stats().resyncs, 0u);
}

TEST(GapDetector, Reset) {
  GapDetector d;
  d.observe(7);
  d.observe(9);
  d.reset();
  EXPECT_FALSE(d.synced());
  expect(d, 3, kind(Kind::in_order));
  expect(d, 8, gap(4, 4));
  EXPECT_EQ(d.stats().gaps, 2u);  // stats survive a reset
}

namespace {

// The reference: the same rules, stated with 64-bit unwrapped numbers and a set of the
// path_seqs reported missing and not yet arrived.
class ModelDetector {
 public:
  GapResult observe(int64_t seq) {
    GapResult r;
    if (!synced_) return sync(seq), r;
    if (seq > highest_) {
      old_run_ = 0;
      const int64_t d = seq - highest_;
      if (d > GapDetector::kMaxJump) {
        sync(seq);
        r.kind = Kind::resync;
        return r;
      }
      if (d > 1) {
        r.kind = Kind::gap;
        r.first_missing = uint32_t(highest_ + 1);
        r.count = uint32_t(d - 1);
        for (int64_t m = highest_ + 1; m < seq; m++) missing_.insert(m);
      }
      highest_ = seq;
      return r;
    }
    if (highest_ - seq < GapDetector::kWindow) {
      old_run_ = 0;
      if (missing_.erase(seq)) {
        r.kind = Kind::late_fill;
        return r;
      }
    } else if (++old_run_ >= GapDetector::kOldRunResync) {
      sync(seq);
      r.kind = Kind::resync;
      return r;
    }
    r.kind = Kind::duplicate_or_old;
    return r;
  }

 private:
  void sync(int64_t seq) {
    synced_ = true;
    highest_ = seq;
    old_run_ = 0;
    missing_.clear();
  }
  bool synced_ = false;
  int64_t highest_ = 0;
  uint32_t old_run_ = 0;
  std::set<int64_t> missing_;
};

// What a path delivers: seqs base.. with loss (random and in bursts, now and then an outage
// longer than kMaxJump), duplication and reordering (small jitter, rarely a long delay).
std::vector<int64_t> path_arrivals(std::mt19937_64& rng, int64_t base, int n, double loss,
                                   double dup, double reorder) {
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::pair<double, int64_t>> arr;
  for (int64_t i = 0; i < n; i++) {
    const int64_t seq = base + i;
    if (u(rng) < 0.0005) {  // an outage
      i += int64_t(rng() % 3000);
      continue;
    }
    if (u(rng) < 0.01) {  // a burst loss
      i += int64_t(rng() % 40);
      continue;
    }
    if (u(rng) < loss) continue;
    double t = double(i);
    if (u(rng) < reorder) t += u(rng) * (u(rng) < 0.05 ? 3000.0 : 20.0);
    arr.push_back({t, seq});
    if (u(rng) < dup) arr.push_back({t + u(rng) * 100.0, seq});
  }
  std::stable_sort(arr.begin(), arr.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<int64_t> out;
  for (const auto& a : arr) out.push_back(a.second);
  return out;
}

}  // namespace

TEST(GapDetector, MatchesReferenceModel) {
  std::mt19937_64 rng(2024);
  const int64_t bases[] = {0, 0xffffffffll - 20000, 0x7fffff00ll, 0xfffffff0ll};
  uint64_t kinds[5] = {0, 0, 0, 0, 0};
  for (int run = 0; run < 24; run++) {
    const int64_t base = bases[run % 4];
    const double loss = 0.001 * (run % 6) * (run % 6);
    const double dup = (run % 3) * 0.01;
    const double reorder = (run % 4) * 0.05;
    const std::vector<int64_t> seqs = path_arrivals(rng, base, 60000, loss, dup, reorder);
    GapDetector d;
    ModelDetector m;
    GapStats want;
    for (size_t i = 0; i < seqs.size(); i++) {
      const GapResult r = d.observe(uint32_t(seqs[i]));  // wraps at 2^32
      const GapResult w = m.observe(seqs[i]);
      ASSERT_EQ(int(r.kind), int(w.kind)) << "run " << run << " #" << i << " seq " << seqs[i];
      if (w.kind == Kind::gap) {
        ASSERT_EQ(r.first_missing, w.first_missing) << "run " << run << " #" << i;
        ASSERT_EQ(r.count, w.count) << "run " << run << " #" << i;
        want.gaps++;
        want.missing_total += w.count;
      }
      want.late_fills += w.kind == Kind::late_fill;
      want.duplicates += w.kind == Kind::duplicate_or_old;
      want.resyncs += w.kind == Kind::resync;
      kinds[int(w.kind)]++;
    }
    EXPECT_EQ(d.stats().received, seqs.size());
    EXPECT_EQ(d.stats().gaps, want.gaps);
    EXPECT_EQ(d.stats().missing_total, want.missing_total);
    EXPECT_EQ(d.stats().late_fills, want.late_fills);
    EXPECT_EQ(d.stats().duplicates, want.duplicates);
    EXPECT_EQ(d.stats().resyncs, want.resyncs);
  }
  // The runs exercised every kind of result.
  for (uint64_t k : kinds) EXPECT_GT(k, 20u);
}

// ---------------------------------------------------------------------------------------------
// RetransmitSlab

namespace {

std::vector<uint8_t> packet(uint32_t seq, uint16_t len) {
  std::vector<uint8_t> p(len);
  for (uint16_t i = 0; i < len; i++) p[i] = uint8_t(seq * 31 + i);
  return p;
}

void store(RetransmitSlab& s, uint32_t seq, uint64_t now, uint16_t len = 100) {
  const std::vector<uint8_t> p = packet(seq, len);
  s.store(seq, uint16_t(seq % 7), seq * 3, uint8_t(seq % 5), p.data(), len, now);
}

void expect_entry(const RetransmitSlab& s, uint32_t seq, uint64_t now, uint16_t len = 100) {
  const RetransmitSlab::Entry* e = s.find(seq);
  ASSERT_NE(e, nullptr) << "seq " << seq;
  EXPECT_EQ(e->path_seq, seq);
  EXPECT_EQ(e->stream_id, seq % 7);
  EXPECT_EQ(e->stream_seq, seq * 3);
  EXPECT_EQ(e->form, seq % 5);
  EXPECT_EQ(e->sent_us, now);
  ASSERT_EQ(e->len, len);
  const std::vector<uint8_t> p = packet(seq, len);
  if (len > 0) {
    EXPECT_EQ(0, std::memcmp(e->data, p.data(), len)) << "seq " << seq;
  }
}

std::vector<uint32_t> since(const RetransmitSlab& s, uint64_t us) {
  std::vector<uint32_t> out;
  const unsigned n = s.for_each_since(us, [&](const RetransmitSlab::Entry& e) {
    out.push_back(e.path_seq);
  });
  EXPECT_EQ(n, out.size());
  return out;
}

std::vector<uint32_t> range(uint32_t first, uint32_t n) {
  std::vector<uint32_t> v;
  for (uint32_t i = 0; i < n; i++) v.push_back(first + i);
  return v;
}

}  // namespace

TEST(RetransmitSlab, StoreFindCopies) {
  RetransmitSlab s(8, 2048);
  EXPECT_EQ(s.slots(), 8u);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.find(0), nullptr);
  std::vector<uint8_t> p = packet(5, 1500);
  s.store(5, 5 % 7, 5 * 3, 5 % 5, p.data(), 1500, 1000);
  std::fill(p.begin(), p.end(), 0);  // the slab kept its own copy
  expect_entry(s, 5, 1000, 1500);
  EXPECT_EQ(s.find(4), nullptr);
  EXPECT_EQ(s.find(6), nullptr);
  EXPECT_EQ(s.find(5 + 8), nullptr);  // same slot, other seq
  // Full-size and empty packets.
  store(s, 6, 1001, 2048);
  expect_entry(s, 6, 1001, 2048);
  store(s, 7, 1002, 0);
  expect_entry(s, 7, 1002, 0);
  EXPECT_EQ(s.stats().stored, 3u);
}

TEST(RetransmitSlab, ClaimAnswersOneReportPerGap) {
  RetransmitSlab s(8, 2048);
  store(s, 3, 1000, 100);
  bool repeat = true;
  EXPECT_EQ(s.claim(4, 2000, 100'000, &repeat), nullptr);  // never stored
  EXPECT_FALSE(repeat);
  const RetransmitSlab::Entry* e = s.claim(3, 2000, 100'000, &repeat);
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(repeat);
  EXPECT_EQ(e->path_seq, 3u);
  // The report's second copy (the other path), 11 ms later: already claimed.
  EXPECT_EQ(s.claim(3, 13'000, 100'000, &repeat), nullptr);
  EXPECT_TRUE(repeat);
  EXPECT_NE(s.find(3), nullptr) << "a claim does not evict";
  // A report after the gap (the resend was lost too) is answered again.
  EXPECT_NE(s.claim(3, 102'000, 100'000, &repeat), nullptr);
  // A new packet in the slot starts unclaimed.
  store(s, 3 + 8, 103'000, 100);
  EXPECT_NE(s.claim(3 + 8, 104'000, 100'000, &repeat), nullptr);
  EXPECT_FALSE(repeat);
}

TEST(RetransmitSlab, SlotsRoundUp) {
  EXPECT_EQ(RetransmitSlab(5, 100).slots(), 8u);
  EXPECT_EQ(RetransmitSlab(0, 100).slots(), 1u);
  EXPECT_EQ(RetransmitSlab(1024, 100).slots(), 1024u);
  RetransmitSlab one(1, 64);
  store(one, 3, 1, 64);
  store(one, 4, 2, 64);
  EXPECT_EQ(one.find(3), nullptr);
  expect_entry(one, 4, 2, 64);
}

TEST(RetransmitSlab, OverwriteSemantics) {
  RetransmitSlab s(8, 256);
  for (uint32_t q = 0; q < 8; q++) store(s, q, 100 + q);
  for (uint32_t q = 0; q < 8; q++) expect_entry(s, q, 100 + q);
  store(s, 8, 108);  // evicts 0
  EXPECT_EQ(s.find(0), nullptr);
  for (uint32_t q = 1; q <= 8; q++) expect_entry(s, q, 100 + q);
  // A jump ahead evicts everything more than slots() behind, even what was not overwritten.
  store(s, 13, 113);
  for (uint32_t q = 0; q <= 5; q++) EXPECT_EQ(s.find(q), nullptr) << q;
  for (uint32_t q = 6; q <= 8; q++) expect_entry(s, q, 100 + q);
  for (uint32_t q = 9; q <= 12; q++) EXPECT_EQ(s.find(q), nullptr) << q;  // never stored
  expect_entry(s, 13, 113);
  // A jump of more than slots(): only the new one is left.
  store(s, 100, 200);
  for (uint32_t q = 0; q < 100; q++) EXPECT_EQ(s.find(q), nullptr) << q;
  expect_entry(s, 100, 200);
  EXPECT_EQ(since(s, 0), std::vector<uint32_t>{100});
}

TEST(RetransmitSlab, OversizeNotStoredAndEvicts) {
  RetransmitSlab s(4, 1000);
  for (uint32_t q = 0; q < 4; q++) store(s, q, q);
  store(s, 4, 4, 1001);  // too long: not stored, and 0 is gone all the same
  EXPECT_EQ(s.stats().oversize, 1u);
  EXPECT_EQ(s.stats().stored, 4u);
  EXPECT_EQ(s.find(4), nullptr);
  EXPECT_EQ(s.find(0), nullptr);
  for (uint32_t q = 1; q < 4; q++) expect_entry(s, q, q);
  EXPECT_EQ(s.newest(), 4u);
  EXPECT_EQ(since(s, 0), range(1, 3));
}

TEST(RetransmitSlab, OutOfOrderAndStaleStores) {
  RetransmitSlab s(8, 256);
  for (uint32_t q = 10; q < 20; q++) store(s, q, q);
  store(s, 15, 1500, 50);  // within reach: replaces
  expect_entry(s, 15, 1500, 50);
  store(s, 11, 1100);  // 8 behind the newest (19): out of reach
  EXPECT_EQ(s.stats().stale, 1u);
  EXPECT_EQ(s.find(11), nullptr);
  expect_entry(s, 19, 19);
  EXPECT_EQ(s.newest(), 19u);
}

TEST(RetransmitSlab, WrapAround) {
  RetransmitSlab s(16, 512);
  const uint32_t first = 0xfffffff8;
  for (uint32_t i = 0; i < 20; i++) store(s, first + i, 1000 + i);
  // 20 stored, 16 kept: 0xfffffffc .. 0x0000000b.
  for (uint32_t i = 0; i < 4; i++) EXPECT_EQ(s.find(first + i), nullptr);
  for (uint32_t i = 4; i < 20; i++) expect_entry(s, first + i, 1000 + i);
  EXPECT_EQ(s.find(0x0000000c), nullptr);
  EXPECT_EQ(since(s, 0), range(0xfffffffc, 16));
  EXPECT_EQ(since(s, 1000 + 10), range(first + 10, 10));
  EXPECT_EQ(s.newest(), 0x0000000bu);
}

TEST(RetransmitSlab, ForEachSince) {
  RetransmitSlab s(64, 256);
  EXPECT_EQ(since(s, 0), std::vector<uint32_t>{});
  // Sent at 10 us apart, two per timestamp now and then.
  std::map<uint32_t, uint64_t> sent;
  uint64_t t = 5000;
  for (uint32_t q = 1000; q < 1100; q++) {
    if (q % 5) t += 10;
    sent[q] = t;
    store(s, q, t, q % 9 == 0 ? 300 : 100);  // every ninth is too long: a hole
  }
  for (uint64_t cut : {uint64_t(0), uint64_t(5000), sent[1036], sent[1036] + 1, sent[1050],
                       sent[1099], sent[1099] + 1, uint64_t(1) << 60}) {
    std::vector<uint32_t> want;
    for (uint32_t q = 1100 - 64; q < 1100; q++)
      if (sent[q] >= cut && q % 9 != 0) want.push_back(q);
    EXPECT_EQ(since(s, cut), want) << "since " << cut;
  }
  // A bool callback stops the walk.
  std::vector<uint32_t> got;
  const unsigned n = s.for_each_since(0, [&](const RetransmitSlab::Entry& e) {
    got.push_back(e.path_seq);
    return got.size() < 3;
  });
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(got, (std::vector<uint32_t>{1036, 1037, 1038}));
}

TEST(RetransmitSlab, ForgetBefore) {
  RetransmitSlab s(16, 256);
  for (uint32_t q = 0; q < 10; q++) store(s, q, 100 * q);
  s.forget_before(450);
  for (uint32_t q = 0; q < 5; q++) EXPECT_EQ(s.find(q), nullptr);
  for (uint32_t q = 5; q < 10; q++) expect_entry(s, q, 100 * q);
  EXPECT_EQ(since(s, 0), range(5, 5));
  store(s, 3, 999);  // behind what is answered for now: stale
  EXPECT_EQ(s.find(3), nullptr);
  s.forget_before(100000);  // everything
  for (uint32_t q = 0; q < 10; q++) EXPECT_EQ(s.find(q), nullptr);
  EXPECT_EQ(since(s, 0), std::vector<uint32_t>{});
  store(s, 10, 1000);
  expect_entry(s, 10, 1000);
  EXPECT_EQ(since(s, 0), std::vector<uint32_t>{10});
  for (uint32_t q = 11; q < 40; q++) store(s, q, 100 * q);
  EXPECT_EQ(since(s, 0), range(24, 16));
  s.clear();
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.find(39), nullptr);
  store(s, 5, 1);
  expect_entry(s, 5, 1);
}

// Random stores (in order with skips, oversize, occasional forget_before) against a map.
TEST(RetransmitSlab, MatchesReferenceModel) {
  std::mt19937 rng(99);
  for (uint32_t base : {0u, 0xffffff00u}) {
    RetransmitSlab s(32, 400);
    std::map<int64_t, uint64_t> model;  // unwrapped seq -> sent_us, for what must be findable
    int64_t seq = base;
    uint64_t now = 0;
    int64_t floor = seq;
    for (int i = 0; i < 20000; i++) {
      seq += 1 + (rng() % 10 == 0 ? rng() % 5 : 0);
      now += rng() % 20;
      const uint16_t len = rng() % 50 == 0 ? 401 : uint16_t(rng() % 401);
      store(s, uint32_t(seq), now, len);
      if (len <= 400) model[seq] = now; else model.erase(seq);
      floor = std::max(floor, seq - 31);
      if (rng() % 200 == 0) {
        const uint64_t cut = now - rng() % 200;
        s.forget_before(cut);
        for (auto it = model.begin(); it != model.end();) it = it->second < cut ? model.erase(it) : std::next(it);
      }
      while (!model.empty() && model.begin()->first < floor) model.erase(model.begin());
      if (i % 97 == 0) {
        for (int64_t q = seq - 40; q <= seq + 2; q++) {
          const bool want = model.count(q) != 0;
          ASSERT_EQ(s.find(uint32_t(q)) != nullptr, want) << "seq " << q;
        }
        const uint64_t cut = now - rng() % 300;
        std::vector<uint32_t> want;
        for (const auto& [q, t] : model)
          if (t >= cut) want.push_back(uint32_t(q));
        ASSERT_EQ(since(s, cut), want);
      }
    }
  }
}
