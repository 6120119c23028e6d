// mpfctl's human views: each turns one command's JSON result (docs/control-api.md) into
// aligned tables. Missing fields show as 0 or "-", never an error: mpfctl and mpf-controld may
// come from different builds.
#pragma once
#include <string>

#include "api.hpp"

namespace mpf::control {

std::string view_status(const json& r);
// prev: the previous sample (stats --watch) for rates; null for none.
std::string view_stats(const json& r, const json& prev);
std::string view_ports(const json& r);
std::string view_paths(const json& r);
std::string view_lcores(const json& r);
std::string view_drops(const json& r);
std::string view_nat(const json& r);
std::string view_flows(const json& r);
std::string view_config(const json& r);
std::string view_policy(const json& r);
std::string view_path_set(const json& r);
// A path's "impairment" (paths, path.set) in words; "" when none.
std::string impairment_text(const json& path);
std::string view_capture(const json& r);

// "3d 4h", "1h 02m", "5m 03s", "12.3 s".
std::string format_uptime(double seconds);

}  // namespace mpf::control
