// What the far end received on a path per second, from its cumulative counters as they arrive
// in probes or replies (docs/multipath.md, "Path health"): the difference of two reports over
// the time between their arrival here. Intervals shorter than 5 ms are merged into the next one
// (the baseline stays). Smoothed with gain min(1, dt / smoothing), so the average has a time
// constant independent of the report rate; the first sample is taken as is, the first report
// only sets the baseline. A byte counter that went backwards means the peer restarted: that
// report becomes the new baseline and the rate is kept. The frame counter is 32-bit and is
// differenced modulo 2^32. Reports must come in order: an older one after a newer one looks
// like a restart.
//
// recent_Bps() is the same rate averaged over 50 ms only, for rate control
// (path/rate_control.hpp), which must see a change of capacity within a few probes.
//
// This is throughput, not capacity: on a path carrying less than it could, it measures the
// offered load. Fixed size, no allocation.
#pragma once
#include <algorithm>
#include <cstdint>

namespace mpf::path {

class DeliveryRate {
 public:
  explicit DeliveryRate(uint32_t smoothing_ms = 200) : smoothing_ms_(smoothing_ms) {}

  void report(uint32_t frames, uint64_t bytes, uint64_t now_us) {
    if (!has_report_ || bytes < base_bytes_) {
      if (has_report_) ++resets_;
      has_report_ = true;
      base_frames_ = frames;
      base_bytes_ = bytes;
      base_us_ = now_us;
      return;
    }
    if (now_us < base_us_ || now_us - base_us_ < kMinIntervalUs) return;  // merge into next
    const double dt = double(now_us - base_us_);
    const double bps = double(bytes - base_bytes_) * 1e6 / dt;
    const double fps = double(uint32_t(frames - base_frames_)) * 1e6 / dt;
    if (!has_rate_) {
      Bps_ = recent_ = bps;
      fps_ = fps;
      has_rate_ = true;
    } else {
      const double tau = std::max(1.0, double(smoothing_ms_) * 1000);
      const double g = std::min(1.0, dt / tau);
      Bps_ += g * (bps - Bps_);
      fps_ += g * (fps - fps_);
      recent_ += std::min(1.0, dt / kRecentUs) * (bps - recent_);
    }
    base_frames_ = frames;
    base_bytes_ = bytes;
    base_us_ = now_us;
  }
  bool known() const { return has_rate_; }
  uint64_t Bps() const { return uint64_t(Bps_ + 0.5); }  // 0 until known
  uint64_t fps() const { return uint64_t(fps_ + 0.5); }
  uint64_t recent_Bps() const { return uint64_t(recent_ + 0.5); }
  uint64_t resets() const { return resets_; }

 private:
  static constexpr uint64_t kMinIntervalUs = 5000;
  static constexpr double kRecentUs = 50000;
  uint32_t smoothing_ms_;
  bool has_report_ = false, has_rate_ = false;
  uint32_t base_frames_ = 0;
  uint64_t base_bytes_ = 0, base_us_ = 0;
  double Bps_ = 0, fps_ = 0, recent_ = 0;
  uint64_t resets_ = 0;
};

}  // namespace mpf::path
