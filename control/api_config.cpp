// `config` and `policy`: the configuration the dataplane runs, as it published its text at
// start (a later edit of the file on disk is not what runs), parsed with the dataplane's own
// loader.
#include "api.hpp"
#include "args.hpp"
#include "config/config.hpp"
#include "region_view.hpp"

namespace mpf::control {

namespace {

json port_range(uint16_t lo, uint16_t hi) {
  if (lo == 0 && hi == 65535) return nullptr;
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

json path_name(const config::Config& c, int path) {
  if (path < 0 || size_t(path) >= c.path_profiles.size()) return nullptr;
  return c.path_profiles[size_t(path)].name;
}

}  // namespace

Outcome cmd_config(const ApiContext& ctx, const json& args) {
  Args(args).done();
  const shm::Region& r = need_region(ctx);
  return json{{"file", field(r.hdr.config_file)}, {"config_text", config_text(r)}};
}

Outcome cmd_policy(const ApiContext& ctx, const json& args) {
  Args(args).done();
  const shm::Region& r = need_region(ctx);
  std::string file = field(r.hdr.config_file);
  config::Config c;
  try {
    c = config::load_text(config_text(r), file);
  } catch (const config::ConfigError& e) {
    throw ApiError("failed", std::string("the running configuration does not load here: ") + e.what());
  }
  json rules = json::array();
  for (size_t i = 0; i < c.policy.size(); i++) {
    const config::PolicyRule& p = c.policy[i];
    const config::PolicyMatch& m = p.match;
    rules.push_back(
        {{"index", i},
         {"line", p.line},
         {"match",
          {{"proto", m.proto ? json(proto_name(m.proto)) : json()},
           {"src_port", port_range(m.src_lo, m.src_hi)},
           {"dst_port", port_range(m.dst_lo, m.dst_hi)},
           {"dst", m.dst.len ? json(net::to_string(m.dst)) : json()},
           {"dscp", m.dscp >= 0 ? json(m.dscp) : json()}}},
         {"mode", config::mode_name(p.mode)},
         {"path", path_name(c, p.path)}});
  }
  json paths = json::array();
  for (const config::PathProfile& p : c.path_profiles) paths.push_back(p.name);
  return json{{"file", file},
              {"default", {{"mode", config::mode_name(c.multipath.mode)},
                           {"path", path_name(c, c.multipath.path)}}},
              {"rules", rules},
              {"paths", paths}};
}

}  // namespace mpf::control
