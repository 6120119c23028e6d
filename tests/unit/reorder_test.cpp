// lib/reorder: the per-(peer, stream) receive window, one test per rule of its header, a
// randomized differential test against a plain std::map model, and the hold-time helper.
// The micro-benchmark is DISABLED_: run it with
//   mpf-unit-tests --gtest_also_run_disabled_tests --gtest_filter='ReorderBench.*'
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "reorder/delay_line.hpp"
#include "reorder/equalizer.hpp"
#include "reorder/hold_time.hpp"
#include "reorder/reorder_window.hpp"
#include "reorder/silence_watch.hpp"

namespace mpf::reorder {
namespace {

// Items are fake non-null pointers carrying (seq, copy) so a test sees which copy came out.
void* tag(uint32_t seq, unsigned copy = 0) {
  return reinterpret_cast<void*>(uintptr_t(copy) << 33 | uintptr_t(seq) << 1 | 1);
}
uint32_t tag_seq(void* p) { return uint32_t(reinterpret_cast<uintptr_t>(p) >> 1); }
unsigned tag_copy(void* p) { return unsigned(reinterpret_cast<uintptr_t>(p) >> 33); }

// A window plus what it delivered.
struct Rx {
  explicit Rx(uint32_t capacity = 64, uint32_t history = 0) : w(capacity, history) {}
  ReorderWindow w;
  std::vector<void*> out;

  Verdict push(uint32_t seq, uint64_t now = 0, uint32_t hold = 1000, unsigned copy = 0) {
    return w.push(seq, tag(seq, copy), now, hold, [this](void* p) { out.push_back(p); });
  }
  unsigned expire(uint64_t now) {
    return w.expire(now, [this](void* p) { out.push_back(p); });
  }
  unsigned flush() {
    return w.flush([this](void* p) { out.push_back(p); });
  }
  // The seqs delivered since the last call.
  std::vector<uint32_t> take() {
    std::vector<uint32_t> s;
    for (void* p : out) s.push_back(tag_seq(p));
    out.clear();
    return s;
  }
};

using Seqs = std::vector<uint32_t>;

TEST(Reorder, InOrder) {
  Rx rx;
  for (uint32_t s = 100; s < 110; ++s) EXPECT_EQ(rx.push(s), Verdict::deliver) << s;
  EXPECT_EQ(rx.take(), (Seqs{100, 101, 102, 103, 104, 105, 106, 107, 108, 109}));
  const Stats& st = rx.w.stats();
  EXPECT_EQ(st.delivered_in_order, 10u);
  EXPECT_EQ(st.delivered_after_hold, 0u);
  EXPECT_EQ(st.held_now, 0u);
  EXPECT_EQ(st.max_hold_depth, 0u);
  EXPECT_EQ(rx.w.head(), 110u);
  EXPECT_EQ(rx.w.next_deadline_us(), UINT64_MAX);
  EXPECT_EQ(rx.expire(UINT64_MAX - 1), 0u);
}

TEST(Reorder, FirstFrameSetsHead) {
  Rx rx;
  EXPECT_FALSE(rx.w.synchronised());
  EXPECT_EQ(rx.push(1000), Verdict::deliver);
  EXPECT_TRUE(rx.w.synchronised());
  EXPECT_EQ(rx.w.head(), 1001u);
  // Sent before the first frame we saw and never seen: late, then a duplicate.
  EXPECT_EQ(rx.push(998), Verdict::late);
  EXPECT_EQ(rx.push(998), Verdict::duplicate);
  EXPECT_EQ(rx.push(1000), Verdict::duplicate);
  EXPECT_EQ(rx.take(), (Seqs{1000, 998}));
  EXPECT_EQ(rx.w.stats().late, 1u);
  EXPECT_EQ(rx.w.stats().duplicates, 2u);
}

TEST(Reorder, SimpleSwap) {
  Rx rx;
  EXPECT_EQ(rx.push(0), Verdict::deliver);
  EXPECT_EQ(rx.push(2, 10, 500), Verdict::held);
  EXPECT_EQ(rx.w.held(), 1u);
  EXPECT_EQ(rx.w.next_deadline_us(), 510u);
  EXPECT_EQ(rx.take(), (Seqs{0}));
  EXPECT_EQ(rx.push(1, 20), Verdict::deliver);
  EXPECT_EQ(rx.take(), (Seqs{1, 2}));
  const Stats& st = rx.w.stats();
  EXPECT_EQ(st.delivered_in_order, 2u);
  EXPECT_EQ(st.delivered_after_hold, 1u);
  EXPECT_EQ(st.held_now, 0u);
  EXPECT_EQ(st.max_hold_depth, 1u);
  EXPECT_EQ(st.hold_timeouts, 0u);
  EXPECT_EQ(rx.w.next_deadline_us(), UINT64_MAX);
  EXPECT_EQ(rx.w.head(), 3u);
}

TEST(Reorder, LongReorderRuns) {
  Rx rx(64);
  EXPECT_EQ(rx.push(0), Verdict::deliver);
  // 60 frames in reverse, then the one that fills the gap releases all of them in order.
  for (uint32_t s = 61; s >= 2; --s) EXPECT_EQ(rx.push(s, 0), Verdict::held) << s;
  EXPECT_EQ(rx.w.held(), 60u);
  EXPECT_EQ(rx.push(1, 5), Verdict::deliver);
  Seqs want;
  for (uint32_t s = 0; s <= 61; ++s) want.push_back(s);
  EXPECT_EQ(rx.take(), want);
  EXPECT_EQ(rx.w.stats().max_hold_depth, 60u);
  EXPECT_EQ(rx.w.stats().delivered_after_hold, 60u);

  // Evens first, then odds, then the head: it releases all 61 of them.
  for (uint32_t s = 64; s < 124; s += 2) EXPECT_EQ(rx.push(s), Verdict::held) << s;
  for (uint32_t s = 63; s < 124; s += 2) EXPECT_EQ(rx.push(s), Verdict::held) << s;
  EXPECT_TRUE(rx.take().empty());
  EXPECT_EQ(rx.push(62), Verdict::deliver);
  want.clear();
  for (uint32_t s = 62; s < 124; ++s) want.push_back(s);
  EXPECT_EQ(rx.take(), want);
  EXPECT_EQ(rx.w.held(), 0u);
  EXPECT_EQ(rx.w.queued(), 0u);
}

TEST(Reorder, InterleavedRunsReleaseStepByStep) {
  Rx rx(64);
  rx.push(0);
  rx.take();
  // Evens held, odds fill the gaps one by one.
  for (uint32_t s = 2; s < 20; s += 2) EXPECT_EQ(rx.push(s), Verdict::held);
  for (uint32_t s = 1; s < 20; s += 2) {
    EXPECT_EQ(rx.push(s), Verdict::deliver);
    Seqs want{s};
    if (s + 1 < 20) want.push_back(s + 1);
    EXPECT_EQ(rx.take(), want);
  }
  EXPECT_EQ(rx.w.head(), 20u);
}

TEST(Reorder, DuplicateOfHeldFrame) {
  Rx rx;
  rx.push(0);
  EXPECT_EQ(rx.push(5, 0, 1000, 0), Verdict::held);
  EXPECT_EQ(rx.push(5, 1, 1000, 1), Verdict::duplicate);  // the held copy stays
  EXPECT_EQ(rx.w.held(), 1u);
  rx.out.clear();
  for (uint32_t s = 1; s < 5; ++s) rx.push(s);
  ASSERT_EQ(rx.out.size(), 5u);
  EXPECT_EQ(tag_seq(rx.out.back()), 5u);
  EXPECT_EQ(tag_copy(rx.out.back()), 0u);
  EXPECT_EQ(rx.w.stats().duplicates, 1u);
}

TEST(Reorder, DuplicateOfDeliveredFrame) {
  Rx rx;
  rx.push(0);
  rx.push(1);
  EXPECT_EQ(rx.push(1, 0, 1000, 1), Verdict::duplicate);
  EXPECT_EQ(rx.push(0, 0, 1000, 1), Verdict::duplicate);
  // Delivered after a hold, then a copy.
  rx.push(3);
  rx.push(2);
  EXPECT_EQ(rx.push(3, 0, 1000, 1), Verdict::duplicate);
  EXPECT_EQ(rx.push(2, 0, 1000, 1), Verdict::duplicate);
  EXPECT_EQ(rx.take(), (Seqs{0, 1, 2, 3}));
  EXPECT_EQ(rx.w.stats().duplicates, 4u);
}

TEST(Reorder, GapTimesOutThenLateFrameThenDuplicate) {
  Rx rx;
  rx.push(0, 0);
  EXPECT_EQ(rx.push(2, 100, 1000), Verdict::held);
  EXPECT_EQ(rx.push(3, 200, 1000), Verdict::held);
  EXPECT_EQ(rx.w.next_deadline_us(), 1100u);
  EXPECT_EQ(rx.expire(1099), 0u);
  EXPECT_EQ(rx.take(), (Seqs{0}));
  EXPECT_EQ(rx.expire(1100), 2u);
  EXPECT_EQ(rx.take(), (Seqs{2, 3}));
  EXPECT_EQ(rx.w.head(), 4u);
  EXPECT_EQ(rx.w.next_deadline_us(), UINT64_MAX);
  const Stats& st = rx.w.stats();
  EXPECT_EQ(st.hold_timeouts, 1u);
  EXPECT_EQ(st.skipped_seqs, 1u);
  EXPECT_EQ(st.delivered_after_hold, 2u);
  // The skipped frame shows up after all: delivered late, never dropped for lateness.
  EXPECT_EQ(rx.push(1, 2000), Verdict::late);
  EXPECT_EQ(rx.take(), (Seqs{1}));
  EXPECT_EQ(rx.push(1, 2001, 1000, 1), Verdict::duplicate);
  EXPECT_EQ(rx.w.stats().late, 1u);
  EXPECT_EQ(rx.w.stats().duplicates, 1u);
}

TEST(Reorder, ExpireCountsEachSkippedRun) {
  Rx rx;
  rx.push(0, 0);
  // Missing: 1, 3-4, 6. Held: 2, 5, 7 with deadlines 1000, 2000, 3000.
  rx.push(2, 0, 1000);
  rx.push(5, 1000, 1000);
  rx.push(7, 2000, 1000);
  rx.take();
  EXPECT_EQ(rx.expire(1500), 1u);
  EXPECT_EQ(rx.take(), (Seqs{2}));
  EXPECT_EQ(rx.w.stats().hold_timeouts, 1u);
  EXPECT_EQ(rx.w.next_deadline_us(), 2000u);
  EXPECT_EQ(rx.expire(5000), 2u);
  EXPECT_EQ(rx.take(), (Seqs{5, 7}));
  EXPECT_EQ(rx.w.stats().hold_timeouts, 3u);
  EXPECT_EQ(rx.w.stats().skipped_seqs, 4u);
  EXPECT_EQ(rx.w.head(), 8u);
  for (uint32_t s : {1u, 3u, 4u, 6u}) EXPECT_EQ(rx.push(s, 6000), Verdict::late) << s;
  for (uint32_t s : {1u, 2u, 3u, 4u, 5u, 6u, 7u}) EXPECT_EQ(rx.push(s, 6000), Verdict::duplicate);
}

TEST(Reorder, DeadlinesServedInArrivalOrder) {
  Rx rx;
  rx.push(0, 0);
  rx.push(10, 0, 1000);   // arrives first, deadline 1000
  rx.push(5, 500, 1000);  // arrives later with a lower seq, deadline 1500
  rx.take();
  EXPECT_EQ(rx.w.next_deadline_us(), 1000u);
  // 10's deadline passes: 5 goes out with it (it comes first), gaps 1-4 and 6-9 are skipped.
  EXPECT_EQ(rx.expire(1000), 2u);
  EXPECT_EQ(rx.take(), (Seqs{5, 10}));
  EXPECT_EQ(rx.w.stats().hold_timeouts, 2u);
  EXPECT_EQ(rx.w.stats().skipped_seqs, 8u);
  EXPECT_EQ(rx.w.next_deadline_us(), UINT64_MAX);
}

TEST(Reorder, ExpireStopsAtTheGapAfterTheRun) {
  Rx rx;
  rx.push(0, 0);
  rx.push(2, 0, 100);
  rx.push(3, 0, 100);
  rx.push(5, 50, 100);  // after another gap, later deadline
  rx.take();
  EXPECT_EQ(rx.expire(100), 2u);
  EXPECT_EQ(rx.take(), (Seqs{2, 3}));
  EXPECT_EQ(rx.w.head(), 4u);
  EXPECT_EQ(rx.w.next_deadline_us(), 150u);
  EXPECT_EQ(rx.push(4, 120), Verdict::deliver);  // the gap fills before its deadline
  EXPECT_EQ(rx.take(), (Seqs{4, 5}));
  EXPECT_EQ(rx.w.stats().hold_timeouts, 1u);
}

TEST(Reorder, PushDoesNotExpire) {
  Rx rx;
  rx.push(0, 0);
  rx.push(2, 0, 100);
  // Long past the deadline, but expire() has not run: the missing frame is still in order.
  EXPECT_EQ(rx.push(1, 10000), Verdict::deliver);
  EXPECT_EQ(rx.take(), (Seqs{0, 1, 2}));
  EXPECT_EQ(rx.w.stats().hold_timeouts, 0u);
}

TEST(Reorder, Overflow) {
  Rx rx(8);
  ASSERT_EQ(rx.w.capacity(), 8u);
  rx.push(0);
  rx.push(2);
  rx.push(3);
  rx.take();
  // 12 is 11 ahead of the head (1): the window moves to 5, delivering 2 and 3, skipping 1 and 4.
  EXPECT_EQ(rx.push(12), Verdict::held);
  EXPECT_EQ(rx.take(), (Seqs{2, 3}));
  EXPECT_EQ(rx.w.head(), 5u);
  EXPECT_EQ(rx.w.stats().overflow_skips, 2u);
  EXPECT_EQ(rx.w.stats().skipped_seqs, 2u);
  EXPECT_EQ(rx.push(1), Verdict::late);
  EXPECT_EQ(rx.push(4), Verdict::late);
  EXPECT_EQ(rx.take(), (Seqs{1, 4}));
  // 7 ahead of the head is the last seq that fits.
  EXPECT_EQ(rx.push(5 + 7), Verdict::duplicate);
  EXPECT_EQ(rx.push(5 + 6), Verdict::held);
  // Far ahead: everything held goes out, one run 5..10 skipped, then 13..19 once 20 is held.
  EXPECT_EQ(rx.push(27), Verdict::held);
  EXPECT_EQ(rx.take(), (Seqs{11, 12}));
  EXPECT_EQ(rx.w.head(), 20u);
  EXPECT_EQ(rx.w.stats().overflow_skips, 4u);
  EXPECT_EQ(rx.w.stats().skipped_seqs, 2u + 6 + 7);
  EXPECT_EQ(rx.w.held(), 1u);
  EXPECT_EQ(rx.w.queued(), 1u);  // 11 and 12 left the arrival queue
}

TEST(Reorder, OverflowMakesTheFrameInOrder) {
  Rx rx(8);
  rx.push(0);
  for (uint32_t s = 2; s <= 8; ++s) EXPECT_EQ(rx.push(s), Verdict::held);
  rx.take();
  // 9 is 8 ahead of the head (1): skip 1, then 2..8 drain and 9 is the head.
  EXPECT_EQ(rx.push(9), Verdict::deliver);
  EXPECT_EQ(rx.take(), (Seqs{2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(rx.w.stats().overflow_skips, 1u);
  EXPECT_EQ(rx.w.stats().delivered_in_order, 2u);
  EXPECT_EQ(rx.w.held(), 0u);
  EXPECT_EQ(rx.w.next_deadline_us(), UINT64_MAX);
}

TEST(Reorder, HugeJumpIsBounded) {
  Rx rx(8);
  rx.push(0);
  rx.push(2);
  EXPECT_EQ(rx.push(0x40000000u), Verdict::held);  // 2^30 ahead: one bulk skip
  EXPECT_EQ(rx.take(), (Seqs{0, 2}));
  EXPECT_EQ(rx.w.head(), 0x40000000u - 7);
  EXPECT_EQ(rx.push(2), Verdict::stale);
  // A jump longer than the history forgets what was seen before it: the seqs it skipped are
  // late when they come (their bits once belonged to delivered seqs).
  Rx rx3(8);
  for (uint32_t s = 0; s < 64; ++s) rx3.push(s);
  EXPECT_EQ(rx3.push(1000), Verdict::held);
  EXPECT_EQ(rx3.w.head(), 993u);
  EXPECT_EQ(rx3.push(990), Verdict::late);
  EXPECT_EQ(rx3.push(930), Verdict::late);
  EXPECT_EQ(rx3.push(928), Verdict::stale);
  // The frames after such a jump are remembered as seen like any others.
  for (uint32_t s = 993; s < 1000; ++s) EXPECT_EQ(rx3.push(s), Verdict::deliver) << s;
  EXPECT_EQ(rx3.w.head(), 1001u);
  for (uint32_t s = 993; s <= 1000; ++s) EXPECT_EQ(rx3.push(s), Verdict::duplicate) << s;
  // Just under 2^31 ahead and just at it (which is "behind" by serial arithmetic).
  Rx rx2(8);
  rx2.push(0);
  EXPECT_EQ(rx2.w.head(), 1u);
  EXPECT_EQ(rx2.push(0x80000001u), Verdict::stale);  // head + 2^31
  EXPECT_EQ(rx2.push(0x80000000u), Verdict::held);   // head + 2^31 - 1
}

TEST(Reorder, WraparoundAtTwoToThe32) {
  Rx rx(16);
  const uint32_t base = 0xfffffff0u;
  EXPECT_EQ(rx.push(base), Verdict::deliver);
  // Pairs swapped across the wrap.
  Seqs want{base};
  for (uint32_t i = 1; i + 1 < 40; i += 2) {
    uint32_t a = base + i, b = base + i + 1;
    EXPECT_EQ(rx.push(b), Verdict::held) << b;
    EXPECT_EQ(rx.push(a), Verdict::deliver) << a;
    want.push_back(a);
    want.push_back(b);
  }
  EXPECT_EQ(rx.take(), want);
  EXPECT_EQ(rx.w.head(), base + 39);  // 0x17
  EXPECT_EQ(rx.push(base + 38), Verdict::duplicate);
  EXPECT_EQ(rx.push(0xffffffffu), Verdict::duplicate);
  EXPECT_EQ(rx.push(0), Verdict::duplicate);
}

TEST(Reorder, WraparoundTimeoutAndLate) {
  Rx rx(16);
  rx.push(0xfffffffeu, 0);
  // Missing 0xffffffff and 0; 1 held across the wrap.
  EXPECT_EQ(rx.push(1, 0, 100), Verdict::held);
  EXPECT_EQ(rx.expire(100), 1u);
  EXPECT_EQ(rx.take(), (Seqs{0xfffffffeu, 1}));
  EXPECT_EQ(rx.w.stats().hold_timeouts, 1u);
  EXPECT_EQ(rx.w.stats().skipped_seqs, 2u);
  EXPECT_EQ(rx.push(0xffffffffu), Verdict::late);
  EXPECT_EQ(rx.push(0), Verdict::late);
  EXPECT_EQ(rx.push(0), Verdict::duplicate);
  EXPECT_EQ(rx.push(2), Verdict::deliver);
  EXPECT_EQ(rx.take(), (Seqs{0xffffffffu, 0, 2}));
  // Overflow across the wrap.
  Rx rx2(8);
  rx2.push(0xfffffffcu);
  EXPECT_EQ(rx2.push(0xfffffffeu), Verdict::held);
  EXPECT_EQ(rx2.push(6), Verdict::held);  // 9 ahead of 0xfffffffd: move to 0xffffffff
  EXPECT_EQ(rx2.take(), (Seqs{0xfffffffcu, 0xfffffffeu}));
  EXPECT_EQ(rx2.w.head(), 0xffffffffu);
  EXPECT_EQ(rx2.w.stats().overflow_skips, 1u);
}

TEST(Reorder, StaleBeyondHistory) {
  Rx rx(8);
  ASSERT_EQ(rx.w.history(), 64u);  // at least 2 x capacity and 64
  for (uint32_t s = 0; s < 200; ++s) rx.push(s);
  rx.take();
  EXPECT_EQ(rx.push(200 - 64), Verdict::duplicate);  // the oldest remembered
  EXPECT_EQ(rx.push(200 - 65), Verdict::stale);
  EXPECT_EQ(rx.push(5), Verdict::stale);
  EXPECT_EQ(rx.w.stats().stale, 2u);
  EXPECT_TRUE(rx.out.empty());

  // Skipped (never seen) frames are late only while within the history.
  Rx rx2(8);
  rx2.push(0, 0);
  rx2.push(2, 0, 10);
  rx2.expire(10);  // 1 skipped
  for (uint32_t s = 3; s <= 64; ++s) rx2.push(s, 20);
  EXPECT_EQ(rx2.w.head(), 65u);
  Rx rx3 = std::move(rx2);
  EXPECT_EQ(rx3.push(1, 30), Verdict::late);  // 64 behind
  rx3.push(65, 30);
  rx3.push(66, 30);
  EXPECT_EQ(rx3.push(2, 30), Verdict::stale);  // 65 behind
}

TEST(Reorder, HistoryParameter) {
  ReorderWindow w(100, 1000);
  EXPECT_EQ(w.capacity(), 128u);
  EXPECT_EQ(w.history(), 1024u);
  EXPECT_EQ(ReorderWindow(256).history(), 512u);
  EXPECT_EQ(ReorderWindow(256, 100).history(), 512u);  // never below 2 x capacity
  EXPECT_EQ(ReorderWindow(0).capacity(), ReorderWindow::kMinCapacity);
  EXPECT_EQ(ReorderWindow(1u << 30).capacity(), ReorderWindow::kMaxCapacity);
}

TEST(Reorder, FlushDeliversEverythingInOrder) {
  Rx rx;
  rx.push(10, 0);
  rx.push(13, 0);
  rx.push(12, 0);
  rx.push(16, 0);
  rx.take();
  EXPECT_EQ(rx.flush(), 3u);
  EXPECT_EQ(rx.take(), (Seqs{12, 13, 16}));
  EXPECT_EQ(rx.w.head(), 17u);  // just after the last held frame
  EXPECT_EQ(rx.w.held(), 0u);
  EXPECT_EQ(rx.w.stats().held_now, 0u);
  EXPECT_EQ(rx.w.next_deadline_us(), UINT64_MAX);
  EXPECT_EQ(rx.w.stats().skipped_seqs, 3u);  // 11, 14, 15
  EXPECT_EQ(rx.w.stats().hold_timeouts, 0u);
  EXPECT_EQ(rx.push(14), Verdict::late);
  EXPECT_EQ(rx.push(12), Verdict::duplicate);
  EXPECT_EQ(rx.push(17), Verdict::deliver);  // the head did not move past unsent seqs
  EXPECT_EQ(rx.flush(), 0u);
}

TEST(Reorder, ResetForNewEpoch) {
  Rx rx;
  for (uint32_t s = 500; s < 520; ++s) rx.push(s);
  rx.push(522, 0);
  rx.flush();
  rx.take();
  rx.w.reset(0);  // the peer restarted: its numbers start again at 0
  EXPECT_TRUE(rx.w.synchronised());
  EXPECT_EQ(rx.w.head(), 0u);
  EXPECT_EQ(rx.push(1), Verdict::held);  // 0 not seen yet: wait for it
  EXPECT_EQ(rx.push(0), Verdict::deliver);
  EXPECT_EQ(rx.take(), (Seqs{0, 1}));
  EXPECT_EQ(rx.push(0), Verdict::duplicate);
  EXPECT_EQ(rx.push(1), Verdict::duplicate);
  // Unsynchronised reset: the next frame is the head, whatever it is.
  rx.w.reset();
  EXPECT_FALSE(rx.w.synchronised());
  EXPECT_EQ(rx.push(77777), Verdict::deliver);
  EXPECT_EQ(rx.push(1), Verdict::stale);
  EXPECT_EQ(rx.push(77776), Verdict::late);  // history forgotten: unknown counts as unseen
  EXPECT_EQ(rx.take(), (Seqs{77777, 77776}));
  // Stats are cumulative across resets.
  EXPECT_EQ(rx.w.stats().delivered_in_order, 20u + 1 + 1);
}

TEST(Reorder, ResetForgetsHeldItems) {
  Rx rx;
  rx.push(0);
  rx.push(5);
  rx.push(6);
  rx.w.reset(100);
  EXPECT_EQ(rx.w.held(), 0u);
  EXPECT_EQ(rx.w.stats().held_now, 0u);
  EXPECT_EQ(rx.w.next_deadline_us(), UINT64_MAX);
  EXPECT_EQ(rx.push(105), Verdict::held);  // the slot 5 shared is free again
  EXPECT_EQ(rx.flush(), 1u);
}

TEST(Reorder, VerdictNames) {
  EXPECT_STREQ(verdict_name(Verdict::deliver), "deliver");
  EXPECT_STREQ(verdict_name(Verdict::held), "held");
  EXPECT_STREQ(verdict_name(Verdict::late), "late");
  EXPECT_STREQ(verdict_name(Verdict::duplicate), "duplicate");
  EXPECT_STREQ(verdict_name(Verdict::stale), "stale");
  EXPECT_TRUE(taken(Verdict::deliver) && taken(Verdict::held) && taken(Verdict::late));
  EXPECT_FALSE(taken(Verdict::duplicate) || taken(Verdict::stale));
}

// ---- randomized differential test ----

// The rules of reorder_window.hpp, written the plain way: 64-bit unwrapped seqs, std::map,
// std::set, one seq at a time. Items are indexes.
class Model {
 public:
  Model(uint64_t capacity, uint64_t history) : cap_(capacity), hist_(history) {}

  Verdict push(uint64_t seq, size_t item, uint64_t now, uint32_t hold) {
    if (!synced_) {
      synced_ = true;
      head_ = seq;
    }
    if (seq < head_) {
      if (head_ - seq > hist_) {
        ++st.stale;
        return Verdict::stale;
      }
      if (seen_.count(seq)) {
        ++st.duplicates;
        return Verdict::duplicate;
      }
      seen_.insert(seq);
      ++st.late;
      out.push_back(item);
      return Verdict::late;
    }
    if (seq - head_ >= cap_) {
      walk(seq - cap_ + 1, &st.overflow_skips);
      drain();
    }
    if (seq == head_) {
      seen_.insert(head_++);
      ++st.delivered_in_order;
      out.push_back(item);
      drain();
      return Verdict::deliver;
    }
    if (held_.count(seq)) {
      ++st.duplicates;
      return Verdict::duplicate;
    }
    held_[seq] = Held{item, now + hold, order_};
    arrivals_[order_++] = seq;
    st.held_now = held_.size();
    st.max_hold_depth = std::max<uint64_t>(st.max_hold_depth, held_.size());
    return Verdict::held;
  }

  void expire(uint64_t now) {
    while (!arrivals_.empty()) {
      uint64_t seq = arrivals_.begin()->second;
      if (held_.at(seq).deadline > now) break;
      walk(seq, &st.hold_timeouts);
      drain();
    }
  }

  void flush() {
    uint64_t dummy = 0;
    if (!held_.empty()) walk(held_.rbegin()->first + 1, &dummy);
  }

  uint64_t next_deadline() const {
    return arrivals_.empty() ? UINT64_MAX : held_.at(arrivals_.begin()->second).deadline;
  }

  Stats st;
  std::vector<size_t> out;

 private:
  struct Held {
    size_t item;
    uint64_t deadline;
    uint64_t order;
  };
  void deliver_held(uint64_t seq) {
    auto it = held_.find(seq);
    out.push_back(it->second.item);
    arrivals_.erase(it->second.order);
    held_.erase(it);
    seen_.insert(seq);
    ++st.delivered_after_hold;
    st.held_now = held_.size();
  }
  void walk(uint64_t target, uint64_t* runs) {
    bool in_gap = false;
    for (; head_ < target; ++head_) {
      if (held_.count(head_)) {
        deliver_held(head_);
        in_gap = false;
      } else {
        ++st.skipped_seqs;
        if (!in_gap) ++*runs;
        in_gap = true;
      }
    }
  }
  void drain() {
    while (held_.count(head_)) deliver_held(head_++);
  }

  uint64_t cap_, hist_;
  bool synced_ = false;
  uint64_t head_ = 0;
  uint64_t order_ = 0;
  std::map<uint64_t, Held> held_;
  std::map<uint64_t, uint64_t> arrivals_;  // arrival order -> seq
  std::set<uint64_t> seen_;
};

struct Scenario {
  uint32_t capacity;
  uint64_t frames;
  uint32_t interval_us;  // sender spacing
  uint32_t slow_us;      // the slow path's delay (the fast one: 1000 us)
  uint32_t seed;
};

struct Arrival {
  uint64_t time;
  uint64_t useq;  // unwrapped sequence number
  size_t item;
};

void run_scenario(const Scenario& sc) {
  SCOPED_TRACE(testing::Message() << "capacity " << sc.capacity << " seed " << sc.seed);
  std::mt19937_64 rng(sc.seed);
  auto uni = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };

  // Two paths (1 ms and slow_us, plus up to 300 us jitter), each frame on one at random, 2%
  // loss, 3% duplicated on the other path, 0.5% delayed 5 ms more, 0.2% delayed 60 ms more
  // (beyond the history here: stale). Now and then both paths black out for 100..3100 frames
  // (jumps beyond the window and the history): 95% of those frames lost, the rest 0..3 ms
  // later than usual. Hold times change every 1000 arrivals.
  std::vector<Arrival> arr;
  uint64_t outage_end = 0;
  for (uint64_t u = 0; u < sc.frames; ++u) {
    if (u >= outage_end && uni(10000) < 2) outage_end = u + 100 + uni(3000);
    bool outage = u < outage_end;
    uint64_t sent = 1000000 + u * sc.interval_us;
    int copies = uni(1000) < 30 ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      if (uni(1000) < (outage ? 950u : 20u)) continue;
      uint64_t d = (uni(2) ? 1000 : sc.slow_us) + uni(300) + (outage ? uni(3000) : 0);
      uint64_t r = uni(1000);
      if (r < 5) d += 5000;
      else if (r < 7) d += 60000;
      arr.push_back({sent + d, u, arr.size()});
    }
  }
  std::stable_sort(arr.begin(), arr.end(),
                   [](const Arrival& a, const Arrival& b) { return a.time < b.time; });

  const uint64_t kBase = 0xffffffffull - sc.frames / 2;  // the stream wraps in the middle
  ReorderWindow w(sc.capacity);
  Model m(w.capacity(), w.history());
  std::vector<int> delivered(arr.size(), 0);
  std::vector<Verdict> verdicts(arr.size(), Verdict::stale);
  std::vector<size_t> order;  // what the window delivered, as item indexes
  std::vector<uint64_t> seq_of(arr.size());
  for (const Arrival& a : arr) seq_of[a.item] = a.useq;
  // Items are pointers to delivered[] entries: never null, unique per copy.
  auto deliver = [&](void* p) {
    size_t i = size_t(static_cast<int*>(p) - delivered.data());
    ++delivered[i];
    order.push_back(i);
  };

  uint32_t hold = 2500;
  uint64_t now = 0;
  for (size_t k = 0; k < arr.size(); ++k) {
    const Arrival& a = arr[k];
    if (k % 1000 == 0) {
      const uint32_t holds[] = {300, 2500, 2500, 4000};
      hold = holds[uni(4)];
    }
    now = a.time;
    if (uni(2)) {
      w.expire(now, deliver);
      m.expire(now);
    }
    uint32_t seq = uint32_t(kBase + a.useq);
    Verdict v = w.push(seq, &delivered[a.item], now, hold, deliver);
    Verdict mv = m.push(kBase + a.useq + (uint64_t(1) << 33), a.item, now, hold);
    verdicts[a.item] = v;
    if (v == Verdict::late) {
      ASSERT_LT(int32_t(seq - w.head()), 0);
    }
    ASSERT_EQ(v, mv) << "push " << k << " seq " << seq;
    ASSERT_EQ(order.size(), m.out.size()) << "push " << k;
    ASSERT_EQ(w.next_deadline_us(), m.next_deadline()) << "push " << k;
    ASSERT_LT(w.queued(), 2 * w.capacity());
    ASSERT_EQ(w.held(), m.st.held_now);
  }
  w.expire(now + 100000, deliver);
  m.expire(now + 100000);
  EXPECT_EQ(w.held(), 0u);
  w.flush(deliver);
  m.flush();
  ASSERT_EQ(order, m.out);

  const Stats& s = w.stats();
  EXPECT_EQ(s.delivered_in_order, m.st.delivered_in_order);
  EXPECT_EQ(s.delivered_after_hold, m.st.delivered_after_hold);
  EXPECT_EQ(s.held_now, 0u);
  EXPECT_EQ(s.hold_timeouts, m.st.hold_timeouts);
  EXPECT_EQ(s.overflow_skips, m.st.overflow_skips);
  EXPECT_EQ(s.skipped_seqs, m.st.skipped_seqs);
  EXPECT_EQ(s.late, m.st.late);
  EXPECT_EQ(s.duplicates, m.st.duplicates);
  EXPECT_EQ(s.stale, m.st.stale);
  EXPECT_EQ(s.max_hold_depth, m.st.max_hold_depth);

  // Model-free invariants. Every item: delivered once if the window took it, never otherwise.
  uint64_t taken_n = 0;
  for (size_t i = 0; i < arr.size(); ++i) {
    ASSERT_EQ(delivered[i], taken(verdicts[i]) ? 1 : 0) << "item " << i;
    taken_n += taken(verdicts[i]);
  }
  EXPECT_EQ(taken_n, s.delivered_in_order + s.delivered_after_hold + s.late);
  EXPECT_EQ(arr.size(), taken_n + s.duplicates + s.stale);
  // No seq delivered twice; all but the late ones (checked behind the head above) in order.
  std::set<uint64_t> seqs_out;
  uint64_t max_out = 0;
  bool any = false;
  for (size_t i : order) {
    uint64_t u = seq_of[i];
    ASSERT_TRUE(seqs_out.insert(u).second) << "seq " << u << " delivered twice";
    if (verdicts[i] != Verdict::late) {
      ASSERT_TRUE(!any || u > max_out) << "seq " << u << " after " << max_out;
      max_out = u;
      any = true;
    }
  }
  // Every seq that arrived at least once and was not refused as stale came out.
  std::set<uint64_t> arrived_ok;
  for (size_t i = 0; i < arr.size(); ++i)
    if (verdicts[i] != Verdict::stale) arrived_ok.insert(seq_of[i]);
  EXPECT_EQ(arrived_ok, seqs_out);
  // The scenario exercised every path.
  EXPECT_GT(s.delivered_after_hold, 0u);
  EXPECT_GT(s.hold_timeouts, 0u);
  EXPECT_GT(s.late, 0u);
  EXPECT_GT(s.duplicates, 0u);
  EXPECT_GT(s.stale, 0u);
  std::printf("  capacity %u: %zu arrivals: in order %lu, after hold %lu, timeouts %lu, "
              "overflow %lu, late %lu, dup %lu, stale %lu, max depth %lu\n",
              w.capacity(), arr.size(), (unsigned long)s.delivered_in_order,
              (unsigned long)s.delivered_after_hold, (unsigned long)s.hold_timeouts,
              (unsigned long)s.overflow_skips, (unsigned long)s.late,
              (unsigned long)s.duplicates, (unsigned long)s.stale,
              (unsigned long)s.max_hold_depth);
}

// 100k frames each: the spread fits the window, overflows now and then.
TEST(ReorderProperty, MatchesModelSmallWindow) { run_scenario({64, 100000, 50, 3000, 1}); }
// The spread (150 frames) is close to the window: many overflows.
TEST(ReorderProperty, MatchesModelTightWindow) { run_scenario({128, 100000, 10, 2500, 2}); }
// Big window, mostly hold timeouts; the 300 us holds are far below the spread (late frames).
TEST(ReorderProperty, MatchesModelLargeWindow) { run_scenario({1024, 100000, 20, 3000, 3}); }
// One path at a time is slow by more than the history: a quarter of the frames stale.
TEST(ReorderProperty, MatchesModelSpreadBeyondHistory) {
  run_scenario({64, 100000, 10, 3000, 4});
}

// ---- hold time ----

TEST(HoldTime, SpreadPlusJitter) {
  HoldTime h(1000, 100000);
  h.add_path(20000, 1500);  // 20 ms, rttvar 1.5 ms
  h.add_path(45000, 4000);  // 45 ms, rttvar 4 ms
  EXPECT_EQ(h.paths(), 2u);
  EXPECT_EQ(h.hold_us(), 25000u + 8000u);
  h.add_path(30000, 500);
  EXPECT_EQ(h.hold_us(), 25000u + 8000u);
}

TEST(HoldTime, OnePathIsTwiceRttvar) {
  HoldTime h(1000, 100000);
  h.add_path(30000, 2000);
  EXPECT_EQ(h.hold_us(), 4000u);
  h.clear();
  h.add_path(30000, 100);  // 200 us: raised to the floor
  EXPECT_EQ(h.hold_us(), 1000u);
}

TEST(HoldTime, Clamps) {
  HoldTime h(1000, 100000);
  EXPECT_EQ(h.hold_us(), 100000u);  // nothing up: the cap
  h.add_path(5000, 0);
  h.add_path(400000, 90000);
  EXPECT_EQ(h.hold_us(), 100000u);
  EXPECT_EQ(HoldTime::compute(UINT32_MAX, 0, UINT32_MAX, 0, UINT32_MAX), UINT32_MAX);
  EXPECT_EQ(HoldTime::compute(10, 20, 0, 0, 1000), 0u);  // max below min: no spread
  EXPECT_EQ(HoldTime::compute(0, 0, 0, 5000, 2000), 2000u);  // min above cap: the cap wins
  static_assert(HoldTime::compute(3000, 1000, 500, 1000, 100000) == 3000);
}

TEST(HoldTime, RecoveryAddsOneRoundOverTheFastestPath) {
  HoldTime h(1000, 100000, true);
  h.add_path(15000, 1000);  // 5G: 15 ms
  h.add_path(4000, 500);    // WiFi: 4 ms
  // spread 11 ms + 2 x 1 ms + (2 x 4 ms + 1 ms): the report and the resend cross WiFi.
  EXPECT_EQ(h.hold_us(), 11000u + 2000u + 8000u + HoldTime::kRecoverySlackUs);
  h.clear();
  h.add_path(30000, 0);  // one path: a full round trip on it
  EXPECT_EQ(h.hold_us(), 60000u + HoldTime::kRecoverySlackUs);
  h.add_path(400000, 0);
  EXPECT_EQ(h.hold_us(), 100000u);  // still capped
  HoldTime none(1000, 100000, true);
  EXPECT_EQ(none.hold_us(), 100000u);
}

// ---- micro-benchmark ----

// Pushes n frames in the order next_seq(i) gives (one microsecond apart, hold 2000 us unless
// told), calling expire() once per 32 pushes as a worker would once per burst; returns ns per
// push. Best of 5 runs (a shared machine adds noise, never removes it).
template <class Next>
double ns_per_push(uint32_t capacity, uint64_t n, Next next_seq, Stats* stats,
                   uint32_t hold_us = 2000) {
  double best = 1e9;
  for (int run = 0; run < 5; ++run) {
    ReorderWindow w(capacity);
    uint64_t acc = 0;
    auto deliver = [&acc](void* p) { acc += reinterpret_cast<uintptr_t>(p); };
    uint64_t pushes = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < n; ++i) {
      int64_t seq = next_seq(i);
      if (seq < 0) continue;  // lost
      ++pushes;
      w.push(uint32_t(seq), reinterpret_cast<void*>(uintptr_t(seq) | 1), i, hold_us, deliver);
      if ((i & 31) == 31) w.expire(i, deliver);
    }
    auto t1 = std::chrono::steady_clock::now();
    w.flush(deliver);
    EXPECT_NE(acc, 0u);
    double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / double(pushes);
    if (ns < best) best = ns;
    *stats = w.stats();
  }
  return best;
}

TEST(ReorderBench, DISABLED_NsPerPush) {
  constexpr uint64_t kN = 4000000;
  Stats st;
  // The loop and the callback alone, for scale.
  double base = 1e9;
  for (int run = 0; run < 5; ++run) {
    volatile uint64_t acc = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < kN; ++i) acc = acc + (uintptr_t(i) | 1);
    auto t1 = std::chrono::steady_clock::now();
    base = std::min(base, std::chrono::duration<double, std::nano>(t1 - t0).count() / kN);
  }
  std::printf("loop, no window:     %5.2f ns/frame\n", base);
  double ns = ns_per_push(1024, kN, [](uint64_t i) { return int64_t(i); }, &st);
  std::printf("in order:            %5.2f ns/push\n", ns);

  // 10% of the frames out of place: 5% of positions swapped with their successor, so each swap
  // holds one frame and the next push releases it.
  std::vector<uint32_t> swapped(1u << 20);
  std::mt19937 rng(7);
  for (uint32_t i = 0; i < swapped.size(); ++i) swapped[i] = i;
  for (uint32_t i = 0; i + 1 < swapped.size(); ++i)
    if (rng() % 20 == 0) {
      std::swap(swapped[i], swapped[i + 1]);
      ++i;
    }
  const uint64_t mask = swapped.size() - 1;
  ns = ns_per_push(
      1024, kN, [&](uint64_t i) { return int64_t((i & ~mask) + swapped[i & mask]); }, &st);
  std::printf("10%% reordered:       %5.2f ns/push (after hold %lu of %lu)\n", ns,
              (unsigned long)st.delivered_after_hold, (unsigned long)kN);

  // Two paths striped frame by frame, path B 200 frames behind path A: every A frame waits
  // for its B predecessor (held depth ~100, each B frame releases one A frame).
  ns = ns_per_push(
      1024, kN,
      [](uint64_t i) {
        uint64_t k = i / 2;
        if (!(i & 1)) return int64_t(2 * k);                       // path A, on time
        return int64_t(k >= 100 ? 2 * (k - 100) + 1 : 2 * k + 1);  // path B (warm-up: on time)
      },
      &st);
  std::printf("striped, 200 lag:    %5.2f ns/push (max depth %lu)\n", ns,
              (unsigned long)st.max_hold_depth);

  // 1% loss: each gap waits for its deadline (200 pushes), then the held run goes out.
  std::vector<uint8_t> lost(1u << 20);
  for (auto& l : lost) l = rng() % 100 == 0;
  ns = ns_per_push(
      1024, kN, [&](uint64_t i) { return lost[i & mask] ? int64_t(-1) : int64_t(i); }, &st, 200);
  std::printf("1%% loss, hold 200:   %5.2f ns/push (hold timeouts %lu, max depth %lu)\n", ns,
              (unsigned long)st.hold_timeouts, (unsigned long)st.max_hold_depth);
}

}  // namespace
}  // namespace mpf::reorder

// ---- delay equalisation: delay line, base delay, hold -------------------------------------

TEST(DelayLine, ReleasesInOrderWhenDue) {
  mpf::reorder::DelayLine line(3);  // rounded up to 4
  EXPECT_EQ(line.capacity(), 4u);
  int a, b, c, d, e;
  std::vector<void*> out;
  auto deliver = [&](void* p) { out.push_back(p); };
  ASSERT_TRUE(line.push(&a, 100));
  ASSERT_TRUE(line.push(&b, 50));  // due earlier, but behind a: waits for it
  ASSERT_TRUE(line.push(&c, 120));
  ASSERT_TRUE(line.push(&d, 130));
  EXPECT_TRUE(line.full());
  EXPECT_FALSE(line.push(&e, 1));
  EXPECT_EQ(line.release(99, deliver), 0u);
  EXPECT_EQ(line.release(100, deliver), 2u);  // a, then b (already due)
  EXPECT_EQ(out, (std::vector<void*>{&a, &b}));
  EXPECT_EQ(line.release(1000, deliver), 2u);
  EXPECT_TRUE(line.empty());
  EXPECT_EQ(line.pop(), nullptr);
}

TEST(DelayLine, ClockWraps) {
  mpf::reorder::DelayLine line(2);
  int a;
  std::vector<void*> out;
  ASSERT_TRUE(line.push(&a, 5));  // released at 5, just after the 32-bit clock wrapped
  EXPECT_EQ(line.release(0xfffffff0u, [&](void* p) { out.push_back(p); }), 0u);
  EXPECT_EQ(line.release(5, [&](void* p) { out.push_back(p); }), 1u);
  EXPECT_TRUE(mpf::reorder::due(0xfffffff0u, 3));
  EXPECT_FALSE(mpf::reorder::due(3, 0xfffffff0u));
}

TEST(Equalizer, ADownPathSetsTheFloorFor30Seconds) {
  using mpf::reorder::kDownPathMemoryUs;
  using mpf::reorder::sets_floor;
  const uint64_t t0 = 1'000'000'000;
  EXPECT_TRUE(sets_floor(true, 0, t0));                                  // up
  EXPECT_FALSE(sets_floor(false, 0, t0));                                // never up
  EXPECT_TRUE(sets_floor(false, t0, t0));                                // just went down
  EXPECT_TRUE(sets_floor(false, t0, t0 + kDownPathMemoryUs - 1));        // 30 s less 1 us
  EXPECT_FALSE(sets_floor(false, t0, t0 + kDownPathMemoryUs));           // forgotten
  static_assert(kDownPathMemoryUs >= 10'000'000, "must outlast BBR's 10 s min-RTT window");
}

TEST(BaseDelay, WindowedMinimum) {
  using mpf::reorder::BaseDelay;
  BaseDelay b;
  const uint64_t s = 1'000'000;  // 1 s in us
  EXPECT_EQ(b.observe(5000, 0), 5000);
  EXPECT_EQ(b.observe(7000, 1 * s), 5000);
  EXPECT_EQ(b.observe(4000, 2 * s), 4000);
  EXPECT_EQ(b.observe(9000, 6 * s), 4000);   // new bucket; the previous one's 4000 still counts
  EXPECT_EQ(b.observe(8000, 11 * s), 8000);  // two buckets on: 4000 forgotten, 9000 vs 8000
  EXPECT_EQ(b.observe(8500, 12 * s), 8000);
  EXPECT_EQ(b.observe(6000, 30 * s), 6000);  // after a long silence: only the new sample
  EXPECT_EQ(b.observe(-20, 30 * s), -20);    // offsets make d negative: fine
}

TEST(BaseDelay, HoldFromSpreadAndQueueing) {
  using mpf::reorder::equalize_hold_us;
  // Idle fast path: held by the whole spread (11 ms).
  EXPECT_EQ(equalize_hold_us(11000, 4000, 4000, 100000), 11000u);
  // It queued 6 ms: held 5 ms; queued 11 ms or more: not held.
  EXPECT_EQ(equalize_hold_us(11000, 10000, 4000, 100000), 5000u);
  EXPECT_EQ(equalize_hold_us(11000, 15000, 4000, 100000), 0u);
  EXPECT_EQ(equalize_hold_us(11000, 90000, 4000, 100000), 0u);
  // The cap; no spread; a sample below the base (cannot happen, base is the minimum) ignored.
  EXPECT_EQ(equalize_hold_us(300000, 4000, 4000, 100000), 100000u);
  EXPECT_EQ(equalize_hold_us(0, 4000, 4000, 100000), 0u);
  EXPECT_EQ(equalize_hold_us(11000, 3000, 4000, 100000), 11000u);
  // Offsets of any sign cancel.
  EXPECT_EQ(equalize_hold_us(11000, -2000000000 + 6000, -2000000000, 100000), 5000u);
}

namespace mpf::reorder {

// A path bringing a frame every 300 us (40 Mbit/s) falls silent: from 3 ms of silence hold
// timeouts wait, for the failover's time, then while the window's head keeps moving (the
// resends fill its gaps), up to a cap; once per silence counted; a sparse path is suspected
// only after 8 of its gaps; a path that never had data never.
TEST(SilenceWatch, ASilentPathMakesTimeoutsWaitForItsFailover) {
  SilenceWatch<4> s;
  uint64_t t = 1'000'000;
  for (int i = 0; i < 200; i++, t += 300) s.note(0, t);
  const uint64_t last = t - 300;
  for (int i = 0; i < 20; i++) s.note(1, 1'000'000 + uint64_t(i) * 10'000);  // every 10 ms
  EXPECT_LT(s.gap_us(0), 400u);
  EXPECT_EQ(s.suspect_since_us(0), last + 3000);
  EXPECT_EQ(s.suspect_since_us(2), UINT64_MAX);

  auto wait = [](unsigned) { return uint64_t(60'000); };
  constexpr uint64_t kCap = 400'000;
  const uint64_t still = 0;  // the window's head has not moved
  bool first = false;
  // Path 1 is silent at last + 3 ms, but that is within its usual gaps.
  EXPECT_FALSE(s.waiting(1, last + 2999, wait, kCap, still, &first));
  EXPECT_FALSE(s.waiting(2, last + 3000, wait, kCap, still, &first));
  EXPECT_FALSE(first);
  EXPECT_TRUE(s.waiting(2, last + 3001, wait, kCap, still, &first));
  EXPECT_TRUE(first);
  first = false;
  EXPECT_TRUE(s.waiting(2, last + 63'000, wait, kCap, still, &first));
  EXPECT_FALSE(first);  // the same silence: counted once
  EXPECT_FALSE(s.waiting(2, last + 63'001, wait, kCap, still, &first));
  // Nowhere to fail over to (wait 0): nothing waits.
  EXPECT_FALSE(s.waiting(2, last + 4000, [](unsigned) { return uint64_t(0); }, kCap, still,
                         &first));

  // Data again: the silence is over; the next one counts again. The 70 ms pause counts as a
  // 20 ms gap in the smoothed gap, so the path is suspected a little later until it settles.
  s.note(0, last + 70'000);
  const uint64_t again = s.suspect_since_us(0);
  EXPECT_EQ(again, last + 70'000 + 8 * uint64_t(s.gap_us(0)));
  EXPECT_GT(again, last + 70'000 + 20'000);
  first = false;
  EXPECT_FALSE(s.waiting(2, again, wait, kCap, still, &first));
  EXPECT_TRUE(s.waiting(2, again + 1, wait, kCap, still, &first));
  EXPECT_TRUE(first);
  // (Path 0 alone from here: path 1 falls silent too, later.)
  // A head that moved before the silence does not extend it.
  EXPECT_FALSE(s.waiting(1, again + 60'001, wait, kCap, again - 1, &first));
  // The head moving every 5 ms (the resends fill the gaps): the wait goes on past 60 ms, up
  // to the cap.
  for (uint64_t at = again + 30'000; at + 4000 <= again + 400'000; at += 5000)
    EXPECT_TRUE(s.waiting(1, at + 4000, wait, kCap, at, &first)) << at - again;
  EXPECT_FALSE(s.waiting(1, again + 400'001, wait, kCap, again + 400'000, &first));  // the cap
  // The head stands still (a gap that will not fill): 10 ms after it last moved, the wait ends.
  EXPECT_TRUE(s.waiting(1, again + 110'000, wait, kCap, again + 100'000, &first));
  EXPECT_FALSE(s.waiting(1, again + 110'001, wait, kCap, again + 100'000, &first));

  // The sparse path: a frame every 10 ms is suspect after 8 gaps of it (smoothed).
  const uint64_t since = s.suspect_since_us(1);
  EXPECT_GE(since, 1'190'000u + 8 * 8000u);
  EXPECT_LE(since, 1'190'000u + 8 * 10'000u);
  // A long pause does not make the path look sparse for good: gaps count at most 20 ms.
  SilenceWatch<1> p;
  p.note(0, 1'000'000);
  p.note(0, 61'000'000);
  EXPECT_EQ(p.gap_us(0), 20'000u / 8);
}

}  // namespace mpf::reorder
