// Prometheus text exposition (format 0.0.4) of a dataplane's region: mpf_ prefix, _total on
// counters, base units (seconds, bytes, bits per second). docs/control-api.md lists every metric.
#pragma once
#include <cstdint>
#include <string>

#include "shm/layout.hpp"

namespace mpf::control {

// region nullptr: only mpf_dataplane_up 0 (and the controld's own info). now_unix_ms stamps
// ages (heartbeat).
std::string metrics_text(const shm::Region* region, uint64_t now_unix_ms);

// Escapes a label value: backslash, double quote, newline.
std::string escape_label(const std::string& v);

}  // namespace mpf::control
