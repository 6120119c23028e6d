// Strict text forms of addresses: anything but the exact form is refused.
#include "net/addr.hpp"

#include <cstdio>

namespace mpf::net {

namespace {

// Parses a decimal number of 1..max_digits digits, no sign, no leading zero (except "0").
std::optional<uint32_t> parse_dec(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + uint32_t(c - '0');
  }
  return v;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<Ipv4> parse_ipv4(std::string_view s) {
  Ipv4 a = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = s.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return std::nullopt;
    std::string_view part = s.substr(0, dot);
    auto v = parse_dec(part, 3);
    if (!v || *v > 255) return std::nullopt;
    a = a << 8 | *v;
    s = i < 3 ? s.substr(dot + 1) : std::string_view{};
  }
  return a;
}

std::optional<Prefix> parse_prefix(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto a = parse_ipv4(s.substr(0, slash));
  auto len = parse_dec(s.substr(slash + 1), 2);
  if (!a || !len || *len > 32) return std::nullopt;
  return Prefix{*a, uint8_t(*len)};
}

std::optional<Endpoint> parse_endpoint(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto a = parse_ipv4(s.substr(0, colon));
  auto port = parse_dec(s.substr(colon + 1), 5);
  if (!a || !port || *port == 0 || *port > 65535) return std::nullopt;
  return Endpoint{*a, uint16_t(*port)};
}

std::optional<Mac> parse_mac(std::string_view s) {
  if (s.size() != 17) return std::nullopt;
  Mac m;
  for (size_t i = 0; i < 6; ++i) {
    const size_t o = i * 3;
    if (i < 5 && s[o + 2] != ':') return std::nullopt;
    int hi = hex_digit(s[o]), lo = hex_digit(s[o + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    m.b[i] = uint8_t(hi << 4 | lo);
  }
  return m;
}

std::string to_string(Ipv4 a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
                a & 0xff);
  return buf;
}

std::string to_string(const Prefix& p) { return to_string(p.addr) + "/" + std::to_string(p.len); }

std::string to_string(const Endpoint& e) {
  return to_string(e.addr) + ":" + std::to_string(e.port);
}

std::string to_string(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m.b[0], m.b[1], m.b[2], m.b[3],
                m.b[4], m.b[5]);
  return buf;
}

}  // namespace mpf::net
