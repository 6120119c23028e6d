// Token bucket: the retransmit budget and the per-path shaper (docs/multipath.md, "Shaping").
//
// Integer only. Tokens are kept in byte-microseconds (bytes * 10^6), so a refill adds exactly
// rate_Bps * elapsed_us and nothing is rounded away: over any run the bytes taken are at most
// rate * time + burst, and a caller that always waits wait_us() gets within one packet of it.
// Strict: a take succeeds only when the whole packet fits, so a packet larger than the burst
// never passes (take() false, wait_us() kNever); size the burst to at least one frame.
//
// Single owner (one lcore), no locks, no allocation. Time is any monotonic microsecond clock;
// a time earlier than the last one seen refills nothing.
#pragma once
#include <cstdint>
#include <limits>

namespace mpf::recovery {

class TokenBucket {
 public:
  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
  static constexpr uint64_t kUsPerS = 1000000;
  // Bursts are capped here so that burst * 10^6 fits comfortably in 64 bits (1 TB).
  static constexpr uint64_t kMaxBurst = uint64_t(1) << 40;

  // Starts full. rate 0 = nothing is ever refilled (the initial burst can still be spent).
  TokenBucket(uint64_t rate_Bps, uint64_t burst_bytes)
      : rate_(rate_Bps), cap_(clamp_burst(burst_bytes) * kUsPerS), tokens_(cap_) {}

  // Takes `bytes` if they fit now; false (nothing taken) otherwise.
  bool take(uint32_t bytes, uint64_t now_us) {
    refill(now_us);
    const uint64_t need = uint64_t(bytes) * kUsPerS;
    if (tokens_ < need) return false;
    tokens_ -= need;
    return true;
  }

  // Microseconds from now_us until take(bytes) would succeed (0: it would now); kNever when
  // it never can (bytes beyond the burst, or rate 0 and not enough left).
  uint64_t wait_us(uint32_t bytes, uint64_t now_us) const {
    const uint64_t need = uint64_t(bytes) * kUsPerS;
    if (need > cap_) return kNever;
    const uint64_t have = tokens_at(now_us);
    if (have >= need) return 0;
    if (rate_ == 0) return kNever;
    const uint64_t deficit = need - have;
    return deficit / rate_ + (deficit % rate_ != 0);
  }

  // New rate from now on. The one-argument form applies the new rate also to the time since the
  // last take/refill; pass now_us to settle that time at the old rate first.
  void set_rate(uint64_t rate_Bps) { rate_ = rate_Bps; }
  void set_rate(uint64_t rate_Bps, uint64_t now_us) {
    refill(now_us);
    rate_ = rate_Bps;
  }
  // New burst; tokens above it are dropped.
  void set_burst(uint64_t burst_bytes) {
    cap_ = clamp_burst(burst_bytes) * kUsPerS;
    if (tokens_ > cap_) tokens_ = cap_;
  }

  uint64_t rate() const { return rate_; }
  uint64_t burst() const { return cap_ / kUsPerS; }
  // Whole bytes available at now_us.
  uint64_t available(uint64_t now_us) const { return tokens_at(now_us) / kUsPerS; }

 private:
  static uint64_t clamp_burst(uint64_t b) { return b > kMaxBurst ? kMaxBurst : b; }

  uint64_t tokens_at(uint64_t now_us) const {
    if (now_us <= last_us_) return tokens_;
    const uint64_t room = cap_ - tokens_;
    uint64_t add;
    if (__builtin_mul_overflow(now_us - last_us_, rate_, &add) || add >= room) return cap_;
    return tokens_ + add;
  }
  void refill(uint64_t now_us) {
    if (now_us <= last_us_) return;
    tokens_ = tokens_at(now_us);
    last_us_ = now_us;
  }

  uint64_t rate_;     // bytes per second = byte-microseconds per microsecond
  uint64_t cap_;      // burst, byte-microseconds
  uint64_t tokens_;   // byte-microseconds, <= cap_
  uint64_t last_us_ = 0;
};

}  // namespace mpf::recovery
