// mpfctl: the operator's command line for mpf-controld (docs/control-api.md, "mpfctl").
// Exit codes: 0 ok, 1 the daemon refused, 2 usage, 3 daemon unreachable.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "client.hpp"
#include "units.hpp"
#include "views.hpp"

namespace mpf::control {
namespace {

constexpr int kOk = 0, kDaemonError = 1, kUsage = 2, kUnreachable = 3;

volatile std::sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

struct Help {
  const char* synopsis;
  const char* text;
};

const std::map<std::string, Help> kHelp = {
    {"status", {"status", "whether mpf-controld is attached, and to which dataplane"}},
    {"stats", {"stats [--watch [SECONDS]]",
               "every counter, non-zero drops, per-lcore traffic, NAT and reorder totals;\n"
               "--watch refreshes in place every SECONDS (default 1) with rates; Ctrl-C stops"}},
    {"ports", {"ports", "each port: kind, device, address, link, traffic, device errors"}},
    {"paths", {"paths", "each path: state, health, admin override, RTT, loss, rates, traffic"}},
    {"lcores", {"lcores", "each lcore: role, traffic, drops, hand-offs, NAT sessions"}},
    {"drops", {"drops", "every drop reason with its count and what it means"}},
    {"nat", {"nat", "NAT table occupancy, created and expired sessions per worker lcore"}},
    {"flows", {"flows [--top N] [--proto tcp|udp|icmp] [--addr A.B.C.D[/LEN]] [--port N]",
               "the largest NAT sessions (by bytes), optionally filtered; default top 20"}},
    {"config", {"config", "the configuration the dataplane runs, as it read it at start"}},
    {"policy", {"policy", "the traffic policy rules of the running configuration"}},
    {"path", {"path set NAME [up|down|auto] [weight N] [max-rate RATE] [impair SPEC|off] [peer ID]",
              "override a path: force it up or down (auto: follow probes), its weight\n"
              "(1..1000) or its shaping rate (bit/s, k/M/G suffixes, 0 = unlimited, auto);\n"
              "impair: emulate a worse link on this appliance, SPEC a comma list of\n"
              "delay=20ms jitter=2ms loss=1% rate=30M queue=50ms dir=both|tx|rx\n"
              "(loss=100% cuts the path; off: none);\n"
              "on a server, peer ID picks the gateway (tunnel id; default the first)"}},
    {"capture", {"capture PORT|PATH [--count N] [--duration S] [--snaplen N] [--dir rx|tx|both] -w FILE",
                 "write packets seen on a port to FILE (pcapng, written by the dataplane);\n"
                 "stops after N packets or S seconds (one is required), or on Ctrl-C"}},
};

void usage_all(FILE* f) {
  std::fprintf(f, "usage: mpfctl [--socket PATH] [--json] COMMAND [ARGS]\n\ncommands:\n");
  for (const auto& [name, h] : kHelp) std::fprintf(f, "  %s\n", h.synopsis);
  std::fprintf(f,
               "\n  help COMMAND, COMMAND --help: details\n\n"
               "--socket PATH   mpf-controld's socket (default /run/mpf/control.sock, or $MPF_SOCKET)\n"
               "--json          print the daemon's result as JSON\n"
               "exit status: 0 ok, 1 error from mpf-controld, 2 usage, 3 mpf-controld unreachable\n");
}

int help_for(const std::string& cmd) {
  auto it = kHelp.find(cmd);
  if (it == kHelp.end()) {
    std::fprintf(stderr, "mpfctl: no command \"%s\"\n", cmd.c_str());
    usage_all(stderr);
    return kUsage;
  }
  std::printf("usage: mpfctl [--socket PATH] [--json] %s\n\n%s\n", it->second.synopsis, it->second.text);
  return kOk;
}

int usage_error(const std::string& cmd, const std::string& why) {
  std::fprintf(stderr, "mpfctl: %s\n", why.c_str());
  auto it = kHelp.find(cmd);
  if (it != kHelp.end()) std::fprintf(stderr, "usage: mpfctl %s\n", it->second.synopsis);
  std::fprintf(stderr, "Try 'mpfctl --help'.\n");
  return kUsage;
}

struct UsageError {
  std::string why;
};

struct Unreachable {
  std::string why;
};

std::optional<uint64_t> number(const std::string& s, uint64_t lo, uint64_t hi) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  uint64_t v = std::strtoull(s.c_str(), nullptr, 10);
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

std::optional<double> seconds(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end || !(v > 0) || v > 86400) return std::nullopt;
  return v;
}

// Sleeps up to ms, returning early on Ctrl-C.
void nap(uint64_t ms) {
  for (uint64_t slept = 0; slept < ms && !g_interrupted; slept += 50) {
    timespec ts{0, 50'000'000};
    nanosleep(&ts, nullptr);
  }
}

class Session {
 public:
  Session(std::string socket, bool as_json) : socket_(std::move(socket)), json_(as_json) {}

  // The result of cmd, or nullopt after printing the daemon's error (exit code 1).
  std::optional<json> call(const std::string& cmd, const json& args = json()) {
    if (!connected_) {
      std::string err;
      if (!client_.connect(socket_, &err)) throw Unreachable{err};
      connected_ = true;
    }
    json resp;
    try {
      resp = client_.call(cmd, args);
    } catch (const std::runtime_error& e) {
      throw Unreachable{e.what()};
    }
    if (resp.value("ok", false) && resp.contains("result")) return resp["result"];
    const json& e = resp.contains("error") && resp["error"].is_object() ? resp["error"] : json::object();
    std::fprintf(stderr, "mpfctl: %s: %s\n", e.value("code", std::string("failed")).c_str(),
                 e.value("message", std::string("(no message)")).c_str());
    return std::nullopt;
  }

  void print(const json& result, std::string (*view)(const json&)) const {
    if (json_) {
      std::printf("%s\n", result.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    } else {
      std::fputs(view(result).c_str(), stdout);
    }
  }

  bool as_json() const { return json_; }
  const std::string& socket() const { return socket_; }

 private:
  std::string socket_;
  bool json_;
  Client client_;
  bool connected_ = false;
};

int simple(Session& s, const std::string& cmd, std::string (*view)(const json&)) {
  auto r = s.call(cmd);
  if (!r) return kDaemonError;
  s.print(*r, view);
  return kOk;
}

std::string stats_once(const json& r) { return view_stats(r, json()); }

int cmd_stats(Session& s, const std::vector<std::string>& a) {
  bool watch = false;
  double interval = 1;
  for (size_t i = 0; i < a.size(); i++) {
    if (a[i] != "--watch" && a[i] != "-w") throw UsageError{"stats: unknown argument \"" + a[i] + "\""};
    watch = true;
    if (i + 1 < a.size()) {
      auto v = seconds(a[++i]);
      if (!v) throw UsageError{"stats --watch: INTERVAL is seconds (0 < s <= 86400), not \"" + a[i] + "\""};
      interval = *v;
    }
  }
  if (!watch) {
    auto r = s.call("stats");
    if (!r) return kDaemonError;
    s.print(*r, stats_once);
    return kOk;
  }
  json prev;
  while (!g_interrupted) {
    auto r = s.call("stats");
    if (!r) return kDaemonError;
    if (s.as_json()) {
      std::printf("%s\n", r->dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    } else {
      std::printf("\033[H\033[2J%s", view_stats(*r, prev).c_str());
    }
    std::fflush(stdout);
    prev = *r;
    nap(uint64_t(interval * 1000));
  }
  return kOk;
}

int cmd_flows(Session& s, const std::vector<std::string>& a) {
  json args = json::object();
  for (size_t i = 0; i < a.size(); i++) {
    if (i + 1 >= a.size()) throw UsageError{"flows: " + a[i] + " needs a value"};
    const std::string& v = a[i + 1];
    if (a[i] == "--top") {
      auto n = number(v, 1, 256);
      if (!n) throw UsageError{"flows --top: 1..256, not \"" + v + "\""};
      args["top"] = *n;
    } else if (a[i] == "--proto") {
      args["proto"] = v;
    } else if (a[i] == "--addr") {
      args["addr"] = v;
    } else if (a[i] == "--port") {
      auto n = number(v, 1, 65535);
      if (!n) throw UsageError{"flows --port: 1..65535, not \"" + v + "\""};
      args["port"] = *n;
    } else {
      throw UsageError{"flows: unknown argument \"" + a[i] + "\""};
    }
    i++;
  }
  auto r = s.call("flows", args);
  if (!r) return kDaemonError;
  s.print(*r, view_flows);
  return kOk;
}

// "off", or "delay=20ms,jitter=2ms,loss=1%,rate=30M,queue=50ms,dir=rx": path.set's impairment.
json impairment_arg(const std::string& v) {
  if (v == "off") return "off";
  json o = json::object();
  size_t start = 0;
  while (start <= v.size()) {
    size_t end = v.find(',', start);
    if (end == std::string::npos) end = v.size();
    const std::string item = v.substr(start, end - start);
    start = end + 1;
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq), val = eq == std::string::npos ? "" : item.substr(eq + 1);
    auto fail = [&](const std::string& what) {
      throw UsageError{"path set: impair " + key + " is " + what + ", not \"" + val + "\""};
    };
    if (key == "delay" || key == "jitter" || key == "queue") {
      auto ms = parse_duration_ms(val);
      if (!ms) fail("a time like 20ms, 500us or 1s");
      o[key + "_ms"] = *ms;
    } else if (key == "loss") {
      auto pct = parse_percent(val);
      if (!pct) fail("a percentage like 1% or 0.5%");
      o["loss_pct"] = *pct;
    } else if (key == "rate") {
      if (!parse_bit_rate(val)) fail("bit/s like 30M or 1.5G");
      o["rate"] = val;
    } else if (key == "dir" || key == "direction") {
      if (val != "both" && val != "tx" && val != "rx") fail("both, tx or rx");
      o["direction"] = val;
    } else {
      throw UsageError{"path set: impair takes delay=, jitter=, loss=, rate=, queue= and dir=, or "
                       "off; not \"" + item + "\""};
    }
  }
  return o;
}

int cmd_path(Session& s, const std::vector<std::string>& a) {
  if (a.empty() || a[0] != "set") throw UsageError{"path: the subcommand is \"set\""};
  if (a.size() < 2) throw UsageError{"path set: which path? (mpfctl paths lists them)"};
  json args{{"path", a[1]}};
  for (size_t i = 2; i < a.size(); i++) {
    const std::string& w = a[i];
    if (w == "up" || w == "down" || w == "auto") {
      args["state"] = w;
      continue;
    }
    if (i + 1 >= a.size()) throw UsageError{"path set: \"" + w + "\" needs a value"};
    const std::string& v = a[++i];
    if (w == "weight") {
      auto n = number(v, 1, 1000);
      if (!n) throw UsageError{"path set: weight is 1..1000, not \"" + v + "\""};
      args["weight"] = *n;
    } else if (w == "max-rate" || w == "max_rate") {
      if (v != "auto" && !parse_bit_rate(v))
        throw UsageError{"path set: max-rate is bit/s like 48M or 1.5G, or auto, not \"" + v + "\""};
      args["max_rate"] = v;
    } else if (w == "impair" || w == "impairment") {
      args["impairment"] = impairment_arg(v);
    } else if (w == "peer") {
      auto n = number(v, 0, 0xffffffffull);
      if (!n) throw UsageError{"path set: peer is a tunnel id, not \"" + v + "\""};
      args["peer"] = *n;
    } else {
      throw UsageError{"path set: unknown argument \"" + w + "\""};
    }
  }
  if (args.size() == 1) throw UsageError{"path set " + a[1] + ": nothing to set (up|down|auto, weight, max-rate, impair)"};
  auto r = s.call("path.set", args);
  if (!r) return kDaemonError;
  s.print(*r, view_path_set);
  return kOk;
}

// Copies the finished capture SRC (in the dataplane's capture directory) into OUT; "" or why not.
std::string copy_capture(const std::string& src, int out) {
  if (src.empty()) return "the dataplane did not say where it wrote the capture";
  const int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) return "cannot read " + src + ": " + std::strerror(errno);
  char buf[65536];
  std::string why;
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      why = "reading " + src + ": " + std::strerror(errno);
      break;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out, buf + off, size_t(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        why = std::string("writing the copy: ") + std::strerror(errno);
        break;
      }
      off += w;
    }
    if (!why.empty()) break;
  }
  ::close(in);
  return why;
}

int cmd_capture(Session& s, const std::vector<std::string>& a) {
  json args{{"action", "start"}};
  std::string port, file;
  for (size_t i = 0; i < a.size(); i++) {
    const std::string& w = a[i];
    if (w.empty() || w[0] != '-') {
      if (!port.empty()) throw UsageError{"capture: one port, not \"" + port + "\" and \"" + w + "\""};
      port = w;
      continue;
    }
    if (i + 1 >= a.size()) throw UsageError{"capture: " + w + " needs a value"};
    const std::string& v = a[++i];
    if (w == "-w" || w == "--write") {
      file = v;
    } else if (w == "--count" || w == "-c") {
      auto n = number(v, 1, 0xffffffffull);
      if (!n) throw UsageError{"capture --count: a number of packets, not \"" + v + "\""};
      args["count"] = *n;
    } else if (w == "--duration") {
      auto d = seconds(v);
      if (!d) throw UsageError{"capture --duration: seconds (0 < s <= 86400), not \"" + v + "\""};
      args["duration"] = *d;
    } else if (w == "--snaplen") {
      auto n = number(v, 1, 65535);
      if (!n) throw UsageError{"capture --snaplen: 1..65535, not \"" + v + "\""};
      args["snaplen"] = *n;
    } else if (w == "--dir") {
      if (v != "rx" && v != "tx" && v != "both") throw UsageError{"capture --dir: rx, tx or both"};
      args["dir"] = v;
    } else {
      throw UsageError{"capture: unknown argument \"" + w + "\""};
    }
  }
  if (port.empty()) throw UsageError{"capture: which port or path?"};
  if (file.empty()) throw UsageError{"capture: -w FILE.pcapng is required"};
  if (!args.contains("count") && !args.contains("duration"))
    throw UsageError{"capture: give --count N or --duration S (or both)"};
  // Our own file first, with our own rights: a FILE we may not write fails before anything runs.
  const int out = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) throw UsageError{"capture: cannot write " + file + ": " + std::strerror(errno)};
  // The dataplane (root) writes only new files in its capture directory; we copy from there.
  args["port"] = port;
  args["file"] = "mpfctl-" + std::to_string(::getpid()) + "-" + std::to_string(::time(nullptr)) + ".pcapng";
  auto r = s.call("capture", args);
  if (!r) {
    ::close(out);
    ::unlink(file.c_str());
    return kDaemonError;
  }
  if (!s.as_json())
    std::fprintf(stderr, "capturing on %s into %s (Ctrl-C stops)\n", port.c_str(), file.c_str());
  json last = *r;
  while (last.value("active", false)) {
    nap(300);
    auto st = s.call("capture", json{{"action", g_interrupted ? "stop" : "status"}});
    if (!st) {
      ::close(out);
      return kDaemonError;
    }
    last = *st;
    if (g_interrupted) break;
  }
  const std::string src = last.value("file", std::string());
  std::string why = copy_capture(src, out);
  ::close(out);
  if (!why.empty()) {
    std::fprintf(stderr, "mpfctl: capture: %s (the capture stays in %s)\n", why.c_str(), src.c_str());
    return kDaemonError;
  }
  if (::unlink(src.c_str()) != 0)
    std::fprintf(stderr, "mpfctl: warning: could not remove %s: %s\n", src.c_str(), std::strerror(errno));
  last["file"] = file;
  s.print(last, view_capture);
  return kOk;
}

int run(int argc, char** argv) {
  std::string socket = "/run/mpf/control.sock";
  if (const char* e = std::getenv("MPF_SOCKET"); e && *e) socket = e;
  bool as_json = false, want_help = false;
  std::vector<std::string> words;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--socket") {
      if (i + 1 >= argc) return usage_error("", "--socket needs a path");
      socket = argv[++i];
    } else if (a.rfind("--socket=", 0) == 0) {
      socket = a.substr(9);
    } else if (a == "--json") {
      as_json = true;
    } else if (a == "--help" || a == "-h") {
      want_help = true;
    } else if (a == "--version") {
      std::printf("mpfctl %s\n", MPF_VERSION);
      return kOk;
    } else {
      words.push_back(a);
    }
  }
  if (words.empty()) {
    if (want_help) {
      usage_all(stdout);
      return kOk;
    }
    usage_all(stderr);
    return kUsage;
  }
  std::string cmd = words[0];
  std::vector<std::string> rest(words.begin() + 1, words.end());
  if (cmd == "help") return rest.empty() ? (usage_all(stdout), kOk) : help_for(rest[0]);
  if (!kHelp.count(cmd)) return usage_error("", "unknown command \"" + cmd + "\"");
  if (want_help) return help_for(cmd);

  struct sigaction sa{};
  sa.sa_handler = on_sigint;  // no SA_RESTART: a blocked read returns and the loops see the flag
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  Session s(socket, as_json);
  try {
    bool no_args = cmd != "stats" && cmd != "flows" && cmd != "path" && cmd != "capture";
    if (no_args && !rest.empty()) throw UsageError{cmd + " takes no arguments"};
    if (cmd == "stats") return cmd_stats(s, rest);
    if (cmd == "flows") return cmd_flows(s, rest);
    if (cmd == "path") return cmd_path(s, rest);
    if (cmd == "capture") return cmd_capture(s, rest);
    static const std::map<std::string, std::string (*)(const json&)> views = {
        {"status", view_status}, {"ports", view_ports}, {"paths", view_paths},
        {"lcores", view_lcores}, {"drops", view_drops}, {"nat", view_nat},
        {"config", view_config}, {"policy", view_policy}};
    return simple(s, cmd, views.at(cmd));
  } catch (const UsageError& e) {
    return usage_error(cmd, e.why);
  } catch (const Unreachable& e) {
    std::fprintf(stderr,
                 "mpfctl: cannot reach mpf-controld at %s: %s (is mpf-controld running? --socket PATH)\n",
                 socket.c_str(), e.why.c_str());
    return kUnreachable;
  }
}

}  // namespace
}  // namespace mpf::control

int main(int argc, char** argv) { return mpf::control::run(argc, argv); }
