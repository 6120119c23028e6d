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

struct Path {
  Interface iface;     // iface.name is the path name ("5g", "wifi")
  uint8_t id = 0;      // index in the paths list: the path id on the wire
};

// Server side: a gateway allowed to use this server.
struct Peer {
  uint32_t tunnel_id = 0;
  net::Ipv4 tunnel_address = 0;  // the gateway's tunnel (inner) address
  std::string key;               // shared key (authentication lands later)
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
  std::string key;                 // gateway: shared key
  uint16_t inner_mtu = 0;          // derived: min link MTU - tunnel overhead
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
};

struct Config {
  std::string file;
  Role role = Role::gateway;
  // gateway
  Interface lan;
  std::vector<Path> paths;
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

// Every port named in the config must be among the EAL-probed device names. Throws ConfigError
// with the line of the first port that is not.
void check_ports(const Config& cfg, const std::vector<std::string>& eal_ports);

}  // namespace mpf::config
