// One lcore's path impairment stages (docs/multipath.md, "Impairment"): for each (peer, path,
// direction) the operator impaired, a path::ImpairStage holding this lcore's frames of it.
// Workers impair what they send and receive on a path, the main lcore its probes and probe
// replies. Nothing impaired: stage() is one load and a branch per frame.
#pragma once
#include <rte_mbuf.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "app.hpp"
#include "path/impairment.hpp"

namespace mpf::dp {

class Impairments {
 public:
  // Sizes the table for app's peers (start-up only).
  void init(const App& app);
  // Takes the operator's settings when App::impair_gen moved (one acquire load otherwise).
  // A stage is allocated the first time its path is impaired (on a command, never per frame;
  // a failed allocation leaves the path unimpaired here and counts impair_unavailable).
  void sync(const App& app, LcoreStats& stats);
  // The stage that frames of (peer, path, dir) go through now, nullptr for none.
  path::ImpairStage* stage(uint16_t peer, uint8_t path, unsigned dir) const {
    path::ImpairStage* s = stages_[index(peer, path, dir)].get();
    return s && s->in_use() ? s : nullptr;
  }
  // Puts m through s at now_us; true when s holds it (it comes back from release()), false
  // when it was dropped: then *why says which drop, and m is still the caller's.
  bool admit(path::ImpairStage* s, rte_mbuf* m, uint64_t now_us, Drop* why);
  // Hands every due frame to out(m, dir), in each stage's order.
  template <class Out>
  void release(uint64_t now_us, Out&& out) {
    for (size_t i = 0; i < live_.size();) {
      path::ImpairStage* s = stages_[live_[i]].get();
      const unsigned dir = live_[i] & 1;
      s->release(now_us * 1000, [&](void* p) { out(static_cast<rte_mbuf*>(p), dir); });
      if (s->in_use()) {
        i++;
      } else {
        listed_[live_[i]] = 0;
        live_[i] = live_.back();
        live_.pop_back();  // capacity reserved in init(): no allocation
      }
    }
  }
  // Frees every held frame (shutdown); returns how many.
  unsigned free_all();

 private:
  static size_t index(uint16_t peer, uint8_t path, unsigned dir) {
    return (size_t(peer) * kMaxPaths + path) * 2 + dir;
  }
  std::vector<std::unique_ptr<path::ImpairStage>> stages_;
  std::vector<uint32_t> live_;     // stages in use (impairing, or still holding frames)
  std::vector<uint8_t> listed_;    // per stage: on live_
  uint64_t gen_seen_ = 0;
  uint32_t capacity_ = 0;          // frames per stage
};

}  // namespace mpf::dp
