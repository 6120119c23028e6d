// The main lcore's work: ARP (answers, requests, held packets), ICMP echo for the appliance's
// own addresses, learning the gateways' path addresses (server), tunnel keepalive probes
// (gateway). Slow path only: packets reach it through the workers' rings.
#pragma once
#include <rte_mbuf.h>

#include <vector>

#include "app.hpp"
#include "commands.hpp"
#include "path/path_health.hpp"
#include "path/probe_cadence.hpp"
#include "path_rate.hpp"
#include "sched/load_shares.hpp"
#include "impairments.hpp"
#include "shm_publish.hpp"
#include "tunnel/wire.hpp"
#include "tx_buffer.hpp"

namespace mpf::dp {

class Housekeeping {
 public:
  explicit Housekeeping(App& app)
      : app_(app),
        stats_(app.shm->lcores[app.n_workers].stats),
        path_tx_(app.peers.size() * kMaxPaths),
        publisher_(app, path_tx_),
        commands_(app, [this] { path_settings_changed(); }),
        rates_(app.cfg.multipath.rate_control, app.cfg.multipath.queue_target_ms,
               app.cfg.multipath.probe_interval_ms, app.peers.size() * kMaxPaths) {}
  bool init(std::string* error);
  // One pass over the workers' rings and the timers. Returns the packets it handled.
  unsigned poll(uint64_t tsc);
  // The main lcore's loop when it is not also a worker.
  void run();
  // Frees what is still held or in flight between lcores, counted (shutdown).
  void release();
  const LcoreStats& stats() const { return stats_; }
  StatsPublisher& publisher() { return publisher_; }

 private:
  struct HoldQueue {
    net::Ipv4 ip = 0;
    uint8_t port = 0;
    uint16_t n = 0;
    uint64_t since_ms = 0, last_request_ms = 0;
    std::vector<rte_mbuf*> pkts;  // capacity arp_hold, reserved at start
  };

  void local_frame(rte_mbuf* m);
  void arp_frame(rte_mbuf* m, const Port& in);
  void ipv4_local(rte_mbuf* m, const Port& in);
  void held_frame(rte_mbuf* m);
  void learn(const LearnMsg& msg);
  // Tunnel control frames the workers pass up (probe on the server, probe_reply on the gateway).
  void control_frame(rte_mbuf* m);
  bool adopt_session(uint16_t peer, const tunnel::Header& h, const tunnel::SessionAnnounce& an);
  void learn_from(const Port& in, const net::Ipv4Packet& outer, uint16_t peer, uint8_t path_id);
  // at_us: when the worker received the frame.
  void on_probe(rte_mbuf* m, uint16_t peer, const tunnel::Header& h, const uint8_t* body,
                size_t body_len, uint64_t at_us);
  void on_probe_reply(uint16_t peer, const tunnel::Header& h, const uint8_t* body,
                      size_t body_len, uint64_t at_us);
  // Sums of the workers' per-path counters (frames/bytes received from the peer on the path).
  void path_rx(uint16_t peer, uint8_t path, uint64_t* frames, uint64_t* bytes) const;
  // Bytes sent to the peer on the path so far, by the workers and by this lcore.
  uint64_t path_tx_bytes(uint16_t peer, uint8_t path) const;
  void update_paths();
  // Several workers: splits each shaped path's rate among them by their load (every
  // kShareSplitUs; docs/multipath.md, "Shaping").
  void split_rates();
  // A command changed a path's admin state, weight or rate: publish it to the workers and to
  // the stats region before the command is answered, so the answer shows the new state.
  void path_settings_changed();
  void publish(uint16_t peer, uint8_t path, bool up, uint32_t srtt_us, uint32_t rttvar_us);
  void resolved(net::Ipv4 ip, const net::Mac& mac);
  void request(uint8_t port, net::Ipv4 target);
  void timers();
  // Gateway: a probe on every path, announcing interval_ms (the probe interval now).
  void send_probes(uint32_t interval_ms);
  // Gateway: whether a data frame went into or came out of the tunnel since the last call.
  bool data_moved();
  // Gateway: the probe interval changed (idle or busy again): every path's dead time follows.
  void set_probe_interval(uint32_t interval_ms);
  void drop(rte_mbuf* m, Drop why);
  // A probe or probe reply for (peer, path) leaves on port, through the path's send
  // impairment when there is one (Worker::to_path).
  void to_path(rte_mbuf* m, uint16_t peer, uint8_t path, uint8_t port);
  int port_for(net::Ipv4 addr) const;  // our port index whose prefix holds addr, or -1

  App& app_;
  TxBuffers tx_;
  LcoreStats& stats_;  // in app.shm, slot n_workers
  // Frames this lcore sends on each path (probes, probe replies) [peer * kMaxPaths + path];
  // the publisher adds them to the workers' figures.
  std::vector<PathCounters> path_tx_;
  StatsPublisher publisher_;
  CommandChannel commands_;
  std::vector<HoldQueue> holds_;
  uint64_t now_ms_ = 0;
  uint64_t next_timer_ms_ = 0;
  uint64_t next_probe_ms_ = 0;
  // Gateway: probes slow down while the tunnel is idle (path/probe_cadence.hpp).
  path::ProbeCadence cadence_{0, 0, 0, 0};
  uint32_t probe_interval_ms_ = 0;  // in force
  uint64_t data_frames_ = 0;        // the workers' encapsulated + decapsulated, last seen
  uint64_t now_us_ = 0;
  // Gateway: one PathHealth per path of its server. Server: what the gateways' probes say.
  std::vector<path::PathHealth> health_;       // [peer * kMaxPaths + path]
  struct ServerView {
    uint32_t gw_srtt_us = 0;          // the gateway's RTT on this path, from its probes
    uint32_t gw_rttvar_us = 0;        // and its variation (0: not said)
    uint64_t gw_rx_frames = 0;        // the gateway's count of our frames on this path
    uint64_t gw_rx_change_us = 0;     // when that count last moved
    uint64_t last_probe_us = 0;
    uint32_t gw_interval_ms = 0;      // the gateway's probe interval, from its probes
    bool up = false;
  };
  std::vector<ServerView> server_view_;        // [peer * kMaxPaths + path]
  std::vector<sched::LoadShares> shares_;      // [peer * kMaxPaths + path], several workers
  uint64_t next_split_us_ = 0;
  std::vector<uint32_t> probe_seq_;            // gateway: per path
  // Counters (nonces, docs/protocol.md 6) of our probes (gateway: per path) or probe replies
  // (server: per peer and path).
  std::vector<uint64_t> control_ctr_;
  // A peer session older than the one in use is adopted only after this much silence, or three
  // of the peer's probe intervals if longer.
  static constexpr uint64_t kSessionSilenceMs = 3000;
  std::vector<uint64_t> last_request_ms_;  // per path: ARP for the next hop
  uint16_t ip_id_ = 0;
  PathRates rates_;                            // [peer * kMaxPaths + path]
  bool operator_change_ = false;               // publish() runs for a command (path set)
  Impairments impair_;                         // this lcore's: probes and probe replies
};

}  // namespace mpf::dp
