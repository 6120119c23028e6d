// Human units for mpfctl's tables, and the rate syntax both programs accept. Pure functions:
// no I/O, unit-tested.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mpf::control {

// Scaled values get one decimal, base-unit values none: "0 bit/s", "950 bit/s", "12.3 Mbit/s".
std::string format_bit_rate(double bits_per_s);   // SI: kbit/s, Mbit/s, Gbit/s
std::string format_packet_rate(double pps);       // "12 pps", "3.4 kpps", "1.2 Mpps"
std::string format_bytes(uint64_t bytes);         // IEC: "512 B", "1.2 KiB", "1.2 MiB"
std::string format_duration_us(uint64_t us);      // "850 us", "4.1 ms", "2.5 s"
std::string format_count(uint64_t n);             // "999", "12.3k", "4.5M" (SI)
std::string format_ratio_pct(double ratio);       // 0.0123 -> "1.2%"

// "48000000", "48M", "1.5G", "500k", "48Mbit/s", "0" -> bit/s. nullopt when malformed or
// beyond 2^63. The range check (0 or 64 kbit/s..400 Gbit/s) is the caller's.
std::optional<uint64_t> parse_bit_rate(std::string_view s);

// "20ms", "1.5ms", "500us", "2s", "20" (ms) -> milliseconds; nullopt when malformed.
std::optional<double> parse_duration_ms(std::string_view s);
// "1%", "0.5%", "1" -> percent; nullopt when malformed.
std::optional<double> parse_percent(std::string_view s);

}  // namespace mpf::control
