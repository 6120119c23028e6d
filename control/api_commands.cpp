// Commands the dataplane carries out through the mailbox: path.set and capture. Names given by
// the operator (path, peer, port) are resolved here against the snapshot, so the dataplane only
// ever sees indexes.
#include <cmath>
#include <cstring>

#include "api.hpp"
#include "args.hpp"
#include "path/impairment.hpp"
#include "shm/capture_name.hpp"
#include "region_view.hpp"
#include "units.hpp"

namespace mpf::control {

namespace {

constexpr uint64_t kMinRate = 64'000;           // bit/s, as the configuration's max_rate
constexpr uint64_t kMaxRate = 400'000'000'000;

[[noreturn]] void bad(const std::string& m) { throw ApiError("bad_request", m); }

std::unique_ptr<shm::Snapshot> need_snapshot(const shm::Region& r) {
  auto s = read_snapshot(r);
  if (!s) throw ApiError("failed", "the dataplane's snapshot stays mid-update (is it stuck?)");
  return s;
}

// The peer a path.set names: by tunnel id, else the first (the gateway's only peer).
unsigned find_peer(const shm::Region& r, const shm::Snapshot& s, std::optional<int64_t> id) {
  unsigned n = peer_count(r);
  if (n == 0) throw ApiError("not_found", "the dataplane has no peers");
  if (!id) return 0;
  std::string have;
  for (unsigned i = 0; i < n; i++) {
    if (s.peers[i].tunnel_id == uint64_t(*id)) return i;
    have += (have.empty() ? "" : ", ") + std::to_string(s.peers[i].tunnel_id);
  }
  throw ApiError("not_found", "no peer with tunnel id " + std::to_string(*id) + " (peers: " + have + ")");
}

int find_path(const shm::PeerSnap& peer, const std::string& name) {
  std::string have;
  for (unsigned k = 0; k < shm::kPaths; k++) {
    if (!peer.paths[k].configured) continue;
    if (field(peer.paths[k].name) == name) return int(k);
    have += (have.empty() ? "" : ", ") + field(peer.paths[k].name);
  }
  throw ApiError("not_found", "no path \"" + name + "\" (paths: " + have + ")");
}

// A rate in bit/s: a number, or a string like "48M"; "auto" (shm::kAutoRate) when allowed.
uint64_t rate_of(const json& v, const char* key = "max_rate", bool allow_auto = true) {
  if (allow_auto && v.is_string() && v.get<std::string>() == "auto") return shm::kAutoRate;
  std::optional<uint64_t> bps;
  if (v.is_number_unsigned()) {
    bps = v.get<uint64_t>();
  } else if (v.is_number_float() && v.get<double>() >= 0 && v.get<double>() < 9e18) {
    bps = uint64_t(std::llround(v.get<double>()));
  } else if (v.is_string()) {
    bps = parse_bit_rate(v.get<std::string>());
  }
  const std::string k = std::string("\"") + key + "\"";
  if (!bps)
    bad(k + " must be bit/s as a number or a string like \"48M\"" +
        (allow_auto ? ", or \"auto\"" : "") + ", not " + v.dump());
  if (*bps != 0 && (*bps < kMinRate || *bps > kMaxRate))
    bad(k + " must be 0 (" + (allow_auto ? "unlimited" : "none") + ") or 64k..400G bit/s, not " +
        std::to_string(*bps));
  return *bps;
}

// path.set's "impairment" (docs/control-api.md): "off", or an object whose absent keys are 0
// (queue_ms: 50). *dirs: which directions it replaces (1 send, 2 receive, 3 both).
shm::ImpairSpec impairment_of(const json& v, uint8_t* dirs) {
  *dirs = 3;
  if (v.is_string() && v.get<std::string>() == "off") return shm::ImpairSpec{};
  if (!v.is_object())
    bad("\"impairment\" must be \"off\" or an object like {\"delay_ms\": 20, \"loss_pct\": 1}, "
        "not " + v.dump());
  Args a(v);
  constexpr double kMaxMs = path::kImpairMaxDelayUs / 1000.0;
  const auto delay = a.number("delay_ms", 0, kMaxMs);
  const auto jitter = a.number("jitter_ms", 0, kMaxMs);
  const auto loss = a.number("loss_pct", 0, 100);
  const json* rate = a.raw("rate");
  const auto queue = a.number("queue_ms", 1, kMaxMs);
  const auto dir = a.one_of("direction", {"both", "tx", "rx"});
  a.done();
  shm::ImpairSpec s{};
  auto us = [](std::optional<double> ms) { return uint32_t(std::llround(ms.value_or(0) * 1000)); };
  s.delay_us = us(delay);
  s.jitter_us = us(jitter);
  s.loss_ppm = uint32_t(std::llround(loss.value_or(0) * 10'000));
  s.rate_bps = rate ? rate_of(*rate, "rate", false) : 0;
  s.queue_us = s.rate_bps ? (queue ? us(queue) : path::kImpairDefaultQueueUs) : 0;
  if (queue && !s.rate_bps) bad("\"queue_ms\" is the queue of a \"rate\": give the rate too");
  if (dir == "tx") *dirs = 1;
  if (dir == "rx") *dirs = 2;
  return s;
}

json impairment_dir_json(const shm::ImpairSpec& s) {
  if (!s.delay_us && !s.jitter_us && !s.loss_ppm && !s.rate_bps) return nullptr;
  return json{{"delay_ms", s.delay_us / 1000.0},
              {"jitter_ms", s.jitter_us / 1000.0},
              {"loss_pct", s.loss_ppm / 10'000.0},
              {"rate_bps", s.rate_bps},
              {"queue_ms", s.queue_us / 1000.0}};
}

// A capture port: a port name, or a path name (the port carrying that path).
unsigned find_port(const shm::Region& r, const shm::Snapshot& s, const std::string& name) {
  std::string have;
  for (unsigned i = 0; i < port_count(r); i++) {
    if (field(s.ports[i].name) == name) return i;
    have += (have.empty() ? "" : ", ") + field(s.ports[i].name);
  }
  if (peer_count(r) > 0) {
    for (unsigned k = 0; k < shm::kPaths; k++) {
      const shm::PathSnap& p = s.peers[0].paths[k];
      if (!p.configured || field(p.name) != name) continue;
      for (unsigned i = 0; i < port_count(r); i++)
        if (s.ports[i].kind == shm::PortKindCode::path && s.ports[i].path_id == k) return i;
    }
  }
  throw ApiError("not_found", "no port or path \"" + name + "\" (ports: " + have + ")");
}

json capture_json(const shm::Region& r, const shm::Response& resp) {
  const shm::CaptureState& c = resp.capture;
  auto snap = read_snapshot(r);
  json port;
  if (snap && c.port_index < port_count(r)) port = field(snap->ports[c.port_index].name);
  return json{{"active", c.active != 0},
              {"port", port},
              {"port_index", c.port_index},
              {"packets", c.packets},
              {"bytes", c.bytes},
              {"dropped", c.dropped},
              {"started_unix_ms", c.started_unix_ms},
              {"stopped_unix_ms", c.stopped_unix_ms},
              {"file", field(c.file)},
              {"message", field(resp.message)}};
}

}  // namespace

json impairment_json(const shm::PathSnap& p) {
  return json{{"tx", impairment_dir_json(p.impair[0])}, {"rx", impairment_dir_json(p.impair[1])}};
}

Outcome cmd_path_set(const ApiContext& ctx, const json& args) {
  Args a(args);
  std::optional<std::string> name = a.string("path");
  std::optional<int64_t> peer_id = a.integer("peer", 0, 0xffffffffll);
  std::optional<std::string> state = a.one_of("state", {"up", "down", "auto"});
  std::optional<int64_t> weight = a.integer("weight", 1, 1000);
  const json* rate = a.raw("max_rate");
  const json* impairment = a.raw("impairment");
  a.done();
  if (!name) bad("\"path\" (the path's name) is required");
  if (!state && !weight && !rate && !impairment)
    bad("nothing to set: give state, weight, max_rate or impairment");
  MailboxJob job;
  job.req.op = shm::Op::path_set;
  shm::PathSetArgs& p = job.req.path_set;
  p.weight = weight ? uint32_t(*weight) : shm::kKeepWeight;
  p.max_rate_bps = rate ? rate_of(*rate) : shm::kKeepRate;
  if (impairment) p.impair = impairment_of(*impairment, &p.impair_dirs);
  if (state) {
    p.set_admin = 1;
    p.admin = *state == "up"     ? shm::AdminState::up
              : *state == "down" ? shm::AdminState::down
                                 : shm::AdminState::automatic;
  }
  const shm::Region& r = need_region(ctx);
  auto snap = need_snapshot(r);
  p.peer_index = find_peer(r, *snap, peer_id);
  p.path_id = uint8_t(find_path(snap->peers[p.peer_index], *name));
  unsigned pi = p.peer_index, k = p.path_id;
  job.finish = [pi, k](const shm::Region& reg, const shm::Response& resp) {
    // The dataplane applied it: echo the path as the next snapshot shows it.
    json j{{"peer", nullptr}, {"path", nullptr}, {"message", field(resp.message)}};
    if (auto s = read_snapshot(reg)) {
      const shm::PathSnap& p = s->peers[pi].paths[k];
      j = {{"peer", s->peers[pi].tunnel_id},
           {"path", field(p.name)},
           {"path_id", k},
           {"admin", admin_name(p.admin)},
           {"weight", p.weight},
           {"max_rate_bps", p.max_rate_bps == shm::kAutoRate ? 0 : p.max_rate_bps},
           {"max_rate_auto", p.max_rate_bps == shm::kAutoRate},
           {"impairment", impairment_json(p)},
           {"message", field(resp.message)}};
    }
    return j;
  };
  return job;
}

Outcome cmd_capture(const ApiContext& ctx, const json& args) {
  Args a(args);
  std::string action = a.one_of("action", {"start", "stop", "status"}).value_or("");
  std::optional<std::string> port = a.string("port");
  std::optional<int64_t> count = a.integer("count", 1, 0xffffffffll);
  const json* duration = a.raw("duration");
  std::optional<std::string> file = a.string("file");
  std::optional<std::string> dir = a.one_of("dir", {"rx", "tx", "both"});
  std::optional<int64_t> snaplen = a.integer("snaplen", 1, 65535);
  a.done();
  if (action.empty()) bad("\"action\" (start|stop|status) is required");
  MailboxJob job;
  job.finish = capture_json;
  if (action != "start") {
    if (port || count || duration || file || dir || snaplen)
      bad("capture " + action + " takes no other argument");
    need_region(ctx);
    job.req.op = action == "stop" ? shm::Op::capture_stop : shm::Op::capture_status;
    return job;
  }
  job.req.op = shm::Op::capture_start;
  shm::CaptureArgs& c = job.req.capture;
  if (!port) bad("\"port\" (a port or path name) is required to start a capture");
  if (!file) bad("\"file\" (the pcapng file's name in the dataplane's capture directory) is required");
  if (!shm::capture_name_ok(*file))
    bad("\"file\" must be a plain file name (A-Za-z0-9._-, 1..200, not starting with '.'), "
        "created in the dataplane's control.capture_dir, not \"" + *file + "\"");
  if (duration) {
    if (!duration->is_number() || duration->get<double>() <= 0 || duration->get<double>() > 86400)
      bad("\"duration\" must be seconds, 0 < duration <= 86400, not " + duration->dump());
    c.duration_ms = uint32_t(std::llround(duration->get<double>() * 1000));
    if (c.duration_ms == 0) c.duration_ms = 1;
  }
  if (!count && !duration) bad("give \"count\" or \"duration\" (or both): a capture must end");
  c.count = count ? uint32_t(*count) : 0;
  c.snaplen = snaplen ? uint32_t(*snaplen) : 0;
  c.dir = !dir || *dir == "both" ? shm::CaptureDir::both
          : *dir == "rx"         ? shm::CaptureDir::rx
                                 : shm::CaptureDir::tx;
  std::memcpy(c.file, file->data(), file->size());
  const shm::Region& r = need_region(ctx);
  auto snap = need_snapshot(r);
  c.port_index = uint8_t(find_port(r, *snap, *port));
  return job;
}

}  // namespace mpf::control
