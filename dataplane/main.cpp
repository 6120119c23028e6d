// mpf-dataplane [EAL args] -- --config FILE [--version] [--help]
//
// Start-up order: our options, the whole config (exit 2 on any error, before EAL touches a
// port), EAL, the config's ports against EAL's devices (exit 2), mempool, ports, per-lcore
// state, lcores. SIGINT/SIGTERM stop the lcores; ports are stopped and counters printed.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf_dyn.h>
#include <rte_random.h>
#include <rte_version.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "app.hpp"
#include "capture.hpp"
#include "config/config.hpp"
#include "housekeeping.hpp"
#include "ports.hpp"
#include "shm/region.hpp"
#include "stats_view.hpp"
#include "telemetry.hpp"
#include "worker.hpp"

using namespace mpf;
using namespace mpf::dp;

namespace {

App* g_app = nullptr;

void on_signal(int) {
  if (g_app) g_app->quit.store(true, std::memory_order_relaxed);
}

const char kUsage[] =
    "usage: mpf-dataplane [EAL options] -- --config FILE\n"
    "       mpf-dataplane -- --version | --help\n"
    "\n"
    "  --config FILE  appliance configuration (libconfig; see docs/configuration.md)\n"
    "  --name NAME    stats region /dev/shm/mpf-NAME for mpf-controld (default: control.name,\n"
    "                 else the role)\n"
    "  --capture PORT:FILE[:COUNT]\n"
    "                 capture interface PORT (rx and tx) to FILE (pcapng) from start-up:\n"
    "                 COUNT packets, else until exit (docs/operations.md, \"Capture\")\n"
    "  --version      print the version and exit\n"
    "  --help         this text\n"
    "\n"
    "Example: mpf-dataplane -l 0-3 -a 0000:03:00.0 -a 0000:04:00.0 -- --config gateway.conf\n"
    "Exit status: 0 clean stop, 1 start-up failure, 2 bad configuration or usage.\n";

struct Options {
  std::string config;
  std::string name;
  std::string capture;  // --capture PORT:FILE[:COUNT]
};

// Parses what follows "--". Exits on --help/--version/usage errors.
Options parse_options(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--version") {
      std::printf("mpf-dataplane %s (%s)\n", MPF_VERSION, rte_version());
      std::exit(0);
    } else if (a == "--config") {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "mpf-dataplane: --config needs a FILE\n%s", kUsage);
        std::exit(2);
      }
      o.config = args[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      o.config = a.substr(9);
    } else if (a == "--name") {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "mpf-dataplane: --name needs a NAME\n%s", kUsage);
        std::exit(2);
      }
      o.name = args[++i];
    } else if (a == "--capture" || a.rfind("--capture=", 0) == 0) {
      if (a == "--capture" && i + 1 >= args.size()) {
        std::fprintf(stderr, "mpf-dataplane: --capture needs PORT:FILE[:COUNT]\n%s", kUsage);
        std::exit(2);
      }
      o.capture = a == "--capture" ? args[++i] : a.substr(10);
    } else {
      std::fprintf(stderr, "mpf-dataplane: unknown option '%s'\n%s", a.c_str(), kUsage);
      std::exit(2);
    }
  }
  if (o.config.empty()) {
    std::fprintf(stderr, "mpf-dataplane: --config FILE is required (after --)\n%s", kUsage);
    std::exit(2);
  }
  return o;
}

[[noreturn]] void die(int code, const std::string& msg) {
  std::fprintf(stderr, "mpf-dataplane: %s\n", msg.c_str());
  std::exit(code);
}

// The configuration file as read at start (shown by `mpfctl config`); empty if unreadable now.
std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

int lcore_main(void* arg) {
  static_cast<Worker*>(arg)->run(nullptr);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Split EAL arguments from ours.
  int sep = -1;
  for (int i = 1; i < argc; i++)
    if (std::strcmp(argv[i], "--") == 0) {
      sep = i;
      break;
    }
  std::vector<std::string> ours;
  for (int i = sep < 0 ? argc : sep + 1; i < argc; i++) ours.emplace_back(argv[i]);
  for (int i = 1; i < (sep < 0 ? argc : sep); i++)  // --help/--version before "--" too
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "--version"))
      ours.emplace_back(argv[i]);
  Options opt = parse_options(ours);

  static App app;
  g_app = &app;
  try {
    app.cfg = config::load(opt.config);
  } catch (const config::ConfigError& e) {
    die(2, e.what());
  }
  app.gateway = app.cfg.role == config::Role::gateway;
  if (!opt.name.empty()) {
    if (opt.name.size() > 31 || opt.name.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != std::string::npos)
      die(2, "--name: 1 to 31 letters, digits, '-', '_' or '.'");
    app.cfg.control.name = opt.name;
  }
  if (app.cfg.control.name.empty()) app.cfg.control.name = app.gateway ? "gateway" : "server";

  int eal_argc = sep < 0 ? argc : sep;
  if (rte_eal_init(eal_argc, argv) < 0) die(1, std::string("EAL init failed: ") + rte_strerror(rte_errno));
  try {
    config::check_ports(app.cfg, eal_port_names());
  } catch (const config::ConfigError& e) {
    rte_eal_cleanup();
    die(2, e.what());
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  // The stats region: every lcore's counters live there from the start.
  std::string err;
  // static: die() (std::exit) still runs its destructor, which unlinks the file.
  static std::unique_ptr<shm::MappedRegion> region;
  region = shm::MappedRegion::create(app.cfg.control.name, &err);
  if (!region) {
    rte_eal_cleanup();
    die(1, err);
  }
  app.shm = region->get();

  app.tsc_hz = rte_get_tsc_hz();
  app.tsc_per_us = std::max<uint64_t>(1, app.tsc_hz / 1000000);
  app.epoch = uint16_t(rte_rand() | 1);
  // Our session (docs/protocol.md 6): a fresh salt, hence fresh keys, on every start.
  if (std::string why = tunnel::crypto_init(); !why.empty()) {
    rte_eal_cleanup();
    die(1, why);
  }
  std::printf("mpf-dataplane: frames authenticated with AES-256-GCM (intel-ipsec-mb, %s)\n",
              tunnel::crypto_arch());
  app.salt = tunnel::random_salt();
  app.start_ms = uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
  std::vector<unsigned> worker_lcores;
  unsigned lc;
  RTE_LCORE_FOREACH_WORKER(lc) worker_lcores.push_back(lc);
  app.main_is_worker = worker_lcores.empty();
  if (app.main_is_worker) worker_lcores.push_back(rte_get_main_lcore());
  // Receivers tell at most kMaxSenders sender lcores apart (docs/multipath.md, "Streams").
  if (worker_lcores.size() > kMaxSenders)
    die(1, "too many lcores: at most " + std::to_string(kMaxSenders) + " workers");
  app.n_workers = unsigned(worker_lcores.size());
  app.main_txq = app.main_is_worker ? 0 : uint16_t(app.n_workers);

  static const rte_mbuf_dynfield meta_desc = {"mpf_meta", sizeof(PktMeta), alignof(PktMeta), 0};
  app.meta_offset = rte_mbuf_dynfield_register(&meta_desc);
  if (app.meta_offset < 0) die(1, "cannot register mbuf field");
  {
    // Descriptors can pin this many mbufs at once, plus per-lcore caches and the rings; a pool
    // below that starves RX (rx_nombuf) under load. Warn rather than refuse: vdevs such as
    // net_af_packet do not fill their RX descriptors with mbufs.
    const auto& dp = app.cfg.dataplane;
    const size_t ports = app.cfg.interfaces().size();
    const size_t lcores = app.n_workers + (app.main_is_worker ? 0 : 1);
    size_t need = ports * (size_t(app.n_workers) * dp.rx_desc + lcores * dp.tx_desc) +
                  lcores * 256 + size_t(app.n_workers) * app.n_workers * 1024 +
                  size_t(app.n_workers) * 1024;
    if (dp.mbufs < need)
      std::printf("mpf-dataplane: warning: dataplane.mbufs = %u is below the %zu mbufs the "
                  "descriptors, caches and rings can hold; raise it if rx_nombuf grows\n",
                  dp.mbufs, need);
  }
  app.pool = rte_pktmbuf_pool_create("mpf_mbufs", app.cfg.dataplane.mbufs, 256, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, int(rte_socket_id()));
  if (!app.pool) die(1, std::string("cannot create mbuf pool: ") + rte_strerror(rte_errno));

  if (!open_ports(app, &err)) die(1, err);
  // Before any lcore runs: they tap through it. Unavailable capture does not stop us.
  static Capture capture(app);
  capture.init();
  app.capture = &capture;
  if (!opt.capture.empty()) {
    bool usage = false;
    if (!capture.start_option(opt.capture, &err, &usage)) die(usage ? 2 : 1, err);
  }

  app.partition.first = app.cfg.nat.port_first;
  app.partition.last = app.cfg.nat.port_last;
  app.partition.shares = app.n_workers;
  std::vector<nat::PortForward> fwds;
  for (const auto& r : app.cfg.nat.port_forwards) fwds.push_back(r.fwd);
  app.forwards = nat::PortForwards(std::move(fwds));
  if (app.gateway) {  // the gateway's one peer: its server, over every path
    app.peers.emplace_back();
    app.peers[0].tunnel_id = app.cfg.tunnel.id;
    app.peers[0].tunnel_addr = app.cfg.tunnel.server.addr;
    app.peers[0].n_paths = uint8_t(app.cfg.paths.size());
    app.peers[0].auth.psk = app.cfg.tunnel.key;
  } else {
    for (const auto& p : app.cfg.peers) {
      app.peers.emplace_back();
      app.peers.back().tunnel_id = p.tunnel_id;
      app.peers.back().tunnel_addr = p.tunnel_address;
      app.peers.back().n_paths = uint8_t(std::min<size_t>(app.cfg.path_profiles.size(), kMaxPaths));
      app.peers.back().auth.psk = p.key;
    }
  }
  for (PeerState& p : app.peers)
    p.auth.tx = tunnel::Sealer(p.auth.psk,
                               app.gateway ? tunnel::Direction::gateway_to_server
                                           : tunnel::Direction::server_to_gateway,
                               app.salt);
  for (PeerState& p : app.peers)
    for (unsigned k = 0; k < p.n_paths; k++) {
      p.paths[k].ctl.weight = app.cfg.path_profiles[k].weight;
      p.paths[k].ctl.max_rate_bps = app.cfg.path_profiles[k].max_rate_bps;
      PathPub::Value v;  // down until probes say otherwise; shaping and weight from the start
      v.rate_Bps = p.paths[k].ctl.max_rate_bps == config::kAutoRate
                       ? PathRates::kAutoStartBps / 8
                       : p.paths[k].ctl.max_rate_bps / 8;
      v.weight = p.paths[k].ctl.weight;
      p.paths[k].pub.write(v);
      // The configured impairment: the lcores take it on their first pass (impair_gen 1).
      const config::Impairment& im = app.cfg.path_profiles[k].impair;
      for (unsigned dir = 0; dir < 2; dir++) {
        if (!(im.dirs & (1u << dir))) continue;
        p.paths[k].impair[dir] = im.params;
        app.impair_gen = 1;
      }
      if (im.dirs && &p == &app.peers.front())
        std::printf("mpf-dataplane: path %s impaired by configuration (%s): delay %u us, "
                    "jitter %u us, loss %u ppm, rate %llu bit/s, queue %u us\n",
                    app.cfg.path_profiles[k].name.c_str(),
                    im.dirs == 3 ? "both ways" : im.dirs == 1 ? "sending" : "receiving",
                    im.params.delay_us, im.params.jitter_us, im.params.loss_ppm,
                    (unsigned long long)(im.params.rate_Bps * 8), im.params.queue_us);
    }
  for (const auto& s : app.cfg.static_arp) app.neighbors.update(s.address, s.mac, true);

  for (unsigned i = 0; i < app.n_workers; i++) {
    auto w = std::make_unique<Worker>(app, i, worker_lcores[i]);
    w->txq = uint16_t(i);
    for (const Port& p : app.ports)
      for (unsigned q = i; q < p.nb_rxq; q += app.n_workers)  // more queues than workers: in turn
        w->rx_queues().push_back({p.index, uint16_t(q)});
    if (!w->init(&err)) die(1, err);
    app.workers.push_back(std::move(w));
  }
  for (unsigned a = 0; a < app.n_workers && app.n_workers > 1; a++)
    for (unsigned b = 0; b < app.n_workers; b++) {
      if (a == b) continue;
      std::string name = "mpf_ho_" + std::to_string(a) + "_" + std::to_string(b);
      app.handoff[a][b] = rte_ring_create(name.c_str(), 1024, int(rte_socket_id()),
                                          RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!app.handoff[a][b]) die(1, "cannot create handoff ring " + name);
    }
  static Housekeeping hk(app);
  if (!hk.init(&err)) die(1, err);
  register_telemetry(&app, &hk);
  hk.publisher().start(read_text(opt.config));

  if (!app.main_is_worker)
    for (auto& w : app.workers) rte_eal_remote_launch(lcore_main, w.get(), w->lcore_id());

  std::printf("mpf-dataplane: running as %s, %u worker lcore(s)%s, %zu port(s), inner MTU %u\n",
              app.gateway ? "gateway" : "server", app.n_workers,
              app.main_is_worker ? " (main lcore polls too)" : "", app.ports.size(),
              app.cfg.tunnel.inner_mtu);
  for (const Port& p : app.ports)
    std::printf("mpf-dataplane:   %-6s %s %s %s rxq %u txq %u\n", p.iface->name.c_str(),
                p.iface->port.c_str(), net::to_string(p.iface->address).c_str(),
                net::to_string(p.mac).c_str(), p.nb_rxq, p.nb_txq);
  std::fflush(stdout);

  if (app.main_is_worker) app.workers[0]->run(&hk);
  else hk.run();

  rte_eal_mp_wait_lcore();
  std::printf("mpf-dataplane: stopping\n");
  for (const Port& p : app.ports) rte_eth_dev_stop(p.port_id);
  hk.release();
  for (auto& w : app.workers) w->release();
  capture.release();  // the last copies written, the file closed
  std::fputs(format_stats(app, collect_stats(app, hk)).c_str(), stdout);
  std::fflush(stdout);
  close_ports(app);
  app.workers.clear();  // NAT tables live in EAL memory: free them before EAL goes
  rte_eal_cleanup();
  region.reset();  // unlinks /dev/shm/mpf-NAME: mpf-controld sees the dataplane gone
  return 0;
}
