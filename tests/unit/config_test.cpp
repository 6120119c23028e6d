// lib/config: loading and validating appliance configuration files (docs/configuration.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "config/config.hpp"
#include "net/protocol.hpp"

#ifndef MPF_SOURCE_ROOT
#error "tests/meson.build passes MPF_SOURCE_ROOT"
#endif

namespace mpf::config {
namespace {

// The tunnel's pre-shared key in these configs (and the shipped examples'): bytes 0x10..0x2f.
#define KEY "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
#define KEY2 "F0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f"
tunnel::Key test_key() { return *tunnel::parse_key(KEY); }

net::Ipv4 ip(const char* s) { return *net::parse_ipv4(s); }

// One setting group per line, so line numbers in the tests are easy to read off. Extra settings
// appended to these start on line 7 (gateway) and line 5 (server).
const std::string kGateway =
    "role = \"gateway\";\n"                                                                  // 1
    "lan = { port = \"p0\"; address = \"192.168.10.1/24\"; };\n"                            // 2
    "tunnel = { id = 7; address = \"100.64.0.7\"; server = \"10.99.0.1:4500\"; key = \"" KEY "\"; };\n"  // 3
    "paths = (\n"                                                                            // 4
    "  { name = \"5g\"; port = \"p1\"; address = \"10.5.0.2/24\"; next_hop = \"10.5.0.1\"; }\n"  // 5
    ");\n";                                                                                  // 6

const std::string kServer =
    "role = \"server\";\n"                                                    // 1
    "wan = { port = \"p1\"; address = \"198.51.100.1/24\"; };\n"             // 2
    "tunnel = { port = 4500; ports = ( { name = \"t0\"; port = \"p0\"; address = \"10.99.0.1/24\";"
    " next_hop = \"10.99.0.254\"; } ); };\n"                                   // 3
    "gateways = ( { id = 7; address = \"100.64.0.7\"; key = \"" KEY "\"; } );\n";  // 4

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
  EXPECT_EQ(c.tunnel.key, test_key());
  EXPECT_EQ(c.tunnel.port, 4500);
  EXPECT_EQ(c.tunnel.inner_mtu, 1500 - 53);
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
  EXPECT_EQ(c.tunnel.inner_mtu, 1400 - 53);  // the LAN's 9000 does not count
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
  EXPECT_EQ(c.peers[0].key, test_key());
  EXPECT_EQ(c.peers[0].line, 4);
  EXPECT_EQ(c.tunnel.port, 4500);
  auto ifs = c.interfaces();
  ASSERT_EQ(ifs.size(), 2u);
  EXPECT_EQ(ifs[0], &c.wan);
  EXPECT_EQ(ifs[1], &c.tunnel_ports[0]);
}

TEST_F(ConfigTest, ServerInnerMtuCountsWanAndTunnelPorts) {
  std::string t = sub(kServer, "next_hop = \"10.99.0.254\"; }", "next_hop = \"10.99.0.254\"; mtu = 1400; }");
  EXPECT_EQ(load_text(t).tunnel.inner_mtu, 1400 - 53);
  t = sub(t, "address = \"198.51.100.1/24\";", "address = \"198.51.100.1/24\"; mtu = 1300;");
  EXPECT_EQ(load_text(t).tunnel.inner_mtu, 1300 - 53);
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
  EXPECT_EQ(c.tunnel.key, test_key());  // the example key (public)
  EXPECT_EQ(c.tunnel.port, 4500);
  ASSERT_EQ(c.paths.size(), 1u);
  EXPECT_EQ(c.paths[0].iface.name, "5g");
  EXPECT_EQ(c.paths[0].iface.port, "net_af_packet1");
  EXPECT_EQ(c.paths[0].iface.address, (net::Prefix{ip("10.5.0.2"), 24}));
  EXPECT_EQ(c.paths[0].iface.next_hop, ip("10.5.0.1"));
  EXPECT_EQ(c.paths[0].iface.mtu, 1500);
  EXPECT_EQ(c.tunnel.inner_mtu, 1447);
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
  EXPECT_EQ(c.tunnel.inner_mtu, 1447);
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_EQ(c.peers[0].tunnel_id, 7u);
  EXPECT_EQ(c.peers[0].tunnel_address, ip("100.64.0.7"));
  EXPECT_EQ(c.peers[0].key, test_key());
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

TEST_F(ConfigTest, EveryShippedConfigLoads) {
  size_t n = 0;
  for (const char* dir : {MPF_SOURCE_ROOT "/configs", MPF_SOURCE_ROOT "/configs/examples"}) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (!e.is_regular_file() || e.path().extension() != ".conf") continue;
      SCOPED_TRACE(e.path().string());
      EXPECT_NO_THROW({
        try {
          Config c = load(e.path().string());
          EXPECT_NO_THROW(check_ports(c, {"net_af_packet0", "net_af_packet1", "net_af_packet2"}));
        } catch (const ConfigError& err) {
          ADD_FAILURE() << err.what();
        }
      });
      ++n;
    }
  }
  EXPECT_GE(n, 4u);  // gateway, server, examples/gateway-2paths, examples/server-2paths
}

TEST_F(ConfigTest, ExampleGatewayTwoPaths) {
  Config c = load(MPF_SOURCE_ROOT "/configs/examples/gateway-2paths.conf");
  EXPECT_EQ(c.role, Role::gateway);
  ASSERT_EQ(c.paths.size(), 2u);
  EXPECT_EQ(c.paths[0].iface.name, "5g");
  EXPECT_EQ(c.paths[0].iface.port, "net_af_packet1");
  EXPECT_EQ(c.paths[0].max_rate_bps, 50'000'000u);
  EXPECT_EQ(c.paths[1].iface.name, "wifi");
  EXPECT_EQ(c.paths[1].id, 1);
  EXPECT_EQ(c.paths[1].iface.port, "net_af_packet2");
  EXPECT_EQ(c.paths[1].iface.address, (net::Prefix{ip("10.6.0.2"), 24}));
  EXPECT_EQ(c.paths[1].iface.next_hop, ip("10.6.0.1"));
  EXPECT_EQ(c.paths[1].max_rate_bps, 30'000'000u);
  ASSERT_EQ(c.path_profiles.size(), 2u);
  EXPECT_EQ(c.path_profiles[1].name, "wifi");
  EXPECT_EQ(c.multipath.mode, Mode::aggregate);
  ASSERT_EQ(c.policy.size(), 3u);
  EXPECT_EQ(c.policy[0].match.proto, net::kProtoUdp);  // DNS pinned to 5g
  EXPECT_EQ(c.policy[0].match.dst_lo, 53);
  EXPECT_EQ(c.policy[0].match.dst_hi, 53);
  EXPECT_EQ(c.policy[0].mode, Mode::pinned);
  EXPECT_EQ(c.policy[0].path, 0);
  EXPECT_EQ(c.policy[1].match.dst_lo, 16384);  // VoIP redundant
  EXPECT_EQ(c.policy[1].match.dst_hi, 32767);
  EXPECT_EQ(c.policy[1].mode, Mode::redundant);
  EXPECT_EQ(c.policy[2].match.dscp, 46);  // EF redundant
  EXPECT_EQ(c.policy[2].match.proto, 0);
  EXPECT_EQ(c.policy[2].mode, Mode::redundant);
}

TEST_F(ConfigTest, ExampleServerTwoPaths) {
  Config c = load(MPF_SOURCE_ROOT "/configs/examples/server-2paths.conf");
  EXPECT_EQ(c.role, Role::server);
  EXPECT_TRUE(c.paths.empty());
  ASSERT_EQ(c.path_profiles.size(), 2u);
  EXPECT_EQ(c.path_profiles[0].name, "5g");
  EXPECT_EQ(c.path_profiles[0].max_rate_bps, 50'000'000u);
  EXPECT_EQ(c.path_profiles[1].name, "wifi");
  EXPECT_EQ(c.path_profiles[1].max_rate_bps, 30'000'000u);
  ASSERT_EQ(c.policy.size(), 3u);
  EXPECT_EQ(c.policy[0].match.src_lo, 53);  // DNS replies pinned to 5g
  EXPECT_EQ(c.policy[0].match.dst_lo, 0);
  EXPECT_EQ(c.policy[0].match.dst_hi, 65535);
  EXPECT_EQ(c.policy[0].path, 0);
  EXPECT_EQ(c.policy[1].match.src_lo, 16384);
  EXPECT_EQ(c.policy[1].match.src_hi, 32767);
  EXPECT_EQ(c.policy[1].mode, Mode::redundant);
  EXPECT_EQ(c.policy[2].match.dscp, 46);
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
               "paths.[0].nmae: unknown key (allowed here: name, port, address, next_hop, mtu, weight, "
               "max_rate, impairment)");
  expect_error(kGateway + "dataplan = { burst = 32; };\n", 7, "dataplan: unknown key");
  expect_error(kGateway + "policies = ( );\n", 7, "policies: unknown key");
  expect_error(kGateway + "multipth = { };\n", 7, "multipth: unknown key");
  expect_error(sub(kGateway, "key = \"" KEY "\";", "kye = \"k\";"), 3, "tunnel.kye: unknown key");
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
  expect_error(sub(kServer, "key = \"" KEY "\"; }", "key = \"" KEY "\"; name = \"a\"; }"), 4, "gateways.[0].name: unknown key");
  expect_error(sub(kServer, "name = \"t0\";", "name = \"t0\"; nxt_hop = \"10.99.0.2\";"), 3,
               "tunnel.ports.[0].nxt_hop: unknown key");
}

TEST_F(ConfigTest, KeysOfTheOtherRole) {
  expect_error(kGateway + "gateways = ( { id = 7; address = \"100.64.0.8\"; } );\n", 7,
               "gateways: not allowed in a gateway configuration (server only)");
  expect_error(kGateway + "wan = { port = \"p9\"; address = \"1.2.3.4/24\"; };\n", 7,
               "wan: not allowed in a gateway configuration");
  expect_error(sub(kGateway, "key = \"" KEY "\";", "key = \"" KEY "\"; ports = ();"), 3,
               "tunnel.ports: not allowed in a gateway configuration");
  expect_error(kServer + "lan = { port = \"p9\"; address = \"192.168.1.1/24\"; };\n", 5,
               "lan: not allowed in a server configuration (gateway only)");
  // paths exist on both roles, with different keys (see ServerPaths)
  expect_error(kServer + "paths = ( { name = \"5g\"; port = \"p9\"; } );\n", 5,
               "paths.[0].port: paths on a server describe the gateways' paths: port/address not allowed");
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
  expect_error(sub(kServer, "gateways = ( { id = 7; address = \"100.64.0.7\"; key = \"" KEY "\"; } );", ""), 0,
               "missing required key \"gateways\"");
  expect_error(sub(kServer, "{ id = 7; address = \"100.64.0.7\"; key = \"" KEY "\"; }", ""), 4,
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
                     "tunnel = { id = 7; address = \"100.64.0.7\"; server = \"10.99.0.1:4500\"; key = \"" KEY "\"; };\n"
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
  EXPECT_EQ(c.tunnel.inner_mtu, 576 - 53);
}

// --- tunnel and gateways ---------------------------------------------------------------------

TEST_F(ConfigTest, TunnelId) {
  expect_error(sub(kGateway, "id = 7;", "id = 0;"), 3, "tunnel.id: 0 is reserved");
  expect_error(sub(kServer, "id = 7;", "id = 0;"), 4, "gateways.[0].id: 0 is reserved");
}

TEST_F(ConfigTest, TunnelPort) {
  expect_error(sub(kGateway, "key = \"" KEY "\";", "key = \"" KEY "\"; port = 0;"), 3, "tunnel.port: 0 is out of range 1..65535");
  expect_error(sub(kServer, "port = 4500;", "port = 65536;"), 3, "tunnel.port: 65536 is out of range 1..65535");
  EXPECT_EQ(load_text(sub(kGateway, "key = \"" KEY "\";", "key = \"" KEY "\"; port = 65535;")).tunnel.port, 65535);
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

TEST_F(ConfigTest, TunnelKeyIsRequiredAnd64HexDigits) {
  // Frames are authenticated with it (docs/protocol.md 6): no key, no tunnel.
  expect_error(sub(kGateway, " key = \"" KEY "\";", ""), 3, "tunnel: missing required key \"key\"");
  expect_error(sub(kServer, " key = \"" KEY "\";", ""), 4, "gateways.[0]: missing required key \"key\"");
  const std::string why = "expected 64 hex digits (32 random bytes, e.g. from `openssl rand -hex 32`), got ";
  expect_error(sub(kGateway, KEY, "change-me"), 3, "tunnel.key: " + why + "9 characters");
  expect_error(sub(kServer, KEY, std::string(KEY).substr(2)), 4, "gateways.[0].key: " + why + "62 characters");
  expect_error(sub(kGateway, KEY, std::string(KEY).substr(1) + "g"), 3, "tunnel.key: " + why + "64 characters");
  expect_error(sub(kGateway, "key = \"" KEY "\"", "key = 5"), 3, "tunnel.key: expected a string, got an integer");
  // Either case.
  EXPECT_EQ(load_text(sub(kServer, KEY, KEY2)).peers[0].key[0], 0xf0);
}

TEST_F(ConfigTest, ServerGateways) {
  std::string two = sub(kServer, "key = \"" KEY "\"; } );",
                        "key = \"" KEY "\"; },\n"
                        "  { id = 8; address = \"100.64.0.8\"; key = \"" KEY2 "\"; } );");
  Config c = load_text(two);
  ASSERT_EQ(c.peers.size(), 2u);
  EXPECT_EQ(c.peers[1].tunnel_id, 8u);
  EXPECT_EQ(c.peers[1].key, *mpf::tunnel::parse_key(KEY2));
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
  expect_error(sub(kGateway, "key = \"" KEY "\";", "key = \"" KEY "\"; port = 5000;") +
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

TEST_F(ConfigTest, ControlCaptureDir) {
  EXPECT_EQ(load_text(kGateway).control.capture_dir, "/var/lib/mpf/captures");
  EXPECT_EQ(load_text(kGateway + "control = { capture_dir = \"/srv/cap//\"; };\n").control.capture_dir,
            "/srv/cap");
  expect_error(kGateway + "control = { capture_dir = \"cap\"; };\n", 7,
               "control.capture_dir: must be an absolute path");
  expect_error(kGateway + "control = { capture_dir = \"/var/../etc\"; };\n", 7,
               "control.capture_dir: must not contain \"..\"");
  expect_error(kGateway + "control = { capture_dir = \"/" + std::string(210, 'x') + "\"; };\n", 7,
               "control.capture_dir: path is longer than 200 bytes");
}

TEST_F(ConfigTest, ControlNameAndPublishInterval) {
  Config d = load_text(kGateway);
  EXPECT_EQ(d.control.name, "");  // the dataplane uses the role
  EXPECT_EQ(d.control.publish_interval_ms, 100u);
  Config c = load_text(kGateway + "control = { name = \"gw-1.a_b\"; publish_interval_ms = 50; };\n");
  EXPECT_EQ(c.control.name, "gw-1.a_b");
  EXPECT_EQ(c.control.publish_interval_ms, 50u);
  expect_error(kGateway + "control = { name = \"\"; };\n", 7, "control.name: must be 1 to 31 characters");
  expect_error(kGateway + "control = { name = \"" + std::string(32, 'a') + "\"; };\n", 7,
               "control.name: must be 1 to 31 characters");
  expect_error(kGateway + "control = { name = \"../x\"; };\n", 7,
               "control.name: may hold only letters, digits");
  expect_error(kGateway + "control = { publish_interval_ms = 5; };\n", 7,
               "control.publish_interval_ms: 5 is out of range");
  expect_error(kGateway + "control = { publish_interval_ms = 1001; };\n", 7,
               "control.publish_interval_ms: 1001 is out of range");
}

// --- paths: weight, max_rate; the server's paths ----------------------------------------------

// kGateway with `extra` added to the 5g path's group (line 5).
std::string gw_path(const std::string& extra) {
  return sub(kGateway, "next_hop = \"10.5.0.1\"; }", "next_hop = \"10.5.0.1\"; " + extra + " }");
}

TEST_F(ConfigTest, PathWeightAndRateDefaults) {
  Config c = load_text(kGateway);
  EXPECT_EQ(c.paths[0].weight, 1);
  EXPECT_EQ(c.paths[0].max_rate_bps, 0u);
  ASSERT_EQ(c.path_profiles.size(), 1u);  // the gateway's profiles mirror its paths
  EXPECT_EQ(c.path_profiles[0].name, "5g");
  EXPECT_EQ(c.path_profiles[0].weight, 1);
  EXPECT_EQ(c.path_profiles[0].max_rate_bps, 0u);
  EXPECT_EQ(c.path_profiles[0].line, 5);
  c = load_text(gw_path("weight = 1000; max_rate = \"2.5G\";"));
  EXPECT_EQ(c.paths[0].weight, 1000);
  EXPECT_EQ(c.paths[0].max_rate_bps, 2'500'000'000u);
  EXPECT_EQ(c.path_profiles[0].weight, 1000);
  EXPECT_EQ(c.path_profiles[0].max_rate_bps, 2'500'000'000u);
}

TEST_F(ConfigTest, PathWeight) {
  EXPECT_EQ(load_text(gw_path("weight = 1;")).paths[0].weight, 1);
  expect_error(gw_path("weight = 0;"), 5, "paths.[0].weight: 0 is out of range 1..1000");
  expect_error(gw_path("weight = 1001;"), 5, "paths.[0].weight: 1001 is out of range 1..1000");
  expect_error(gw_path("weight = -1;"), 5, "paths.[0].weight: -1 is out of range");
  expect_error(gw_path("weight = \"2\";"), 5, "paths.[0].weight: expected an integer, got a string");
  expect_error(gw_path("weight = 1.5;"), 5, "paths.[0].weight: expected an integer, got a float");
  // tunnel ports are not paths
  expect_error(sub(kServer, "name = \"t0\";", "name = \"t0\"; weight = 2;"), 3,
               "tunnel.ports.[0].weight: unknown key (allowed here: name, port, address, next_hop, mtu)");
}

TEST_F(ConfigTest, PathMaxRate) {
  auto rate = [&](const std::string& v) { return load_text(gw_path("max_rate = " + v + ";")).paths[0].max_rate_bps; };
  EXPECT_EQ(rate("0"), 0u);
  EXPECT_EQ(rate("\"0\""), 0u);
  EXPECT_EQ(rate("\"0k\""), 0u);
  EXPECT_EQ(rate("48000000"), 48'000'000u);
  EXPECT_EQ(rate("\"48000000\""), 48'000'000u);
  EXPECT_EQ(rate("\"50M\""), 50'000'000u);
  EXPECT_EQ(rate("\"2.5G\""), 2'500'000'000u);
  EXPECT_EQ(rate("\"800k\""), 800'000u);
  EXPECT_EQ(rate("\"800K\""), 800'000u);
  EXPECT_EQ(rate("\"1.5M\""), 1'500'000u);
  EXPECT_EQ(rate("\"0.064M\""), 64'000u);
  EXPECT_EQ(rate("\"64k\""), 64'000u);           // the minimum
  EXPECT_EQ(rate("64000"), 64'000u);
  EXPECT_EQ(rate("\"400G\""), 400'000'000'000u);  // the maximum
  EXPECT_EQ(rate("400000000000L"), 400'000'000'000u);
  EXPECT_EQ(rate("\"10.000000001G\""), 10'000'000'001u);
  // out of range
  expect_error(gw_path("max_rate = 63999;"), 5, "paths.[0].max_rate: 63999 is out of range 64k..400G bit/s (0 = unlimited)");
  expect_error(gw_path("max_rate = \"63.999k\";"), 5,
               "paths.[0].max_rate: \"63.999k\" (63999 bit/s) is out of range 64k..400G bit/s");
  expect_error(gw_path("max_rate = \"400.000000001G\";"), 5, "(400000000001 bit/s) is out of range");
  expect_error(gw_path("max_rate = \"401G\";"), 5, "paths.[0].max_rate: \"401G\" (401000000000 bit/s) is out of range");
  expect_error(gw_path("max_rate = \"999999999999G\";"), 5, "paths.[0].max_rate: \"999999999999G\" is out of range");
  expect_error(gw_path("max_rate = 400000000001L;"), 5, "paths.[0].max_rate: 400000000001 is out of range");
  expect_error(gw_path("max_rate = -1;"), 5, "paths.[0].max_rate: -1 is out of range");
  expect_error(gw_path("max_rate = 48000000000;"), 5, "integer 48000000000 does not fit in 32 bits; write 48000000000L");
  // not whole bits per second
  expect_error(gw_path("max_rate = \"64000.5\";"), 5, "paths.[0].max_rate: \"64000.5\" is not a whole number of bit/s");
  expect_error(gw_path("max_rate = \"1.0001k\";"), 5, "\"1.0001k\" is not a whole number of bit/s");
  // not a rate
  for (const char* bad : {"50m", "50g", "50 M", "50Mbit", "", "M", "5.G", ".5G", "5..0M", "-1M", "+5M",
                          "1e6", "0x10M", "50MM", "1.0000000001G", "1234567890123"}) {
    expect_error(gw_path(std::string("max_rate = \"") + bad + "\";"), 5,
                 std::string("paths.[0].max_rate: \"") + bad + "\" is not a rate (bit/s: an integer, or a number with suffix k, M or G");
  }
  expect_error(gw_path("max_rate = 50.0;"), 5,
               "paths.[0].max_rate: expected an integer (bit/s) or a string such as \"50M\", got a float");
  expect_error(gw_path("max_rate = true;"), 5, "expected an integer (bit/s) or a string such as \"50M\", got a boolean");
}


// kServer plus `body` as its paths list; the list's first entry is on line 6.
std::string srv_paths(const std::string& body) { return kServer + "paths = (\n" + body + "\n);\n"; }

TEST_F(ConfigTest, PathMaxRateAuto) {
  // "auto": rate control discovers the capacity (it needs rate control, on by default).
  Config c = load_text(gw_path("max_rate = \"auto\";"));
  EXPECT_EQ(c.paths[0].max_rate_bps, kAutoRate);
  EXPECT_EQ(c.path_profiles[0].max_rate_bps, kAutoRate);
  c = load_text(srv_paths("{ name = \"5g\"; max_rate = \"auto\"; }"));
  EXPECT_EQ(c.path_profiles[0].max_rate_bps, kAutoRate);
  expect_error(gw_path("max_rate = \"auto\";") + "multipath = { rate_control = false; };\n", 5,
               "paths.[0].max_rate: \"auto\" needs multipath.rate_control = true");
  expect_error(gw_path("max_rate = \"Auto\";"), 5, "\"Auto\" is not a rate");
}

TEST_F(ConfigTest, PathImpairment) {
  Config c = load_text(gw_path(
      "impairment = { delay_ms = 15; jitter_ms = 1.5; loss_pct = 0.5; rate = \"50M\"; };"));
  const mpf::path::ImpairParams& im = c.path_profiles[0].impair.params;
  EXPECT_EQ(im.delay_us, 15'000u);
  EXPECT_EQ(im.jitter_us, 1'500u);
  EXPECT_EQ(im.loss_ppm, 5'000u);
  EXPECT_EQ(im.rate_Bps, 50'000'000u / 8);
  EXPECT_EQ(im.queue_us, 50'000u);  // a rate's default queue
  EXPECT_EQ(c.path_profiles[0].impair.dirs, 3);
  c = load_text(gw_path("impairment = { loss_pct = 100; direction = \"rx\"; };"));
  EXPECT_EQ(c.path_profiles[0].impair.params.loss_ppm, 1'000'000u);
  EXPECT_EQ(c.path_profiles[0].impair.params.queue_us, 0u);
  EXPECT_EQ(c.path_profiles[0].impair.dirs, 2);
  c = load_text(gw_path("impairment = { };"));  // nothing to emulate
  EXPECT_EQ(c.path_profiles[0].impair.dirs, 0);
  c = load_text(srv_paths("{ name = \"5g\"; impairment = { delay_ms = 20; direction = \"tx\"; }; }"));
  EXPECT_EQ(c.path_profiles[0].impair.params.delay_us, 20'000u);
  EXPECT_EQ(c.path_profiles[0].impair.dirs, 1);
  expect_error(gw_path("impairment = { loss = 1; };"), 5, "unknown key");
  expect_error(gw_path("impairment = { loss_pct = 101; };"), 5, "101 is out of range 0..100");
  expect_error(gw_path("impairment = { delay_ms = \"20ms\"; };"), 5, "expected a number");
  expect_error(gw_path("impairment = { queue_ms = 20; };"), 5, "give the rate too");
  expect_error(gw_path("impairment = { rate = \"auto\"; };"), 5, "not \"auto\"");
  expect_error(gw_path("impairment = { rate = \"30M\"; queue_ms = 0; };"), 5, "0 is out of range 1..10000");
  expect_error(gw_path("impairment = { direction = \"up\"; };"), 5, "must be \"both\", \"tx\" or \"rx\"");
  expect_error(gw_path("impairment = 3;"), 5, "expected a group");
}

TEST_F(ConfigTest, ServerPathsDefault) {
  Config c = load_text(kServer);
  EXPECT_TRUE(c.paths.empty());
  ASSERT_EQ(c.path_profiles.size(), 8u);
  for (size_t k = 0; k < 8; ++k) {
    EXPECT_EQ(c.path_profiles[k].name, "p" + std::to_string(k));
    EXPECT_EQ(c.path_profiles[k].weight, 1);
    EXPECT_EQ(c.path_profiles[k].max_rate_bps, 0u);
    EXPECT_EQ(c.path_profiles[k].line, 0);
  }
}

TEST_F(ConfigTest, ServerPaths) {
  Config c = load_text(srv_paths("{ name = \"5g\"; weight = 5; max_rate = \"48M\"; },\n"
                                 "{ name = \"wifi\"; }"));
  EXPECT_TRUE(c.paths.empty());  // no interfaces: the server's ports are wan and tunnel.ports
  EXPECT_EQ(c.interfaces().size(), 2u);
  ASSERT_EQ(c.path_profiles.size(), 2u);
  EXPECT_EQ(c.path_profiles[0].name, "5g");
  EXPECT_EQ(c.path_profiles[0].weight, 5);
  EXPECT_EQ(c.path_profiles[0].max_rate_bps, 48'000'000u);
  EXPECT_EQ(c.path_profiles[0].line, 6);
  EXPECT_EQ(c.path_profiles[1].name, "wifi");
  EXPECT_EQ(c.path_profiles[1].weight, 1);
  EXPECT_EQ(c.path_profiles[1].max_rate_bps, 0u);
  EXPECT_EQ(c.path_profiles[1].line, 7);
  // a server path may share a name with an interface: they are different things
  EXPECT_EQ(load_text(srv_paths("{ name = \"t0\"; }")).path_profiles[0].name, "t0");
}

TEST_F(ConfigTest, ServerPathsErrors) {
  const std::string msg = "paths on a server describe the gateways' paths: port/address not allowed";
  expect_error(srv_paths("{ name = \"5g\"; port = \"p2\"; }"), 6, "paths.[0].port: " + msg);
  expect_error(srv_paths("{ name = \"5g\"; address = \"10.5.0.2/24\"; }"), 6, "paths.[0].address: " + msg);
  expect_error(srv_paths("{ name = \"5g\"; next_hop = \"10.5.0.1\"; }"), 6, "paths.[0].next_hop: " + msg);
  expect_error(srv_paths("{ name = \"5g\"; },\n{ name = \"wifi\"; mtu = 1400; }"), 7, "paths.[1].mtu: " + msg);
  expect_error(srv_paths("{ name = \"5g\"; wieght = 2; }"), 6,
               "paths.[0].wieght: unknown key (allowed here: name, weight, max_rate, impairment)");
  expect_error(srv_paths("{ weight = 2; }"), 6, "paths.[0]: missing required key \"name\"");
  expect_error(srv_paths("{ name = \"5G\"; }"), 6, "paths.[0].name: \"5G\" is not a valid name (1 to 15 of a-z 0-9 _ -)");
  expect_error(srv_paths("{ name = \"\"; }"), 6, "paths.[0].name: \"\" is not a valid name");
  expect_error(srv_paths("{ name = 5; }"), 6, "paths.[0].name: expected a string, got an integer");
  expect_error(srv_paths("{ name = \"5g\"; },\n{ name = \"5g\"; }"), 7, "paths.[1].name: name \"5g\" is already used (line 6)");
  expect_error(srv_paths("{ name = \"5g\"; weight = 0; }"), 6, "paths.[0].weight: 0 is out of range 1..1000");
  expect_error(srv_paths("{ name = \"5g\"; max_rate = \"1k\"; }"), 6, "paths.[0].max_rate: \"1k\" (1000 bit/s) is out of range");
  expect_error(srv_paths("{ name = \"5g\"; max_rate = \"fast\"; }"), 6, "paths.[0].max_rate: \"fast\" is not a rate");
  expect_error(srv_paths(""), 5, "paths: at least one path is required (leave paths out for the default p0..p7)");
  expect_error(kServer + "paths = ( \"5g\" );\n", 5, "paths.[0]: expected a group");
  expect_error(kServer + "paths = { name = \"5g\"; };\n", 5, "paths: expected a list ( ... ), got a group");
  std::string nine;
  for (int k = 0; k < 9; ++k) nine += std::string(k ? ",\n" : "") + "{ name = \"n" + std::to_string(k) + "\"; }";
  expect_error(srv_paths(nine), 14, "paths.[8]: too many paths (at most 8)");
  EXPECT_EQ(load_text(srv_paths(nine.substr(0, nine.rfind(",\n")))).path_profiles.size(), 8u);
}

// --- multipath -------------------------------------------------------------------------------

TEST_F(ConfigTest, MultipathDefaults) {
  for (const std::string& text : {kGateway, kServer}) {
    Config c = load_text(text);
    EXPECT_EQ(c.multipath.mode, Mode::aggregate);
    EXPECT_EQ(c.multipath.path, -1);
    EXPECT_EQ(c.multipath.streams, 8u);
    EXPECT_EQ(c.multipath.probe_interval_ms, 25u);
    EXPECT_EQ(c.multipath.dead_after_ms, 100u);
    EXPECT_EQ(c.multipath.up_after, 3u);
    EXPECT_EQ(c.multipath.reorder_max_ms, 100u);
    EXPECT_EQ(c.multipath.max_queue_ms, 50u);
    EXPECT_TRUE(c.multipath.retransmit);
    EXPECT_EQ(c.multipath.retransmit_budget_pct, 10u);
    EXPECT_TRUE(c.policy.empty());
    // an empty group changes nothing
    Config e = load_text(text + "multipath = { };\npolicy = ( );\n");
    EXPECT_EQ(e.multipath.mode, Mode::aggregate);
    EXPECT_EQ(e.multipath.dead_after_ms, 100u);
    EXPECT_TRUE(e.policy.empty());
  }
  EXPECT_TRUE(load_text(kGateway + "policy = [ ];\n").policy.empty());
}

TEST_F(ConfigTest, MultipathSettings) {
  Config c = load_text(kServer +
                       "multipath = { mode = \"lowest-rtt\"; streams = 256; probe_interval_ms = 5;"
                       " dead_after_ms = 20; up_after = 100; reorder_max_ms = 0; max_queue_ms = 1000;"
                       " retransmit = false; retransmit_budget = 0; equalize = false; fast_lane = false;"
                       " rate_control = false; queue_target_ms = 100; };\n");
  EXPECT_EQ(c.multipath.mode, Mode::lowest_rtt);
  EXPECT_EQ(c.multipath.path, -1);
  EXPECT_EQ(c.multipath.streams, 256u);
  EXPECT_EQ(c.multipath.probe_interval_ms, 5u);
  EXPECT_EQ(c.multipath.dead_after_ms, 20u);
  EXPECT_EQ(c.multipath.up_after, 100u);
  EXPECT_EQ(c.multipath.reorder_max_ms, 0u);
  EXPECT_EQ(c.multipath.max_queue_ms, 1000u);
  EXPECT_FALSE(c.multipath.retransmit);
  EXPECT_EQ(c.multipath.retransmit_budget_pct, 0u);
  EXPECT_FALSE(c.multipath.equalize);
  EXPECT_TRUE(load_text(kGateway).multipath.equalize);
  EXPECT_FALSE(c.multipath.fast_lane);
  EXPECT_TRUE(load_text(kGateway).multipath.fast_lane);
  EXPECT_FALSE(c.multipath.rate_control);
  EXPECT_EQ(c.multipath.queue_target_ms, 100u);
  EXPECT_TRUE(load_text(kGateway).multipath.rate_control);
  EXPECT_EQ(load_text(kGateway).multipath.queue_target_ms, 5u);
  expect_error(kGateway + "multipath = { queue_target_ms = 0; };\n", 7, "multipath.queue_target_ms: 0 is out of range 1..100");
  expect_error(kGateway + "multipath = { queue_target_ms = 101; };\n", 7, "multipath.queue_target_ms: 101 is out of range 1..100");
  expect_error(kGateway + "multipath = { rate_control = 1; };\n", 7, "multipath.rate_control: expected a boolean, got an integer");
  // Idle probing: defaults, the off value, the bounds, and the floor at probe_interval_ms.
  EXPECT_EQ(load_text(kGateway).multipath.idle_probe_interval_ms, 1000u);
  EXPECT_EQ(load_text(kGateway).multipath.idle_after_ms, 3000u);
  c = load_text(kGateway + "multipath = { idle_probe_interval_ms = 0; idle_after_ms = 600000; };\n");
  EXPECT_EQ(c.multipath.idle_probe_interval_ms, 0u);
  EXPECT_EQ(c.multipath.idle_after_ms, 600000u);
  c = load_text(kGateway + "multipath = { probe_interval_ms = 50; idle_probe_interval_ms = 50; idle_after_ms = 100; };\n");
  EXPECT_EQ(c.multipath.idle_probe_interval_ms, 50u);
  EXPECT_EQ(c.multipath.idle_after_ms, 100u);
  expect_error(kGateway + "multipath = { idle_probe_interval_ms = 60001; };\n", 7, "multipath.idle_probe_interval_ms: 60001 is out of range 0..60000");
  expect_error(kGateway + "multipath = { idle_after_ms = 99; };\n", 7, "multipath.idle_after_ms: 99 is out of range 100..600000");
  expect_error(kGateway + "multipath = { idle_probe_interval_ms = 24; };\n", 7,
               "multipath.idle_probe_interval_ms: idle_probe_interval_ms (24) must be 0 (off) or >= probe_interval_ms (25)");
  expect_error(kGateway + "multipath = {\n  idle_probe_interval_ms = 500;\n  probe_interval_ms = 600; dead_after_ms = 1200;\n};\n", 8,
               "multipath.idle_probe_interval_ms: idle_probe_interval_ms (500) must be 0 (off) or >= probe_interval_ms (600)");
  // Progress reports: default, off, the bounds.
  EXPECT_EQ(load_text(kGateway).multipath.progress_interval_ms, 10u);
  EXPECT_EQ(load_text(kServer).multipath.progress_interval_ms, 10u);
  EXPECT_EQ(load_text(kGateway + "multipath = { progress_interval_ms = 0; };\n").multipath.progress_interval_ms, 0u);
  EXPECT_EQ(load_text(kGateway + "multipath = { progress_interval_ms = 1000; };\n").multipath.progress_interval_ms, 1000u);
  expect_error(kGateway + "multipath = { progress_interval_ms = 1001; };\n", 7, "multipath.progress_interval_ms: 1001 is out of range 0..1000");
  expect_error(kGateway + "multipath = { progress_interval_ms = -1; };\n", 7, "multipath.progress_interval_ms: -1 is out of range 0..1000");
  expect_error(kGateway + "multipath = { fast_lane = \"yes\"; };\n", 7, "multipath.fast_lane");
  // Expedited TCP resends: off by default; after a failover; always.
  using Ex = config::Multipath::Expedite;
  EXPECT_EQ(load_text(kGateway).multipath.expedite_resends, Ex::off);
  EXPECT_EQ(load_text(kServer).multipath.expedite_resends, Ex::off);
  EXPECT_EQ(load_text(kServer + "multipath = { expedite_resends = \"off\"; };\n").multipath.expedite_resends, Ex::off);
  EXPECT_EQ(load_text(kGateway + "multipath = { expedite_resends = \"always\"; };\n").multipath.expedite_resends, Ex::always);
  EXPECT_EQ(load_text(kGateway + "multipath = { expedite_resends = \"failover\"; };\n").multipath.expedite_resends, Ex::failover);
  expect_error(kGateway + "multipath = { expedite_resends = true; };\n", 7, "multipath.expedite_resends");
  expect_error(kGateway + "multipath = { expedite_resends = \"yes\"; };\n", 7,
               "multipath.expedite_resends: must be \"failover\", \"always\" or \"off\", not \"yes\"");
  // Prompt ACKs: on by default.
  EXPECT_TRUE(load_text(kGateway).multipath.prompt_acks);
  EXPECT_TRUE(load_text(kServer).multipath.prompt_acks);
  EXPECT_FALSE(load_text(kServer + "multipath = { prompt_acks = false; };\n").multipath.prompt_acks);
  expect_error(kGateway + "multipath = { prompt_acks = 0; };\n", 7,
               "multipath.prompt_acks: expected a boolean, got an integer");
  expect_error(kGateway + "multipath = { equalize = 1; };\n", 7, "multipath.equalize");
  c = load_text(kGateway +
                "multipath = { streams = 1; probe_interval_ms = 1000; dead_after_ms = 10000; up_after = 1;"
                " reorder_max_ms = 2000; max_queue_ms = 1; retransmit = true; retransmit_budget = 100; };\n");
  EXPECT_EQ(c.multipath.streams, 1u);
  EXPECT_EQ(c.multipath.probe_interval_ms, 1000u);
  EXPECT_EQ(c.multipath.dead_after_ms, 10000u);
  EXPECT_EQ(c.multipath.up_after, 1u);
  EXPECT_EQ(c.multipath.reorder_max_ms, 2000u);
  EXPECT_EQ(c.multipath.max_queue_ms, 1u);
  EXPECT_TRUE(c.multipath.retransmit);
  EXPECT_EQ(c.multipath.retransmit_budget_pct, 100u);
}

TEST_F(ConfigTest, MultipathModes) {
  auto mode = [&](const std::string& m) {
    return load_text(kGateway + "multipath = { mode = \"" + m + "\"; };\n").multipath.mode;
  };
  EXPECT_EQ(mode("aggregate"), Mode::aggregate);
  EXPECT_EQ(mode("weighted"), Mode::weighted);
  EXPECT_EQ(mode("active-backup"), Mode::active_backup);
  EXPECT_EQ(mode("lowest-rtt"), Mode::lowest_rtt);
  EXPECT_EQ(mode("redundant"), Mode::redundant);
  for (Mode m : {Mode::aggregate, Mode::weighted, Mode::active_backup, Mode::lowest_rtt, Mode::redundant})
    EXPECT_EQ(mode(mode_name(m)), m);
  EXPECT_STREQ(mode_name(Mode::pinned), "pinned");
  EXPECT_STREQ(mode_name(Mode::active_backup), "active-backup");
  expect_error(kGateway + "multipath = { mode = \"active_backup\"; };\n", 7,
               "multipath.mode: must be one of \"aggregate\", \"weighted\", \"active-backup\", \"lowest-rtt\", "
               "\"redundant\", \"pinned\", not \"active_backup\"");
  expect_error(kGateway + "multipath = { mode = \"Aggregate\"; };\n", 7, "multipath.mode: must be one of");
  expect_error(kGateway + "multipath = { mode = 1; };\n", 7, "multipath.mode: expected a string, got an integer");
}

TEST_F(ConfigTest, MultipathPinnedDefault) {
  std::string two = sub(kGateway, "next_hop = \"10.5.0.1\"; }",
                        "next_hop = \"10.5.0.1\"; },\n"
                        "  { name = \"wifi\"; port = \"p2\"; address = \"10.6.0.2/24\"; next_hop = \"10.6.0.1\"; }");
  // two paths: the extras start on line 8
  Config c = load_text(two + "multipath = { mode = \"pinned\"; path = \"wifi\"; };\n");
  EXPECT_EQ(c.multipath.mode, Mode::pinned);
  EXPECT_EQ(c.multipath.path, 1);
  expect_error(two + "multipath = {\n  mode = \"pinned\";\n};\n", 9,
               "multipath.mode: mode \"pinned\" needs a path (path = \"name\";)");
  expect_error(two + "multipath = {\n  mode = \"pinned\";\n  path = \"lte\";\n};\n", 10,
               "multipath.path: \"lte\" is not a path (paths: 5g, wifi)");
  expect_error(two + "multipath = {\n  mode = \"pinned\";\n  path = 1;\n};\n", 10,
               "multipath.path: expected a string, got an integer");
  expect_error(two + "multipath = {\n  path = \"5g\";\n};\n", 9,
               "multipath.path: path is only used with mode \"pinned\" (mode here: \"aggregate\")");
  expect_error(two + "multipath = { mode = \"redundant\";\n  path = \"5g\";\n};\n", 9,
               "multipath.path: path is only used with mode \"pinned\" (mode here: \"redundant\")");
  // server: the names of its paths, or the default p0..p7
  c = load_text(kServer + "multipath = { mode = \"pinned\"; path = \"p7\"; };\n");
  EXPECT_EQ(c.multipath.path, 7);
  expect_error(kServer + "multipath = { mode = \"pinned\"; path = \"p8\"; };\n", 5,
               "multipath.path: \"p8\" is not a path (the server's paths: p0, p1, p2, p3, p4, p5, p6, p7)");
  c = load_text(srv_paths("{ name = \"5g\"; },\n{ name = \"wifi\"; }") +
                "multipath = { mode = \"pinned\"; path = \"wifi\"; };\n");
  EXPECT_EQ(c.multipath.path, 1);
  expect_error(srv_paths("{ name = \"5g\"; },\n{ name = \"wifi\"; }") +
                   "multipath = { mode = \"pinned\"; path = \"p0\"; };\n",
               9, "multipath.path: \"p0\" is not a path (the server's paths: 5g, wifi)");
}

TEST_F(ConfigTest, MultipathRanges) {
  auto mp = [&](const std::string& kv) { return kGateway + "multipath = { " + kv + "; };\n"; };
  expect_error(mp("streams = 0"), 7, "multipath.streams: 0 is out of range 1..256");
  expect_error(mp("streams = 257"), 7, "multipath.streams: 257 is out of range 1..256");
  expect_error(mp("probe_interval_ms = 4"), 7, "multipath.probe_interval_ms: 4 is out of range 5..1000");
  expect_error(mp("probe_interval_ms = 1001"), 7, "multipath.probe_interval_ms: 1001 is out of range 5..1000");
  expect_error(mp("dead_after_ms = 19"), 7, "multipath.dead_after_ms: 19 is out of range 20..10000");
  expect_error(mp("dead_after_ms = 10001"), 7, "multipath.dead_after_ms: 10001 is out of range 20..10000");
  expect_error(mp("up_after = 0"), 7, "multipath.up_after: 0 is out of range 1..100");
  expect_error(mp("up_after = 101"), 7, "multipath.up_after: 101 is out of range 1..100");
  expect_error(mp("reorder_max_ms = -1"), 7, "multipath.reorder_max_ms: -1 is out of range 0..2000");
  expect_error(mp("reorder_max_ms = 2001"), 7, "multipath.reorder_max_ms: 2001 is out of range 0..2000");
  expect_error(mp("max_queue_ms = 0"), 7, "multipath.max_queue_ms: 0 is out of range 1..1000");
  expect_error(mp("max_queue_ms = 1001"), 7, "multipath.max_queue_ms: 1001 is out of range 1..1000");
  expect_error(mp("retransmit_budget = -1"), 7, "multipath.retransmit_budget: -1 is out of range 0..100");
  expect_error(mp("retransmit_budget = 101"), 7, "multipath.retransmit_budget: 101 is out of range 0..100");
  expect_error(mp("retransmit = 1"), 7, "multipath.retransmit: expected a boolean, got an integer");
  expect_error(mp("retransmit = \"yes\""), 7, "multipath.retransmit: expected a boolean, got a string");
  expect_error(mp("streams = \"8\""), 7, "multipath.streams: expected an integer, got a string");
  expect_error(mp("retransmit_budget_pct = 5"), 7,
               "multipath.retransmit_budget_pct: unknown key (allowed here: mode, path, streams, probe_interval_ms, "
               "dead_after_ms, up_after, reorder_max_ms, max_queue_ms, retransmit, retransmit_budget, equalize, "
               "fast_lane, rate_control, queue_target_ms, idle_probe_interval_ms, idle_after_ms, progress_interval_ms, expedite_resends, prompt_acks)");
  expect_error(kGateway + "multipath = ( );\n", 7, "multipath: expected a group { ... }, got a list");
}

TEST_F(ConfigTest, MultipathDeadAfterVersusProbeInterval) {
  auto mp = [&](const std::string& body) { return kGateway + "multipath = {\n" + body + "\n};\n"; };  // body: line 8
  EXPECT_EQ(load_text(mp("probe_interval_ms = 50;")).multipath.dead_after_ms, 100u);  // exactly 2x
  EXPECT_EQ(load_text(mp("probe_interval_ms = 100;\ndead_after_ms = 200;")).multipath.dead_after_ms, 200u);
  expect_error(mp("probe_interval_ms = 100;\ndead_after_ms = 199;"), 9,
               "multipath.dead_after_ms: dead_after_ms (199) must be >= 2 * probe_interval_ms (100)");
  expect_error(mp("dead_after_ms = 199;\nprobe_interval_ms = 100;"), 8, "multipath.dead_after_ms: dead_after_ms (199)");
  // against the default dead_after_ms (100)
  expect_error(mp("probe_interval_ms = 51;"), 8,
               "multipath.probe_interval_ms: dead_after_ms (100) must be >= 2 * probe_interval_ms (51)");
  // against the default probe_interval_ms (25)
  expect_error(mp("dead_after_ms = 49;"), 8, "multipath.dead_after_ms: dead_after_ms (49) must be >= 2 * probe_interval_ms (25)");
}

// --- policy ----------------------------------------------------------------------------------

// kGateway with a second path (wifi, line 6) and `rules` as its policy; the first rule is on
// line 9.
std::string gw_policy(const std::string& rules) {
  return sub(kGateway, "next_hop = \"10.5.0.1\"; }",
             "next_hop = \"10.5.0.1\"; },\n"
             "  { name = \"wifi\"; port = \"p2\"; address = \"10.6.0.2/24\"; next_hop = \"10.6.0.1\"; }") +
         "policy = (\n" + rules + "\n);\n";
}

// One rule with the given match body (line 9).
std::string gw_match(const std::string& match) {
  return gw_policy("{ match = { " + match + " }; mode = \"redundant\"; }");
}

TEST_F(ConfigTest, PolicyRules) {
  Config c = load_text(gw_policy(
      "{ match = { proto = \"udp\"; dst_port = \"53\"; }; mode = \"pinned\"; path = \"wifi\"; },\n"     // 9
      "{ match = { proto = \"tcp\"; src_port = \"1000-2000\"; dst_port = 443; dst = \"10.0.0.0/8\"; dscp = 10; };"
      " mode = \"weighted\"; },\n"                                                                        // 10
      "{ match = { proto = \"icmp\"; }; mode = \"active-backup\"; },\n"                                   // 11
      "{ match = { dscp = \"ef\"; }; mode = \"redundant\"; },\n"                                          // 12
      "{ match = { dst = \"192.0.2.7/32\"; }; mode = \"lowest-rtt\"; },\n"                                // 13
      "{ mode = \"aggregate\"; }"));                                                                      // 14
  ASSERT_EQ(c.policy.size(), 6u);
  const PolicyRule* r = &c.policy[0];
  EXPECT_EQ(r->line, 9);
  EXPECT_EQ(r->mode, Mode::pinned);
  EXPECT_EQ(r->path, 1);
  EXPECT_EQ(r->match.proto, net::kProtoUdp);
  EXPECT_EQ(r->match.src_lo, 0);
  EXPECT_EQ(r->match.src_hi, 65535);
  EXPECT_EQ(r->match.dst_lo, 53);
  EXPECT_EQ(r->match.dst_hi, 53);
  EXPECT_EQ(r->match.dst, (net::Prefix{0, 0}));
  EXPECT_EQ(r->match.dscp, -1);
  r = &c.policy[1];
  EXPECT_EQ(r->line, 10);
  EXPECT_EQ(r->mode, Mode::weighted);
  EXPECT_EQ(r->path, -1);
  EXPECT_EQ(r->match.proto, net::kProtoTcp);
  EXPECT_EQ(r->match.src_lo, 1000);
  EXPECT_EQ(r->match.src_hi, 2000);
  EXPECT_EQ(r->match.dst_lo, 443);
  EXPECT_EQ(r->match.dst_hi, 443);
  EXPECT_EQ(r->match.dst, (net::Prefix{ip("10.0.0.0"), 8}));
  EXPECT_EQ(r->match.dscp, 10);
  EXPECT_EQ(c.policy[2].match.proto, net::kProtoIcmp);
  EXPECT_EQ(c.policy[2].mode, Mode::active_backup);
  EXPECT_EQ(c.policy[3].match.dscp, 46);
  EXPECT_EQ(c.policy[3].match.proto, 0);
  EXPECT_EQ(c.policy[4].match.dst, (net::Prefix{ip("192.0.2.7"), 32}));
  EXPECT_EQ(c.policy[4].mode, Mode::lowest_rtt);
  EXPECT_EQ(c.policy[5].line, 14);
  EXPECT_EQ(c.policy[5].mode, Mode::aggregate);
  // an absent or empty match matches everything
  for (const PolicyRule& x : {c.policy[5], load_text(gw_policy("{ match = { }; mode = \"redundant\"; }")).policy[0]}) {
    EXPECT_EQ(x.match.proto, 0);
    EXPECT_EQ(x.match.src_lo, 0);
    EXPECT_EQ(x.match.src_hi, 65535);
    EXPECT_EQ(x.match.dst_lo, 0);
    EXPECT_EQ(x.match.dst_hi, 65535);
    EXPECT_EQ(x.match.dst.len, 0);
    EXPECT_EQ(x.match.dscp, -1);
  }
}

TEST_F(ConfigTest, PolicyRuleModeAndPath) {
  expect_error(gw_policy("{ match = { proto = \"udp\"; }; }"), 9, "policy.[0]: missing required key \"mode\"");
  expect_error(gw_policy("{ mode = \"fast\"; }"), 9, "policy.[0].mode: must be one of \"aggregate\"");
  expect_error(gw_policy("{ mode = \"pinned\"; }"), 9, "policy.[0].mode: mode \"pinned\" needs a path");
  expect_error(gw_policy("{ mode = \"pinned\"; path = \"lte\"; }"), 9,
               "policy.[0].path: \"lte\" is not a path (paths: 5g, wifi)");
  expect_error(gw_policy("{ mode = \"pinned\"; path = \"lan\"; }"), 9, "policy.[0].path: \"lan\" is not a path");
  expect_error(gw_policy("{ mode = \"redundant\"; path = \"5g\"; }"), 9,
               "policy.[0].path: path is only used with mode \"pinned\" (mode here: \"redundant\")");
  expect_error(gw_policy("{ mode = \"aggregate\"; path = \"5g\"; }"), 9, "policy.[0].path: path is only used with mode \"pinned\"");
  expect_error(gw_policy("{ mode = \"redundant\"; prio = 1; }"), 9, "policy.[0].prio: unknown key (allowed here: match, mode, path)");
  expect_error(gw_policy("{ match = { port = 53; }; mode = \"redundant\"; }"), 9,
               "policy.[0].match.port: unknown key (allowed here: proto, src_port, dst_port, dst, dscp)");
  expect_error(gw_policy("{ match = { src = \"10.0.0.0/8\"; }; mode = \"redundant\"; }"), 9,
               "policy.[0].match.src: unknown key");
  expect_error(gw_policy("{ match = ( ); mode = \"redundant\"; }"), 9, "policy.[0].match: expected a group { ... }, got a list");
  expect_error(kGateway + "policy = ( \"redundant\" );\n", 7, "policy.[0]: expected a group { ... }, got a string");
  expect_error(kGateway + "policy = { mode = \"redundant\"; };\n", 7, "policy: expected a list ( ... ), got a group");
  // server: its path names
  Config c = load_text(kServer + "policy = ( { mode = \"pinned\"; path = \"p3\"; } );\n");
  EXPECT_EQ(c.policy[0].path, 3);
  c = load_text(srv_paths("{ name = \"5g\"; },\n{ name = \"wifi\"; }") +
                "policy = ( { match = { proto = \"udp\"; src_port = \"53\"; }; mode = \"pinned\"; path = \"wifi\"; } );\n");
  EXPECT_EQ(c.policy[0].path, 1);
  EXPECT_EQ(c.policy[0].match.src_lo, 53);
  expect_error(srv_paths("{ name = \"5g\"; }") + "policy = ( { mode = \"pinned\"; path = \"wifi\"; } );\n", 8,
               "policy.[0].path: \"wifi\" is not a path (the server's paths: 5g)");
}

TEST_F(ConfigTest, PolicyProto) {
  expect_error(gw_match("proto = \"sctp\";"), 9, "policy.[0].match.proto: must be \"tcp\", \"udp\" or \"icmp\", not \"sctp\"");
  expect_error(gw_match("proto = \"TCP\";"), 9, "policy.[0].match.proto: must be \"tcp\", \"udp\" or \"icmp\"");
  expect_error(gw_match("proto = 6;"), 9, "policy.[0].match.proto: expected a string, got an integer");
}

TEST_F(ConfigTest, PolicyPorts) {
  auto ports = [&](const std::string& v) {
    PolicyMatch m = load_text(gw_match("proto = \"tcp\"; dst_port = " + v + ";")).policy[0].match;
    return std::make_pair(int(m.dst_lo), int(m.dst_hi));
  };
  EXPECT_EQ(ports("\"53\""), std::make_pair(53, 53));
  EXPECT_EQ(ports("\"0\""), std::make_pair(0, 0));
  EXPECT_EQ(ports("\"65535\""), std::make_pair(65535, 65535));
  EXPECT_EQ(ports("\"1000-2000\""), std::make_pair(1000, 2000));
  EXPECT_EQ(ports("\"0-65535\""), std::make_pair(0, 65535));
  EXPECT_EQ(ports("\"7-7\""), std::make_pair(7, 7));
  EXPECT_EQ(ports("53"), std::make_pair(53, 53));
  EXPECT_EQ(load_text(gw_match("proto = \"udp\"; src_port = \"5060-5061\";")).policy[0].match.src_hi, 5061);
  // ports need tcp or udp
  expect_error(gw_match("src_port = \"53\";"), 9, "policy.[0].match.src_port: src_port needs proto tcp or udp");
  EXPECT_EQ(load_text(gw_match("dst_port = \"53\"; proto = \"udp\";")).policy[0].match.dst_lo, 53);  // any order
  expect_error(gw_match("proto = \"icmp\"; dst_port = \"53\";"), 9, "policy.[0].match.dst_port: dst_port needs proto tcp or udp");
  // values
  auto bad = [&](const std::string& v, const std::string& reason) {
    expect_error(gw_match("proto = \"udp\"; src_port = " + v + ";"), 9, "policy.[0].match.src_port: " + reason);
  };
  bad("\"2000-1000\"", "\"2000-1000\": need FIRST <= LAST");
  bad("\"65536\"", "\"65536\": ports are 0..65535");
  bad("\"1-70000\"", "\"1-70000\": ports are 0..65535");
  bad("65536", "65536 is out of range 0..65535");
  bad("-1", "-1 is out of range 0..65535");
  for (const char* v : {"", "a", "1-", "-1", " 53", "53 ", "1 - 2", "1-2-3", "+53", "0x35", "123456", "53,54"})
    bad(std::string("\"") + v + "\"", std::string("\"") + v + "\" is not a port or port range (\"53\" or \"1000-2000\")");
  bad("53.0", "expected a string (\"53\" or \"1000-2000\"), got a float");
  bad("[53]", "expected a string (\"53\" or \"1000-2000\"), got an array");
}

TEST_F(ConfigTest, PolicyDst) {
  EXPECT_EQ(load_text(gw_match("dst = \"0.0.0.0/0\";")).policy[0].match.dst, (net::Prefix{0, 0}));
  EXPECT_EQ(load_text(gw_match("dst = \"100.64.0.0/10\";")).policy[0].match.dst, (net::Prefix{ip("100.64.0.0"), 10}));
  expect_error(gw_match("dst = \"10.0.0.1/8\";"), 9, "policy.[0].match.dst: \"10.0.0.1/8\" has host bits set (the prefix is 10.0.0.0/8)");
  expect_error(gw_match("dst = \"10.0.0.0\";"), 9, "policy.[0].match.dst: \"10.0.0.0\" is not a prefix (a.b.c.d/len, len 0..32)");
  expect_error(gw_match("dst = \"10.0.0.0/33\";"), 9, "is not a prefix");
  expect_error(gw_match("dst = \"10.0.0/8\";"), 9, "is not a prefix");
  expect_error(gw_match("dst = 10;"), 9, "policy.[0].match.dst: expected a string, got an integer");
}

TEST_F(ConfigTest, PolicyDscp) {
  auto dscp = [&](const std::string& v) { return int(load_text(gw_match("dscp = " + v + ";")).policy[0].match.dscp); };
  EXPECT_EQ(dscp("0"), 0);
  EXPECT_EQ(dscp("63"), 63);
  EXPECT_EQ(dscp("0x2e"), 46);
  EXPECT_EQ(dscp("\"ef\""), 46);
  const std::pair<const char*, int> names[] = {
      {"af11", 10}, {"af12", 12}, {"af13", 14}, {"af21", 18}, {"af22", 20}, {"af23", 22},
      {"af31", 26}, {"af32", 28}, {"af33", 30}, {"af41", 34}, {"af42", 36}, {"af43", 38},
      {"cs0", 0},   {"cs1", 8},   {"cs2", 16},  {"cs3", 24},  {"cs4", 32},  {"cs5", 40},
      {"cs6", 48},  {"cs7", 56}};
  for (const auto& [name, v] : names) EXPECT_EQ(dscp(std::string("\"") + name + "\""), v) << name;
  expect_error(gw_match("dscp = 64;"), 9, "policy.[0].match.dscp: 64 is out of range 0..63");
  expect_error(gw_match("dscp = -1;"), 9, "policy.[0].match.dscp: -1 is out of range 0..63");
  for (const char* v : {"EF", "af44", "af10", "af51", "cs8", "af1", "cs", "be", "46", ""})
    expect_error(gw_match(std::string("dscp = \"") + v + "\";"), 9,
                 std::string("policy.[0].match.dscp: \"") + v + "\" is not a DSCP value (0..63, or ef, af11..af43, cs0..cs7)");
  expect_error(gw_match("dscp = 46.0;"), 9,
               "policy.[0].match.dscp: expected an integer 0..63 or a name (\"ef\", \"af41\", \"cs1\"), got a float");
}

TEST_F(ConfigTest, PolicyShadowedRules) {
  // a rule after one that matches everything it matches is never used
  expect_error(gw_policy("{ mode = \"redundant\"; },\n"
                         "{ match = { proto = \"udp\"; }; mode = \"aggregate\"; }"),
               10, "policy.[1]: never used: policy.[0] (line 9) matches every packet this rule matches (first match wins)");
  expect_error(gw_policy("{ match = { proto = \"udp\"; dst_port = \"1-1000\"; }; mode = \"redundant\"; },\n"
                         "{ match = { proto = \"udp\"; dst_port = \"53\"; dscp = \"ef\"; }; mode = \"pinned\"; path = \"5g\"; }"),
               10, "policy.[1]: never used: policy.[0] (line 9)");
  expect_error(gw_policy("{ match = { dst = \"10.0.0.0/8\"; }; mode = \"redundant\"; },\n"
                         "{ match = { proto = \"icmp\"; }; mode = \"aggregate\"; },\n"
                         "{ match = { proto = \"tcp\"; dst = \"10.1.0.0/16\"; }; mode = \"weighted\"; }"),
               11, "policy.[2]: never used: policy.[0] (line 9)");
  expect_error(gw_policy("{ match = { dscp = 46; }; mode = \"redundant\"; },\n"
                         "{ match = { dscp = \"ef\"; proto = \"udp\"; }; mode = \"aggregate\"; }"),
               10, "policy.[1]: never used: policy.[0] (line 9)");
  expect_error(gw_policy("{ match = { proto = \"udp\"; dst_port = \"53\"; }; mode = \"redundant\"; },\n"
                         "{ match = { proto = \"udp\"; dst_port = 53; }; mode = \"aggregate\"; }"),
               10, "policy.[1]: never used: policy.[0] (line 9)");
  // an identical catch-all twice
  expect_error(gw_policy("{ mode = \"redundant\"; },\n{ match = { }; mode = \"redundant\"; }"), 10,
               "policy.[1]: never used");
  // narrower first, or disjoint: fine
  Config c = load_text(gw_policy(
      "{ match = { proto = \"udp\"; dst_port = \"53\"; }; mode = \"pinned\"; path = \"5g\"; },\n"
      "{ match = { proto = \"udp\"; }; mode = \"redundant\"; },\n"
      "{ match = { proto = \"tcp\"; dst_port = \"53\"; }; mode = \"redundant\"; },\n"
      "{ match = { proto = \"tcp\"; src_port = \"53\"; }; mode = \"redundant\"; },\n"
      "{ match = { dst = \"10.0.0.0/16\"; }; mode = \"weighted\"; },\n"
      "{ match = { dst = \"10.0.0.0/8\"; }; mode = \"weighted\"; },\n"
      "{ match = { dst = \"11.0.0.0/8\"; }; mode = \"weighted\"; },\n"
      "{ match = { dscp = \"ef\"; }; mode = \"redundant\"; },\n"
      "{ match = { dscp = \"af41\"; }; mode = \"redundant\"; },\n"
      "{ mode = \"aggregate\"; }"));
  EXPECT_EQ(c.policy.size(), 10u);
}

TEST_F(ConfigTest, PolicyRuleCount) {
  std::string rules;
  for (int k = 0; k < 65; ++k)  // lines 9..73, each a different port
    rules += std::string(k ? ",\n" : "") + "{ match = { proto = \"udp\"; dst_port = " + std::to_string(1000 + k) +
             "; }; mode = \"redundant\"; }";
  Config c = load_text(gw_policy(rules.substr(0, rules.rfind(",\n"))));
  ASSERT_EQ(c.policy.size(), 64u);
  EXPECT_EQ(c.policy[63].line, 72);
  EXPECT_EQ(c.policy[63].match.dst_lo, 1063);
  expect_error(gw_policy(rules), 73, "policy.[64]: too many rules (at most 64)");
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
                      "gateways = ( { id = 7; address = \"100.64.0.7\"; key = \"" KEY "\"; } );\n";
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
