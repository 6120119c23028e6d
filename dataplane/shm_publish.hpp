// The main lcore's side of the shared-memory stats region (lib/shm/layout.hpp): the header once
// at start, then a snapshot of gauges and per-port/per-path figures every
// control.publish_interval_ms, plus the heartbeat mpf-controld watches.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <vector>

#include "app.hpp"
#include "shm/layout.hpp"

namespace mpf::dp {

struct PathCounters;

class StatsPublisher {
 public:
  // main_paths: the main lcore's own per-path frame counters, added to the workers'.
  StatsPublisher(App& app, const std::vector<PathCounters>& main_paths);
  // Before the lcores start: header fields, lcore slots, the configuration text; sets ready.
  void start(const std::string& config_text);
  // Main lcore, every pass: publishes when the interval has passed (cheap otherwise).
  void poll(uint64_t now_ms) {
    if (now_ms >= next_ms_) publish(now_ms);
  }
  void publish(uint64_t now_ms);

 private:
  App& app_;
  const std::vector<PathCounters>& main_paths_;
  std::unique_ptr<shm::Snapshot> staging_;  // built here, then copied in under the seqlock
  uint64_t next_ms_ = 0;
  uint64_t start_ms_ = 0;
};

}  // namespace mpf::dp
