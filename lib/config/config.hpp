// An appliance's configuration (libconfig file, DESIGN.md 7), fully validated. Nothing here
// touches ports or EAL: check_ports() is handed the names EAL probed.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nat/nat_table.hpp"
#include "net/addr.hpp"
#include "path/impairment.hpp"
#include "tunnel/auth.hpp"

namespace mpf::config {

enum class Role { gateway, server };

// A port the appliance owns: a PCI address or vdev name as given to EAL, and its address.
struct Interface {
  std::string name;                   // "lan", "wan", or the path / tunnel port name
  std::string port;                   // "0000:03:00.0", "net_af_packet0", ...
  net::Prefix address;                // the appliance's address and the on-link prefix
  std::optional<net::Ipv4> next_hop;  // gateway router for off-link destinations
  uint16_t mtu = 1500;                // IP MTU of the link, 576..9000
  int line = 0;                       // where it was defined
  int port_line = 0;                  // line of its "port" setting (check_ports)
};

// max_rate = "auto": the path's capacity is unknown and rate control discovers it
// (path/rate_control.hpp, start_Bps). Not a rate: the smallest rate is 64000.
constexpr uint64_t kAutoRate = 1;

// Gateway: one access path. Its priority (active-backup order) is its position in `paths`.
struct Path {
  Interface iface;     // iface.name is the path name ("5g", "wifi")
  uint8_t id = 0;      // index in the paths list: the path id on the wire
  uint16_t weight = 1;        // 1..1000, for the weighted mode
  uint64_t max_rate_bps = 0;  // egress shaping, bit/s; 0 = unlimited, kAutoRate, else 64000..400e9
};

// How packets are spread over the paths (docs/multipath.md, "Scheduling"). The config's own
// enum: the dataplane translates it to its scheduler's type.
enum class Mode : uint8_t { aggregate, weighted, active_backup, lowest_rtt, redundant, pinned };

// The file's spelling: "aggregate", "weighted", "active-backup", "lowest-rtt", "redundant",
// "pinned".
const char* mode_name(Mode m);

// The per-path settings the scheduler and shaper use, one per path id (index = path id on the
// wire), on both roles. Gateway: copied from `paths` (name, weight, max_rate). Server: its
// `paths` list (the gateways' paths as the server sees them; max_rate is the server's
// downlink shaping), or when absent 8 profiles "p0".."p7", weight 1, unlimited.
// A path's `impairment` group (docs/configuration.md; docs/multipath.md, "Impairment"): a
// worse link this appliance emulates on the path from the start, as `mpfctl path set NAME
// impair` does at run time.
struct Impairment {
  path::ImpairParams params;  // delay, jitter, queue 0..10 s; queue 1 ms.. with a rate, else 0
  uint8_t dirs = 0;  // bit 0: what we send on the path, bit 1: what we receive; 0 = none
};

struct PathProfile {
  std::string name;
  uint16_t weight = 1;        // 1..1000
  uint64_t max_rate_bps = 0;  // bit/s; 0 = unlimited, kAutoRate = discovered
  int line = 0;               // 0 for the server's defaults
  Impairment impair;
};

// `multipath` group: timers and the default rule (used when no `policy` rule matches).
struct Multipath {
  Mode mode = Mode::aggregate;
  int path = -1;                     // path id, >= 0 exactly when mode == pinned
  uint32_t streams = 8;              // 1..256: buckets inner flows are hashed into
  uint32_t probe_interval_ms = 25;   // 5..1000
  uint32_t dead_after_ms = 100;      // 20..10000, >= 2 * probe_interval_ms
  uint32_t up_after = 3;             // 1..100 answered probes in a row
  uint32_t reorder_max_ms = 100;     // 0..2000; 0 = never hold frames
  uint32_t max_queue_ms = 50;        // 1..1000: longest wait in a path's shaper queue
  bool retransmit = true;
  uint32_t retransmit_budget_pct = 10;  // 0..100, share of a path's rate for retransmits
  // Receiver: frames of flows split over paths are delivered no earlier than the slowest up
  // path would bring them (reorder/equalizer.hpp), held at most reorder_max_ms.
  bool equalize = true;
  // Sender: frames of sparse flows (nothing queued) and loss-report resends jump the bulk
  // queue of a shaped path (sched/lane_queue.hpp).
  bool fast_lane = true;
  // Sender: the inner TCP's retransmissions of flows split over paths go prompt and in the
  // fast lane while it has room (sched/resend_spotter.hpp): `failover` only for a while after
  // one of the peer's paths went down, `always`, or `off` (the default: experimental, see
  // docs/multipath.md). Needs fast_lane.
  enum class Expedite : uint8_t { off, failover, always };
  Expedite expedite_resends = Expedite::off;
  // Sender: a pure ACK (no payload, no SYN, FIN or RST) of a flow split over paths goes
  // prompt, by the earliest path, never equalised: the far TCP's clock runs on the fastest
  // path's delay, not the slowest's (docs/multipath.md, "Prompt ACKs").
  bool prompt_acks = true;
  // Sender: a shaped path's rate follows the queueing the far end measures on it, up to
  // max_rate (path/rate_control.hpp); the network holds about queue_target_ms of our frames.
  bool rate_control = true;
  uint32_t queue_target_ms = 5;      // 1..100
  // Gateway: with no data frame sent or received for idle_after_ms, probes go out every
  // idle_probe_interval_ms instead (and both ends wait as many of those intervals before
  // calling a path dead); the first data frame brings probe_interval_ms back at once.
  uint32_t idle_probe_interval_ms = 1000;  // 0 (never slow down) or probe_interval_ms..60000
  uint32_t idle_after_ms = 3000;           // 100..600000
  // Receiver: while a path brings data frames, it reports the highest path_seq received this
  // often (a progress report); the sender takes a path that stops making progress for about
  // a round trip past this interval as down at once, without waiting for dead_after_ms.
  uint32_t progress_interval_ms = 10;      // 0 (off) .. 1000
};

// A `policy` rule's match; a default-constructed match matches every packet. Every field is
// checked against the packet as it enters the tunnel (after NAT).
struct PolicyMatch {
  uint8_t proto = 0;                 // 0 = any, else net::kProtoTcp / kProtoUdp / kProtoIcmp
  uint16_t src_lo = 0, src_hi = 65535;  // port ranges, inclusive; set only with tcp or udp
  uint16_t dst_lo = 0, dst_hi = 65535;
  net::Prefix dst{};                 // destination prefix, host bits zero; /0 = any
  int16_t dscp = -1;                 // -1 = any, else 0..63
};

struct PolicyRule {
  PolicyMatch match;
  Mode mode = Mode::aggregate;
  int path = -1;                     // path id, >= 0 exactly when mode == pinned
  int line = 0;
};

// Server side: a gateway allowed to use this server.
struct Peer {
  uint32_t tunnel_id = 0;
  net::Ipv4 tunnel_address = 0;  // the gateway's tunnel (inner) address
  tunnel::Key key{};             // pre-shared key (docs/protocol.md 6)
  int line = 0;
};

struct StaticArp {
  net::Ipv4 address = 0;
  net::Mac mac;
  int line = 0;
};

struct PortForwardRule {
  nat::PortForward fwd;
  int line = 0;
};

struct Tunnel {
  uint32_t id = 0;                 // gateway: its tunnel id
  net::Ipv4 address = 0;           // gateway: its tunnel address (SNAT source)
  net::Endpoint server;            // gateway: the server's address and UDP port
  uint16_t port = 4500;            // UDP port: server listens on it; gateway sends from it
  tunnel::Key key{};               // gateway: pre-shared key (docs/protocol.md 6)
  uint16_t inner_mtu = 0;          // derived: min link MTU - compact tunnel overhead
};

struct Nat {
  uint16_t port_first = 1024, port_last = 65535;  // external port / ICMP id range
  uint32_t max_sessions = 65536;                  // per worker lcore, 1024..16M
  nat::Timeouts timeouts;
  std::vector<PortForwardRule> port_forwards;
};

struct Dataplane {
  uint32_t burst = 32;             // 1..64
  uint32_t idle_sleep_us = 0;      // 0 = poll flat out; >0 = sleep after empty polls
  uint32_t mbufs = 16383;          // mempool size, 1023..4M
  uint16_t rx_desc = 1024, tx_desc = 1024;  // 64..16384, powers of two
  uint32_t arp_hold = 16;          // packets held per unresolved next hop, 0..256
  uint32_t icmp_errors_per_s = 100;  // per lcore, 0 = never send ICMP errors
};

struct Control {
  std::string socket = "/run/mpf/control.sock";
  // Names the stats region /dev/shm/mpf-<name> that mpf-controld attaches to. Empty: the role
  // ("gateway" or "server").
  std::string name;
  uint32_t publish_interval_ms = 100;  // 10..1000: snapshot and heartbeat period
  // The only directory captures requested through mpf-controld are written to (the dataplane
  // runs as root: a client must not name any file of the system). Absolute, no "..".
  std::string capture_dir = "/var/lib/mpf/captures";
};

struct Config {
  std::string file;
  Role role = Role::gateway;
  // gateway
  Interface lan;
  std::vector<Path> paths;          // 1..8, index = path id
  // server
  Interface wan;                    // public address = wan.address.addr
  std::vector<Interface> tunnel_ports;  // extra ports where paths arrive (may be empty)
  std::vector<Peer> peers;          // "gateways" list
  // both
  Tunnel tunnel;
  Nat nat;
  std::vector<StaticArp> static_arp;
  Dataplane dataplane;
  Control control;
  Multipath multipath;
  std::vector<PolicyRule> policy;   // first match wins; none matches: multipath.mode/path
  std::vector<PathProfile> path_profiles;  // index = path id (see PathProfile)

  // Every interface this appliance drives, in a stable order (gateway: lan, paths; server:
  // wan, tunnel ports).
  std::vector<const Interface*> interfaces() const;
};

// "file:line: reason". line is 0 when the error is about the file as a whole.
struct ConfigError : std::runtime_error {
  ConfigError(const std::string& file, int line, const std::string& reason);
  std::string file;
  int line;
};

// Reads and validates the whole file. Throws ConfigError on the first problem.
Config load(const std::string& path);

// The same validation on text already in memory (mpf-controld: the running configuration the
// dataplane published). file_name only labels errors and Config::file.
Config load_text(const std::string& text, const std::string& file_name);

// Every port named in the config must be among the EAL-probed device names. Throws ConfigError
// with the line of the first port that is not.
void check_ports(const Config& cfg, const std::vector<std::string>& eal_ports);

}  // namespace mpf::config
