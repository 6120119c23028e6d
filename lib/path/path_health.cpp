#include "path/path_health.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace mpf::path {

const char* to_string(PathState s) { return s == PathState::up ? "up" : "down"; }

PathHealth::PathHealth(const HealthParams& params)
    : p_(params), min_rtt_(uint64_t(params.min_rtt_window_ms) * 1000),
      rate_(params.rate_smoothing_ms) {
  if (p_.loss_window < 1 || p_.loss_window > 4096)
    throw std::invalid_argument("path health: loss_window must be 1..4096, not " +
                                std::to_string(p_.loss_window));
  if (p_.up_after == 0) p_.up_after = 1;
  ring_.resize(p_.loss_window);
}

uint64_t PathHealth::probe_timeout_us() const {
  const uint64_t floor_us = 2ull * p_.probe_interval_ms * 1000;
  if (rtt_samples_ == 0) return std::max<uint64_t>(floor_us, 1000000);
  const double t = std::max(3 * srtt_, srtt_ + 4 * rttvar_);
  return std::max<uint64_t>(floor_us, uint64_t(std::ceil(t)));
}

void PathHealth::decide(Slot& s, uint8_t status) {
  s.status = status;
  if (status == kAnswered)
    ++answered_;
  else
    ++lost_;
}

void PathHealth::probe_sent(uint32_t probe_seq, uint64_t now_us) {
  Slot& s = ring_[head_];
  if (s.status == kAnswered) --answered_;
  if (s.status == kLost) --lost_;
  s = Slot{now_us, probe_seq, kPending, false};
  head_ = head_ + 1 == ring_.size() ? 0 : head_ + 1;
  if (count_ < ring_.size()) ++count_;
  last_seq_ = probe_seq;
}

PathHealth::Slot* PathHealth::find(uint32_t seq) {
  if (count_ == 0) return nullptr;
  const uint32_t n = uint32_t(ring_.size());
  const uint32_t back = last_seq_ - seq;  // 0 = the newest probe
  if (back < count_) {
    Slot& s = ring_[(head_ + n - 1 - back) % n];
    if (s.seq == seq) return &s;
  }
  // probe_seq skipped values: search the ring (main lcore, at most loss_window slots).
  for (uint32_t i = 0; i < count_; ++i) {
    Slot& s = ring_[(head_ + n - 1 - i) % n];
    if (s.seq == seq) return &s;
  }
  return nullptr;
}

void PathHealth::probe_answered(uint32_t probe_seq, uint32_t echoed_timestamp_us,
                                uint64_t now_us) {
  heard(now_us);
  Slot* s = find(probe_seq);
  if (s == nullptr || s->status == kAnswered || s->status == kEmpty) {
    ++ignored_replies_;
    return;
  }
  if (s->status == kPending) {
    const bool in_time = now_us < s->sent_us || now_us - s->sent_us <= probe_timeout_us();
    decide(*s, in_time ? kAnswered : kLost);
    s->fresh = in_time;
    if (!in_time) ++late_replies_;
  } else {  // kLost: timed out before, the reply is late
    ++late_replies_;
  }
  // The echoed timestamp was ours, taken when the probe left: it cannot predate probe_sent by
  // more than a little (1 ms of slack for the caller stamping before calling probe_sent).
  const uint32_t rtt = uint32_t(now_us) - echoed_timestamp_us;
  const uint64_t elapsed = now_us >= s->sent_us ? now_us - s->sent_us : 0;
  if (rtt >= 0x80000000u || rtt > elapsed + 1000) {
    ++bad_timestamps_;
    return;
  }
  rtt_sample(rtt, now_us);
}

void PathHealth::rtt_sample(uint32_t r, uint64_t now_us) {
  // RFC 6298 2.2 / 2.3: rttvar is updated with the old srtt, then srtt.
  if (rtt_samples_ == 0) {
    srtt_ = r;
    rttvar_ = r / 2.0;
  } else {
    rttvar_ = 0.75 * rttvar_ + 0.25 * std::fabs(srtt_ - double(r));
    srtt_ = 0.875 * srtt_ + 0.125 * double(r);
  }
  recent_[rtt_samples_ % kRecentRtts] = r;
  ++rtt_samples_;
  last_rtt_us_ = r;

  min_rtt_us_ = min_rtt_.add(r, now_us);
}

uint32_t PathHealth::queueing_us() const {
  if (rtt_samples_ == 0) return 0;
  const unsigned n = unsigned(std::min<uint64_t>(rtt_samples_, kRecentRtts));
  uint64_t sum = 0;
  for (unsigned i = 0; i < n; ++i) sum += recent_[i];
  const uint64_t mean = sum / n;
  return mean > min_rtt_us_ ? uint32_t(mean - min_rtt_us_) : 0;
}

uint32_t PathHealth::loss_ppm() const {
  const uint64_t decided = uint64_t(answered_) + lost_;
  return decided == 0 ? 0 : uint32_t(uint64_t(lost_) * 1000000 / decided);
}

void PathHealth::heard(uint64_t now_us) {
  if (!heard_any_ || now_us > last_heard_us_) last_heard_us_ = now_us;
  heard_any_ = true;
}

void PathHealth::peer_report(uint32_t peer_rx_frames, uint64_t peer_rx_bytes, uint64_t now_us) {
  rate_.report(peer_rx_frames, peer_rx_bytes, now_us);
}

uint32_t PathHealth::answered_run() const {
  const uint32_t n = uint32_t(ring_.size());
  uint32_t run = 0;
  for (uint32_t i = 0; i < count_; ++i) {
    const Slot& s = ring_[(head_ + n - 1 - i) % n];
    if (s.status == kPending) continue;
    if (s.status != kAnswered || !s.fresh) break;
    ++run;
  }
  return run;
}

bool PathHealth::tick(uint64_t now_us) {
  const uint64_t timeout = probe_timeout_us();
  for (uint32_t i = 0; i < count_; ++i) {
    Slot& s = ring_[i];  // count_ < size only before the ring first filled: slots 0..count_-1
    if (s.status == kPending && now_us > s.sent_us && now_us - s.sent_us > timeout)
      decide(s, kLost);
  }
  if (state_ == PathState::up) {
    const uint64_t since = std::max(last_heard_us_, silence_from_us_);
    const uint64_t silent = now_us > since ? now_us - since : 0;
    if (silent < uint64_t(p_.dead_after_ms) * 1000) return false;
    state_ = PathState::down;
    for (Slot& s : ring_) s.fresh = false;  // only replies after this count towards up again
  } else {
    if (answered_run() < p_.up_after) return false;
    state_ = PathState::up;
  }
  ++transitions_;
  last_change_us_ = now_us;
  return true;
}

void PathHealth::set_dead_after_ms(uint32_t ms, uint64_t now_us) {
  if (ms < p_.dead_after_ms) silence_from_us_ = std::max(silence_from_us_, now_us);
  p_.dead_after_ms = ms;
}

}  // namespace mpf::path
