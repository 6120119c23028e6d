// IPv4 and MAC address values and their text forms (host byte order throughout).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mpf::net {

using Ipv4 = uint32_t;  // host byte order

struct Prefix {
  Ipv4 addr = 0;
  uint8_t len = 0;
  Ipv4 mask() const { return len == 0 ? 0 : ~Ipv4(0) << (32 - len); }
  bool contains(Ipv4 a) const { return (a & mask()) == (addr & mask()); }
  bool operator==(const Prefix&) const = default;
};

struct Endpoint {
  Ipv4 addr = 0;
  uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};

struct Mac {
  std::array<uint8_t, 6> b{};
  bool operator==(const Mac&) const = default;
  bool is_zero() const { return b == std::array<uint8_t, 6>{}; }
};

// Parsers return nullopt on anything but the exact form ("10.0.0.1", "10.0.0.0/8",
// "10.0.0.1:4500", "02:00:00:00:00:01").
std::optional<Ipv4> parse_ipv4(std::string_view s);
std::optional<Prefix> parse_prefix(std::string_view s);  // requires "/len"
std::optional<Endpoint> parse_endpoint(std::string_view s);  // requires ":port", port 1..65535
std::optional<Mac> parse_mac(std::string_view s);

std::string to_string(Ipv4 a);
std::string to_string(const Prefix& p);
std::string to_string(const Endpoint& e);
std::string to_string(const Mac& m);

}  // namespace mpf::net
