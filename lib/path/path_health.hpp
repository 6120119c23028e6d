// One path's health as the main lcore sees it (docs/multipath.md, "Path health"): probe RTTs
// smoothed per RFC 6298, a windowed minimum RTT, probe loss over the last N probes, the far
// end's delivery rate from its cumulative counters, and the up/down state machine.
//
// Owned and written by the main lcore only; workers see what main publishes from it (PathView),
// never this object. Construction allocates the probe ring; nothing after that allocates.
//
// Times are microseconds from one monotonic clock (the caller's `now_us`). Probe timestamps on
// the wire are its low 32 bits, so an RTT is `uint32_t(now_us) - echoed`, correct across the
// 32-bit wrap (every ~71 minutes) for RTTs below 2^31 us.
//
// Decisions (documented here because the design leaves them open):
// - Probe timeout: a probe is lost when no reply arrived within
//     max(3 * srtt, srtt + 4 * rttvar, 2 * probe_interval)
//   (1 s, RFC 6298's initial RTO, or 2 * probe_interval if larger, before the first RTT
//   sample). A reply after that is "late": it still gives an RTT sample (so a path whose delay
//   grew teaches us its new delay) but the probe stays counted as lost and does not count towards
//   `up_after`. Pending probes (sent, not yet timed out) count neither way.
// - Loss window: the last `loss_window` probes sent. Replies to probes outside it (or never sent,
//   or answered already) are ignored entirely. loss_ppm = lost / (answered + lost) over the
//   decided probes in the window; 0 before any probe was decided.
// - Up: the `up_after` newest decided probes (in probe_seq order; pending ones skipped) were all
//   answered in time, and their replies arrived after the path last went down (or after start).
//   Checked by tick(), so the transition happens at the first tick after the last reply.
// - Down: nothing at all (heard(), or a probe reply) for `dead_after_ms`, checked by tick().
//   Probe loss alone never takes a path down: a path that carries data is alive.
// - min_rtt: the smallest RTT sample of the last `min_rtt_window_ms`, measured back from the
//   newest sample (kept in 10 buckets, so the window is exact to 1/10 of its length). It expires
//   only as new samples arrive: with no samples the last minimum stays.
// - Queueing indicator: queueing_us() = (mean of the last 4 RTT samples) - min_rtt, >= 0. It is
//   the delay the path adds on top of its propagation delay right now (queues in the modem or the
//   radio scheduler). Four samples (100 ms at the default 25 ms probe interval) react faster than
//   srtt's 1/8 gain while one outlier moves it by only a quarter. It is an RTT, so it covers both
//   directions: one-way trends need the receiver's timestamps, which probes do not carry.
// - Delivery rate: path/delivery_rate.hpp, fed by peer_report().
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "path/delivery_rate.hpp"
#include "path/windowed_min.hpp"

namespace mpf::path {

struct HealthParams {
  uint32_t dead_after_ms = 100;      // up -> down when nothing at all arrived for this long
  uint32_t up_after = 3;             // down -> up after this many consecutive answered probes (>= 1)
  uint32_t loss_window = 64;         // probes in the loss estimate, 1..4096
  uint32_t probe_interval_ms = 25;   // multipath.probe_interval_ms: floor of the probe timeout
  uint32_t min_rtt_window_ms = 10000;
  uint32_t rate_smoothing_ms = 200;  // time constant of the delivery-rate average
};

enum class PathState : uint8_t { down, up };

const char* to_string(PathState s);

class PathHealth {
 public:
  // Throws std::invalid_argument on loss_window outside 1..4096; up_after 0 is taken as 1.
  explicit PathHealth(const HealthParams& params = {});

  // A probe left on this path. probe_seq should grow by one per probe (gaps are tolerated).
  void probe_sent(uint32_t probe_seq, uint64_t now_us);
  // Its reply arrived. Also counts as heard(now_us).
  void probe_answered(uint32_t probe_seq, uint32_t echoed_timestamp_us, uint64_t now_us);
  // Any frame arrived on this path.
  void heard(uint64_t now_us);
  // The far end's cumulative frames and bytes received on this path.
  void peer_report(uint32_t peer_rx_frames, uint64_t peer_rx_bytes, uint64_t now_us);
  // Declares timed-out probes lost and applies the up/down transitions. True on a state change.
  bool tick(uint64_t now_us);
  // The silence that makes an up path down, from now on (the probe interval changed: see
  // path/probe_cadence.hpp). A shorter one counts silence from now_us at the earliest: a path
  // last heard one slow probe interval ago is not dead for that.
  void set_dead_after_ms(uint32_t ms, uint64_t now_us);
  uint32_t dead_after_ms() const { return p_.dead_after_ms; }

  PathState state() const { return state_; }
  bool is_up() const { return state_ == PathState::up; }
  bool has_rtt() const { return rtt_samples_ != 0; }
  uint32_t srtt_us() const { return uint32_t(srtt_ + 0.5); }      // 0 before the first sample
  uint32_t rttvar_us() const { return uint32_t(rttvar_ + 0.5); }
  uint32_t min_rtt_us() const { return min_rtt_us_; }             // 0 before the first sample
  uint32_t last_rtt_us() const { return last_rtt_us_; }
  uint32_t queueing_us() const;
  uint32_t loss_ppm() const;
  uint64_t delivery_rate_Bps() const { return rate_.Bps(); }  // 0 until known
  uint64_t delivery_rate_fps() const { return rate_.fps(); }
  uint64_t delivery_recent_Bps() const { return rate_.recent_Bps(); }  // 50 ms average
  bool has_delivery_rate() const { return rate_.known(); }
  uint64_t transitions() const { return transitions_; }
  uint64_t last_change_us() const { return last_change_us_; }
  uint64_t last_heard_us() const { return last_heard_us_; }
  // The probe timeout in force now (see above).
  uint64_t probe_timeout_us() const;
  // Length of the run of answered probes that tick() compares with up_after.
  uint32_t answered_run() const;

  // Diagnostics.
  uint64_t rtt_samples() const { return rtt_samples_; }
  uint64_t late_replies() const { return late_replies_; }         // after the probe timeout
  uint64_t ignored_replies() const { return ignored_replies_; }   // unknown, too old, duplicate
  uint64_t bad_timestamps() const { return bad_timestamps_; }     // echo predates the probe
  uint64_t peer_resets() const { return rate_.resets(); }

  const HealthParams& params() const { return p_; }

 private:
  enum : uint8_t { kEmpty, kPending, kAnswered, kLost };
  struct Slot {
    uint64_t sent_us = 0;
    uint32_t seq = 0;
    uint8_t status = kEmpty;
    bool fresh = false;  // answered in time after the last down transition
  };
  static constexpr unsigned kRecentRtts = 4;

  Slot* find(uint32_t seq);
  void rtt_sample(uint32_t rtt_us, uint64_t now_us);
  void decide(Slot& s, uint8_t status);

  HealthParams p_;
  PathState state_ = PathState::down;
  uint64_t transitions_ = 0;
  uint64_t last_change_us_ = 0;
  uint64_t last_heard_us_ = 0;
  uint64_t silence_from_us_ = 0;  // silence counts from max(last heard, this)
  bool heard_any_ = false;

  // Probe ring, in send order: head_ is the next slot written, count_ the slots in use.
  std::vector<Slot> ring_;
  uint32_t head_ = 0;
  uint32_t count_ = 0;
  uint32_t last_seq_ = 0;
  uint32_t answered_ = 0;  // decided probes in the ring, by outcome
  uint32_t lost_ = 0;

  // RTT.
  double srtt_ = 0, rttvar_ = 0;
  uint64_t rtt_samples_ = 0;
  uint32_t last_rtt_us_ = 0;
  uint32_t min_rtt_us_ = 0;
  WindowedMin<uint32_t> min_rtt_;
  std::array<uint32_t, kRecentRtts> recent_{};

  DeliveryRate rate_;

  uint64_t late_replies_ = 0, ignored_replies_ = 0, bad_timestamps_ = 0;
};

}  // namespace mpf::path
