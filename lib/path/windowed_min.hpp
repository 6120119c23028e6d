// The minimum of the samples of the last `window`, measured back from the newest sample, kept in
// 10 buckets (so the window is exact to a tenth of its length). It expires only as samples
// arrive: with no new samples the last minimum stays. Fixed size, no allocation.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>

namespace mpf::path {

template <class T>
class WindowedMin {
 public:
  static constexpr unsigned kBuckets = 10;

  explicit WindowedMin(uint64_t window_us = 10'000'000)
      : bucket_us_(std::max<uint64_t>(1, window_us / kBuckets)) {}

  // Adds a sample taken at now_us (non-decreasing between calls) and returns the minimum.
  T add(T v, uint64_t now_us) {
    const uint64_t epoch = now_us / bucket_us_;
    Bucket& b = buckets_[epoch % kBuckets];
    if (!b.used || b.epoch != epoch)
      b = Bucket{epoch, v, true};
    else
      b.min = std::min(b.min, v);
    T m = v;
    for (const Bucket& x : buckets_)
      if (x.used && x.epoch <= epoch && epoch - x.epoch < kBuckets) m = std::min(m, x.min);
    min_ = m;
    any_ = true;
    return m;
  }
  bool empty() const { return !any_; }
  T get() const { return min_; }  // T{} before the first sample

 private:
  struct Bucket {
    uint64_t epoch = 0;
    T min{};
    bool used = false;
  };
  uint64_t bucket_us_;
  std::array<Bucket, kBuckets> buckets_{};
  T min_{};
  bool any_ = false;
};

}  // namespace mpf::path
