// The shared-memory region between mpf-dataplane (creator, writer) and mpf-controld (reader, and
// writer of the command mailbox only). POSIX shm object "/mpf-<name>" (/dev/shm/mpf-<name>),
// mode 0660. DPDK multi-process is not used: it does not work with --no-huge.
//
// Who writes what, and how a reader reads it without ever blocking a writer:
// - header: written once by the dataplane before `ready` is set; afterwards only `heartbeat`
//   and `heartbeat_ms` change (main lcore, every publish). A reader that sees the heartbeat
//   stand still for a second, or `pid` gone, treats the dataplane as dead.
// - lcores[i].stats: the live counters of lcore i, written in place by that lcore alone with
//   plain stores (stats/counter.hpp). Readers load each word relaxed and sum over lcores.
// - snap: gauges and per-port/per-path figures, rewritten by the main lcore every
//   publish_interval_ms under a sequence lock (snap_seq odd while writing). Readers copy and
//   retry while the sequence is odd or changed (shm/seqlock.hpp).
// - mailbox: one request at a time from the control process (the single request writer: it
//   holds an flock on the region's lock file), one response from the main lcore.
// - flows: per-lcore top-N flow lists, each written by its lcore when a flows request is
//   pending (flow_gen), under that slot's sequence lock.
// Layout changes bump kLayoutVersion; a reader refuses a region whose version or size differs.
#pragma once
#include <cstddef>
#include <cstdint>

#include "stats/drop_reason.hpp"
#include "stats/lcore_stats.hpp"

namespace mpf::shm {

constexpr uint32_t kLayoutVersion = 11;
constexpr char kMagic[8] = {'M', 'P', 'F', 'S', 'H', 'M', '1', '\0'};

constexpr unsigned kLcores = 33;        // up to 32 workers + the main lcore
constexpr unsigned kPorts = stats::kStatPorts;
constexpr unsigned kPeers = 64;         // server: gateways shown (more run, unshown)
constexpr unsigned kPaths = 8;
constexpr unsigned kFlowsPerLcore = 256;
constexpr unsigned kConfigText = 64 * 1024;
constexpr unsigned kMessage = 256;

struct Header {
  char magic[8];
  uint32_t layout_version;
  uint32_t region_size;         // sizeof(Region)
  uint32_t lcore_counters;      // number of MPF_LCORE_COUNTERS (a reader built elsewhere checks)
  uint32_t drop_reasons;        // kDropReasons
  int32_t pid;
  uint32_t ready;               // 1 once everything below is filled (release store)
  uint64_t start_unix_ms;
  uint64_t heartbeat;           // +1 per publish
  uint64_t heartbeat_unix_ms;   // wall clock of the last publish
  uint32_t publish_interval_ms;
  uint8_t gateway;              // 1 gateway, 0 server
  uint8_t pad0[3];
  char name[32];                // control.name
  char version[16];             // MPF_VERSION
  char config_file[256];
  uint32_t n_lcores;            // slots in use in lcores[]
  uint32_t n_ports;
  uint32_t n_peers;             // all peers (server: gateways); snap.peers holds min(n, kPeers)
  uint32_t n_workers;
  uint64_t tsc_hz;
  uint32_t config_text_len;     // bytes of config_text in use
  uint32_t pad1;
};

enum class LcoreRole : uint8_t { worker = 0, main = 1, main_worker = 2 };

struct alignas(64) LcoreSlot {
  uint32_t lcore_id;
  LcoreRole role;
  uint8_t worker_index;
  uint8_t pad[58];
  stats::LcoreStats stats;      // live, single writer: that lcore
};

// ---- snapshot (main lcore, seqlock)

enum class PortKindCode : uint8_t { lan = 0, path = 1, wan = 2, tunnel = 3 };

struct PortSnap {
  char name[32];                // config name: "lan", "5g", "wan", ...
  char device[64];              // EAL device name
  uint32_t ip;                  // host order
  uint8_t prefix_len;
  PortKindCode kind;
  uint8_t path_id;
  uint8_t link_up;
  uint8_t mac[6];
  uint8_t pad[2];
  uint32_t link_speed_mbps;
  // From rte_eth_stats_get (what the device saw, before our counters).
  uint64_t pmd_ipackets, pmd_opackets, pmd_ibytes, pmd_obytes;
  uint64_t pmd_imissed, pmd_ierrors, pmd_oerrors, pmd_rx_nombuf;
};

enum class AdminState : uint8_t { automatic = 0, up = 1, down = 2 };

// A path impairment (path.set; docs/multipath.md, "Impairment") of one direction.
struct ImpairSpec {
  uint32_t delay_us;            // added one-way delay, 0..10 s
  uint32_t jitter_us;           // plus uniformly 0..jitter_us, 0..10 s
  uint32_t loss_ppm;            // random loss, 0..1'000'000 (all)
  uint32_t queue_us;            // with rate_bps: the bottleneck's queue, 1 ms..10 s
  uint64_t rate_bps;            // bottleneck rate, 0 = none, else 64 kbit/s..400 Gbit/s
};

struct PathSnap {
  char name[16];
  uint8_t configured;           // 1 when this path id is in use
  uint8_t up;                   // as the workers use it now
  uint8_t health_up;            // what probes say, before the admin override
  AdminState admin;
  uint32_t weight;
  uint64_t max_rate_bps;        // shaping ceiling (config or path.set), 0 = none, kAutoRate
  uint64_t rate_bps;            // shaping rate in force now (rate control; else max_rate_bps)
  uint64_t queue_us;            // our frames' one-way queueing on the path, far end's report
  uint64_t srtt_us, rttvar_us, min_rtt_us, owd_us;
  uint64_t loss_ppm;            // probe loss, parts per million
  uint64_t delivery_Bps;        // what the far side reports receiving
  uint64_t changes;             // up/down transitions
  uint64_t last_rx_age_ms;      // since a frame last arrived on the path (~0 = never)
  // Summed over workers (totals since start).
  uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
  uint64_t lost, retransmits, shaper_drops;
  uint64_t impair_drops;        // frames the impairment dropped, both directions
  ImpairSpec impair[2];         // [0] what we send on the path, [1] what we receive; zero: none
  // Server: where the gateway's path was last heard from (ip 0 = not yet).
  uint32_t learned_ip;
  uint16_t learned_port;
  uint16_t pad;
};

struct PeerSnap {
  uint32_t tunnel_id;
  uint32_t tunnel_addr;         // host order
  uint8_t n_paths;
  uint8_t pad[7];
  PathSnap paths[kPaths];
};

struct NatSnap {
  uint64_t sessions, capacity, created, expired;
  uint64_t forwarded_in, forwarded_out, icmp_errors;
  uint64_t port_first, port_last;  // this lcore's share of external ports
};

struct ReorderSnap {
  uint64_t in_order, reordered, held_now, hold_timeouts, overflow_skips, skipped;
  uint64_t late, duplicates, stale, max_hold_depth;
};

struct Snapshot {
  uint64_t taken_unix_ms;
  uint64_t uptime_ms;
  PortSnap ports[kPorts];
  PeerSnap peers[kPeers];
  NatSnap nat[kLcores];           // by lcore slot (workers only; main's is zero)
  ReorderSnap reorder;            // summed over workers
  uint64_t mbufs_in_use, mbufs_total;
  uint64_t path_gen;
};

// ---- command mailbox

enum class Op : uint32_t {
  none = 0,
  path_set = 1,        // PathSetArgs
  flows = 2,           // FlowsArgs: workers refill flows[] (flow_gen)
  capture_start = 3,   // CaptureArgs
  capture_stop = 4,
  capture_status = 5,
};

// Field values meaning "leave unchanged".
constexpr uint32_t kKeepWeight = 0xffffffffu;
constexpr uint64_t kKeepRate = ~0ull;
// max_rate "auto" (capacity discovered; config::kAutoRate): in PathSnap and PathSetArgs.
constexpr uint64_t kAutoRate = 1;

struct PathSetArgs {
  uint32_t peer_index;          // index into snap.peers (gateway: 0)
  uint8_t path_id;
  uint8_t set_admin;            // 1: admin below applies
  AdminState admin;
  uint8_t pad;
  uint32_t weight;              // kKeepWeight, else 1..1000
  uint32_t pad2;
  uint64_t max_rate_bps;        // kKeepRate, 0 (unlimited), kAutoRate or 64000..400e9
  uint8_t impair_dirs;          // bit 0: impair applies to sending, bit 1: to receiving
  uint8_t pad3[7];
  ImpairSpec impair;            // all zero: no impairment
};

struct FlowFilter {
  uint8_t proto;                // 0 = any, 1 icmp, 6 tcp, 17 udp
  uint8_t prefix_len;           // addr/prefix matches inside or remote address; 0 = any
  uint16_t port;                // matches any port of the flow; 0 = any
  uint32_t addr;                // host order
};

struct FlowsArgs {
  FlowFilter filter;
  uint32_t top;                 // 1..kFlowsPerLcore
};

enum class CaptureDir : uint8_t { both = 0, rx = 1, tx = 2 };

struct CaptureArgs {
  uint8_t port_index;           // our port index
  CaptureDir dir;
  uint8_t pad[2];
  uint32_t count;               // packets, 0 = no limit
  uint32_t duration_ms;         // 0 = no limit (one of count/duration must be set)
  uint32_t snaplen;             // 0 = whole packets
  char file[256];               // absolute path the dataplane writes (pcapng)
};

struct Request {
  Op op;
  uint32_t pad;
  union {
    PathSetArgs path_set;
    FlowsArgs flows;
    CaptureArgs capture;
    uint8_t raw[512];
  };
};

// Response codes (also the JSON error codes of mpf-controld for dataplane-side failures).
enum class Status : int32_t {
  ok = 0,
  bad_request = 1,      // arguments out of range, unknown op
  not_found = 2,        // no such path / port / peer
  busy = 3,             // a capture already runs, flows still being gathered
  unsupported = 4,      // not in this mode / build
  failed = 5,           // the dataplane tried and could not (message says why)
};

struct CaptureState {
  uint8_t active;
  uint8_t port_index;
  uint8_t pad[6];
  uint64_t packets, bytes, dropped;  // written to the file / lost (ring full, no mbuf)
  uint64_t started_unix_ms, stopped_unix_ms;
  char file[256];
};

struct Response {
  Status status;
  uint32_t pad;
  char message[kMessage];       // NUL-terminated; empty on success unless informative
  CaptureState capture;         // capture_*: state after the request
};

struct Mailbox {
  // Writer of req/req_seq: the control process. Writer of resp/resp_seq: the main lcore.
  alignas(64) uint64_t req_seq;  // bumped (release) after req is written
  Request req;
  alignas(64) uint64_t resp_seq; // set to req_seq (release) after resp is written
  Response resp;
};

// ---- flows (per lcore, written by the lcore owning the NAT table)

struct Flow {
  uint8_t proto;
  uint8_t tcp_state;            // nat's state code, 0 for UDP/ICMP
  uint16_t pad;
  uint32_t inside_ip;           // host order
  uint32_t remote_ip;
  uint16_t inside_port, external_port, remote_port;  // ICMP: id in inside/external
  uint16_t pad2;
  uint32_t external_ip;
  uint32_t idle_ms;             // since the session last saw a packet
  uint32_t age_s;               // since it was created
  uint64_t packets_out, bytes_out, packets_in, bytes_in;
};

struct alignas(64) FlowSlot {
  uint64_t seq;                 // seqlock
  uint64_t done_gen;            // = flow_gen when the list below answers that request
  uint32_t n;                   // flows below
  uint32_t matched;             // sessions that matched the filter (all of them, not only top)
  uint64_t scanned;
  Flow flows[kFlowsPerLcore];   // sorted by bytes_out + bytes_in, largest first
};

struct Region {
  Header hdr;
  alignas(64) uint64_t snap_seq;
  Snapshot snap;
  alignas(64) Mailbox mailbox;
  // Flows request in force: the main lcore writes args, then bumps flow_gen (release);
  // each worker answers in flows[its slot] at its own pace.
  alignas(64) uint64_t flow_gen;
  FlowsArgs flow_args;
  alignas(64) LcoreSlot lcores[kLcores];
  FlowSlot flows[kLcores];
  char config_text[kConfigText];  // the running configuration file, as read at start
};

}  // namespace mpf::shm
