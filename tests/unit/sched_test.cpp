// lib/sched: policy rules and the per-packet scheduler (every mode, an aggregate simulation).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "net/protocol.hpp"
#include "sched/lane_queue.hpp"
#include "sched/policy.hpp"
#include "sched/resend_spotter.hpp"
#include "sched/scheduler.hpp"

using namespace mpf;
using namespace mpf::sched;

namespace {

// ---------------------------------------------------------------------------------------------
// Policy

// A parsed packet as classify() reads it: protocol, destination, ports and the TOS byte.
struct Pkt {
  uint8_t hdr[20] = {0x45};
  net::Ipv4Packet p;
  Pkt(uint8_t proto, net::Ipv4 dst, uint16_t sport = 0, uint16_t dport = 0, uint8_t dscp = 0) {
    hdr[1] = uint8_t(dscp << 2 | 0x01);  // ECN bits set: must not disturb the DSCP
    p.ip = hdr;
    p.proto = proto;
    p.dst = dst;
    p.sport = sport;
    p.dport = dport;
  }
};

constexpr net::Ipv4 kDst = 0xc6336401;  // 198.51.100.1
constexpr Action kAgg{Mode::aggregate, -1};
constexpr Action kRed{Mode::redundant, -1};
constexpr Action kLow{Mode::lowest_rtt, -1};

Rule rule(Match m, Action a) { return Rule{m, a}; }

}  // namespace

TEST(Policy, ModeNames) {
  for (Mode m : {Mode::aggregate, Mode::weighted, Mode::active_backup, Mode::lowest_rtt,
                 Mode::redundant, Mode::pinned})
    EXPECT_EQ(parse_mode(to_string(m)), m);
  EXPECT_STREQ(to_string(Mode::active_backup), "active-backup");
  EXPECT_STREQ(to_string(Mode::lowest_rtt), "lowest-rtt");
  EXPECT_FALSE(parse_mode("active_backup"));
  EXPECT_FALSE(parse_mode(""));
}

TEST(Policy, EmptyPolicyGivesTheDefault) {
  Policy pol({}, kLow);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoTcp, kDst, 1, 2).p), kLow);
  EXPECT_EQ(pol.match_index(Pkt(net::kProtoTcp, kDst, 1, 2).p), 0u);
  EXPECT_EQ(Policy({}).classify(Pkt(net::kProtoUdp, kDst).p), kAgg);
}

TEST(Policy, Protocol) {
  Policy pol({rule({.proto = net::kProtoUdp}, kRed), rule({.proto = net::kProtoIcmp}, kLow)},
             kAgg);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 5, 6).p), kRed);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoIcmp, kDst, 7, 7).p), kLow);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoTcp, kDst, 5, 6).p), kAgg);
  EXPECT_EQ(pol.classify(Pkt(47 /* GRE */, kDst).p), kAgg);
}

TEST(Policy, SourceAndDestinationPortRanges) {
  Policy pol({rule({.proto = net::kProtoUdp, .dst_lo = 5060, .dst_hi = 5061}, kRed),
              rule({.proto = net::kProtoTcp, .src_lo = 22, .src_hi = 22}, kLow)},
             kAgg);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 40000, 5060).p), kRed);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 40000, 5061).p), kRed);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 40000, 5062).p), kAgg);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 40000, 5059).p), kAgg);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoTcp, kDst, 40000, 5060).p), kAgg);  // wrong protocol
  EXPECT_EQ(pol.classify(Pkt(net::kProtoTcp, kDst, 22, 50000).p), kLow);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoTcp, kDst, 50000, 22).p), kAgg);  // dst, not src
  EXPECT_EQ(pol.classify(Pkt(net::kProtoTcp, kDst, 23, 50000).p), kAgg);
}

TEST(Policy, PortRulesDoNotMatchIcmp) {
  // Protocol "any" with a port range: TCP and UDP only. ICMP echo carries sport = dport = id.
  Policy pol({rule({.dst_lo = 0, .dst_hi = 1000}, kRed)}, kAgg);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoTcp, kDst, 3000, 80).p), kRed);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 3000, 53).p), kRed);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoIcmp, kDst, 80, 80).p), kAgg);
  EXPECT_EQ(pol.classify(Pkt(47, kDst).p), kAgg);
  // Without port ranges a protocol-any rule matches ICMP too.
  Policy any({rule({.dst = {0xc6336400, 24}}, kRed)}, kAgg);
  EXPECT_EQ(any.classify(Pkt(net::kProtoIcmp, kDst, 80, 80).p), kRed);
  // Port ranges on an ICMP rule could never match: refused.
  EXPECT_THROW(Policy({rule({.proto = net::kProtoIcmp, .dst_lo = 1, .dst_hi = 2}, kRed)}),
               std::invalid_argument);
}

TEST(Policy, DestinationPrefix) {
  Policy pol({rule({.dst = {0xc6336480, 25}}, kRed),    // 198.51.100.128/25
              rule({.dst = {0xc6336401, 32}}, kLow),    // 198.51.100.1/32
              rule({.dst = {0x0a0000ff, 8}}, kRed)},    // 10.0.0.255/8: host bits ignored
             kAgg);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, 0xc6336481).p), kRed);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, 0xc63364ff).p), kRed);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, 0xc6336401).p), kLow);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, 0xc6336402).p), kAgg);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, 0x0a7f0001).p), kRed);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, 0x0b000001).p), kAgg);
}

TEST(Policy, Dscp) {
  Policy pol({rule({.dscp = 46}, kRed), rule({.dscp = 0}, kLow)}, kAgg);  // EF, then best effort
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 1, 2, 46).p), kRed);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 1, 2, 0).p), kLow);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 1, 2, 34).p), kAgg);  // AF41
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 1, 2, 63).p), kAgg);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoIcmp, kDst, 0, 0, 46).p), kRed);
}

TEST(Policy, FirstMatchWinsAndAllFieldsMustMatch) {
  const Action pin1{Mode::pinned, 1};
  Policy pol({rule({.proto = net::kProtoUdp, .dst_lo = 443, .dst_hi = 443, .dst = {kDst, 32},
                    .dscp = 10},
                   pin1),
              rule({.proto = net::kProtoUdp, .dst_lo = 443, .dst_hi = 443}, kRed),
              rule({.proto = net::kProtoUdp}, kLow)},
             kAgg);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 9, 443, 10).p), pin1);
  EXPECT_EQ(pol.match_index(Pkt(net::kProtoUdp, kDst, 9, 443, 10).p), 0u);
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 9, 443, 11).p), kRed);      // dscp differs
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst + 1, 9, 443, 10).p), kRed);  // dst differs
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 9, 444, 10).p), kLow);      // port differs
  EXPECT_EQ(pol.classify(Pkt(net::kProtoTcp, kDst, 9, 443, 10).p), kAgg);      // proto differs
  // An earlier, broader rule shadows a later, narrower one.
  Policy shadow({rule({.proto = net::kProtoUdp}, kLow),
                 rule({.proto = net::kProtoUdp, .dst_lo = 443, .dst_hi = 443}, kRed)},
                kAgg);
  EXPECT_EQ(shadow.classify(Pkt(net::kProtoUdp, kDst, 9, 443).p), kLow);
  EXPECT_EQ(shadow.size(), 2u);
}

TEST(Policy, RefusesMalformedRules) {
  EXPECT_THROW(Policy({rule({.src_lo = 10, .src_hi = 9}, kAgg)}), std::invalid_argument);
  EXPECT_THROW(Policy({rule({.dst_lo = 10, .dst_hi = 9}, kAgg)}), std::invalid_argument);
  EXPECT_THROW(Policy({rule({.dscp = 64}, kAgg)}), std::invalid_argument);
  EXPECT_THROW(Policy({rule({.dscp = -2}, kAgg)}), std::invalid_argument);
  EXPECT_THROW(Policy({rule({.dst = {0, 33}}, kAgg)}), std::invalid_argument);
  EXPECT_THROW(Policy({rule({}, Action{Mode::pinned, -1})}), std::invalid_argument);
  EXPECT_THROW(Policy({rule({}, Action{Mode::pinned, 8})}), std::invalid_argument);
  EXPECT_THROW(Policy({}, Action{Mode::pinned, -1}), std::invalid_argument);
  EXPECT_NO_THROW(Policy({rule({}, Action{Mode::pinned, 7})}));
}

TEST(Policy, ThirtyTwoRules) {
  std::vector<Rule> rules;
  for (uint16_t i = 0; i < 32; ++i)
    rules.push_back(rule({.proto = net::kProtoUdp, .dst_lo = uint16_t(1000 + i * 10),
                          .dst_hi = uint16_t(1000 + i * 10 + 9)},
                         Action{Mode::pinned, int8_t(i % 8)}));
  Policy pol(std::move(rules), kAgg);
  for (uint16_t i = 0; i < 32; ++i) {
    const Pkt k(net::kProtoUdp, kDst, 1, uint16_t(1000 + i * 10 + 5));
    EXPECT_EQ(pol.match_index(k.p), i);
    EXPECT_EQ(pol.classify(k.p).path, int8_t(i % 8));
  }
  EXPECT_EQ(pol.classify(Pkt(net::kProtoUdp, kDst, 1, 2000).p), kAgg);
}

// ---------------------------------------------------------------------------------------------
// Scheduler

namespace {

constexpr Action kWeighted{Mode::weighted, -1};
constexpr Action kBackup{Mode::active_backup, -1};

PathView view(bool up, uint32_t owd_us, uint64_t rate_Bps = 0, uint64_t queued = 0,
              uint16_t weight = 1) {
  return PathView{up, owd_us, rate_Bps, queued, weight};
}

unsigned index_of(uint32_t mask) { return unsigned(__builtin_ctz(mask)); }

}  // namespace

TEST(Scheduler, PathCountLimits) {
  EXPECT_THROW(Scheduler(0), std::invalid_argument);
  EXPECT_THROW(Scheduler(kMaxPaths + 1), std::invalid_argument);
  EXPECT_EQ(Scheduler(kMaxPaths).n_paths(), kMaxPaths);
}

TEST(Scheduler, ExpectedDelivery) {
  EXPECT_EQ(Scheduler::expected_delivery_us(view(true, 4000, 3750000, 0), 1500), 4400u);
  EXPECT_EQ(Scheduler::expected_delivery_us(view(true, 4000, 3750000, 36000), 1500), 14000u);
  EXPECT_EQ(Scheduler::expected_delivery_us(view(true, 4000, 0, 1u << 30), 1500), 4000u);
  // Huge backlogs saturate instead of overflowing.
  const uint64_t big = Scheduler::expected_delivery_us(view(true, 0, 1, ~uint64_t(0)), 1500);
  EXPECT_EQ(big, (uint64_t(1) << 40) * 1000000);
}

TEST(Scheduler, NoPathUpGivesZeroInEveryMode) {
  Scheduler s(3);
  const PathView v[3] = {view(false, 1000), view(false, 2000), view(false, 3000)};
  for (Mode m : {Mode::aggregate, Mode::weighted, Mode::active_backup, Mode::lowest_rtt,
                 Mode::redundant, Mode::pinned})
    EXPECT_EQ(s.pick(Action{m, 0}, v, 1500), 0u) << to_string(m);
}

TEST(Scheduler, DownPathsAreNeverChosen) {
  Scheduler s(4);
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    PathView v[4];
    uint32_t up = 0;
    for (unsigned k = 0; k < 4; ++k) {
      v[k] = view(rng() % 3 != 0, rng() % 50000, rng() % 4 ? rng() % 20000000 : 0,
                  rng() % 200000, uint16_t(rng() % 4));
      up |= uint32_t(v[k].up) << k;
    }
    const Action a{Mode(rng() % 6), int8_t(rng() % 4)};
    const uint32_t m = s.pick(a, v, 64 + rng() % 1437);
    EXPECT_EQ(m & ~up, 0u);
    EXPECT_EQ(m == 0, up == 0);
    if (a.mode != Mode::redundant) {
      EXPECT_LE(__builtin_popcount(m), 1);
    }
  }
}

TEST(Scheduler, AggregateChoices) {
  Scheduler s(3);
  // Empty queues: the lowest delay wins even on the slowest path.
  PathView v[3] = {view(true, 15000, 6250000), view(true, 4000, 1000000),
                   view(true, 9000, 12500000)};
  EXPECT_EQ(s.pick(kAgg, v, 1500), 1u << 1);
  // A backlog moves the next packet to the earliest expected delivery:
  // path 1: 4 ms + 10 kB / 1 MB/s = 14 ms (+1.5); path 2: 9 ms + 0.12; path 0: 15 ms + 0.24.
  v[1].queued_bytes = 10000;
  EXPECT_EQ(s.pick(kAgg, v, 1500), 1u << 2);
  v[2].up = false;  // path 1: 15.5 ms, path 0: 15.24 ms
  EXPECT_EQ(s.pick(kAgg, v, 1500), 1u << 0);
  v[1].queued_bytes = 9000;  // path 1: 14.5 ms
  EXPECT_EQ(s.pick(kAgg, v, 1500), 1u << 1);
}

TEST(Scheduler, AggregateEqualizedSpreadsByRate) {
  // std-like: 5G 15 ms at 6 MB/s, WiFi 4 ms at 3.5 MB/s. The receiver holds everything to the
  // 15 ms floor, so the shorter drain time wins: the traffic is shared by rate from the first
  // packet (plain aggregate would put it all on WiFi until its queue reached 11 ms).
  Scheduler s(2);
  PathView v[2] = {view(true, 15000, 6000000), view(true, 4000, 3500000)};
  EXPECT_EQ(s.pick(kAgg, v, 1500), 1u << 1);                          // plain: lowest delay
  unsigned on[2] = {0, 0};
  for (int i = 0; i < 950; i++) {
    const uint32_t m = s.pick(kAgg, v, 1500, true);
    ASSERT_EQ(__builtin_popcount(m), 1);
    const unsigned k = unsigned(__builtin_ctz(m));
    ++on[k];
    v[k].queued_bytes += 1500;
  }
  // 6 : 3.5 within a packet or two.
  EXPECT_NEAR(double(on[0]) / on[1], 6.0 / 3.5, 0.02);
  // Drain times decide, whatever the delays: 5G 1 ms of backlog, WiFi 1.3 ms.
  PathView w[2] = {view(true, 15000, 6000000, 6000), view(true, 4000, 3500000, 3000)};
  EXPECT_EQ(s.pick(kAgg, w, 1500, true), 1u << 0);
  EXPECT_EQ(s.pick(kAgg, w, 1500), 1u << 1);  // plain: 4 + 1.3 ms beats 15 + 1 ms
  // A path that is down is not used.
  PathView d[2] = {view(false, 40000, 6000000), view(true, 4000, 3500000, 7000)};
  EXPECT_EQ(s.pick(kAgg, d, 1500, true), 1u << 1);
  // Pinned falls back to aggregate with the caller's choice.
  PathView p[2] = {view(false, 15000, 6000000), view(true, 4000, 3500000)};
  EXPECT_EQ(s.pick(Action{Mode::pinned, 0}, p, 1500, true), 1u << 1);
}

TEST(Scheduler, AggregateUnknownRateAndTies) {
  Scheduler s(3);
  // Unknown rate counts as infinitely fast: only the delay matters, whatever the backlog.
  PathView v[3] = {view(true, 10000, 0, 1u << 20), view(true, 12000, 1250000, 0),
                   view(false, 1000)};
  EXPECT_EQ(s.pick(kAgg, v, 1500), 1u << 0);
  // Ties go to the lower index.
  PathView t[3] = {view(false, 1000), view(true, 5000, 0), view(true, 5000, 0)};
  EXPECT_EQ(s.pick(kAgg, t, 1500), 1u << 1);
  Scheduler two(2);
  PathView q[2] = {view(true, 5000, 1500000, 1500), view(true, 4000, 1500000, 3000)};
  EXPECT_EQ(two.pick(kAgg, q, 1500), 1u << 0);  // 5000 + 2000 = 4000 + 3000
}

TEST(Scheduler, ActiveBackup) {
  Scheduler s(3);
  PathView v[3] = {view(true, 30000), view(true, 1000), view(true, 2000)};
  EXPECT_EQ(s.pick(kBackup, v, 100), 1u << 0);  // priority, not delay
  v[0].up = false;
  EXPECT_EQ(s.pick(kBackup, v, 100), 1u << 1);
  v[1].up = false;
  EXPECT_EQ(s.pick(kBackup, v, 100), 1u << 2);
  v[0].up = true;
  EXPECT_EQ(s.pick(kBackup, v, 100), 1u << 0);
}

TEST(Scheduler, LowestRtt) {
  Scheduler s(3);
  // Backlogs and rates do not matter here: only the delay.
  PathView v[3] = {view(true, 9000), view(true, 3000, 1000, 1000000), view(true, 5000)};
  EXPECT_EQ(s.pick(kLow, v, 1500), 1u << 1);
  v[1].up = false;
  EXPECT_EQ(s.pick(kLow, v, 1500), 1u << 2);
  v[0].owd_us = 5000;
  EXPECT_EQ(s.pick(kLow, v, 1500), 1u << 0);  // tie -> lower index
}

TEST(Scheduler, Redundant) {
  Scheduler s(4);
  PathView v[4] = {view(true, 1), view(false, 1), view(true, 1), view(true, 1)};
  EXPECT_EQ(s.pick(kRed, v, 1500), 0b1101u);
  v[0].up = v[2].up = v[3].up = false;
  EXPECT_EQ(s.pick(kRed, v, 1500), 0u);
  v[1].up = true;
  EXPECT_EQ(s.pick(kRed, v, 1500), 0b0010u);
}

TEST(Scheduler, PinnedAndItsFallback) {
  Scheduler s(3);
  PathView v[3] = {view(true, 4000, 1000000), view(true, 30000, 1000000),
                   view(true, 9000, 1000000)};
  EXPECT_EQ(s.pick(Action{Mode::pinned, 1}, v, 1500), 1u << 1);  // even though it is slowest
  v[1].up = false;  // down: aggregate over the others
  EXPECT_EQ(s.pick(Action{Mode::pinned, 1}, v, 1500), 1u << 0);
  v[0].queued_bytes = 20000;  // 4 + 21.5 ms vs 9 + 1.5 ms
  EXPECT_EQ(s.pick(Action{Mode::pinned, 1}, v, 1500), 1u << 2);
  // A path id beyond this scheduler's paths is never up.
  EXPECT_EQ(s.pick(Action{Mode::pinned, 5}, v, 1500), 1u << 2);
}

TEST(Scheduler, WeightedDistribution) {
  struct Case {
    std::vector<uint16_t> w;
  };
  for (const Case& c : {Case{{3, 1}}, Case{{1, 1}}, Case{{5, 3, 2}}, Case{{1, 7, 0, 2}}}) {
    const unsigned n = unsigned(c.w.size());
    Scheduler s(n);
    std::vector<PathView> v;
    unsigned total = 0;
    for (uint16_t w : c.w) {
      v.push_back(view(true, 1000, 0, 0, w));
      total += w;
    }
    std::vector<unsigned> count(n);
    constexpr int kPicks = 10000;
    for (int i = 0; i < kPicks; ++i) ++count[index_of(s.pick(kWeighted, v.data(), 1500))];
    for (unsigned k = 0; k < n; ++k)
      EXPECT_NEAR(double(count[k]) / kPicks, double(c.w[k]) / total, 0.01)
          << "path " << k << " of weights case " << c.w.size();
    for (unsigned k = 0; k < n; ++k)
      if (c.w[k] == 0) {
        EXPECT_EQ(count[k], 0u);  // weight 0: never
      }
  }
}

TEST(Scheduler, WeightedIsSmooth) {
  Scheduler s(2);
  PathView v[2] = {view(true, 1000, 0, 0, 1), view(true, 1000, 0, 0, 1)};
  uint32_t prev = 0;
  for (int i = 0; i < 1000; ++i) {  // 1:1 alternates strictly
    const uint32_t m = s.pick(kWeighted, v, 1500);
    EXPECT_NE(m, prev);
    prev = m;
  }
  // 3:1: the heavy path never runs more than three in a row, the light one never twice.
  Scheduler t(2);
  v[0].weight = 3;
  unsigned run = 0, longest = 0;
  prev = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint32_t m = t.pick(kWeighted, v, 1500);
    run = m == prev ? run + 1 : 1;
    if (m == 2u) {
      EXPECT_EQ(run, 1u);
    }
    longest = std::max(longest, run);
    prev = m;
  }
  EXPECT_LE(longest, 3u);
}

TEST(Scheduler, WeightedSkipsDownPathsAndRestarts) {
  Scheduler s(3);
  PathView v[3] = {view(true, 1000, 0, 0, 1), view(true, 1000, 0, 0, 1),
                   view(true, 1000, 0, 0, 1)};
  v[1].up = false;
  unsigned count[3] = {};
  for (int i = 0; i < 1000; ++i) ++count[index_of(s.pick(kWeighted, v, 1500))];
  EXPECT_EQ(count[0], 500u);
  EXPECT_EQ(count[1], 0u);
  EXPECT_EQ(count[2], 500u);
  v[1].up = true;  // back: an even three-way share from the next pick on
  unsigned again[3] = {};
  for (int i = 0; i < 999; ++i) ++again[index_of(s.pick(kWeighted, v, 1500))];
  EXPECT_EQ(again[0], 333u);
  EXPECT_EQ(again[1], 333u);
  EXPECT_EQ(again[2], 333u);
  // No up path with a weight: aggregate.
  PathView z[3] = {view(true, 9000, 0, 0, 0), view(true, 2000, 0, 0, 0), view(false, 1, 0, 0, 5)};
  EXPECT_EQ(s.pick(kWeighted, z, 1500), 1u << 1);
}

// ---------------------------------------------------------------------------------------------
// Aggregate simulation: packets offered at a rate, each path's backlog (the worker's shaper
// queue) drains at the path's rate. In parallel, for every packet, what it would have met had all
// traffic gone on one path alone (the "single path" counterfactuals).

namespace {

struct SimPath {
  uint32_t owd_us;
  uint64_t rate_Bps;
};

struct SimResult {
  std::vector<uint64_t> bytes;           // sent per path
  std::vector<double> max_queue_delay;   // max over time of queued / rate, us, per path
  std::vector<double> max_queue_delay_late;  // the same over the second half of the run
  uint64_t violations = 0;               // packets later than on the best single path
  uint64_t packets = 0;
};

// Offers `n` packets at `rate_bps` bits/s. Fixed size and spacing, or (random) sizes 64..1500
// with exponential gaps of the same mean rate.
SimResult simulate(const std::vector<SimPath>& paths, double rate_bps, unsigned n,
                   bool random_traffic, uint32_t seed = 1) {
  const unsigned k = unsigned(paths.size());
  Scheduler s(k);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint32_t> size_dist(64, 1500);
  std::exponential_distribution<double> gap(1.0);
  std::vector<double> q(k, 0.0), solo(k, 0.0);
  std::vector<PathView> v(k);
  SimResult r;
  r.bytes.assign(k, 0);
  r.max_queue_delay.assign(k, 0);
  r.max_queue_delay_late.assign(k, 0);
  for (unsigned i = 0; i < n; ++i) {
    const uint32_t bytes = random_traffic ? size_dist(rng) : 1500;
    const double mean_gap_s = (random_traffic ? 782.0 : 1500.0) * 8 / rate_bps;
    const double dt = random_traffic ? gap(rng) * mean_gap_s : mean_gap_s;
    for (unsigned p = 0; p < k; ++p) {
      q[p] = std::max(0.0, q[p] - double(paths[p].rate_Bps) * dt);
      solo[p] = std::max(0.0, solo[p] - double(paths[p].rate_Bps) * dt);
      v[p] = view(true, paths[p].owd_us, paths[p].rate_Bps, uint64_t(q[p]));
    }
    const uint32_t m = s.pick(kAgg, v.data(), bytes);
    EXPECT_EQ(__builtin_popcount(m), 1);
    const unsigned c = index_of(m);
    const uint64_t t = Scheduler::expected_delivery_us(v[c], bytes);
    uint64_t best_single = ~uint64_t(0);
    for (unsigned p = 0; p < k; ++p) {
      PathView alone = v[p];
      alone.queued_bytes = uint64_t(solo[p]);
      best_single = std::min(best_single, Scheduler::expected_delivery_us(alone, bytes));
      solo[p] += bytes;
    }
    if (t > best_single) ++r.violations;
    q[c] += bytes;
    r.bytes[c] += bytes;
    for (unsigned p = 0; p < k; ++p) {
      const double d = q[p] * 1e6 / double(paths[p].rate_Bps);
      r.max_queue_delay[p] = std::max(r.max_queue_delay[p], d);
      if (i >= n / 2) r.max_queue_delay_late[p] = std::max(r.max_queue_delay_late[p], d);
    }
    ++r.packets;
  }
  return r;
}

// Path 0: 50 Mbit/s, 15 ms. Path 1: 30 Mbit/s, 4 ms.
const std::vector<SimPath> kTwo = {{15000, 50000000 / 8}, {4000, 30000000 / 8}};

double share(const SimResult& r, unsigned p) {
  uint64_t total = 0;
  for (uint64_t b : r.bytes) total += b;
  return double(r.bytes[p]) / double(total);
}

}  // namespace

TEST(SchedulerSim, LowRateStaysOnTheLowDelayPath) {
  for (double mbps : {1.0, 10.0, 25.0, 29.0}) {
    const SimResult r = simulate(kTwo, mbps * 1e6, 20000, false);
    EXPECT_EQ(r.bytes[0], 0u) << mbps << " Mbit/s";
    EXPECT_EQ(r.violations, 0u);
    EXPECT_LE(r.max_queue_delay[1], 400.0 + 1);  // never more than the packet being sent
  }
}

TEST(SchedulerSim, SpillAt70MbitsFillsTheFastPathAndBoundsQueues) {
  // 10 s at 70 Mbit/s. The 4 ms path takes its 30 Mbit/s, the 15 ms path the other 40: 30/70 and
  // 40/70 (the 50:30 ratio of the capacities is reached only at 80 Mbit/s, see below).
  const SimResult r = simulate(kTwo, 70e6, 58334, false);
  EXPECT_NEAR(share(r, 1), 30.0 / 70, 0.01);
  EXPECT_NEAR(share(r, 0), 40.0 / 70, 0.01);
  EXPECT_EQ(r.violations, 0u);
  // The 4 ms path's backlog stops where its delay reaches the other path's: 11 ms of queue plus
  // about a packet; the 15 ms path's stays within a couple of packets. And it stops growing.
  EXPECT_LE(r.max_queue_delay[1], 11000.0 + 2 * 400);
  EXPECT_LE(r.max_queue_delay[0], 2 * 240.0 + 1);
  EXPECT_LE(r.max_queue_delay_late[1], r.max_queue_delay[1]);
  EXPECT_GT(r.max_queue_delay_late[1], 10000.0);  // it is in use as the spill threshold
}

TEST(SchedulerSim, NearFullLoadApproachesTheCapacityRatio) {
  // The 4 ms path stays full (30 Mbit/s), the 15 ms path takes the rest: 48:30 at 78 Mbit/s,
  // 50:30 at 80.
  for (double mbps : {78.0, 80.0}) {
    const SimResult r = simulate(kTwo, mbps * 1e6, 66667, false);
    EXPECT_NEAR(share(r, 0), (mbps - 30) / mbps, 0.01) << mbps;
    EXPECT_NEAR(share(r, 1), 30.0 / mbps, 0.01) << mbps;
    EXPECT_EQ(r.violations, 0u);
    EXPECT_LE(r.max_queue_delay[1], 11000.0 + 3 * 400);
    EXPECT_LE(r.max_queue_delay[0], 3 * 240.0);
  }
}

TEST(SchedulerSim, NeverLaterThanTheBestSinglePath) {
  // Random sizes and Poisson arrivals, from light load to overload, on the two paths above and on
  // random sets of 2-5 paths.
  for (double mbps : {5.0, 20.0, 35.0, 60.0, 75.0, 90.0, 150.0}) {
    const SimResult r = simulate(kTwo, mbps * 1e6, 30000, true, uint32_t(mbps));
    EXPECT_EQ(r.violations, 0u) << mbps << " Mbit/s";
  }
  std::mt19937 rng(99);
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<SimPath> paths(2 + rng() % 4);
    double capacity = 0;
    for (SimPath& p : paths) {
      p.owd_us = 1000 + rng() % 60000;
      p.rate_Bps = 125000 + rng() % 12500000;  // 1..101 Mbit/s
      capacity += double(p.rate_Bps) * 8;
    }
    const double load = capacity * (0.2 + (rng() % 100) / 100.0);  // 20%..119%
    const SimResult r = simulate(paths, load, 10000, true, uint32_t(trial));
    EXPECT_EQ(r.violations, 0u) << "trial " << trial;
  }
}

// ---------------------------------------------------------------------------------------------
// LaneQueue and SparseFlows: the three-lane shaper queue.

// Pops everything, in serving order.
static std::vector<int> drain(LaneQueue<int>& q) {
  std::vector<int> out;
  while (!q.empty()) {
    out.push_back(q.front().value);
    q.pop();
  }
  return out;
}

TEST(LaneQueue, FastLaneFirstEachLaneInOrder) {
  LaneQueue<int> q(4, 4, 8);
  EXPECT_TRUE(q.empty());
  ASSERT_TRUE(q.push(Lane::bulk, 1, 100));
  ASSERT_TRUE(q.push(Lane::bulk, 2, 200));
  ASSERT_TRUE(q.push(Lane::fast, 10, 60));
  ASSERT_TRUE(q.push(Lane::fast, 11, 70));
  EXPECT_EQ(q.bytes(), 430u);
  EXPECT_EQ(q.bytes(Lane::fast), 130u);
  EXPECT_EQ(q.bytes(Lane::bulk), 300u);
  EXPECT_EQ(q.front().value, 10);
  q.pop();
  ASSERT_TRUE(q.push(Lane::fast, 12, 80));  // arrives mid-drain: next out after 11
  EXPECT_EQ(drain(q), (std::vector<int>{11, 12, 1, 2}));
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(LaneQueue, ResendLaneBetweenFastAndBulk) {
  LaneQueue<int> q(4, 4, 4);
  ASSERT_TRUE(q.push(Lane::bulk, 3, 30));
  ASSERT_TRUE(q.push(Lane::resend, 2, 20));
  ASSERT_TRUE(q.push(Lane::resend, 22, 20));
  ASSERT_TRUE(q.push(Lane::fast, 1, 10));
  EXPECT_EQ(q.bytes(), 80u);
  EXPECT_EQ(q.bytes(Lane::resend), 40u);
  EXPECT_EQ(drain(q), (std::vector<int>{1, 2, 22, 3}));
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(LaneQueue, FullLaneRefusesWithoutChange) {
  LaneQueue<int> q(2, 2, 4);
  EXPECT_TRUE(q.push(Lane::fast, 1, 10));
  EXPECT_TRUE(q.push(Lane::fast, 2, 10));
  EXPECT_TRUE(q.full(Lane::fast));
  EXPECT_FALSE(q.push(Lane::fast, 3, 10));
  EXPECT_EQ(q.bytes(Lane::fast), 20u);
  EXPECT_EQ(q.size(Lane::fast), 2u);
  EXPECT_FALSE(q.full(Lane::bulk));  // the other lane is independent
  for (int i = 0; i < 4; i++) EXPECT_TRUE(q.push(Lane::bulk, 100 + i, 1));
  EXPECT_FALSE(q.push(Lane::bulk, 104, 1));
  // Wraps around: drain and refill several times over the ring size.
  for (int round = 0; round < 5; round++) {
    while (!q.empty()) q.pop();
    EXPECT_TRUE(q.push(Lane::fast, round, 5));
    EXPECT_TRUE(q.push(Lane::bulk, round + 50, 7));
    EXPECT_EQ(q.front().value, round);
    EXPECT_EQ(q.front().bytes, 5u);
  }
  EXPECT_THROW({ LaneQueue<int> bad(3, 4, 4); }, std::invalid_argument);
  EXPECT_THROW({ LaneQueue<int> bad(4, 0, 4); }, std::invalid_argument);
  EXPECT_THROW({ LaneQueue<int> bad(4, 4, 6); }, std::invalid_argument);
}

TEST(SparseFlows, AFlowIsSparseOnlyWithNothingQueued) {
  SparseFlows f;
  const uint16_t a = SparseFlows::bucket(12345), b = SparseFlows::bucket(12346);
  ASSERT_NE(a, b);
  EXPECT_TRUE(f.idle(a));
  f.add(a);
  f.add(a);
  EXPECT_FALSE(f.idle(a));
  EXPECT_TRUE(f.idle(b));
  f.remove(a);
  EXPECT_FALSE(f.idle(a));
  f.remove(a);
  EXPECT_TRUE(f.idle(a));
  f.remove(a);  // never below zero
  f.add(a);
  EXPECT_FALSE(f.idle(a));
  f.add(SparseFlows::kNone);  // retransmits belong to no flow
  f.remove(SparseFlows::kNone);
  EXPECT_EQ(SparseFlows::bucket(SparseFlows::kBuckets + 7), SparseFlows::bucket(7));
}

// The property the dataplane relies on: with frames of several flows entering by the rule
// "fast lane only when the flow has nothing queued", every flow leaves in its own order.
TEST(LaneQueue, SparseRuleKeepsEveryFlowInOrder) {
  struct F {
    uint16_t flow;
    uint32_t seq;
  };
  LaneQueue<F> q(16, 16, 256);
  SparseFlows sparse;
  std::mt19937 rng(7);
  std::vector<uint32_t> next_in(8, 0), next_out(8, 0);
  unsigned fast = 0, bulk = 0;
  for (int step = 0; step < 200000; step++) {
    if (rng() % 100 < 48) {  // arrival (a little below the drain rate): flow 0 heavy
      const uint16_t fl = rng() % 2 ? 0 : uint16_t(1 + rng() % 7);
      const bool use_fast = sparse.idle(fl) && !q.full(Lane::fast);
      const Lane l = use_fast ? Lane::fast : Lane::bulk;
      if (q.push(l, F{fl, next_in[fl]}, 100)) {
        next_in[fl]++;
        sparse.add(fl);
        (use_fast ? fast : bulk)++;
      }
    } else if (!q.empty()) {
      const F f = q.front().value;
      q.pop();
      sparse.remove(f.flow);
      ASSERT_EQ(f.seq, next_out[f.flow]) << "flow " << f.flow;
      next_out[f.flow]++;
    }
  }
  EXPECT_GT(fast, 1000u);
  EXPECT_GT(bulk, 1000u);
  // The order check must be able to fail: a frame of a busy flow let into the fast lane
  // passes that flow's queued frames.
  LaneQueue<F> q2(16, 16, 256);
  ASSERT_TRUE(q2.push(Lane::bulk, F{0, 0}, 100));
  ASSERT_TRUE(q2.push(Lane::fast, F{0, 1}, 100));  // what ignoring SparseFlows would do
  EXPECT_EQ(q2.front().value.seq, 1u);
}

// ---- ResendSpotter ------------------------------------------------------------------------------

TEST(ResendSpotter, NewDataThenItsRetransmission) {
  sched::ResendSpotter r(16);
  EXPECT_FALSE(r.resend(0xabcd0001, 1000, 1));      // SYN: seq_len 1
  EXPECT_FALSE(r.resend(0xabcd0001, 1001, 1400));   // new data
  EXPECT_FALSE(r.resend(0xabcd0001, 2401, 1400));
  EXPECT_TRUE(r.resend(0xabcd0001, 1001, 1400));    // the first segment again
  EXPECT_TRUE(r.resend(0xabcd0001, 2401, 1400));    // ends exactly at the highest end
  EXPECT_TRUE(r.resend(0xabcd0001, 3800, 1));       // a keepalive / probe with one byte
  EXPECT_FALSE(r.resend(0xabcd0001, 3801, 1400));   // new data again
  EXPECT_FALSE(r.resend(0xabcd0001, 4000, 1400));   // overlaps the end: new bytes in it
  EXPECT_TRUE(r.resend(0xabcd0001, 4000, 1400));
}

TEST(ResendSpotter, PureAcksAreNeitherAndChangeNothing) {
  sched::ResendSpotter r(16);
  EXPECT_FALSE(r.resend(7, 100, 50));
  EXPECT_FALSE(r.resend(7, 0, 0));      // an ACK with any sequence number
  EXPECT_FALSE(r.resend(7, 900, 0));
  EXPECT_TRUE(r.resend(7, 100, 50));   // the slot still holds 150
  EXPECT_FALSE(r.resend(7, 150, 10));
}

TEST(ResendSpotter, SequenceWrap) {
  sched::ResendSpotter r(16);
  EXPECT_FALSE(r.resend(9, 0xfffffc00u, 0x400));    // ends at 2^32 = 0
  EXPECT_FALSE(r.resend(9, 0, 1400));               // after the wrap: new
  EXPECT_TRUE(r.resend(9, 0xfffffc00u, 0x400));     // before it: a resend
  EXPECT_TRUE(r.resend(9, 0, 1400));
  EXPECT_FALSE(r.resend(9, 1400, 1400));
}

TEST(ResendSpotter, FlowsKeepTheirOwnSequenceSpaces) {
  sched::ResendSpotter r(16);
  // Different slots.
  EXPECT_FALSE(r.resend(1, 5000, 100));
  EXPECT_FALSE(r.resend(2, 100, 100));   // far below flow 1's end: another flow, new
  EXPECT_TRUE(r.resend(1, 5000, 100));
  // The same slot (hashes 3 and 19 with 16 slots): the newcomer takes it over and starts
  // afresh; a collision never turns one flow's new data into a resend of the other's.
  EXPECT_FALSE(r.resend(3, 9000, 100));
  EXPECT_FALSE(r.resend(19, 10, 100));
  EXPECT_FALSE(r.resend(3, 9000, 100));  // its slot was taken: not recognised (sent as bulk)
  EXPECT_TRUE(r.resend(3, 9000, 100));   // and from then on it is again
}

TEST(ResendSpotter, SlotsMustBeAPowerOfTwo) {
  EXPECT_THROW(sched::ResendSpotter(0), std::invalid_argument);
  EXPECT_THROW(sched::ResendSpotter(12), std::invalid_argument);
  EXPECT_EQ(sched::ResendSpotter(1).slots(), 1u);
  EXPECT_EQ(sched::ResendSpotter(4096).slots(), 4096u);
}
