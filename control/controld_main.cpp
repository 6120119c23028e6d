// mpf-controld: serves the control API (docs/control-api.md) for one dataplane. It holds no
// state of its own (everything lives in the dataplane's region), so restarting it loses
// nothing, and forwarding never waits for it.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "dataplane_link.hpp"
#include "server.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

const char kUsage[] =
    "usage: mpf-controld (--dataplane NAME | --shm PATH) [--socket PATH] [--metrics [HOST:]PORT]\n"
    "                    [--foreground]\n"
    "  --dataplane NAME   the dataplane's control.name: region /dev/shm/mpf-NAME\n"
    "  --shm PATH         the region file itself\n"
    "  --socket PATH      control socket (default /run/mpf/control.sock)\n"
    "  --metrics ADDR     serve Prometheus metrics on HOST:PORT (PORT alone: 127.0.0.1)\n"
    "  --foreground       run in the foreground, log to stderr (the only mode)\n";

int usage(const char* why) {
  if (why) std::fprintf(stderr, "mpf-controld: %s\n", why);
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string region;
  mpf::control::ServerOptions opt;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("mpf-controld %s\n", MPF_VERSION);
      return 0;
    } else if (a == "--foreground") {
      continue;
    } else if (a == "--dataplane" || a == "--shm") {
      const char* v = value();
      if (!v || !*v) return usage((a + " needs a value").c_str());
      if (!region.empty()) return usage("give one of --dataplane and --shm, once");
      if (a == "--dataplane" && std::strchr(v, '/')) return usage("--dataplane takes a name; use --shm for a path");
      region = v;
    } else if (a == "--socket") {
      const char* v = value();
      if (!v) return usage("--socket needs a path");
      opt.socket_path = v;
    } else if (a == "--metrics") {
      const char* v = value();
      if (!v) return usage("--metrics needs [HOST:]PORT");
      opt.metrics = v;
    } else {
      return usage(("unknown argument \"" + a + "\"").c_str());
    }
  }
  if (region.empty()) return usage("--dataplane NAME or --shm PATH is required");

  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  mpf::control::DataplaneLink link(region);
  mpf::control::Server server(&link, opt);
  std::string err;
  if (!server.open(&err)) {
    std::fprintf(stderr, "mpf-controld: %s\n", err.c_str());
    return 1;
  }
  std::fprintf(stderr, "mpf-controld %s: serving %s%s%s for region %s\n", MPF_VERSION,
               opt.socket_path.c_str(), opt.metrics.empty() ? "" : ", metrics on ",
               opt.metrics.c_str(), mpf::shm::region_path(region).c_str());
  server.run(&g_stop);
  std::fprintf(stderr, "mpf-controld: stopping\n");
  return 0;
}
