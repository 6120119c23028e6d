#include "path_rate.hpp"

#include <algorithm>

#include "config/config.hpp"

namespace mpf::dp {

PathRates::PathRates(bool enabled, uint32_t target_ms, uint32_t probe_interval_ms, size_t slots)
    : enabled_(enabled), s_(slots) {
  params_.target_us = target_ms * 1000;
  params_.interval_us = probe_interval_ms * 1000;
}

uint64_t PathRates::sent_rate(Slot& s, uint64_t sent_bytes, uint64_t now_us) {
  uint64_t r = 0;
  if (s.sent_base_us != 0 && now_us > s.sent_base_us && sent_bytes >= s.sent_base)
    r = (sent_bytes - s.sent_base) * 1'000'000 / (now_us - s.sent_base_us);
  s.sent_base = sent_bytes;
  s.sent_base_us = now_us;
  return r;
}

void PathRates::control(Slot& s, uint64_t delivered_Bps, uint64_t sent_bytes, uint32_t srtt_us,
                        uint64_t now_us) {
  const uint64_t sent = sent_rate(s, sent_bytes, now_us);
  // A rate change shows in the samples after about an RTT and a probe interval.
  if (s.rc)
    s.rc->update(s.reported_queue_us, delivered_Bps, sent, srtt_us + params_.interval_us, now_us);
}

uint32_t PathRates::on_probe(size_t slot, const tunnel::ProbeBody& b, uint32_t timestamp_us,
                             uint64_t sent_bytes, uint64_t now_us) {
  Slot& s = s_[slot];
  s.measured_queue_us = s.arriving.sample(timestamp_us, now_us);
  s.reported_queue_us = b.queue_us;
  // The counters were read when the gateway stamped the probe: their rate is over the
  // gateway's clock. Arrival times here would add the path's jitter (and this host's lateness)
  // to every interval, and a rate that swings makes the controller's decreases too deep.
  s.gw_clock_us = s.has_gw_clock ? s.gw_clock_us + int64_t(int32_t(timestamp_us - s.gw_ts))
                                 : int64_t(1) << 40;
  s.has_gw_clock = true;
  s.gw_ts = timestamp_us;
  s.far_rx.report(b.rx_frames, b.rx_bytes, uint64_t(s.gw_clock_us));
  control(s, s.far_rx.recent_Bps(), sent_bytes, b.srtt_us, now_us);
  return s.measured_queue_us;
}

void PathRates::on_probe_reply(size_t slot, const tunnel::ProbeReplyBody& b,
                               const path::PathHealth& ph, bool rtt_sampled, uint64_t sent_bytes,
                               uint64_t now_us) {
  Slot& s = s_[slot];
  s.reported_queue_us = b.queue_us;
  // The RTT above the minimum is the queueing of both directions: what the server measured
  // on the way up is not the downlink's. (min_rtt can exceed the sum of the two one-way
  // minima only by what they never met at once: the downlink estimate errs low, not high.)
  if (rtt_sampled) {
    const uint64_t above =
        ph.last_rtt_us() > ph.min_rtt_us() ? ph.last_rtt_us() - ph.min_rtt_us() : 0;
    s.measured_queue_us = above > b.queue_us ? uint32_t(above - b.queue_us) : 0;
  }
  control(s, ph.delivery_recent_Bps(), sent_bytes, ph.srtt_us(), now_us);
}

uint64_t PathRates::rate_Bps(size_t slot, uint64_t max_rate_bps) {
  Slot& s = s_[slot];
  const bool discover = max_rate_bps == config::kAutoRate;
  if (!enabled_ || max_rate_bps == 0) {
    s.rc.reset();
    return discover ? 0 : max_rate_bps / 8;  // (the configuration refuses auto without control)
  }
  const uint64_t ceiling = discover ? kAutoCeilingBps / 8 : max_rate_bps / 8;
  if (!s.rc || s.discovering != discover) {
    // Discovery starts from kAutoStartBps; a known max_rate starts at it. Switching between
    // the two (mpfctl path set NAME max-rate auto|R) starts afresh.
    params_.ceiling_Bps = ceiling;
    params_.start_Bps = discover ? kAutoStartBps / 8 : 0;
    s.rc.emplace(params_);
    s.discovering = discover;
    s.found_told = false;
  } else if (s.rc->ceiling_Bps() != ceiling) {
    s.rc->set_ceiling(ceiling);
  }
  return s.rc->rate_Bps();
}

}  // namespace mpf::dp
