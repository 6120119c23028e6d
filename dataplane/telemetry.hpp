// DPDK telemetry commands (/mpf/stats, /mpf/ports, /mpf/drops, /mpf/lcores, /mpf/peers):
// the stock dpdk-telemetry.py reads them. Callbacks run on DPDK's telemetry thread and only
// read single-writer counters and seqlocked tables.
#pragma once
#include "app.hpp"
#include "housekeeping.hpp"

namespace mpf::dp {

// Registers the commands; app and hk must outlive the process's telemetry use.
void register_telemetry(const App* app, const Housekeeping* hk);

}  // namespace mpf::dp
