// lib/path: RTT smoothing, windowed min RTT, probe loss, delivery rate, up/down transitions.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>

#include "path/path_health.hpp"
#include "path/probe_cadence.hpp"

using namespace mpf::path;

namespace {

constexpr uint64_t kMs = 1000;
constexpr uint64_t kT0 = 1000000000;  // an arbitrary start: 1000 s

// Sends probe `seq` at `sent` and answers it after `rtt` (timestamp = low 32 bits of `sent`).
void probe(PathHealth& h, uint32_t seq, uint64_t sent, uint64_t rtt) {
  h.probe_sent(seq, sent);
  h.probe_answered(seq, uint32_t(sent), sent + rtt);
}

// Brings a fresh PathHealth up with `n` probes of RTT `rtt` every 25 ms; returns the time after.
uint64_t bring_up(PathHealth& h, uint32_t& seq, uint64_t t, uint64_t rtt = 20 * kMs,
                  unsigned n = 3) {
  for (unsigned i = 0; i < n; ++i, t += 25 * kMs) {
    probe(h, seq++, t, rtt);
    h.tick(t + rtt);
  }
  return t;
}

}  // namespace

TEST(PathHealth, StartsDownWithoutMeasurements) {
  PathHealth h;
  EXPECT_EQ(h.state(), PathState::down);
  EXPECT_FALSE(h.has_rtt());
  EXPECT_EQ(h.srtt_us(), 0u);
  EXPECT_EQ(h.min_rtt_us(), 0u);
  EXPECT_EQ(h.loss_ppm(), 0u);
  EXPECT_EQ(h.delivery_rate_Bps(), 0u);
  EXPECT_EQ(h.transitions(), 0u);
  EXPECT_FALSE(h.tick(kT0));
  EXPECT_STREQ(to_string(PathState::up), "up");
  EXPECT_THROW(PathHealth(HealthParams{.loss_window = 0}), std::invalid_argument);
  EXPECT_THROW(PathHealth(HealthParams{.loss_window = 5000}), std::invalid_argument);
}

TEST(PathHealth, Rfc6298Smoothing) {
  PathHealth h;
  probe(h, 1, kT0, 40000);
  EXPECT_EQ(h.srtt_us(), 40000u);  // first sample: srtt = R, rttvar = R / 2
  EXPECT_EQ(h.rttvar_us(), 20000u);
  probe(h, 2, kT0 + 25 * kMs, 48000);
  // rttvar = 3/4 * 20000 + 1/4 * |40000 - 48000| = 17000; srtt = 7/8 * 40000 + 1/8 * 48000
  EXPECT_EQ(h.rttvar_us(), 17000u);
  EXPECT_EQ(h.srtt_us(), 41000u);
  probe(h, 3, kT0 + 50 * kMs, 33000);
  // rttvar = 0.75 * 17000 + 0.25 * 8000 = 14750; srtt = 0.875 * 41000 + 0.125 * 33000 = 40000
  EXPECT_EQ(h.rttvar_us(), 14750u);
  EXPECT_EQ(h.srtt_us(), 40000u);
  EXPECT_EQ(h.last_rtt_us(), 33000u);
  EXPECT_EQ(h.rtt_samples(), 3u);
}

TEST(PathHealth, RttIsWrapSafe) {
  PathHealth h;
  const uint64_t sent = (uint64_t(7) << 32) - 5000;  // low 32 bits just below the wrap
  h.probe_sent(9, sent);
  h.probe_answered(9, uint32_t(sent), sent + 12000);  // uint32(now) has wrapped to 7000
  EXPECT_EQ(h.srtt_us(), 12000u);
  EXPECT_EQ(h.bad_timestamps(), 0u);
}

TEST(PathHealth, EchoFromBeforeTheProbeIsNoSample) {
  PathHealth h;
  h.probe_sent(1, kT0);
  h.probe_answered(1, uint32_t(kT0 - 50 * kMs), kT0 + 10 * kMs);  // claims 60 ms, only 10 passed
  EXPECT_FALSE(h.has_rtt());
  EXPECT_EQ(h.bad_timestamps(), 1u);
  h.probe_sent(2, kT0 + 25 * kMs);
  h.probe_answered(2, uint32_t(kT0 + 26 * kMs), kT0 + 25 * kMs + 500);  // "negative" RTT
  EXPECT_FALSE(h.has_rtt());
  EXPECT_EQ(h.bad_timestamps(), 2u);
  // A timestamp taken slightly before probe_sent is accepted.
  h.probe_sent(3, kT0 + 50 * kMs);
  h.probe_answered(3, uint32_t(kT0 + 50 * kMs - 200), kT0 + 60 * kMs);
  EXPECT_EQ(h.srtt_us(), 10200u);
}

TEST(PathHealth, IgnoresUnknownOldAndDuplicateReplies) {
  PathHealth h(HealthParams{.loss_window = 8});
  for (uint32_t s = 100; s < 110; ++s) h.probe_sent(s, kT0 + (s - 100) * 25 * kMs);
  const uint64_t now = kT0 + 250 * kMs;
  h.probe_answered(101, uint32_t(kT0 + 25 * kMs), now);  // older than the last 8 probes
  h.probe_answered(500, uint32_t(now - 1000), now);      // never sent
  EXPECT_FALSE(h.has_rtt());
  EXPECT_EQ(h.ignored_replies(), 2u);
  h.probe_answered(109, uint32_t(kT0 + 225 * kMs), now);
  EXPECT_EQ(h.srtt_us(), 25000u);
  h.probe_answered(109, uint32_t(kT0 + 225 * kMs), now + 5000);  // duplicate
  EXPECT_EQ(h.rtt_samples(), 1u);
  EXPECT_EQ(h.ignored_replies(), 3u);
  // Gaps in probe_seq are tolerated.
  h.probe_sent(120, now);
  h.probe_answered(109, uint32_t(kT0 + 225 * kMs), now + 1);
  h.probe_answered(120, uint32_t(now), now + 30 * kMs);
  EXPECT_EQ(h.rtt_samples(), 2u);
}

TEST(PathHealth, ProbeTimeoutChoice) {
  PathHealth h;  // probe interval 25 ms
  EXPECT_EQ(h.probe_timeout_us(), 1000 * kMs);  // no RTT yet: 1 s
  probe(h, 1, kT0, 4 * kMs);                    // srtt 4 ms, rttvar 2 ms: floor 2 x 25 ms
  EXPECT_EQ(h.probe_timeout_us(), 50 * kMs);
  PathHealth g;
  probe(g, 1, kT0, 40 * kMs);  // srtt 40, rttvar 20: max(120, 40 + 80) = 120 ms
  EXPECT_EQ(g.probe_timeout_us(), 120 * kMs);
  PathHealth j;
  probe(j, 1, kT0, 40 * kMs);
  probe(j, 2, kT0 + 25 * kMs, 100 * kMs);  // rttvar 30, srtt 47.5: 3 x srtt < srtt + 4 x rttvar
  EXPECT_EQ(j.srtt_us(), 47500u);
  EXPECT_EQ(j.rttvar_us(), 30000u);
  EXPECT_EQ(j.probe_timeout_us(), 167500u);
}

TEST(PathHealth, LossOverTheWindow) {
  PathHealth h(HealthParams{.loss_window = 64});
  uint64_t t = kT0;
  // 64 probes, every other one answered with 10 ms RTT.
  for (uint32_t s = 0; s < 64; ++s, t += 25 * kMs) {
    h.probe_sent(s, t);
    if (s % 2 == 0) h.probe_answered(s, uint32_t(t), t + 10 * kMs);
    h.tick(t + 10 * kMs);
  }
  // Timeout is 50 ms (floor): the last unanswered probe is still pending.
  EXPECT_EQ(h.probe_timeout_us(), 50 * kMs);
  h.tick(t + 100 * kMs);
  EXPECT_EQ(h.loss_ppm(), 500000u);
  // 64 more probes all answered: the window slides, loss goes to 0.
  for (uint32_t s = 64; s < 128; ++s, t += 25 * kMs) {
    probe(h, s, t, 10 * kMs);
    h.tick(t + 10 * kMs);
  }
  EXPECT_EQ(h.loss_ppm(), 0u);
  // One lost probe in 64.
  h.probe_sent(128, t);
  h.tick(t + 60 * kMs);
  EXPECT_EQ(h.loss_ppm(), 1000000u / 64);
}

TEST(PathHealth, PendingProbesAreNotLost) {
  PathHealth h;
  probe(h, 0, kT0, 10 * kMs);
  h.probe_sent(1, kT0 + 25 * kMs);
  h.tick(kT0 + 70 * kMs);  // 45 ms after sending: under the 50 ms timeout
  EXPECT_EQ(h.loss_ppm(), 0u);
  h.tick(kT0 + 76 * kMs);
  EXPECT_EQ(h.loss_ppm(), 500000u);
}

TEST(PathHealth, LateReplyCountsAsLostButGivesRtt) {
  PathHealth h;
  probe(h, 0, kT0, 10 * kMs);  // timeout 50 ms
  h.probe_sent(1, kT0 + 25 * kMs);
  h.probe_answered(1, uint32_t(kT0 + 25 * kMs), kT0 + 25 * kMs + 80 * kMs);  // late, no tick
  EXPECT_EQ(h.loss_ppm(), 500000u);
  EXPECT_EQ(h.late_replies(), 1u);
  EXPECT_EQ(h.rtt_samples(), 2u);
  // Timed out by tick first, answered afterwards: the same.
  h.probe_sent(2, kT0 + 200 * kMs);
  h.tick(kT0 + 400 * kMs);
  h.probe_answered(2, uint32_t(kT0 + 200 * kMs), kT0 + 410 * kMs);
  EXPECT_EQ(h.late_replies(), 2u);
  EXPECT_EQ(h.rtt_samples(), 3u);
  EXPECT_EQ(h.loss_ppm(), 666666u);
}

TEST(PathHealth, UpAfterConsecutiveAnsweredProbes) {
  PathHealth h;  // up_after 3
  uint64_t t = kT0;
  probe(h, 0, t, 10 * kMs);
  EXPECT_FALSE(h.tick(t + 10 * kMs));
  probe(h, 1, t + 25 * kMs, 10 * kMs);
  EXPECT_FALSE(h.tick(t + 35 * kMs));
  h.probe_sent(2, t + 50 * kMs);  // lost: breaks the run
  EXPECT_FALSE(h.tick(t + 200 * kMs));
  EXPECT_EQ(h.answered_run(), 0u);
  t += 200 * kMs;
  probe(h, 3, t, 10 * kMs);
  probe(h, 4, t + 25 * kMs, 10 * kMs);
  EXPECT_FALSE(h.tick(t + 35 * kMs));
  EXPECT_EQ(h.answered_run(), 2u);
  probe(h, 5, t + 50 * kMs, 10 * kMs);
  EXPECT_TRUE(h.tick(t + 60 * kMs));
  EXPECT_EQ(h.state(), PathState::up);
  EXPECT_EQ(h.transitions(), 1u);
  EXPECT_EQ(h.last_change_us(), t + 60 * kMs);
  EXPECT_FALSE(h.tick(t + 61 * kMs));
}

TEST(PathHealth, PendingProbeDoesNotBreakTheRun) {
  PathHealth h;
  probe(h, 0, kT0, 10 * kMs);
  h.probe_sent(1, kT0 + 25 * kMs);  // its reply is slower than the next ones'
  probe(h, 2, kT0 + 30 * kMs, 5 * kMs);
  probe(h, 3, kT0 + 40 * kMs, 5 * kMs);
  EXPECT_TRUE(h.tick(kT0 + 46 * kMs));
}

TEST(PathHealth, DownAfterSilenceAndBackUp) {
  PathHealth h;  // dead_after 100 ms
  uint32_t seq = 0;
  uint64_t t = bring_up(h, seq, kT0);
  ASSERT_TRUE(h.is_up());
  const uint64_t last = t - 25 * kMs + 20 * kMs;  // the last reply
  EXPECT_EQ(h.last_heard_us(), last);
  h.heard(last + 100 * kMs);  // a data frame keeps it alive
  EXPECT_FALSE(h.tick(last + 199 * kMs));
  EXPECT_TRUE(h.is_up());
  EXPECT_TRUE(h.tick(last + 200 * kMs));
  EXPECT_EQ(h.state(), PathState::down);
  EXPECT_EQ(h.transitions(), 2u);
  EXPECT_EQ(h.last_change_us(), last + 200 * kMs);
  // Replies that arrived before going down do not count: three new ones are needed.
  t = last + 300 * kMs;
  probe(h, seq++, t, 20 * kMs);
  EXPECT_FALSE(h.tick(t + 20 * kMs));
  probe(h, seq++, t + 25 * kMs, 20 * kMs);
  EXPECT_FALSE(h.tick(t + 45 * kMs));
  probe(h, seq++, t + 50 * kMs, 20 * kMs);
  EXPECT_TRUE(h.tick(t + 70 * kMs));
  EXPECT_TRUE(h.is_up());
  EXPECT_EQ(h.transitions(), 3u);
}

TEST(PathHealth, ProbeLossAloneKeepsAPathUp) {
  PathHealth h;
  uint32_t seq = 0;
  uint64_t t = bring_up(h, seq, kT0);
  for (int i = 0; i < 20; ++i, t += 25 * kMs) {
    h.probe_sent(seq++, t);
    h.heard(t);  // data still arrives
    EXPECT_FALSE(h.tick(t));
  }
  EXPECT_TRUE(h.is_up());
  EXPECT_GT(h.loss_ppm(), 500000u);
}

TEST(PathHealth, OutageAndRecoveryTiming) {
  // Probes every 25 ms, RTT 20 ms; the path is dark from 1.0 s to 2.0 s.
  PathHealth h;
  uint64_t down_at = 0, up_at = 0;
  for (uint32_t seq = 0; seq < 160; ++seq) {
    const uint64_t sent = kT0 + seq * 25 * kMs;
    h.probe_sent(seq, sent);
    const bool dark = sent >= kT0 + 1000 * kMs && sent < kT0 + 2000 * kMs;
    for (uint64_t t = sent; t < sent + 25 * kMs; t += kMs) {
      if (!dark && t == sent + 20 * kMs) h.probe_answered(seq, uint32_t(sent), t);
      if (h.tick(t)) (h.is_up() ? up_at : down_at) = t;
    }
  }
  // The last reply before the outage came at 0.995 s: down 100 ms later.
  EXPECT_EQ(down_at, kT0 + 995 * kMs + 100 * kMs);
  // Three replies after the outage: 2.020, 2.045, 2.070 s.
  EXPECT_EQ(up_at, kT0 + 2070 * kMs);
  EXPECT_EQ(h.transitions(), 3u);
}

TEST(PathHealth, WindowedMinRtt) {
  PathHealth h(HealthParams{.min_rtt_window_ms = 10000});
  uint64_t t = kT0;
  uint32_t seq = 0;
  probe(h, seq++, t, 30 * kMs);
  EXPECT_EQ(h.min_rtt_us(), 30000u);
  // RTT rises to 50 ms: min stays 30 ms for the window, then follows.
  for (int i = 0; i < 390; ++i) {  // 9.75 s
    t += 25 * kMs;
    probe(h, seq++, t, 50 * kMs);
  }
  EXPECT_EQ(h.min_rtt_us(), 30000u);
  for (int i = 0; i < 80; ++i) {  // 2 s more
    t += 25 * kMs;
    probe(h, seq++, t, 50 * kMs);
  }
  EXPECT_EQ(h.min_rtt_us(), 50000u);
  probe(h, seq++, t + 25 * kMs, 45 * kMs);  // a lower sample takes over at once
  EXPECT_EQ(h.min_rtt_us(), 45000u);
}

TEST(PathHealth, QueueingIndicator) {
  PathHealth h;
  uint64_t t = kT0;
  uint32_t seq = 0;
  for (int i = 0; i < 10; ++i, t += 25 * kMs) probe(h, seq++, t, 20 * kMs);
  EXPECT_EQ(h.queueing_us(), 0u);
  // A modem queue builds: RTTs 30, 40, 50, 60 ms.
  for (int i = 1; i <= 4; ++i, t += 25 * kMs) probe(h, seq++, t, (20 + 10 * i) * kMs);
  EXPECT_EQ(h.queueing_us(), 25000u);  // mean(30..60) = 45 - 20
  EXPECT_LT(h.srtt_us() - h.min_rtt_us(), h.queueing_us());  // srtt lags behind
  // One outlier moves it by a quarter only.
  for (int i = 0; i < 4; ++i, t += 25 * kMs) probe(h, seq++, t, 20 * kMs);
  probe(h, seq++, t, 100 * kMs);
  EXPECT_EQ(h.queueing_us(), 20000u);
}

TEST(PathHealth, DeliveryRate) {
  PathHealth h(HealthParams{.rate_smoothing_ms = 200});
  h.peer_report(1000, 5000000, kT0);  // the first report is a baseline only
  EXPECT_FALSE(h.has_delivery_rate());
  EXPECT_EQ(h.delivery_rate_Bps(), 0u);
  // 25 ms later, 250 kB more: 10 MB/s, taken as is.
  h.peer_report(1200, 5250000, kT0 + 25 * kMs);
  EXPECT_TRUE(h.has_delivery_rate());
  EXPECT_EQ(h.delivery_rate_Bps(), 10000000u);
  EXPECT_EQ(h.delivery_rate_fps(), 8000u);
  // Then 5 MB/s: gain 25/200 = 1/8 -> 10 - 5/8 = 9.375 MB/s.
  h.peer_report(1300, 5375000, kT0 + 50 * kMs);
  EXPECT_EQ(h.delivery_rate_Bps(), 9375000u);
  // A report 2 ms later is merged into the next interval.
  h.peer_report(1310, 5385000, kT0 + 52 * kMs);
  EXPECT_EQ(h.delivery_rate_Bps(), 9375000u);
  h.peer_report(1400, 5500000, kT0 + 75 * kMs);  // 125 kB over 25 ms = 5 MB/s
  EXPECT_EQ(h.delivery_rate_Bps(), 9375000u - 546875u);
  // A long interval (gain 1) replaces the average.
  h.peer_report(1500, 5500000 + 1000000, kT0 + 1075 * kMs);
  EXPECT_EQ(h.delivery_rate_Bps(), 1000000u);
}

TEST(PathHealth, DeliveryRateAcrossPeerRestartAndFrameWrap) {
  PathHealth h;
  h.peer_report(10, 1000000, kT0);
  h.peer_report(20, 1100000, kT0 + 100 * kMs);  // 1 MB/s
  EXPECT_EQ(h.delivery_rate_Bps(), 1000000u);
  // The peer restarted: counters small again. No sample, the rate is kept, new baseline.
  h.peer_report(5, 2000, kT0 + 200 * kMs);
  EXPECT_EQ(h.peer_resets(), 1u);
  EXPECT_EQ(h.delivery_rate_Bps(), 1000000u);
  h.peer_report(105, 102000, kT0 + 300 * kMs);  // 1 MB/s since the restart
  EXPECT_EQ(h.delivery_rate_Bps(), 1000000u);
  // The 32-bit frame counter wraps while bytes (64-bit) keep growing: not a restart.
  PathHealth w;
  w.peer_report(0xfffffff0u, 1000000, kT0);
  w.peer_report(0x10u, 1100000, kT0 + 100 * kMs);  // 32 frames in 100 ms
  EXPECT_EQ(w.peer_resets(), 0u);
  EXPECT_EQ(w.delivery_rate_Bps(), 1000000u);
  EXPECT_EQ(w.delivery_rate_fps(), 320u);
}

// Idle probing (path/probe_cadence.hpp): a slow prober's path survives the slow interval's
// silence; speeding up again gives it dead_after from the switch, not from the last reply.
TEST(PathHealth, DeadTimeFollowsTheProbeInterval) {
  PathHealth h;  // dead_after 100 ms
  uint32_t seq = 0;
  uint64_t t = bring_up(h, seq, kT0);
  ASSERT_TRUE(h.is_up());
  const uint32_t slow = scaled_dead_after_ms(100, 25, 1000);
  ASSERT_EQ(slow, 4000u);
  h.set_dead_after_ms(slow, t);
  // One probe a second, answered: a second of silence between replies is not death.
  for (int i = 0; i < 5; i++, t += 1000 * kMs) {
    probe(h, seq++, t, 20 * kMs);
    EXPECT_FALSE(h.tick(t + 999 * kMs)) << "probe " << i;
  }
  EXPECT_TRUE(h.is_up());
  const uint64_t last = t - 1000 * kMs + 20 * kMs;
  // Busy again 900 ms after the last reply: fast probing, dead_after 100 ms from now.
  const uint64_t busy = last + 900 * kMs;
  h.set_dead_after_ms(100, busy);
  EXPECT_EQ(h.dead_after_ms(), 100u);
  EXPECT_FALSE(h.tick(busy + 99 * kMs)) << "dead for the slow interval's silence";
  EXPECT_TRUE(h.tick(busy + 100 * kMs)) << "nothing for 100 ms after speeding up";
  EXPECT_FALSE(h.is_up());
}

TEST(PathHealth, SlowProbingStillFindsADeadPath) {
  PathHealth h;
  uint32_t seq = 0;
  uint64_t t = bring_up(h, seq, kT0);
  h.set_dead_after_ms(4000, t);
  const uint64_t last = t - 25 * kMs + 20 * kMs;
  EXPECT_FALSE(h.tick(last + 3999 * kMs));
  EXPECT_TRUE(h.tick(last + 4000 * kMs));
}

TEST(ProbeCadence, ScaledDeadTime) {
  EXPECT_EQ(scaled_dead_after_ms(100, 25, 25), 100u);
  EXPECT_EQ(scaled_dead_after_ms(100, 25, 0), 100u) << "not given: the configured interval";
  EXPECT_EQ(scaled_dead_after_ms(100, 25, 10), 100u) << "never below dead_after_ms";
  EXPECT_EQ(scaled_dead_after_ms(100, 25, 1000), 4000u);
  EXPECT_EQ(scaled_dead_after_ms(150, 25, 60000), 360000u);
  EXPECT_EQ(scaled_dead_after_ms(10000, 5, 60000), 120000000u);
  EXPECT_EQ(scaled_dead_after_ms(100, 0, 1000), 100u);
}

TEST(ProbeCadence, SlowsWhenIdleAndSpeedsUpOnData) {
  ProbeCadence c(25, 1000, 3000, 5000);  // started at 5 s
  EXPECT_EQ(c.interval_ms(5000), 25u) << "start-up counts as data: paths come up fast";
  EXPECT_EQ(c.interval_ms(7999), 25u);
  EXPECT_TRUE(c.idle(8000));
  EXPECT_EQ(c.interval_ms(8000), 1000u);
  EXPECT_TRUE(c.activity(9000)) << "data after an idle spell: probe now";
  EXPECT_EQ(c.interval_ms(9000), 25u);
  EXPECT_FALSE(c.activity(9500)) << "data while busy: nothing to do";
  EXPECT_FALSE(c.activity(9400)) << "an older timestamp does not move activity back";
  EXPECT_EQ(c.interval_ms(12499), 25u);
  EXPECT_EQ(c.interval_ms(12500), 1000u);
}

TEST(ProbeCadence, OffWhenTheIdleIntervalIsNotSlower) {
  for (uint32_t idle : {0u, 25u, 10u}) {
    ProbeCadence c(25, idle, 100, 0);
    EXPECT_FALSE(c.idle(1000000)) << idle;
    EXPECT_EQ(c.interval_ms(1000000), 25u) << idle;
    EXPECT_FALSE(c.activity(2000000)) << idle;
  }
}
