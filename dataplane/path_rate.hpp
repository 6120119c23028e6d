// Rate control wiring on the main lcore (docs/multipath.md, "Rate control"): for every (peer,
// path), the one-way queueing measured on what arrives, the far end's reports of what it
// receives, and the path::RateController that sets our shaping rate from them.
//
// Gateway: a probe reply brings the server's measure of the uplink's queue (for our rate) and,
// with the probe's RTT, lets us derive the downlink's queue, which our next probe carries.
// Server: a probe's timestamp gives the uplink's queue (for the reply); its body brings the
// downlink's queue and the gateway's receive counters (for our rate).
// Main lcore only; sized at start, nothing allocates afterwards.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "path/delivery_rate.hpp"
#include "path/one_way_queue.hpp"
#include "path/path_health.hpp"
#include "path/rate_control.hpp"
#include "tunnel/bodies.hpp"

namespace mpf::dp {

class PathRates {
 public:
  // enabled: multipath.rate_control. slots: peers * kMaxPaths.
  PathRates(bool enabled, uint32_t target_ms, uint32_t probe_interval_ms, size_t slots);

  // Server: a probe arrived (timestamp_us: the gateway's clock). sent_bytes: our cumulative
  // bytes sent to that peer on that path. Returns the uplink queue for the reply's queue_us.
  uint32_t on_probe(size_t slot, const tunnel::ProbeBody& b, uint32_t timestamp_us,
                    uint64_t sent_bytes, uint64_t now_us);
  // Gateway: a probe reply arrived and was given to ph (rtt_sampled: it yielded an RTT sample).
  void on_probe_reply(size_t slot, const tunnel::ProbeReplyBody& b, const path::PathHealth& ph,
                      bool rtt_sampled, uint64_t sent_bytes, uint64_t now_us);
  // Gateway: the downlink queue to report in the next probe on this path.
  uint32_t downlink_queue_us(size_t slot) const { return s_[slot].measured_queue_us; }

  // The shaping rate in force (B/s) for a path with max_rate max_rate_bps (bit/s; 0 =
  // unshaped, which is then the answer; config::kAutoRate = discovered from kAutoStartBps, up
  // to kAutoCeilingBps). Follows max_rate changes; without rate control, max_rate / 8.
  uint64_t rate_Bps(size_t slot, uint64_t max_rate_bps);

  // max_rate "auto": where discovery starts (8 Mbit/s: a link four times slower overflows its
  // queue for about two loop times at the start, one 100 times faster is found in under a
  // second) and the bound it never passes (the largest max_rate).
  static constexpr uint64_t kAutoStartBps = 8'000'000;
  static constexpr uint64_t kAutoCeilingBps = 400'000'000'000;
  // Capacity discovery (max_rate "auto"): the link's rate found (B/s), once, when the path's
  // first startup ended (later probes do not count); 0 otherwise.
  uint64_t take_found(size_t slot) {
    Slot& s = s_[slot];
    if (!s.rc || !s.discovering || s.rc->starting() || s.found_told) return 0;
    s.found_told = true;
    return s.rc->found_Bps();
  }
  // What the far end last reported about our frames' queue on this path (us).
  uint32_t reported_queue_us(size_t slot) const { return s_[slot].reported_queue_us; }

 private:
  struct Slot {
    std::optional<path::RateController> rc;
    bool discovering = false;            // rc was made for max_rate "auto"
    bool found_told = false;             // take_found() said so
    path::OneWayQueue arriving;          // server: the gateway's probes
    path::DeliveryRate far_rx;           // server: the gateway's receive counters
    // server: the gateway's probe timestamps, unwrapped (starting at 2^40, so that going back
    // never goes below 0): the clock far_rx runs on.
    bool has_gw_clock = false;
    uint32_t gw_ts = 0;
    int64_t gw_clock_us = 0;
    uint32_t reported_queue_us = 0;      // the far end's measure of our frames' queue
    uint32_t measured_queue_us = 0;      // our measure of the far end's frames' queue
    uint64_t sent_base = 0, sent_base_us = 0;
  };
  uint64_t sent_rate(Slot& s, uint64_t sent_bytes, uint64_t now_us);
  void control(Slot& s, uint64_t delivered_Bps, uint64_t sent_bytes, uint32_t srtt_us,
               uint64_t now_us);

  bool enabled_;
  path::RateParams params_;
  std::vector<Slot> s_;
};

}  // namespace mpf::dp
