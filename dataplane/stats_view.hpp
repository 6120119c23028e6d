// Sums of the per-lcore counters, read from any thread (telemetry, exit report).
#pragma once
#include <string>

#include "app.hpp"
#include "housekeeping.hpp"

namespace mpf::dp {

struct StatsView {
  LcoreStats total;        // sum over workers and the main lcore
  uint64_t nat_sessions = 0;
  uint64_t nat_created = 0;
  uint64_t nat_expired = 0;
};

StatsView collect_stats(const App& app, const Housekeeping& hk);

// Human-readable report (printed at exit).
std::string format_stats(const App& app, const StatsView& v);

}  // namespace mpf::dp
