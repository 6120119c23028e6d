// lib/path/impairment: the in-dataplane impairment stage (delay line, loss, bottleneck rate).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "path/impairment.hpp"

using mpf::path::ImpairParams;
using mpf::path::ImpairStage;
using mpf::path::ImpairVerdict;

namespace {

constexpr uint64_t kMs = 1'000'000;  // ns

// Distinct non-null items standing for frames.
void* item(uintptr_t i) { return reinterpret_cast<void*>(i + 1); }

std::vector<uintptr_t> release_all(ImpairStage& s, uint64_t now_ns) {
  std::vector<uintptr_t> out;
  s.release(now_ns, [&](void* p) { out.push_back(reinterpret_cast<uintptr_t>(p) - 1); });
  return out;
}

}  // namespace

TEST(Impairment, OffPassesFramesAtOnceAndInOrder) {
  ImpairStage s(64);
  EXPECT_FALSE(s.in_use());
  for (uintptr_t i = 0; i < 10; i++) ASSERT_EQ(s.admit(item(i), 1500, 5 * kMs, ~0ull), ImpairVerdict::held);
  EXPECT_EQ(release_all(s, 5 * kMs), (std::vector<uintptr_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_TRUE(s.empty());
}

TEST(Impairment, DelayHoldsEachFrameItsDelayAndNoLonger) {
  ImpairStage s(64);
  ImpairParams p;
  p.delay_us = 20'000;
  s.set(p);
  EXPECT_TRUE(s.in_use());
  s.admit(item(0), 100, 100 * kMs, 0);
  s.admit(item(1), 100, 105 * kMs, 0);
  EXPECT_TRUE(release_all(s, 119 * kMs).empty());
  EXPECT_EQ(release_all(s, 120 * kMs), std::vector<uintptr_t>{0});
  EXPECT_TRUE(release_all(s, 124 * kMs).empty());
  EXPECT_EQ(release_all(s, 125 * kMs), std::vector<uintptr_t>{1});
}

TEST(Impairment, FullLossCutsThePathAndNoLossDropsNothing) {
  ImpairStage s(64);
  ImpairParams p;
  p.loss_ppm = 1'000'000;
  s.set(p);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 1000; i++) EXPECT_EQ(s.admit(item(i), 100, 0, rng()), ImpairVerdict::lost);
  // The largest and smallest random words included.
  EXPECT_EQ(s.admit(item(0), 100, 0, ~0ull), ImpairVerdict::lost);
  EXPECT_EQ(s.admit(item(0), 100, 0, 0), ImpairVerdict::lost);
  p.loss_ppm = 0;
  p.delay_us = 1;
  s.set(p);
  EXPECT_EQ(s.admit(item(0), 100, 0, ~0ull), ImpairVerdict::held);
  EXPECT_EQ(s.admit(item(1), 100, 0, 0), ImpairVerdict::held);
}

TEST(Impairment, RandomLossHitsItsRate) {
  ImpairStage s(1u << 17);
  ImpairParams p;
  p.loss_ppm = 10'000;  // 1%
  s.set(p);
  std::mt19937_64 rng(7);
  int lost = 0;
  constexpr int kFrames = 100'000;
  for (int i = 0; i < kFrames; i++) lost += s.admit(item(i), 100, 0, rng()) == ImpairVerdict::lost;
  // Binomial(1e5, 0.01): sd ~31.
  EXPECT_GT(lost, 850);
  EXPECT_LT(lost, 1150);
}

TEST(Impairment, RateSpacesFramesAndTheQueueTailDrops) {
  ImpairStage s(1024);
  ImpairParams p;
  p.rate_Bps = 1'250'000;  // 10 Mbit/s: a 1250-byte frame takes 1 ms
  p.queue_us = 50'000;
  p.delay_us = 10'000;
  s.set(p);
  int held = 0, dropped = 0;
  for (int i = 0; i < 200; i++) {
    ImpairVerdict v = s.admit(item(i), 1250, 0, 0);
    held += v == ImpairVerdict::held;
    dropped += v == ImpairVerdict::queue_full;
  }
  // Frame i starts at i ms; those that would wait more than 50 ms are dropped.
  EXPECT_EQ(held, 51);
  EXPECT_EQ(dropped, 149);
  // Released one per ms, each after its serialisation (i + 1 ms) and the 10 ms delay.
  EXPECT_TRUE(release_all(s, 10 * kMs + kMs - 1).empty());
  for (uintptr_t i = 0; i < 51; i++)
    EXPECT_EQ(release_all(s, (i + 11) * kMs), std::vector<uintptr_t>{i}) << i;
  // The link drained: a frame now waits only for itself.
  EXPECT_EQ(s.admit(item(500), 1250, 100 * kMs, 0), ImpairVerdict::held);
  EXPECT_TRUE(release_all(s, 110 * kMs).empty());
  EXPECT_EQ(release_all(s, 111 * kMs), std::vector<uintptr_t>{500});
}

TEST(Impairment, JitterStaysInItsRangeAndNeverReorders) {
  ImpairStage s(4096);
  ImpairParams p;
  p.delay_us = 4'000;
  p.jitter_us = 2'000;
  s.set(p);
  std::mt19937_64 rng(3);
  // Frames every 100 us, well inside the jitter: order kept whatever each one drew.
  for (uintptr_t i = 0; i < 2000; i++) ASSERT_EQ(s.admit(item(i), 100, i * 100'000, rng()), ImpairVerdict::held);
  std::vector<uintptr_t> got;
  uint64_t first_release = 0, last_release = 0;
  for (uint64_t t = 0; t <= 207 * kMs; t += 10'000) {
    for (uintptr_t i : release_all(s, t)) {
      got.push_back(i);
      if (i == 0) first_release = t;
      // Released no sooner than its delay and no later than delay + jitter after the
      // previous frame's release, which is itself ordered.
      EXPECT_GE(t, i * 100'000 + 4 * kMs) << i;
      last_release = t;
    }
  }
  ASSERT_EQ(got.size(), 2000u);
  for (uintptr_t i = 0; i < got.size(); i++) ASSERT_EQ(got[i], i);
  EXPECT_LE(first_release, 6 * kMs + 10'000);
  EXPECT_LE(last_release, 1999 * 100'000 + 6 * kMs + 10'000);

  // Sparse frames (50 ms apart) each draw their own delay in [4, 6] ms, and the draws differ.
  ImpairStage t(64);
  t.set(p);
  uint64_t lo = UINT64_MAX, hi = 0;
  for (int i = 0; i < 50; i++) {
    const uint64_t at = uint64_t(i) * 50 * kMs;
    ASSERT_EQ(t.admit(item(i), 100, at, rng()), ImpairVerdict::held);
    uint64_t when = 0;
    for (uint64_t u = at; u <= at + 7 * kMs && !when; u += 10'000)
      if (!release_all(t, u).empty()) when = u - at;
    ASSERT_GE(when, 4 * kMs);
    ASSERT_LE(when, 6 * kMs + 10'000);
    lo = std::min(lo, when);
    hi = std::max(hi, when);
  }
  EXPECT_GT(hi - lo, kMs);
}

TEST(Impairment, AFullLineRefusesAndEndingTheImpairmentDrainsInOrder) {
  ImpairStage s(4);
  ImpairParams p;
  p.delay_us = 30'000;
  s.set(p);
  for (uintptr_t i = 0; i < 4; i++) ASSERT_EQ(s.admit(item(i), 100, 0, 0), ImpairVerdict::held);
  EXPECT_EQ(s.admit(item(4), 100, 0, 0), ImpairVerdict::line_full);
  // Turned off while it holds frames: still in use, and what comes now waits behind them.
  s.set(ImpairParams{});
  EXPECT_TRUE(s.in_use());
  EXPECT_TRUE(release_all(s, 29 * kMs).empty());
  EXPECT_EQ(release_all(s, 30 * kMs), (std::vector<uintptr_t>{0, 1, 2, 3}));
  EXPECT_FALSE(s.in_use());
  EXPECT_EQ(s.admit(item(9), 100, 31 * kMs, 0), ImpairVerdict::held);
  EXPECT_EQ(release_all(s, 31 * kMs), std::vector<uintptr_t>{9});
}
