// lib/config: loading and validating appliance configuration files (docs/configuration.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "config/config.hpp"
#include "net/protocol.hpp"

#ifndef MPF_SOURCE_ROOT
#error "tests/meson.build passes MPF_SOURCE_ROOT"
#endif

namespace mpf::config {
namespace {

net::Ipv4 ip(const char* s) { return *net::parse_ipv4(s); }

// One setting group per line, so line numbers in the tests are easy to read off. Extra settings
// appended to these start on line 7 (gateway) and line 5 (server).
const std::string kGateway =
    "role = \"gateway\";\n"                                                                  // 1
    "lan = { port = \"p0\"; address = \"192.168.10.1/24\"; };\n"                            // 2
    "tunnel = { id = 7; address = \"100.64.0.7\"; server = \"10.99.0.1:4500\"; key = \"k\"; };\n"  // 3
    "paths = (\n"                                                                            // 4
    "  { name = \"5g\"; port = \"p1\"; address = \"10.5.0.2/24\"; next_hop = \"10.5.0.1\"; }\n"  // 5
    ");\n";                                                                                  // 6

const std::string kServer =
    "role = \"server\";\n"                                                    // 1
    "wan = { port = \"p1\"; address = \"198.51.100.1/24\"; };\n"             // 2
    "tunnel = { port = 4500; ports = ( { name = \"t0\"; port = \"p0\"; address = \"10.99.0.1/24\";"
    " next_hop = \"10.99.0.254\"; } ); };\n"                                   // 3
    "gateways = ( { id = 7; address = \"100.64.0.7\"; key = \"k\"; } );\n";  // 4

// Replaces the one occurrence of `from` in `text`.
std::string sub(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "test bug: '" << from << "' not in the config";
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class ConfigTest : public ::testing::Test {
 protected:
  ~ConfigTest() override {
    for (const std::string& p : files_) ::unlink(p.c_str());
  }

  std::string write(const std::string& text) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string path = ::testing::TempDir() + "mpf_config_" + info->name() + "_" +
                       std::to_string(::getpid()) + "_" + std::to_string(files_.size()) + ".conf";
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }

  Config load_text(const std::string& text) { return load(write(text)); }

  // The file must be rejected with exactly "file:line: ..." and a reason containing `reason`.
  void expect_error(const std::string& text, int line, const std::string& reason) {
    std::string path = write(text);
    SCOPED_TRACE(text);
    try {
      load(path);
      ADD_FAILURE() << "loaded, expected " << line << ": " << reason;
    } catch (const ConfigError& e) {
      std::string want = line > 0 ? path + ":" + std::to_string(line) + ": " : path + ": ";
      std::string what = e.what();
      EXPECT_EQ(what.substr(0, want.size()), want) << what;
      EXPECT_NE(what.find(reason, want.size()), std::string::npos)
          << "'" << what << "' lacks '" << reason << "'";
      EXPECT_EQ(e.line, line);
      EXPECT_EQ(e.file, path);
    }
  }

  std::vector<std::string> files_;
};

// --- what loads ------------------------------------------------------------------------------

TEST_F(ConfigTest, MinimalGatewayHasDefaults) {
  Config c = load_text(kGateway);
  EXPECT_EQ(c.role, Role::gateway);
  EXPECT_EQ(c.lan.name, "lan");
  EXPECT_EQ(c.lan.port, "p0");
  EXPECT_EQ(c.lan.address, (net::Prefix{ip("192.168.10.1"), 24}));
  EXPECT_FALSE(c.lan.next_hop);
  EXPECT_EQ(c.lan.mtu, 1500);
  EXPECT_EQ(c.lan.line, 2);
  EXPECT_EQ(c.lan.port_line, 2);
  ASSERT_EQ(c.paths.size(), 1u);
  EXPECT_EQ(c.paths[0].id, 0);
  EXPECT_EQ(c.paths[0].iface.name, "5g");
  EXPECT_EQ(c.paths[0].iface.line, 5);
  EXPECT_EQ(c.paths[0].iface.next_hop, ip("10.5.0.1"));
  EXPECT_EQ(c.tunnel.id, 7u);
  EXPECT_EQ(c.tunnel.address, ip("100.64.0.7"));
  EXPECT_EQ(c.tunnel.server, (net::Endpoint{ip("10.99.0.1"), 4500}));
  EXPECT_EQ(c.tunnel.key, "k");
  EXPECT_EQ(c.tunnel.port, 4500);
  EXPECT_EQ(c.tunnel.inner_mtu, 1500 - 52);
  EXPECT_EQ(c.nat.port_first, 1024);
  EXPECT_EQ(c.nat.port_last, 65535);
  EXPECT_EQ(c.nat.max_sessions, 65536u);
  EXPECT_EQ(c.nat.timeouts.tcp_established_s, 7440u);
  EXPECT_TRUE(c.nat.port_forwards.empty());
  EXPECT_TRUE(c.static_arp.empty());
  EXPECT_EQ(c.dataplane.burst, 32u);
  EXPECT_EQ(c.dataplane.rx_desc, 1024);
  EXPECT_EQ(c.control.socket, "/run/mpf/control.sock");
  EXPECT_TRUE(c.peers.empty());
  EXPECT_TRUE(c.tunnel_ports.empty());
  auto ifs = c.interfaces();
  ASSERT_EQ(ifs.size(), 2u);
  EXPECT_EQ(ifs[0], &c.lan);
  EXPECT_EQ(ifs[1], &c.paths[0].iface);
}

TEST_F(ConfigTest, GatewayTwoPaths) {
  std::string text = sub(kGateway, "next_hop = \"10.5.0.1\"; }",
                         "next_hop = \"10.5.0.1\"; mtu = 1500; },\n"
                         "  { name = \"wifi\"; port = \"p2\"; address = \"10.6.0.2/24\";"
                         " next_hop = \"10.6.0.1\"; mtu = 1400; }");
  text = sub(text, "address = \"192.168.10.1/24\";", "address = \"192.168.10.1/24\"; mtu = 9000;");
  Config c = load_text(text);
  ASSERT_EQ(c.paths.size(), 2u);
  EXPECT_EQ(c.paths[1].id, 1);
  EXPECT_EQ(c.paths[1].iface.name, "wifi");
  EXPECT_EQ(c.paths[1].iface.port, "p2");
  EXPECT_EQ(c.paths[1].iface.line, 6);
  EXPECT_EQ(c.tunnel.inner_mtu, 1400 - 52);  // the LAN's 9000 does not count
  EXPECT_EQ(c.interfaces().size(), 3u);
}

TEST_F(ConfigTest, MinimalServer) {
  Config c = load_text(kServer);
  EXPECT_EQ(c.role, Role::server);
  EXPECT_EQ(c.wan.name, "wan");
  EXPECT_EQ(c.wan.address, (net::Prefix{ip("198.51.100.1"), 24}));
  ASSERT_EQ(c.tunnel_ports.size(), 1u);
  EXPECT_EQ(c.tunnel_ports[0].name, "t0");
  EXPECT_EQ(c.tunnel_ports[0].next_hop, ip("10.99.0.254"));
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_EQ(c.peers[0].tunnel_id, 7u);
  EXPECT_EQ(c.peers[0].tunnel_address, ip("100.64.0.7"));
  EXPECT_EQ(c.peers[0].key, "k");
  EXPECT_EQ(c.peers[0].line, 4);
  EXPECT_EQ(c.tunnel.port, 4500);
  auto ifs = c.interfaces();
  ASSERT_EQ(ifs.size(), 2u);
  EXPECT_EQ(ifs[0], &c.wan);
  EXPECT_EQ(ifs[1], &c.tunnel_ports[0]);
}

TEST_F(ConfigTest, ServerInnerMtuCountsWanAndTunnelPorts) {
  std::string t = sub(kServer, "next_hop = \"10.99.0.254\"; }", "next_hop = \"10.99.0.254\"; mtu = 1400; }");
  EXPECT_EQ(load_text(t).tunnel.inner_mtu, 1400 - 52);
  t = sub(t, "address = \"198.51.100.1/24\";", "address = \"198.51.100.1/24\"; mtu = 1300;");
  EXPECT_EQ(load_text(t).tunnel.inner_mtu, 1300 - 52);
}

TEST_F(ConfigTest, ServerWithoutTunnelPorts) {
  Config c = load_text(sub(kServer,
                           "tunnel = { port = 4500; ports = ( { name = \"t0\"; port = \"p0\"; "
                           "address = \"10.99.0.1/24\"; next_hop = \"10.99.0.254\"; } ); };",
                           "tunnel = { port = 4501; };"));
  EXPECT_TRUE(c.tunnel_ports.empty());
  EXPECT_EQ(c.tunnel.port, 4501);
  EXPECT_EQ(c.interfaces().size(), 1u);
  c = load_text(sub(kServer,
                    "tunnel = { port = 4500; ports = ( { name = \"t0\"; port = \"p0\"; "
                    "address = \"10.99.0.1/24\"; next_hop = \"10.99.0.254\"; } ); };",
                    ""));
  EXPECT_EQ(c.tunnel.port, 4500);
}

TEST_F(ConfigTest, AllOptionalSettings) {
  Config c = load_text(kGateway +
                       "nat = { port_range = \"2000-2063\"; max_sessions = 1024;\n"  // 7
                       "  timeouts = { tcp_established = 300; tcp_transitory = 300; udp = 1; icmp = 86400; };\n"
                       "  port_forwards = ( { proto = \"udp\"; port = 53; to = \"192.168.10.3:5353\"; },\n"
                       "                    { proto = \"tcp\"; port = 53; to = \"192.168.10.3:53\"; } ); };\n"
                       "arp = ( { address = \"10.5.0.1\"; mac = \"02:00:00:00:00:01\"; } );\n"  // 11
                       "dataplane = { burst = 64; idle_sleep_us = 10; mbufs = 4194304; rx_desc = 64;"
                       " tx_desc = 16384; arp_hold = 0; icmp_errors_per_s = 0; };\n"
                       "control = { socket = \"/tmp/x.sock\"; };\n");
  EXPECT_EQ(c.nat.port_first, 2000);
  EXPECT_EQ(c.nat.port_last, 2063);
  EXPECT_EQ(c.nat.max_sessions, 1024u);
  EXPECT_EQ(c.nat.timeouts.tcp_established_s, 300u);
  EXPECT_EQ(c.nat.timeouts.tcp_transitory_s, 300u);
  EXPECT_EQ(c.nat.timeouts.udp_s, 1u);
  EXPECT_EQ(c.nat.timeouts.icmp_s, 86400u);
  ASSERT_EQ(c.nat.port_forwards.size(), 2u);
  EXPECT_EQ(c.nat.port_forwards[0].fwd.proto, net::kProtoUdp);
  EXPECT_EQ(c.nat.port_forwards[0].fwd.ext_port, 53);
  EXPECT_EQ(c.nat.port_forwards[0].fwd.to_addr, ip("192.168.10.3"));
  EXPECT_EQ(c.nat.port_forwards[0].fwd.to_port, 5353);
  EXPECT_EQ(c.nat.port_forwards[0].line, 9);
  EXPECT_EQ(c.nat.port_forwards[1].fwd.proto, net::kProtoTcp);
  EXPECT_EQ(c.nat.port_forwards[1].line, 10);
  ASSERT_EQ(c.static_arp.size(), 1u);
  EXPECT_EQ(c.static_arp[0].address, ip("10.5.0.1"));
  EXPECT_EQ(c.static_arp[0].mac, *net::parse_mac("02:00:00:00:00:01"));
  EXPECT_EQ(c.static_arp[0].line, 11);
  EXPECT_EQ(c.dataplane.burst, 64u);
  EXPECT_EQ(c.dataplane.idle_sleep_us, 10u);
  EXPECT_EQ(c.dataplane.mbufs, 4194304u);
  EXPECT_EQ(c.dataplane.rx_desc, 64);
  EXPECT_EQ(c.dataplane.tx_desc, 16384);
  EXPECT_EQ(c.dataplane.arp_hold, 0u);
  EXPECT_EQ(c.dataplane.icmp_errors_per_s, 0u);
  EXPECT_EQ(c.control.socket, "/tmp/x.sock");
}

TEST_F(ConfigTest, SixtyFourBitIntegers) {
  Config c = load_text(sub(kGateway, "id = 7;", "id = 4294967295L;"));
  EXPECT_EQ(c.tunnel.id, 4294967295u);
  c = load_text(sub(kGateway, "id = 7;", "id = 0xffffffffL;"));
  EXPECT_EQ(c.tunnel.id, 4294967295u);
  c = load_text(sub(kGateway, "id = 7;", "id = 0x10;"));
  EXPECT_EQ(c.tunnel.id, 16u);
  // libconfig 1.5 silently truncates a plain integer to 32 bits: the loader refuses those.
  expect_error(sub(kGateway, "id = 7;", "id = 3000000000;"), 3,
               "integer 3000000000 does not fit in 32 bits; write 3000000000L");
  expect_error(kGateway + "nat = { max_sessions = 4294968320; }; # 2^32 + 1024\n", 7,
               "integer 4294968320 does not fit in 32 bits");
  expect_error(kGateway + "nat = { max_sessions = 0x100000400; };\n", 7,
               "integer 0x100000400 does not fit in 32 bits");
  expect_error(kGateway + "dataplane = {\n  burst = -4294967295;\n};\n", 8,
               "integer -4294967295 does not fit in 32 bits");
  // digits in strings, names and comments are not integers
  EXPECT_NO_THROW(load_text(kGateway + "control = { socket = \"/tmp/99999999999\"; }; // 99999999999\n"
                            "/* 99999999999\n 99999999999 */ # 99999999999\n"));
  EXPECT_EQ(load_text(sub(kGateway, "id = 7;", "id = 2147483647;")).tunnel.id, 2147483647u);
  // line counting across block comments and strings
  expect_error(kGateway + "/* a\n b */ control = { socket = \"/tmp/\\\"x\"; };\n"  // 7, 8
                          "# \"\n"                                                  // 9
                          "dataplane = { mbufs = 2147483648; };\n",                  // 10
               10, "integer 2147483648 does not fit in 32 bits");
  expect_error(sub(kGateway, "id = 7;", "id = 4294967296L;"), 3, "tunnel.id: 4294967296 is out of range 1..4294967295");
  expect_error(sub(kServer, "id = 7;", "id = -1;"), 4, "gateways.[0].id: -1 is out of range");
}

// --- the shipped examples --------------------------------------------------------------------

TEST_F(ConfigTest, ShippedGatewayConf) {
  Config c = load(MPF_SOURCE_ROOT "/configs/gateway.conf");
  EXPECT_EQ(c.role, Role::gateway);
  EXPECT_EQ(c.lan.port, "net_af_packet0");
  EXPECT_EQ(c.lan.address, (net::Prefix{ip("192.168.10.1"), 24}));
  EXPECT_EQ(c.tunnel.id, 7u);
  EXPECT_EQ(c.tunnel.address, ip("100.64.0.7"));
  EXPECT_EQ(c.tunnel.server, (net::Endpoint{ip("10.99.0.1"), 4500}));
  EXPECT_EQ(c.tunnel.key, "change-me");
  EXPECT_EQ(c.tunnel.port, 4500);
  ASSERT_EQ(c.paths.size(), 1u);
  EXPECT_EQ(c.paths[0].iface.name, "5g");
  EXPECT_EQ(c.paths[0].iface.port, "net_af_packet1");
  EXPECT_EQ(c.paths[0].iface.address, (net::Prefix{ip("10.5.0.2"), 24}));
  EXPECT_EQ(c.paths[0].iface.next_hop, ip("10.5.0.1"));
  EXPECT_EQ(c.paths[0].iface.mtu, 1500);
  EXPECT_EQ(c.tunnel.inner_mtu, 1448);
  EXPECT_EQ(c.nat.port_first, 1024);
  EXPECT_EQ(c.nat.port_last, 65535);
  EXPECT_EQ(c.nat.max_sessions, 65536u);
  EXPECT_EQ(c.nat.timeouts.tcp_established_s, 7440u);
  EXPECT_EQ(c.nat.timeouts.tcp_transitory_s, 240u);
  EXPECT_EQ(c.nat.timeouts.udp_s, 300u);
  EXPECT_EQ(c.nat.timeouts.icmp_s, 60u);
  ASSERT_EQ(c.nat.port_forwards.size(), 1u);
  EXPECT_EQ(c.nat.port_forwards[0].fwd.proto, net::kProtoTcp);
  EXPECT_EQ(c.nat.port_forwards[0].fwd.ext_port, 8080);
  EXPECT_EQ(c.nat.port_forwards[0].fwd.to_addr, ip("192.168.10.2"));
  EXPECT_EQ(c.nat.port_forwards[0].fwd.to_port, 8080);
  EXPECT_TRUE(c.static_arp.empty());  // the example entry is commented out
  EXPECT_EQ(c.dataplane.burst, 32u);
  EXPECT_EQ(c.dataplane.idle_sleep_us, 0u);
  EXPECT_EQ(c.dataplane.mbufs, 16383u);
  EXPECT_EQ(c.dataplane.rx_desc, 1024);
  EXPECT_EQ(c.dataplane.tx_desc, 1024);
  EXPECT_EQ(c.dataplane.arp_hold, 16u);
  EXPECT_EQ(c.dataplane.icmp_errors_per_s, 100u);
  EXPECT_EQ(c.control.socket, "/run/mpf/control.sock");
  EXPECT_NO_THROW(check_ports(c, {"net_af_packet0", "net_af_packet1"}));
}

TEST_F(ConfigTest, ShippedServerConf) {
  Config c = load(MPF_SOURCE_ROOT "/configs/server.conf");
  EXPECT_EQ(c.role, Role::server);
  EXPECT_EQ(c.wan.port, "net_af_packet1");
  EXPECT_EQ(c.wan.address, (net::Prefix{ip("198.51.100.1"), 24}));
  EXPECT_FALSE(c.wan.next_hop);
  EXPECT_EQ(c.tunnel.port, 4500);
  ASSERT_EQ(c.tunnel_ports.size(), 1u);
  EXPECT_EQ(c.tunnel_ports[0].name, "t0");
  EXPECT_EQ(c.tunnel_ports[0].port, "net_af_packet0");
  EXPECT_EQ(c.tunnel_ports[0].address, (net::Prefix{ip("10.99.0.1"), 24}));
  EXPECT_EQ(c.tunnel_ports[0].next_hop, ip("10.99.0.254"));
  EXPECT_EQ(c.tunnel.inner_mtu, 1448);
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_EQ(c.peers[0].tunnel_id, 7u);
  EXPECT_EQ(c.peers[0].tunnel_address, ip("100.64.0.7"));
  EXPECT_EQ(c.peers[0].key, "change-me");
  ASSERT_EQ(c.nat.port_forwards.size(), 1u);
  EXPECT_EQ(c.nat.port_forwards[0].fwd.proto, net::kProtoTcp);
  EXPECT_EQ(c.nat.port_forwards[0].fwd.ext_port, 8080);
  EXPECT_EQ(c.nat.port_forwards[0].fwd.to_addr, ip("100.64.0.7"));
  EXPECT_EQ(c.nat.port_forwards[0].fwd.to_port, 8080);
  EXPECT_EQ(c.nat.port_first, 1024);
  EXPECT_EQ(c.nat.max_sessions, 65536u);
  EXPECT_EQ(c.control.socket, "/run/mpf/control.sock");
  EXPECT_NO_THROW(check_ports(c, {"net_af_packet0", "net_af_packet1"}));
}

// --- the file itself -------------------------------------------------------------------------

TEST_F(ConfigTest, MissingFile) {
  std::string path = ::testing::TempDir() + "mpf_config_does_not_exist.conf";
  try {
    load(path);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), (path + ": cannot read: No such file or directory").c_str());
    EXPECT_EQ(e.line, 0);
    EXPECT_EQ(e.file, path);
  }
}

TEST_F(ConfigTest, DirectoryIsNotAFile) {
  std::string path = ::testing::TempDir();
  try {
    load(path);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), (path + ": cannot read: Is a directory").c_str());
  }
}

TEST_F(ConfigTest, SyntaxErrors) {
  expect_error(kGateway + "nat = { max_sessions = ; };\n", 7, "syntax error");
  expect_error(kGateway + "\n\nnat = { max_sessions = 1024; }}\n", 9, "syntax error");
  expect_error(kGateway + "lan = { port = \"p2\"; address = \"192.168.11.1/24\"; };\n", 7,
               "duplicate setting name");
}

// --- keys and types --------------------------------------------------------------------------

TEST_F(ConfigTest, UnknownKeys) {
  expect_error(sub(kGateway, "{ name = \"5g\";", "{ nmae = \"5g\";"), 5,
               "paths.[0].nmae: unknown key (allowed here: name, port, address, next_hop, mtu)");
  expect_error(kGateway + "dataplan = { burst = 32; };\n", 7, "dataplan: unknown key");
  expect_error(kGateway + "policy = ( );\n", 7, "policy: unknown key");
  expect_error(sub(kGateway, "key = \"k\";", "kye = \"k\";"), 3, "tunnel.kye: unknown key");
  expect_error(sub(kGateway, "lan = { port", "lan = { prot = \"x\"; port"), 2, "lan.prot: unknown key");
  expect_error(kGateway +
                   "nat = {\n"                       // 7
                   "  timeouts = {\n"                // 8
                   "    tcp_established = 7440;\n"   // 9
                   "    tcp_establshed = 7440;\n"    // 10
                   "  };\n"
                   "};\n",
               10, "nat.timeouts.tcp_establshed: unknown key");
  expect_error(kGateway + "nat = { port_forwards = ( { proto = \"tcp\"; port = 1; dst = \"x\"; } ); };\n", 7,
               "nat.port_forwards.[0].dst: unknown key");
  expect_error(kGateway + "arp = ( { address = \"10.5.0.1\"; mac = \"02:00:00:00:00:01\"; ttl = 1; } );\n", 7,
               "arp.[0].ttl: unknown key");
  expect_error(kGateway + "dataplane = { bursts = 1; };\n", 7, "dataplane.bursts: unknown key");
  expect_error(kGateway + "control = { path = \"/x\"; };\n", 7, "control.path: unknown key");
  expect_error(sub(kServer, "key = \"k\"; }", "key = \"k\"; name = \"a\"; }"), 4, "gateways.[0].name: unknown key");
  expect_error(sub(kServer, "name = \"t0\";", "name = \"t0\"; nxt_hop = \"10.99.0.2\";"), 3,
               "tunnel.ports.[0].nxt_hop: unknown key");
}

TEST_F(ConfigTest, KeysOfTheOtherRole) {
  expect_error(kGateway + "gateways = ( { id = 7; address = \"100.64.0.8\"; } );\n", 7,
               "gateways: not allowed in a gateway configuration (server only)");
  expect_error(kGateway + "wan = { port = \"p9\"; address = \"1.2.3.4/24\"; };\n", 7,
               "wan: not allowed in a gateway configuration");
  expect_error(sub(kGateway, "key = \"k\";", "key = \"k\"; ports = ();"), 3,
               "tunnel.ports: not allowed in a gateway configuration");
  expect_error(kServer + "lan = { port = \"p9\"; address = \"192.168.1.1/24\"; };\n", 5,
               "lan: not allowed in a server configuration (gateway only)");
  expect_error(kServer + "paths = ();\n", 5, "paths: not allowed in a server configuration");
  expect_error(sub(kServer, "tunnel = { port = 4500;", "tunnel = { port = 4500; id = 1;"), 3,
               "tunnel.id: not allowed in a server configuration");
  expect_error(sub(kServer, "tunnel = { port = 4500;", "tunnel = { port = 4500; server = \"1.2.3.4:1\";"), 3,
               "tunnel.server: not allowed in a server configuration");
}

TEST_F(ConfigTest, WrongTypes) {
  expect_error(sub(kGateway, "next_hop = \"10.5.0.1\"; }", "next_hop = \"10.5.0.1\"; mtu = \"1500\"; }"), 5,
               "paths.[0].mtu: expected an integer, got a string");
  expect_error(sub(kGateway, "next_hop = \"10.5.0.1\"; }", "next_hop = \"10.5.0.1\"; mtu = 1500.0; }"), 5,
               "paths.[0].mtu: expected an integer, got a float");
  expect_error(sub(kGateway, "id = 7;", "id = \"7\";"), 3, "tunnel.id: expected an integer, got a string");
  expect_error(sub(kGateway, "port = \"p0\";", "port = 0;"), 2, "lan.port: expected a string, got an integer");
  expect_error(sub(kGateway, "next_hop = \"10.5.0.1\"; }", "next_hop = true; }"), 5,
               "paths.[0].next_hop: expected a string, got a boolean");
  expect_error(sub(kGateway, "role = \"gateway\";", "role = gateway;"), 1, "syntax error");
  expect_error(sub(kGateway, "role = \"gateway\";", "role = 1;"), 1, "role: expected a string, got an integer");
  expect_error(kGateway + "nat = ( );\n", 7, "nat: expected a group { ... }, got a list ( ... )");
  expect_error(kGateway + "arp = { address = \"10.5.0.1\"; };\n", 7, "arp: expected a list ( ... ), got a group");
  expect_error(kGateway + "arp = ( \"10.5.0.1\" );\n", 7, "arp.[0]: expected a group { ... }, got a string");
  expect_error(kGateway + "nat = { port_forwards = ( 1 ); };\n", 7, "nat.port_forwards.[0]: expected a group");
  expect_error(kGateway + "nat = { timeouts = 5; };\n", 7, "nat.timeouts: expected a group");
  expect_error(kGateway + "nat = { port_range = 1024; };\n", 7, "nat.port_range: expected a string");
  expect_error(kGateway + "dataplane = { burst = [32]; };\n", 7, "dataplane.burst: expected an integer, got an array");
  expect_error(kGateway + "control = { socket = 1; };\n", 7, "control.socket: expected a string");
  expect_error(kGateway.substr(0, kGateway.find("paths")) + "paths = { name = \"5g\"; };\n", 4,
               "paths: expected a list ( ... ), got a group");
  expect_error(sub(kServer, "gateways = ( {", "gateways = ( 7, {"), 4, "gateways.[0]: expected a group");
}

TEST_F(ConfigTest, MissingRequiredKeys) {
  expect_error(sub(kGateway, "role = \"gateway\";", ""), 0, "missing required key \"role\"");
  expect_error(sub(kGateway, "lan = { port = \"p0\"; address = \"192.168.10.1/24\"; };", ""), 0,
               "missing required key \"lan\"");
  expect_error(sub(kGateway, "port = \"p0\"; ", ""), 2, "lan: missing required key \"port\"");
  expect_error(sub(kGateway, "address = \"192.168.10.1/24\"; ", ""), 2, "lan: missing required key \"address\"");
  expect_error(sub(kGateway, "id = 7; ", ""), 3, "tunnel: missing required key \"id\"");
  expect_error(sub(kGateway, "address = \"100.64.0.7\"; ", ""), 3, "tunnel: missing required key \"address\"");
  expect_error(sub(kGateway, "server = \"10.99.0.1:4500\"; ", ""), 3, "tunnel: missing required key \"server\"");
  expect_error(sub(kGateway, "{ name = \"5g\"; ", "{ "), 5, "paths.[0]: missing required key \"name\"");
  expect_error(sub(kGateway, "port = \"p1\"; ", ""), 5, "paths.[0]: missing required key \"port\"");
  expect_error(sub(kGateway, "address = \"10.5.0.2/24\"; ", ""), 5, "paths.[0]: missing required key \"address\"");
  expect_error("role = \"gateway\";\nlan = { port = \"p0\"; address = \"192.168.10.1/24\"; };\n"
               "tunnel = { id = 7; address = \"100.64.0.7\"; server = \"10.99.0.1:4500\"; };\n", 0,
               "missing required key \"paths\"");
  expect_error("role = \"gateway\";\nlan = { port = \"p0\"; address = \"192.168.10.1/24\"; };\n"
               "paths = ( { name = \"5g\"; port = \"p1\"; address = \"10.5.0.2/24\"; next_hop = \"10.5.0.1\"; } );\n",
               0, "missing required key \"tunnel\"");
  expect_error(kGateway + "nat = { port_forwards = ( { proto = \"tcp\"; port = 80; } ); };\n", 7,
               "nat.port_forwards.[0]: missing required key \"to\"");
  expect_error(kGateway + "arp = ( { address = \"10.5.0.1\"; } );\n", 7, "arp.[0]: missing required key \"mac\"");
  // server
  expect_error(sub(kServer, "wan = { port = \"p1\"; address = \"198.51.100.1/24\"; };", ""), 0,
               "missing required key \"wan\"");
  expect_error(sub(kServer, "gateways = ( { id = 7; address = \"100.64.0.7\"; key = \"k\"; } );", ""), 0,
               "missing required key \"gateways\"");
  expect_error(sub(kServer, "{ id = 7; address = \"100.64.0.7\"; key = \"k\"; }", ""), 4,
               "gateways: at least one gateway is required");
  expect_error(sub(kServer, "id = 7; ", ""), 4, "gateways.[0]: missing required key \"id\"");
  expect_error(sub(kServer, "address = \"100.64.0.7\"; ", ""), 4, "gateways.[0]: missing required key \"address\"");
  expect_error(sub(kServer, "{ name = \"t0\"; ", "{ "), 3, "tunnel.ports.[0]: missing required key \"name\"");
}

TEST_F(ConfigTest, Role) {
  expect_error(sub(kGateway, "role = \"gateway\";", "role = \"client\";"), 1,
               "role: must be \"gateway\" or \"server\", not \"client\"");
  expect_error(sub(kGateway, "role = \"gateway\";", "role = \"Gateway\";"), 1, "must be \"gateway\" or \"server\"");
}

TEST_F(ConfigTest, PathCount) {
  expect_error(sub(kGateway,
                   "  { name = \"5g\"; port = \"p1\"; address = \"10.5.0.2/24\"; next_hop = \"10.5.0.1\"; }\n",
                   ""),
               4, "paths: at least one path is required");
  std::string many = "role = \"gateway\";\n"
                     "lan = { port = \"p0\"; address = \"192.168.10.1/24\"; };\n"
                     "tunnel = { id = 7; address = \"100.64.0.7\"; server = \"10.99.0.1:4500\"; };\n"
                     "paths = (\n";
  for (int k = 0; k < 9; ++k)
    many += std::string(k ? "," : " ") + " { name = \"p" + std::to_string(k) + "\"; port = \"e" +
            std::to_string(k) + "\"; address = \"10." + std::to_string(k + 10) +
            ".0.2/24\"; next_hop = \"10." + std::to_string(k + 10) + ".0.1\"; }\n";  // lines 5..13
  Config c = load_text(many.substr(0, many.rfind(", {")) + ");\n");  // 8 paths are fine
  EXPECT_EQ(c.paths.size(), 8u);
  EXPECT_EQ(c.paths[7].id, 7);
  expect_error(many + ");\n", 13, "paths.[8]: too many paths (at most 8)");
}

// --- addresses and interfaces ----------------------------------------------------------------

TEST_F(ConfigTest, AddressSyntax) {
  expect_error(sub(kGateway, "\"192.168.10.1/24\"", "\"192.168.10.1\""), 2,
               "lan.address: \"192.168.10.1\" is not an address with prefix length");
  expect_error(sub(kGateway, "\"192.168.10.1/24\"", "\"192.168.300.1/24\""), 2,
               "lan.address: \"192.168.300.1/24\" is not an address with prefix length");
  expect_error(sub(kGateway, "\"192.168.10.1/24\"", "\"192.168.10.1/33\""), 2, "lan.address:");
  expect_error(sub(kGateway, "next_hop = \"10.5.0.1\"", "next_hop = \"10.5.0\""), 5,
               "paths.[0].next_hop: \"10.5.0\" is not an IPv4 address");
  expect_error(sub(kGateway, "next_hop = \"10.5.0.1\"", "next_hop = \"10.5.0.1/24\""), 5,
               "paths.[0].next_hop: \"10.5.0.1/24\" is not an IPv4 address");
  expect_error(sub(kGateway, "address = \"100.64.0.7\"", "address = \"100.64.0.7/32\""), 3,
               "tunnel.address: \"100.64.0.7/32\" is not an IPv4 address");
  expect_error(sub(kGateway, "address = \"100.64.0.7\"", "address = \"224.0.0.1\""), 3,
               "tunnel.address: \"224.0.0.1\" is not a unicast host address");
  expect_error(sub(kGateway, "server = \"10.99.0.1:4500\"", "server = \"10.99.0.1\""), 3,
               "tunnel.server: \"10.99.0.1\" is not an address and UDP port");
  expect_error(sub(kGateway, "server = \"10.99.0.1:4500\"", "server = \"10.99.0.1:0\""), 3,
               "tunnel.server: \"10.99.0.1:0\" is not an address and UDP port");
  expect_error(sub(kGateway, "server = \"10.99.0.1:4500\"", "server = \"10.99.0.1:65536\""), 3,
               "tunnel.server:");
  expect_error(sub(kGateway, "server = \"10.99.0.1:4500\"", "server = \"0.0.0.0:4500\""), 3,
               "tunnel.server: \"0.0.0.0:4500\" is not a unicast host address");
  expect_error(sub(kServer, "address = \"100.64.0.7\"", "address = \"100.64.0\""), 4,
               "gateways.[0].address: \"100.64.0\" is not an IPv4 address");
  expect_error(sub(kGateway, "port = \"p0\";", "port = \"\";"), 2, "lan.port: must not be empty");
}

TEST_F(ConfigTest, InterfacePrefixLength) {
  expect_error(sub(kGateway, "\"192.168.10.1/24\"", "\"192.168.10.1/0\""), 2,
               "lan.address: prefix length /0 in \"192.168.10.1/0\" is not allowed for an interface (1..30)");
  expect_error(sub(kGateway, "\"10.5.0.2/24\"", "\"10.5.0.2/31\""), 5, "paths.[0].address: prefix length /31");
  expect_error(sub(kGateway, "\"10.5.0.2/24\"", "\"10.5.0.2/32\""), 5, "paths.[0].address: prefix length /32");
  EXPECT_NO_THROW(load_text(sub(sub(kGateway, "\"10.5.0.2/24\"", "\"10.5.0.2/30\""), "10.5.0.1\"", "10.5.0.1\"")));
}

TEST_F(ConfigTest, InterfaceNetworkOrBroadcastAddress) {
  expect_error(sub(kGateway, "\"192.168.10.1/24\"", "\"192.168.10.0/24\""), 2,
               "lan.address: \"192.168.10.0/24\" is the network address of 192.168.10.0/24");
  expect_error(sub(kGateway, "\"192.168.10.1/24\"", "\"192.168.10.255/24\""), 2,
               "lan.address: \"192.168.10.255/24\" is the broadcast address of 192.168.10.0/24");
  expect_error(sub(kServer, "\"10.99.0.1/24\"", "\"10.99.0.255/24\""), 3,
               "tunnel.ports.[0].address: \"10.99.0.255/24\" is the broadcast address");
  expect_error(sub(kGateway, "\"192.168.10.1/24\"", "\"127.0.0.1/8\""), 2, "is not a unicast host address");
}

TEST_F(ConfigTest, NextHop) {
  expect_error(sub(kGateway, "next_hop = \"10.5.0.1\"", "next_hop = \"10.6.0.1\""), 5,
               "paths.[0].next_hop: 10.6.0.1 is not inside the interface's prefix 10.5.0.0/24");
  expect_error(sub(kGateway, "next_hop = \"10.5.0.1\"", "next_hop = \"10.5.0.2\""), 5,
               "paths.[0].next_hop: 10.5.0.2 is the interface's own address");
  expect_error(sub(kGateway, "next_hop = \"10.5.0.1\"", "next_hop = \"10.5.0.255\""), 5,
               "paths.[0].next_hop: 10.5.0.255 is the network or broadcast address of 10.5.0.0/24");
  expect_error(sub(kServer, "next_hop = \"10.99.0.254\"", "next_hop = \"10.98.0.254\""), 3,
               "tunnel.ports.[0].next_hop: 10.98.0.254 is not inside");
  expect_error(sub(kServer, "\"198.51.100.1/24\";", "\"198.51.100.1/24\"; next_hop = \"198.51.101.1\";"), 2,
               "wan.next_hop: 198.51.101.1 is not inside the interface's prefix 198.51.100.0/24");
  Config c = load_text(sub(kServer, "\"198.51.100.1/24\";", "\"198.51.100.1/24\"; next_hop = \"198.51.100.254\";"));
  EXPECT_EQ(c.wan.next_hop, ip("198.51.100.254"));
}

TEST_F(ConfigTest, OverlappingPrefixes) {
  expect_error(sub(kGateway, "\"10.5.0.2/24\"", "\"192.168.10.5/24\""), 5,
               "paths.[0].address: \"192.168.10.5/24\" overlaps 192.168.10.0/24 of interface lan (line 2)");
  // a shorter prefix covering an earlier one overlaps too
  expect_error(sub(sub(kGateway, "\"10.5.0.2/24\"", "\"192.168.0.2/16\""), "\"10.5.0.1\"", "\"192.168.0.1\""), 5,
               "overlaps 192.168.10.0/24 of interface lan");
  expect_error(sub(kServer, "\"10.99.0.1/24\"", "\"198.51.100.130/25\""), 3,
               "tunnel.ports.[0].address: \"198.51.100.130/25\" overlaps 198.51.100.0/24 of interface wan");
}

TEST_F(ConfigTest, PortUsedTwice) {
  expect_error(sub(kGateway, "port = \"p1\";", "port = \"p0\";"), 5,
               "paths.[0].port: port \"p0\" is already used by interface lan (line 2)");
  expect_error(sub(kServer, "port = \"p0\";", "port = \"p1\";"), 3,
               "tunnel.ports.[0].port: port \"p1\" is already used by interface wan");
}

TEST_F(ConfigTest, PathNames) {
  std::string two = sub(kGateway, "next_hop = \"10.5.0.1\"; }",
                        "next_hop = \"10.5.0.1\"; },\n"
                        "  { name = \"5g\"; port = \"p2\"; address = \"10.6.0.2/24\"; next_hop = \"10.6.0.1\"; }");
  expect_error(two, 6, "paths.[1].name: name \"5g\" is already used (line 5)");
  expect_error(sub(kGateway, "name = \"5g\"", "name = \"5G\""), 5,
               "paths.[0].name: \"5G\" is not a valid name (1 to 15 of a-z 0-9 _ -)");
  expect_error(sub(kGateway, "name = \"5g\"", "name = \"\""), 5, "paths.[0].name: \"\" is not a valid name");
  expect_error(sub(kGateway, "name = \"5g\"", "name = \"abcdefghijklmnop\""), 5, "is not a valid name");
  expect_error(sub(kGateway, "name = \"5g\"", "name = \"5g wifi\""), 5, "is not a valid name");
  expect_error(sub(kGateway, "name = \"5g\"", "name = \"lan\""), 5, "paths.[0].name: name \"lan\" is already used");
  EXPECT_EQ(load_text(sub(kGateway, "name = \"5g\"", "name = \"abcdefghijklmn_\"")).paths[0].iface.name,
            "abcdefghijklmn_");
  EXPECT_EQ(load_text(sub(kGateway, "name = \"5g\"", "name = \"lte-1\"")).paths[0].iface.name, "lte-1");
  expect_error(sub(kServer, "name = \"t0\"", "name = \"T0\""), 3, "tunnel.ports.[0].name: \"T0\" is not a valid name");
}

TEST_F(ConfigTest, Mtu) {
  expect_error(sub(kGateway, "next_hop = \"10.5.0.1\"; }", "next_hop = \"10.5.0.1\"; mtu = 575; }"), 5,
               "paths.[0].mtu: 575 is out of range 576..9000");
  expect_error(sub(kGateway, "\"192.168.10.1/24\";", "\"192.168.10.1/24\"; mtu = 9001;"), 2,
               "lan.mtu: 9001 is out of range 576..9000");
  Config c = load_text(sub(kGateway, "next_hop = \"10.5.0.1\"; }", "next_hop = \"10.5.0.1\"; mtu = 576; }"));
  EXPECT_EQ(c.paths[0].iface.mtu, 576);
  EXPECT_EQ(c.tunnel.inner_mtu, 576 - 52);
}

// --- tunnel and gateways ---------------------------------------------------------------------

TEST_F(ConfigTest, TunnelId) {
  expect_error(sub(kGateway, "id = 7;", "id = 0;"), 3, "tunnel.id: 0 is reserved");
  expect_error(sub(kServer, "id = 7;", "id = 0;"), 4, "gateways.[0].id: 0 is reserved");
}

TEST_F(ConfigTest, TunnelPort) {
  expect_error(sub(kGateway, "key = \"k\";", "key = \"k\"; port = 0;"), 3, "tunnel.port: 0 is out of range 1..65535");
  expect_error(sub(kServer, "port = 4500;", "port = 65536;"), 3, "tunnel.port: 65536 is out of range 1..65535");
  EXPECT_EQ(load_text(sub(kGateway, "key = \"k\";", "key = \"k\"; port = 65535;")).tunnel.port, 65535);
}

TEST_F(ConfigTest, GatewayTunnelAddressMustBeOffLink) {
  expect_error(sub(kGateway, "address = \"100.64.0.7\"", "address = \"192.168.10.7\""), 3,
               "tunnel.address: 192.168.10.7 is inside the prefix 192.168.10.0/24 of interface lan");
  expect_error(sub(kGateway, "address = \"100.64.0.7\"", "address = \"10.5.0.2\""), 3,
               "tunnel.address: 10.5.0.2 is inside the prefix 10.5.0.0/24 of interface 5g");
}

TEST_F(ConfigTest, GatewayServerAddress) {
  expect_error(sub(kGateway, "server = \"10.99.0.1:4500\"", "server = \"192.168.10.9:4500\""), 3,
               "tunnel.server: 192.168.10.9 is inside the LAN prefix 192.168.10.0/24");
  expect_error(sub(kGateway, "server = \"10.99.0.1:4500\"", "server = \"10.5.0.2:4500\""), 3,
               "tunnel.server: 10.5.0.2 is the address of interface 5g");
  // A path without next_hop must have the server on-link.
  std::string no_nh = sub(kGateway, " next_hop = \"10.5.0.1\";", "");
  expect_error(no_nh, 5, "paths.[0]: no next_hop, and the server 10.99.0.1 is not on-link for 10.5.0.2/24");
  Config c = load_text(sub(no_nh, "server = \"10.99.0.1:4500\"", "server = \"10.5.0.9:4500\""));
  EXPECT_FALSE(c.paths[0].iface.next_hop);
}

TEST_F(ConfigTest, ServerGateways) {
  std::string two = sub(kServer, "key = \"k\"; } );",
                        "key = \"k\"; },\n"
                        "  { id = 8; address = \"100.64.0.8\"; } );");
  Config c = load_text(two);
  ASSERT_EQ(c.peers.size(), 2u);
  EXPECT_EQ(c.peers[1].tunnel_id, 8u);
  EXPECT_EQ(c.peers[1].key, "");
  EXPECT_EQ(c.peers[1].line, 5);
  expect_error(sub(two, "id = 8;", "id = 7;"), 5, "gateways.[1].id: duplicate gateway id 7 (also on line 4)");
  expect_error(sub(two, "\"100.64.0.8\"", "\"100.64.0.7\""), 5,
               "gateways.[1].address: duplicate gateway address 100.64.0.7 (also on line 4)");
  expect_error(sub(kServer, "\"100.64.0.7\"", "\"198.51.100.7\""), 4,
               "gateways.[0].address: 198.51.100.7 is inside the prefix 198.51.100.0/24 of interface wan");
  expect_error(sub(kServer, "\"100.64.0.7\"", "\"10.99.0.7\""), 4,
               "gateways.[0].address: 10.99.0.7 is inside the prefix 10.99.0.0/24 of interface t0");
}

// --- nat -------------------------------------------------------------------------------------

TEST_F(ConfigTest, NatRanges) {
  expect_error(kGateway + "nat = { max_sessions = 1023; };\n", 7, "nat.max_sessions: 1023 is out of range 1024..16777216");
  expect_error(kGateway + "nat = { max_sessions = 16777217; };\n", 7, "nat.max_sessions: 16777217 is out of range");
  EXPECT_EQ(load_text(kGateway + "nat = { max_sessions = 16777216; };\n").nat.max_sessions, 16777216u);
  expect_error(kGateway + "nat = { timeouts = { udp = 0; }; };\n", 7, "nat.timeouts.udp: 0 is out of range 1..86400");
  expect_error(kGateway + "nat = { timeouts = { icmp = 86401; }; };\n", 7, "nat.timeouts.icmp: 86401 is out of range 1..86400");
  expect_error(kGateway + "nat = { timeouts = { tcp_transitory = 0; }; };\n", 7, "nat.timeouts.tcp_transitory: 0 is out of range");
  expect_error(kGateway + "nat = { timeouts = {\n tcp_transitory = 600;\n tcp_established = 599; }; };\n", 9,
               "nat.timeouts.tcp_established: tcp_established (599) must be >= tcp_transitory (600)");
  // against the default tcp_established (7440)
  expect_error(kGateway + "nat = { timeouts = {\n tcp_transitory = 7441; }; };\n", 8,
               "nat.timeouts.tcp_transitory: tcp_established (7440) must be >= tcp_transitory (7441)");
}

TEST_F(ConfigTest, NatPortRange) {
  auto with = [&](const std::string& r) { return kGateway + "nat = { port_range = \"" + r + "\"; };\n"; };
  expect_error(with("1000-2000"), 7, "nat.port_range: \"1000-2000\": need 1024 <= FIRST <= LAST <= 65535");
  expect_error(with("2000-1024"), 7, "need 1024 <= FIRST <= LAST");
  expect_error(with("1024-65536"), 7, "need 1024 <= FIRST <= LAST <= 65535");
  expect_error(with("1024-1086"), 7, "nat.port_range: \"1024-1086\" has fewer than 64 ports");
  expect_error(with("1024"), 7, "nat.port_range: \"1024\" is not a port range FIRST-LAST");
  expect_error(with("a-b"), 7, "is not a port range");
  expect_error(with("1024-"), 7, "is not a port range");
  expect_error(with(" 1024-2000"), 7, "is not a port range");
  expect_error(with("1024-2000-3000"), 7, "is not a port range");
  Config c = load_text(with("1024-1087"));
  EXPECT_EQ(c.nat.port_first, 1024);
  EXPECT_EQ(c.nat.port_last, 1087);
}

TEST_F(ConfigTest, GatewayPortForwards) {
  auto fwd = [&](const std::string& body) {
    return kGateway + "nat = { port_forwards = (\n" + body + "\n); };\n";  // body starts on line 8
  };
  expect_error(fwd("{ proto = \"icmp\"; port = 1; to = \"192.168.10.2:1\"; }"), 8,
               "nat.port_forwards.[0].proto: must be \"tcp\" or \"udp\", not \"icmp\"");
  expect_error(fwd("{ proto = \"tcp\"; port = 0; to = \"192.168.10.2:1\"; }"), 8,
               "nat.port_forwards.[0].port: 0 is out of range 1..65535");
  expect_error(fwd("{ proto = \"tcp\"; port = 65536; to = \"192.168.10.2:1\"; }"), 8,
               "nat.port_forwards.[0].port: 65536 is out of range 1..65535");
  expect_error(fwd("{ proto = \"tcp\"; port = 80; to = \"192.168.10.2\"; }"), 8,
               "nat.port_forwards.[0].to: \"192.168.10.2\" is not an address and port");
  expect_error(fwd("{ proto = \"tcp\"; port = 80; to = \"192.168.10.2:0\"; }"), 8, "is not an address and port");
  expect_error(fwd("{ proto = \"tcp\"; port = 80; to = \"10.5.0.9:80\"; }"), 8,
               "nat.port_forwards.[0].to: 10.5.0.9 is not inside the LAN prefix 192.168.10.0/24");
  expect_error(fwd("{ proto = \"tcp\"; port = 80; to = \"192.168.10.1:80\"; }"), 8,
               "nat.port_forwards.[0].to: 192.168.10.1 is the gateway's own LAN address");
  expect_error(fwd("{ proto = \"tcp\"; port = 80; to = \"192.168.10.255:80\"; }"), 8,
               "is the network or broadcast address of the LAN");
  expect_error(fwd("{ proto = \"tcp\"; port = 80; to = \"192.168.10.2:80\"; },\n"
                   "{ proto = \"tcp\"; port = 80; to = \"192.168.10.3:80\"; }"),
               9, "nat.port_forwards.[1].port: duplicate forward of tcp port 80 (also on line 8)");
  expect_error(fwd("{ proto = \"udp\"; port = 80; to = \"192.168.10.2:80\"; },\n"
                   "{ proto = \"udp\"; port = 81; to = \"192.168.10.2:80\"; }"),
               9, "nat.port_forwards.[1].to: duplicate forward target udp 192.168.10.2:80 (also on line 8)");
  expect_error(fwd("{ proto = \"udp\"; port = 4500; to = \"192.168.10.2:80\"; }"), 8,
               "nat.port_forwards.[0].port: udp port 4500 is the tunnel's UDP port and cannot be forwarded");
  // same port, different protocols; tcp on the tunnel port: fine
  Config c = load_text(fwd("{ proto = \"tcp\"; port = 4500; to = \"192.168.10.2:80\"; },\n"
                           "{ proto = \"udp\"; port = 4501; to = \"192.168.10.2:80\"; },\n"
                           "{ proto = \"udp\"; port = 80; to = \"192.168.10.3:80\"; },\n"
                           "{ proto = \"tcp\"; port = 80; to = \"192.168.10.3:80\"; }"));
  EXPECT_EQ(c.nat.port_forwards.size(), 4u);
  // the tunnel port counts as configured
  expect_error(sub(kGateway, "key = \"k\";", "key = \"k\"; port = 5000;") +
                   "nat = { port_forwards = ( { proto = \"udp\"; port = 5000; to = \"192.168.10.2:1\"; } ); };\n",
               7, "udp port 5000 is the tunnel's UDP port");
}

TEST_F(ConfigTest, ServerPortForwards) {
  auto fwd = [&](const std::string& body) {
    return kServer + "nat = { port_forwards = (\n" + body + "\n); };\n";  // body starts on line 6
  };
  Config c = load_text(fwd("{ proto = \"udp\"; port = 53; to = \"100.64.0.7:53\"; }"));
  EXPECT_EQ(c.nat.port_forwards[0].fwd.to_addr, ip("100.64.0.7"));
  expect_error(fwd("{ proto = \"tcp\"; port = 8080; to = \"100.64.0.8:8080\"; }"), 6,
               "nat.port_forwards.[0].to: 100.64.0.8 is not the tunnel address of any configured gateway");
  expect_error(fwd("{ proto = \"tcp\"; port = 8080; to = \"198.51.100.2:8080\"; }"), 6,
               "is not the tunnel address of any configured gateway");
  expect_error(fwd("{ proto = \"udp\"; port = 4500; to = \"100.64.0.7:4500\"; }"), 6,
               "nat.port_forwards.[0].port: udp port 4500 is the tunnel's UDP port");
  expect_error(fwd("{ proto = \"tcp\"; port = 8080; to = \"100.64.0.7:8080\"; },\n"
                   "{ proto = \"tcp\"; port = 8080; to = \"100.64.0.7:8081\"; }"),
               7, "nat.port_forwards.[1].port: duplicate forward of tcp port 8080 (also on line 6)");
}

// --- arp, dataplane, control -----------------------------------------------------------------

TEST_F(ConfigTest, StaticArp) {
  auto arp = [&](const std::string& a, const std::string& m) {
    return kGateway + "arp = ( { address = \"" + a + "\"; mac = \"" + m + "\"; } );\n";
  };
  Config c = load_text(arp("192.168.10.2", "02:00:00:00:00:02"));
  EXPECT_EQ(c.static_arp[0].address, ip("192.168.10.2"));
  expect_error(arp("10.7.0.1", "02:00:00:00:00:01"), 7,
               "arp.[0].address: 10.7.0.1 is not on-link for any interface");
  expect_error(arp("10.5.0", "02:00:00:00:00:01"), 7, "arp.[0].address: \"10.5.0\" is not an IPv4 address");
  expect_error(arp("10.5.0.2", "02:00:00:00:00:01"), 7, "arp.[0].address: 10.5.0.2 is the address of interface 5g");
  expect_error(arp("10.5.0.255", "02:00:00:00:00:01"), 7, "is the network or broadcast address of 10.5.0.0/24");
  expect_error(arp("10.5.0.1", "02:00:00:00:00"), 7, "arp.[0].mac: \"02:00:00:00:00\" is not a MAC address");
  expect_error(arp("10.5.0.1", "02-00-00-00-00-01"), 7, "arp.[0].mac: \"02-00-00-00-00-01\" is not a MAC address");
  expect_error(arp("10.5.0.1", "00:00:00:00:00:00"), 7, "arp.[0].mac: \"00:00:00:00:00:00\" is not a unicast MAC");
  expect_error(arp("10.5.0.1", "ff:ff:ff:ff:ff:ff"), 7, "is not a unicast MAC");
  expect_error(kGateway + "arp = ( { address = \"10.5.0.1\"; mac = \"02:00:00:00:00:01\"; },\n"
                          "        { address = \"10.5.0.1\"; mac = \"02:00:00:00:00:02\"; } );\n",
               8, "arp.[1].address: duplicate entry for 10.5.0.1 (also on line 7)");
  // server: on-link for the WAN or a tunnel port
  EXPECT_EQ(load_text(kServer + "arp = ( { address = \"10.99.0.254\"; mac = \"02:00:00:00:00:01\"; } );\n")
                .static_arp.size(),
            1u);
}

TEST_F(ConfigTest, DataplaneRanges) {
  auto dp = [&](const std::string& kv) { return kGateway + "dataplane = { " + kv + "; };\n"; };
  expect_error(dp("burst = 0"), 7, "dataplane.burst: 0 is out of range 1..64");
  expect_error(dp("burst = 65"), 7, "dataplane.burst: 65 is out of range 1..64");
  expect_error(dp("mbufs = 1022"), 7, "dataplane.mbufs: 1022 is out of range 1023..4194304");
  expect_error(dp("mbufs = 4194305"), 7, "dataplane.mbufs: 4194305 is out of range");
  expect_error(dp("rx_desc = 1000"), 7, "dataplane.rx_desc: 1000 is not a power of two");
  expect_error(dp("rx_desc = 32"), 7, "dataplane.rx_desc: 32 is out of range 64..16384");
  expect_error(dp("tx_desc = 32768"), 7, "dataplane.tx_desc: 32768 is out of range 64..16384");
  expect_error(dp("tx_desc = 3000"), 7, "dataplane.tx_desc: 3000 is not a power of two");
  expect_error(dp("arp_hold = 257"), 7, "dataplane.arp_hold: 257 is out of range 0..256");
  expect_error(dp("arp_hold = -1"), 7, "dataplane.arp_hold: -1 is out of range 0..256");
  expect_error(dp("idle_sleep_us = -1"), 7, "dataplane.idle_sleep_us: -1 is out of range");
  expect_error(dp("icmp_errors_per_s = -5"), 7, "dataplane.icmp_errors_per_s: -5 is out of range");
  EXPECT_EQ(load_text(dp("arp_hold = 256")).dataplane.arp_hold, 256u);
}

TEST_F(ConfigTest, ControlSocket) {
  expect_error(kGateway + "control = { socket = \"\"; };\n", 7, "control.socket: must not be empty");
  expect_error(kGateway + "control = { socket = \"/" + std::string(120, 'x') + "\"; };\n", 7,
               "control.socket: path is longer than 107 bytes");
}

// --- check_ports -----------------------------------------------------------------------------

TEST_F(ConfigTest, CheckPorts) {
  std::string path = write(kGateway);
  Config c = load(path);
  EXPECT_NO_THROW(check_ports(c, {"p1", "p0", "p9"}));
  try {
    check_ports(c, {"p0", "x", "y"});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), (path + ":5: port \"p1\" is not an EAL device (EAL has: p0, x, y)").c_str());
    EXPECT_EQ(e.line, 5);
  }
  try {
    check_ports(c, {});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), (path + ":2: port \"p0\" is not an EAL device (EAL has: none)").c_str());
  }
  // the port's own line when the interface spans several lines
  std::string multi = "role = \"server\";\n"
                      "wan = {\n"
                      "  address = \"198.51.100.1/24\";\n"
                      "  port = \"0000:03:00.0\";\n"
                      "};\n"
                      "gateways = ( { id = 7; address = \"100.64.0.7\"; } );\n";
  path = write(multi);
  c = load(path);
  EXPECT_EQ(c.wan.line, 2);
  try {
    check_ports(c, {"0000:04:00.0"});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 (path + ":4: port \"0000:03:00.0\" is not an EAL device (EAL has: 0000:04:00.0)").c_str());
  }
}

TEST(ConfigErrorTest, Format) {
  EXPECT_STREQ(ConfigError("a.conf", 3, "bad").what(), "a.conf:3: bad");
  EXPECT_STREQ(ConfigError("a.conf", 0, "bad").what(), "a.conf: bad");
  ConfigError e("a.conf", 3, "bad");
  EXPECT_EQ(e.file, "a.conf");
  EXPECT_EQ(e.line, 3);
}

}  // namespace
}  // namespace mpf::config
