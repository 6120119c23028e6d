// Everything the lcores share: built once by main() before the lcores start, then read-only
// except where a comment names the single writer.
#pragma once
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <cstring>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "arp/neighbor_cache.hpp"
#include "config/config.hpp"
#include "nat/nat_table.hpp"
#include "nat/port_partition.hpp"
#include "net/ipv4_packet.hpp"
#include "path/impairment.hpp"
#include "tunnel/auth.hpp"
#include "tunnel/wire.hpp"
#include "shm/layout.hpp"
#include "stats/lcore_stats.hpp"

namespace mpf::dp {

using stats::LcoreStats;
using stats::kStatPorts;

constexpr unsigned kMaxPorts = 16;     // interfaces per appliance
constexpr unsigned kMaxWorkers = 32;
// How often the main lcore splits a path's rate among the workers by their load: a flow in
// slow start outgrows its share within about one period, so it must be short against an RTT.
constexpr uint64_t kShareSplitUs = 5000;
constexpr unsigned kMaxPaths = 8;
constexpr unsigned kMaxSenders = 8;    // sender workers a receiver tells apart (stream_id >> 8)
constexpr unsigned kMaxBurst = 64;

enum class PortKind : uint8_t { lan, path, wan, tunnel };

struct Port {
  uint16_t port_id = 0;          // DPDK port id
  uint8_t index = 0;             // our index (into App::ports)
  PortKind kind = PortKind::lan;
  uint8_t path_id = 0;           // PortKind::path: the path id on the wire
  const config::Interface* iface = nullptr;
  net::Mac mac;
  uint16_t nb_rxq = 1, nb_txq = 1;
  // LAN port: inside packets go to the worker owning their source endpoint in software,
  // because the device does not hash on the source alone into one queue per worker.
  bool spread_inside = false;
};

// Where the server last heard a gateway's path from. Written by the main lcore only (seqlock),
// read by workers when they send towards that gateway.
struct LearnedPath {
  uint32_t seq = 0;
  uint64_t addr = 0;   // valid bit 63 | port index << 48 | udp port << 32 | ip
  uint64_t mac = 0;
  uint64_t last_ms = 0;  // main lcore: when a learn message last confirmed it

  struct Value {
    bool valid = false;
    uint8_t port_index = 0;
    uint16_t udp_port = 0;
    net::Ipv4 ip = 0;
    net::Mac mac;
  };
  Value read() const;                 // any thread
  void write(const Value& v);         // main lcore only
};

// A path's health as the main lcore last published it (seqlock: main writes, workers read
// once per loop pass).
struct PathPub {
  uint32_t seq = 0;
  uint64_t w0 = 0;  // up bit 63 | rttvar_us (31 bits) << 32 | owd_us (32 bits)
  uint64_t rate_Bps = 0;
  uint32_t weight = 1;

  struct Value {
    bool up = false;
    uint32_t owd_us = 0;     // one-way delay estimate (srtt / 2)
    uint32_t rttvar_us = 0;
    uint64_t rate_Bps = 0;   // what the path carries (shaping rate), 0 = unknown
    uint32_t weight = 1;     // weighted mode
  };
  Value read() const;            // any thread
  void write(const Value& v);    // main lcore only
};

// What the operator set for a path at run time (mpfctl path set). Main lcore only: it folds
// these into what it publishes.
struct PathCtl {
  shm::AdminState admin = shm::AdminState::automatic;  // up/down override the probes
  uint32_t weight = 1;
  uint64_t max_rate_bps = 0;  // 0 = unshaped
};

// One path of one peer, as every lcore sees it.
struct PathShared {
  LearnedPath learned;      // server: where the gateway's path is (gateway: unused)
  PathPub pub;              // health, published by main
  PathCtl ctl;              // main lcore only
  bool health_up = false;   // main lcore only: what probes say, before ctl.admin
  uint64_t last_rx_us = 0;  // RX workers store "a frame arrived now" (plain store, last wins)
  // Health figures for telemetry: main lcore stores them (relaxed), anyone reads.
  uint64_t srtt_us = 0, rttvar_us = 0, min_rtt_us = 0, loss_ppm = 0, delivery_Bps = 0;
  uint64_t rate_Bps = 0;    // our shaping rate in force (rate control), 0 = unshaped
  uint64_t queue_us = 0;    // our frames' queueing on the path, as the far end reports it
  // Each worker's part of rate_Bps (docs/multipath.md, "Shaping"): the main lcore splits it
  // by the workers' load every kShareSplitUs and stores it (relaxed); worker i reads slot i.
  // 0: not split yet (the worker takes rate / workers).
  uint64_t share_Bps[kMaxWorkers] = {};
  uint64_t changes = 0;     // up/down transitions
  // The operator's impairment of the path (path.set; docs/multipath.md, "Impairment"), per
  // direction [kImpairTx, kImpairRx]: the main lcore stores each field (relaxed) and then
  // bumps App::impair_gen; every lcore that sends or receives on the path follows it.
  path::ImpairParams impair[2];
};
constexpr unsigned kImpairTx = 0, kImpairRx = 1;

// Worker i's part of a path's rate: the main lcore's split by load (never above the rate), an
// even part until the first split, the rate itself with one worker.
inline uint64_t worker_share(const PathShared& ps, unsigned i, unsigned workers,
                             uint64_t rate_Bps) {
  if (workers == 1 || rate_Bps == 0) return rate_Bps;
  const uint64_t share = __atomic_load_n(&ps.share_Bps[i], __ATOMIC_RELAXED);
  return share ? (share < rate_Bps ? share : rate_Bps)
               : (rate_Bps / workers ? rate_Bps / workers : 1);
}

// One session of the peer (docs/protocol.md 6): what its frames are checked with.
struct RxSession {
  uint16_t epoch = 0;
  uint64_t start_ms = 0;
  tunnel::Salt salt{};
  tunnel::Sealer sealer;
  // The last counter verified per (type, sending lcore: 0..7 workers, 8 the main lcore, path):
  // the high bits of the next one (tunnel::extend_counter) and what "newer" means. Any worker
  // stores what it verified (relaxed, last wins; no read-modify-write). Zeroed by the main lcore
  // before it publishes the session.
  uint64_t last[4][kMaxSenders + 1][kMaxPaths] = {};
};
constexpr unsigned kRxSessionSlots = 4;

// Authentication with one peer.
struct PeerAuth {
  tunnel::Key psk{};
  tunnel::Sealer tx;           // our session's key towards this peer
  // The peer's sessions: the main lcore fills the slot after the current one, then publishes
  // its number + 1 in `current` (release); workers load `current` (acquire) per frame. A slot
  // is rewritten only after kRxSessionSlots - 1 more session changes (peer restarts, each
  // announced by a frame that verified), long after any worker finished with it.
  std::array<RxSession, kRxSessionSlots> rx;
  uint32_t current = 0;        // 0: no session yet
  uint64_t heard_ms = 0;       // main lcore: when the current session's last probe/reply came
  // main lcore: the last announcing frame's counter accepted per path (replays are older)
  std::array<uint64_t, kMaxPaths> announce_ctr{};
};

// The far appliance(s): the gateway has one peer (its server); the server one per gateway.
struct PeerState {
  uint32_t tunnel_id = 0;
  net::Ipv4 tunnel_addr = 0;    // server: the gateway's tunnel address
  uint8_t n_paths = 0;          // path ids in use: 0 .. n_paths-1
  std::array<PathShared, kMaxPaths> paths;
  PeerAuth auth;
};

// A worker's notice to the main lcore: "frames for peer P, path K now come from here".
struct LearnMsg {
  uint16_t peer = 0;
  uint8_t path_id = 0;
  uint8_t port_index = 0;
  uint16_t udp_port = 0;
  uint16_t pad = 0;
  net::Ipv4 ip = 0;
  uint8_t mac[6] = {};
  uint8_t pad2[2] = {};
};
static_assert(sizeof(LearnMsg) == 20);

// "(peer, path) is now where outer came from": its source address and port, the MAC of the hop
// it came through (its Ethernet header precedes outer.ip in the buffer), the port it came in on.
inline LearnMsg learn_msg(uint16_t peer, uint8_t path_id, const Port& in,
                          const net::Ipv4Packet& outer) {
  LearnMsg msg;
  msg.peer = peer;
  msg.path_id = path_id;
  msg.port_index = in.index;
  msg.udp_port = outer.sport;
  msg.ip = outer.src;
  std::memcpy(msg.mac, outer.ip - 14 + 6, 6);
  return msg;
}

// Per-packet metadata carried in an mbuf dynamic field between stages and lcores.
struct PktMeta {
  net::Ipv4 next_hop;   // kHold: address to resolve
  uint8_t out_port;     // kHold: our port index to send on
  uint8_t kind;
  uint16_t peer;        // kMetaReorder, kMetaFeedback
  uint32_t seq;         // kMetaReorder: stream_seq
  uint16_t stream;      // kMetaReorder: stream_id
  uint16_t epoch;       // kMetaReorder: sender epoch
  uint32_t release_us;  // kMetaReorder: deliver no earlier (32-bit us clock, delay equalisation);
                        // kMetaLocal: when the worker received it (same clock)
  uint8_t path;         // kMetaReorder: the path the frame came on
};
// kind: why the packet travels. To main: kMetaLocal (for the appliance), kMetaHold (waiting for
// ARP). Between workers: kMetaInside / kMetaOutside (which NAT direction the owner runs).
// kMetaReorder: a validated data frame for the worker owning its (peer, stream) window
// (meta.peer, meta.stream, meta.seq, meta.epoch filled); kMetaFeedback: a feedback frame's body
// for the worker that sent the frames it reports (meta.peer filled). kMetaControl: a probe
// (server) or probe reply (gateway) whose tag a worker verified, for the main lcore (meta.peer,
// release_us = arrival, out_port kControlUncounted or 0); the only tunnel frames the main lcore
// acts on.
enum : uint8_t {
  kMetaLocal = 1, kMetaHold = 2, kMetaInside = 3, kMetaOutside = 4, kMetaReorder = 5,
  kMetaFeedback = 6, kMetaControl = 7
};
// kMetaControl's out_port: the worker did not count the frame (a new session's first one).
constexpr uint8_t kControlUncounted = 1;

struct Worker;
class Capture;

struct App {
  config::Config cfg;
  bool gateway = true;
  std::vector<Port> ports;                         // by our index
  std::array<int16_t, RTE_MAX_ETHPORTS> by_port_id;  // DPDK port id -> our index, -1 if none
  rte_mempool* pool = nullptr;
  int meta_offset = -1;                            // PktMeta dynfield
  unsigned n_workers = 1;
  bool main_is_worker = true;                      // single lcore: main runs the worker loop
  uint16_t main_txq = 0;                           // main lcore's TX queue on every port
  nat::PortPartition partition;
  nat::PortForwards forwards;
  arp::NeighborCache neighbors;                    // writer: main lcore
  std::vector<PeerState> peers;                    // gateway: [server]; server: gateways
  uint64_t tsc_per_us = 1;
  // Bumped by the main lcore (plain store) whenever a path changes state: workers compare it
  // once per pass, so a path that dies is failed over even when nothing is being sent.
  uint64_t path_gen = 0;
  // Bumped by the main lcore (release) after it changed a path's impairment.
  uint64_t impair_gen = 0;
  std::vector<std::unique_ptr<Worker>> workers;
  rte_ring* handoff[kMaxWorkers][kMaxWorkers] = {};  // [from][to], SP/SC
  uint16_t epoch = 0;                              // our tunnel epoch (session, on the wire)
  tunnel::Salt salt{};                             // our session's salt (random at start)
  uint64_t start_ms = 0;                           // our session's start, wall clock ms
  uint64_t tsc_hz = 0;
  std::atomic<bool> quit{false};
  // The shared-memory stats region (shm/layout.hpp): every lcore's counters live in its slot
  // (workers: slot = worker index; the main lcore's housekeeping: slot n_workers). Set before
  // any Worker is built.
  shm::Region* shm = nullptr;
  Capture* capture = nullptr;                      // packet capture (dataplane/capture.hpp)

  // Indexes of the interfaces by role.
  int lan = -1, wan = -1;
  std::vector<uint8_t> path_ports;                 // gateway: our port index per path id

  PktMeta* meta(rte_mbuf* m) const { return RTE_MBUF_DYNFIELD(m, meta_offset, PktMeta*); }
  uint64_t now_ms(uint64_t tsc) const { return tsc / (tsc_hz / 1000); }
  uint64_t now_us(uint64_t tsc) const { return tsc / tsc_per_us; }
  const PeerState* peer_by_id(uint32_t id, uint16_t* index) const;
  const PeerState* peer_by_addr(net::Ipv4 addr) const;
  // True when addr is one of this appliance's own addresses.
  bool is_local(net::Ipv4 addr) const;
};

}  // namespace mpf::dp
