// mpf-controld's request handlers (docs/control-api.md): each turns a command's arguments into
// a JSON result read from the region, or into a mailbox request whose answer the controller
// turns into the result later. Handlers validate everything and report problems by throwing
// ApiError; the controller catches every exception, so none escapes a request.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <variant>

#include "shm/layout.hpp"

namespace mpf::control {

using json = nlohmann::json;

class DataplaneLink;

// A request's failure: code is one of the API's error codes ("bad_request", "not_found", ...).
struct ApiError : std::runtime_error {
  ApiError(std::string c, const std::string& message)
      : std::runtime_error(message), code(std::move(c)) {}
  std::string code;
};

// A command the dataplane's main lcore carries out. finish() builds the result from its answer
// (called only for Status::ok; it may read the region again and may throw ApiError).
struct MailboxJob {
  shm::Request req{};
  std::function<json(const shm::Region&, const shm::Response&)> finish;
};

using Outcome = std::variant<json, MailboxJob>;

struct ApiContext {
  const DataplaneLink* link = nullptr;
  shm::Region* region = nullptr;   // nullptr: no dataplane attached
  uint64_t now_ms = 0;             // monotonic
  uint64_t now_unix_ms = 0;
};

// Runs command `cmd` with `args` (an object, or null for none). Throws ApiError
// ("unknown_command", "bad_request", "dataplane_unavailable", ...).
Outcome dispatch(const std::string& cmd, const json& args, const ApiContext& ctx);

// Every command name, in documentation order.
const std::vector<std::string>& command_names();

// The JSON error code for a dataplane response status.
const char* status_code(shm::Status s);

// Handlers, one per command (api_read.cpp, api_flows.cpp, api_commands.cpp, api_config.cpp).
Outcome cmd_status(const ApiContext& ctx, const json& args);
Outcome cmd_stats(const ApiContext& ctx, const json& args);
Outcome cmd_ports(const ApiContext& ctx, const json& args);
Outcome cmd_paths(const ApiContext& ctx, const json& args);
Outcome cmd_lcores(const ApiContext& ctx, const json& args);
Outcome cmd_drops(const ApiContext& ctx, const json& args);
Outcome cmd_nat(const ApiContext& ctx, const json& args);
Outcome cmd_flows(const ApiContext& ctx, const json& args);
Outcome cmd_config(const ApiContext& ctx, const json& args);
Outcome cmd_policy(const ApiContext& ctx, const json& args);
Outcome cmd_path_set(const ApiContext& ctx, const json& args);
Outcome cmd_capture(const ApiContext& ctx, const json& args);

// A path's impairment as path.set and paths answer it: {"tx": X, "rx": X}, each X null (none)
// or {"delay_ms", "jitter_ms", "loss_pct", "rate_bps", "queue_ms"}.
json impairment_json(const shm::PathSnap& p);

// The region, or ApiError("dataplane_unavailable") saying why there is none.
const shm::Region& need_region(const ApiContext& ctx);

}  // namespace mpf::control
