// lib/sched/load_shares: one path's rate split among workers by their load, checked against a
// fluid model of the workers' shaper queues.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <vector>

#include "sched/load_shares.hpp"

using mpf::sched::LoadShares;

namespace {

constexpr uint64_t kRate = 6'250'000;  // 50 Mbit/s
constexpr uint64_t kPeriodUs = 5000;   // how often the main lcore splits
constexpr uint64_t kStepUs = 100;

// Each worker offers `offer(t)` bytes per second to its queue; the queue drains at the worker's
// share and drops what would wait longer than 50 ms (the AQM). The worker reports what left the
// queue, what the AQM dropped and its backlog, as the dataplane's PathCounters do.
struct Fluid {
  std::vector<std::function<double(uint64_t)>> offer;
  LoadShares ls;
  std::vector<uint64_t> share;
  std::vector<double> queue, dropped, sent;
  uint64_t now = 0;

  explicit Fluid(std::vector<std::function<double(uint64_t)>> o)
      : offer(std::move(o)), ls(unsigned(offer.size())), share(offer.size(), kRate / offer.size()),
        queue(offer.size()), dropped(offer.size()), sent(offer.size()) {}

  void run(uint64_t until_us) {
    for (; now < until_us; now += kStepUs) {
      if (now % kPeriodUs == 0) {
        for (unsigned i = 0; i < offer.size(); i++)
          ls.observe(i, uint64_t(sent[i]), uint64_t(dropped[i]), uint64_t(queue[i]), now);
        ls.split(kRate, share.data());
      }
      for (unsigned i = 0; i < offer.size(); i++) {
        const double dt = kStepUs / 1e6;
        const double in = offer[i](now) * dt;
        const double limit = double(share[i]) * 0.05;
        const double accepted = std::max(0.0, std::min(in, limit - queue[i] + share[i] * dt));
        dropped[i] += in - accepted;
        queue[i] += accepted;
        const double out = std::min(queue[i], double(share[i]) * dt);
        queue[i] -= out;
        sent[i] += out;
      }
    }
  }
  // Rates sent over [from, to) by each worker.
  std::vector<double> rates(uint64_t from, uint64_t to) {
    run(from);
    std::vector<double> a = sent;
    run(to);
    std::vector<double> r(sent.size());
    for (size_t i = 0; i < r.size(); i++) r[i] = (sent[i] - a[i]) * 1e6 / double(to - from);
    return r;
  }
};

double sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

auto constant(double Bps) {
  return [Bps](uint64_t) { return Bps; };
}

}  // namespace

TEST(LoadShares, NeedsASender) { EXPECT_THROW(LoadShares(0), std::invalid_argument); }

TEST(LoadShares, NothingObservedIsAnEvenSplit) {
  LoadShares ls(4);
  uint64_t s[4];
  ls.split(kRate, s);
  for (uint64_t x : s) EXPECT_EQ(x, kRate / 4);
}

TEST(LoadShares, OneGreedyWorkerOfFourGetsThePath) {
  // One TCP flow stays on one worker (RSS): it must get the whole path, not a quarter of it.
  Fluid f({constant(2.0 * kRate), constant(0), constant(0), constant(0)});
  const auto r = f.rates(200'000, 1'200'000);
  EXPECT_GE(r[0], 0.99 * kRate);
  EXPECT_LE(sum(r), 1.001 * kRate);
}

TEST(LoadShares, TwoGreedyWorkersShareEqually) {
  Fluid f({constant(2.0 * kRate), constant(0), constant(3.0 * kRate), constant(0)});
  const auto r = f.rates(200'000, 1'200'000);
  EXPECT_NEAR(r[0], 0.5 * kRate, 0.02 * kRate);
  EXPECT_NEAR(r[2], 0.5 * kRate, 0.02 * kRate);
  EXPECT_LE(sum(r), 1.001 * kRate);
}

TEST(LoadShares, ALightWorkerGetsItsLoadTheGreedyOneTheRest) {
  Fluid f({constant(2.0 * kRate), constant(0.2 * kRate)});
  const auto r = f.rates(200'000, 1'200'000);
  EXPECT_NEAR(r[1], 0.2 * kRate, 0.005 * kRate);  // all it offers, without a backlog
  EXPECT_LT(f.queue[1], LoadShares::kBacklogBytes);
  EXPECT_GE(r[0], 0.78 * kRate);
  EXPECT_LE(sum(r), 1.001 * kRate);
}

TEST(LoadShares, ANewFlowRampsUpBesideAGreedyOne) {
  // Worker 1's flow starts at 0.5 s in slow start (doubling every 30 ms from 1%) and is greedy
  // once it reaches the path's rate: the two then share the path equally.
  auto ramp = [](uint64_t t) {
    if (t < 500'000) return 0.0;
    double r = 0.01 * kRate;
    for (uint64_t u = 500'000; u + 30'000 <= t && r < 2.0 * kRate; u += 30'000) r *= 2;
    return r;
  };
  Fluid f({constant(2.0 * kRate), ramp});
  const auto before = f.rates(200'000, 500'000);
  EXPECT_GE(before[0], 0.99 * kRate);
  const auto after = f.rates(1'000'000, 2'000'000);
  EXPECT_NEAR(after[0], 0.5 * kRate, 0.02 * kRate);
  EXPECT_NEAR(after[1], 0.5 * kRate, 0.02 * kRate);
  EXPECT_LE(sum(after), 1.001 * kRate);
}

TEST(LoadShares, AWorkerThatStopsGivesItsShareBack) {
  auto stops = [](uint64_t t) { return t < 500'000 ? 2.0 * kRate : 0.0; };
  Fluid f({constant(2.0 * kRate), stops});
  const auto both = f.rates(200'000, 500'000);
  EXPECT_NEAR(both[0], 0.5 * kRate, 0.02 * kRate);
  const auto alone = f.rates(700'000, 1'700'000);
  EXPECT_GE(alone[0], 0.99 * kRate);
}

TEST(LoadShares, AqmDropsMakeAWorkerLimitedAndABurstCountsAsItsShareAtMost) {
  // A slow path: the AQM limit (50 ms of the share) is below two frames, so the queue never
  // shows a backlog; the drops say the worker wants more. Its bucket's burst (3 frames in one
  // period) must not count as a load far above its share.
  LoadShares ls(2);
  uint64_t s[2];
  ls.split(8000, s);
  EXPECT_EQ(s[0], 4000u);
  ls.observe(0, 0, 0, 0, 0);
  ls.observe(1, 0, 0, 0, 0);
  ls.split(8000, s);
  ls.observe(0, 0, 0, 0, 5000);
  ls.observe(1, 3198, 2, 1066, 5000);
  ls.split(8000, s);
  EXPECT_TRUE(ls.limited(1));
  EXPECT_FALSE(ls.limited(0));
  EXPECT_EQ(ls.load_Bps(1), 4000u);
  EXPECT_EQ(s[1], 8000u);
  EXPECT_EQ(s[0], 8000u / 16);
  // Without drops or backlog next time, and nothing sent: it is not limited, and the idle
  // worker gets its part of what is left again.
  ls.observe(0, 0, 0, 0, 10000);
  ls.observe(1, 3198, 2, 0, 10000);
  ls.split(8000, s);
  EXPECT_FALSE(ls.limited(1));
  EXPECT_EQ(s[0] + s[1], 8000u);
}

TEST(LoadShares, IdleWorkersKeepAFloorAndTheSharesStayBounded) {
  LoadShares ls(4);
  for (unsigned i = 0; i < 4; i++) ls.observe(i, 0, 0, i == 0 ? 20000 : 0, 0);
  for (unsigned i = 0; i < 4; i++) ls.observe(i, i == 0 ? 31250 : 0, 0, i == 0 ? 20000 : 0, 5000);
  uint64_t s[4];
  ls.split(kRate, s);
  EXPECT_TRUE(ls.limited(0));
  EXPECT_EQ(ls.load_Bps(0), kRate);
  EXPECT_EQ(s[0], kRate);
  for (unsigned i = 1; i < 4; i++) EXPECT_NEAR(double(s[i]), kRate / (LoadShares::kFloorDiv * 4.0), 1);
}
