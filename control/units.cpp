#include "units.hpp"

#include <cmath>
#include <cstdio>

namespace mpf::control {

namespace {

// Value v in the largest unit step it reaches: units[0] is the base (printed without decimals).
std::string scaled(double v, double step, const char* const* units, int n) {
  int i = 0;
  double a = std::fabs(v);
  while (i + 1 < n && a >= step - 0.05) {  // 999.96 prints as 1.0k, not 1000.0
    v /= step;
    a /= step;
    i++;
  }
  char buf[64];
  if (i == 0)
    std::snprintf(buf, sizeof buf, "%.0f %s", v, units[0]);
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[i]);
  return buf;
}

}  // namespace

std::string format_bit_rate(double bps) {
  static const char* const u[] = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
  return scaled(bps, 1000, u, 5);
}

std::string format_packet_rate(double pps) {
  static const char* const u[] = {"pps", "kpps", "Mpps", "Gpps"};
  return scaled(pps, 1000, u, 4);
}

std::string format_bytes(uint64_t bytes) {
  static const char* const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  return scaled(double(bytes), 1024, u, 6);
}

std::string format_duration_us(uint64_t us) {
  char buf[64];
  if (us < 1000) {
    std::snprintf(buf, sizeof buf, "%llu us", static_cast<unsigned long long>(us));
  } else if (us < 999'950) {
    std::snprintf(buf, sizeof buf, "%.1f ms", double(us) / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f s", double(us) / 1e6);
  }
  return buf;
}

std::string format_count(uint64_t n) {
  if (n < 1000) return std::to_string(n);
  static const char* const u[] = {"", "k", "M", "G", "T", "P"};
  std::string s = scaled(double(n), 1000, u, 6);
  s.erase(s.find(' '), 1);  // "12.3k"
  return s;
}

std::string format_ratio_pct(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", ratio * 100);
  return buf;
}

namespace {
// A plain decimal number at the start of s ("12", "1.5", ".5"); *used: its length.
std::optional<double> leading_number(std::string_view s, size_t* used) {
  size_t i = 0;
  double v = 0;
  bool digits = false;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + (s[i++] - '0');
    digits = true;
  }
  if (i < s.size() && s[i] == '.') {
    double scale = 0.1;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) {
      v += (s[i] - '0') * scale;
      digits = true;
    }
  }
  *used = i;
  if (!digits || !(v < 9.2e18)) return std::nullopt;
  return v;
}

struct Unit {
  std::string_view name;
  double factor;
};

// A number followed by one of `units` (the empty name: no unit), scaled by its factor.
template <size_t N>
std::optional<double> number_with_unit(std::string_view s, const Unit (&units)[N]) {
  size_t i = 0;
  std::optional<double> v = leading_number(s, &i);
  if (!v) return v;
  for (const Unit& u : units)
    if (s.substr(i) == u.name) return *v * u.factor;
  return std::nullopt;
}
}  // namespace

std::optional<double> parse_duration_ms(std::string_view s) {
  static constexpr Unit kUnits[] = {{"", 1}, {"ms", 1}, {"us", 1e-3}, {"s", 1000}};
  return number_with_unit(s, kUnits);
}

std::optional<double> parse_percent(std::string_view s) {
  static constexpr Unit kUnits[] = {{"", 1}, {"%", 1}};
  return number_with_unit(s, kUnits);
}

std::optional<uint64_t> parse_bit_rate(std::string_view s) {
  size_t i = 0;
  const std::optional<double> num = leading_number(s, &i);
  if (!num) return std::nullopt;
  const double whole = *num;
  double mult = 1;
  if (i < s.size()) {
    switch (s[i]) {
      case 'k': case 'K': mult = 1e3; i++; break;
      case 'M': mult = 1e6; i++; break;
      case 'G': mult = 1e9; i++; break;
      case 'T': mult = 1e12; i++; break;
      default: break;
    }
  }
  std::string_view rest = s.substr(i);
  if (!rest.empty() && rest != "bit/s" && rest != "bps" && rest != "b") return std::nullopt;
  double v = std::round(whole * mult);
  if (!(v < 9.2e18)) return std::nullopt;
  return uint64_t(v);
}

}  // namespace mpf::control
