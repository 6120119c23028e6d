#include "path/rate_control.hpp"

#include <algorithm>
#include <stdexcept>

namespace mpf::path {

RateController::RateController(const RateParams& p)
    : p_(p),
      ceiling_(p.ceiling_Bps),
      rate_(double(p.start_Bps ? std::min(p.start_Bps, p.ceiling_Bps) : p.ceiling_Bps)),
      startup_(p.start_Bps != 0) {
  if (p.ceiling_Bps == 0) throw std::invalid_argument("rate control needs a ceiling");
  if (p_.target_us == 0) p_.target_us = 1;
  if (p_.interval_us == 0) p_.interval_us = 1;
}

uint64_t RateController::floor_Bps() const {
  return p_.start_Bps ? 8000 : std::max<uint64_t>(8000, ceiling_ / 64);
}

void RateController::clamp() {
  rate_ = std::clamp(rate_, double(floor_Bps()), double(ceiling_));
}

void RateController::set_ceiling(uint64_t ceiling_Bps) {
  if (ceiling_Bps == 0) return;
  ceiling_ = ceiling_Bps;
  clamp();
}

uint64_t RateController::update(uint32_t queue_us, uint64_t delivered_Bps, uint64_t sent_Bps,
                                uint32_t loop_us, uint64_t now_us) {
  // The step without D is weighed by the time since the last sample, so its gain is per
  // second whatever the sample rate; a long silence (the path was down) counts as 4 at most.
  uint64_t dt = p_.interval_us;
  if (started_ && now_us > last_us_)
    dt = std::min<uint64_t>(now_us - last_us_, 4ull * p_.interval_us);
  started_ = true;
  last_us_ = now_us;

  // The smallest of the last kQueueSamples: a standing queue shows in all of them, a jitter
  // spike (a radio retransmission, a late probe) in one only.
  recent_q_[n_samples_++ % kQueueSamples] = queue_us;
  uint32_t q = queue_us;
  for (unsigned i = 0; i < kQueueSamples && i < n_samples_; i++) q = std::min(q, recent_q_[i]);

  // The most that arrived over the last kCarriedUs. A standing queue keeps the path busy, so a
  // sample far below that is a lull in the reports (a loss burst, a late probe, a gap in what
  // the sender had), not the capacity: a decrease starts from kLullShare of it at least.
  // (Starting from the maximum itself would read the samples' noise as capacity.)
  double carried = 0;
  if (delivered_Bps != 0) {
    neg_peak_.add(-int64_t(delivered_Bps), now_us);
    carried = -double(neg_carried_.add(-int64_t(delivered_Bps), now_us));
  }
  // A path we hardly send on holds no queue of ours: a delay above the target that stands in
  // every recent sample is its base delay now, which grew (a route change, a handover to a
  // farther cell, an emulated delay) while the far end's minimum still remembers the old one
  // (for 10 s). Taken for a queue it would cut the next transfer to what it carries in its
  // first round trips, and the climb from there takes seconds. It is an offset at once. (A
  // queue of ours that drains after a transfer ends shows here too: the offset follows it
  // down below, as the samples do.)
  if (double(sent_Bps) < kFeedShare * rate_ && q > offset_us_ + p_.target_us) {
    offset_us_ = q;
    foreign_++;
  }
  // A delay judged not ours counts from here up. It never exceeds what the samples show, and
  // it fades (time constant kOffsetFadeUs), so a queue we build on top of it is found again.
  offset_us_ = std::min(offset_us_, q);
  offset_us_ -= uint32_t(double(offset_us_) * std::min(1.0, double(dt) / kOffsetFadeUs));
  q -= offset_us_;
  const double target = double(p_.target_us);
  double e = (target - double(q)) / target;  // > 0: room; < 0: too much queue
  if (e >= 0) {
    episode_ = false;
    watch_from_us_ = 0;
  } else if (episode_) {
    // Measured from the queue's highest point: samples lag, so it grows for a while after a
    // decrease (and after a capacity drop, until the decrease goes below the new capacity);
    // then what the path carries is taken again.
    if (q > episode_q0_us_ + p_.target_us / 2) {
      expected_drain_us_ = 0;
      episode_D_ = double(delivered_Bps);
    }
    episode_q0_us_ = std::max(episode_q0_us_, q);
    episode_D_ = std::max(episode_D_, double(delivered_Bps));
    // While a queue of ours stands the path stays busy, carrying episode_D_: sending below
    // that drains it by (1 - rate / episode_D_) of the time passed. (What arrives now is no
    // help: below the capacity it is only what we send, queue or not.)
    if (episode_D_ > rate_) expected_drain_us_ += (1 - rate_ / episode_D_) * double(dt);
    if (expected_drain_us_ >= kJudgeTargets * target &&
        double(episode_q0_us_) - double(q) < expected_drain_us_ / 4) {
      // It did not drain: not our queue. Measure above it from now on.
      offset_us_ += q;
      foreign_++;
      episode_ = false;
      watch_from_us_ = 0;
      q = 0;
      e = 1;
    }
  } else if (watch_from_us_ != 0 && now_us >= watch_from_us_) {
    // The first decrease shows in the samples now: from here the queue must go down.
    episode_ = true;
    episode_q0_us_ = q;
    episode_D_ = double(delivered_Bps);
    expected_drain_us_ = 0;
  }
  const bool busy = double(sent_Bps) >= kBusyShare * rate_;
  // Discovery again: a path we keep filling with no queue has room the rule below would take
  // seconds to find (it may have left startup early, on a small load and a jittery probe).
  if (p_.start_Bps != 0 && !startup_) {
    if (busy && q < p_.target_us && now_us >= hold_until_us_) {
      if (++room_samples_ >= kProbeAfter) {
        startup_ = probing_ = true;
        room_samples_ = 0;
        probes_++;
      }
    } else {
      room_samples_ = 0;
    }
  }
  if (startup_) {
    // Only a queue we build ends the startup: we fill the rate, or we send more than arrives
    // (TCP's own window fills the link while our rate is above it). One that shows while we
    // send what arrives (jitter, a late probe, someone else's traffic) says nothing of the
    // capacity: what arrives then is only our own load.
    // What arrives far below our rate may lag (the path was hardly used a round trip ago):
    // taken for the link's rate it would all but stop the path. So such a queue ends the
    // startup only once it has stood for a loop time, when what arrives has caught up.
    const bool near = double(delivered_Bps) >= kNearShare * rate_;
    const bool building = busy || (near && double(sent_Bps) > kExcess * double(delivered_Bps));
    bool ours = false;
    if (!building || q < p_.target_us) {
      suspect_since_us_ = 0;
    } else if (near || (suspect_since_us_ != 0 && now_us - suspect_since_us_ >= loop_us)) {
      ours = true;
    } else if (suspect_since_us_ == 0) {
      suspect_since_us_ = now_us;
    }
    if (!ours) {
      // Capacity discovery: no queue yet. Double what arrives while we fill the path (a
      // quarter more when probing again, see below). Not while a queue of half the target
      // shows: the link may be full, and its samples say so within a loop.
      if (busy && suspect_since_us_ == 0 && q * 2 < p_.target_us) {
        if (delivered_Bps != 0)
          rate_ = std::max(rate_, double(delivered_Bps) * (probing_ ? kProbeGain : kStartupGain));
        else
          rate_ *= 1 + kGainPerS * double(dt) / 1e6;
      }
      clamp();
      return rate_Bps();
    }
    // The first queue: what arrives now is the link's rate. Up to a loop's worth of excess is
    // queued: drain it below that rate, then control as usual.
    startup_ = false;
    const double link = std::max(double(delivered_Bps), kLullShare * carried);
    if (link > 0) {
      found_Bps_ = uint64_t(link);
      rate_ = std::min(rate_, link * (probing_ ? kProbeDrainShare : kDrainShare));
      hold_until_us_ = now_us + loop_us;
    }
    clamp();
    return rate_Bps();
  }
  if (e >= 0) {
    // Room, but a path we do not fill says nothing about its capacity.
    if (!busy) return rate_Bps();
    e = std::min(e, 1.0);
    if (delivered_Bps != 0)
      rate_ = std::max(rate_, double(delivered_Bps) * (1 + kUp * e));  // what arrives, a bit more
    else
      rate_ *= 1 + kGainPerS * double(dt) / 1e6 * e;
  } else {
    // A queue stands: while it does, what arrives is what the path carries for us. Send a
    // little less than that (up to 10% for 6 targets and more), never more than now.
    e = std::max(e, -kMaxDrain);
    if (e < -1) drains_++;
    if (now_us < hold_until_us_) return rate_Bps();  // the last decrease has not shown yet
    // Only a queue we are feeding says our rate is too high. A path we hardly use, or one we
    // stopped sending on (its queue drains while what arrives falls towards nothing, at the
    // end of every transfer), keeps its rate.
    if (double(sent_Bps) < kFeedShare * rate_ || double(sent_Bps) < 0.5 * double(delivered_Bps))
      return rate_Bps();
    if (delivered_Bps != 0) {
      const double peak = neg_peak_.empty() ? 0 : -double(neg_peak_.get());
      const double basis = std::max(double(delivered_Bps), kLullShare * carried);
      const double r = std::max(basis * (1 + kDown * e), kPeakShare * peak);
      if (r < rate_) {
        rate_ = r;
        hold_until_us_ = now_us + loop_us;
        if (!episode_ && watch_from_us_ == 0) watch_from_us_ = now_us + loop_us;
      }
    } else
      rate_ *= 1 + kGainPerS * double(dt) / 1e6 * std::max(e, -1.0);
  }
  clamp();
  return rate_Bps();
}

}  // namespace mpf::path
