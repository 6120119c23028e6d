// Command table and the pieces every handler shares.
#include "api.hpp"

#include <unistd.h>

#include <map>

#include "dataplane_link.hpp"

namespace mpf::control {

namespace {

using Handler = Outcome (*)(const ApiContext&, const json&);

struct Command {
  const char* name;
  Handler fn;
};

constexpr Command kCommands[] = {
    {"status", cmd_status}, {"stats", cmd_stats},   {"ports", cmd_ports},
    {"paths", cmd_paths},   {"lcores", cmd_lcores}, {"drops", cmd_drops},
    {"nat", cmd_nat},       {"flows", cmd_flows},   {"config", cmd_config},
    {"policy", cmd_policy}, {"path.set", cmd_path_set}, {"capture", cmd_capture},
};

}  // namespace

const std::vector<std::string>& command_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Command& c : kCommands) v.push_back(c.name);
    return v;
  }();
  return names;
}

Outcome dispatch(const std::string& cmd, const json& args, const ApiContext& ctx) {
  for (const Command& c : kCommands)
    if (cmd == c.name) return c.fn(ctx, args);
  std::string all;
  for (const Command& c : kCommands) all += std::string(all.empty() ? "" : ", ") + c.name;
  throw ApiError("unknown_command", "unknown command \"" + cmd + "\" (commands: " + all + ")");
}

const char* status_code(shm::Status s) {
  switch (s) {
    case shm::Status::ok: return "ok";
    case shm::Status::bad_request: return "bad_request";
    case shm::Status::not_found: return "not_found";
    case shm::Status::busy: return "busy";
    case shm::Status::unsupported: return "unsupported";
    case shm::Status::failed: return "failed";
  }
  return "failed";
}

const shm::Region& need_region(const ApiContext& ctx) {
  if (!ctx.region)
    throw ApiError("dataplane_unavailable",
                   ctx.link ? "no dataplane attached: " + ctx.link->reason()
                            : std::string("no dataplane attached"));
  return *ctx.region;
}

}  // namespace mpf::control
