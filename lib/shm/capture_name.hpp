// The capture file names a client of mpf-controld may give (docs/control-api.md, `capture`):
// plain names, created by the dataplane in its control.capture_dir and nowhere else. The
// dataplane runs as root; a path from the control socket must never reach open().
#pragma once
#include <cctype>
#include <string_view>

namespace mpf::shm {

constexpr size_t kMaxCaptureName = 200;

// A-Za-z0-9 . _ -, 1..kMaxCaptureName characters, not starting with '.' (no "..", no hidden
// file, no directory part).
constexpr bool capture_name_ok(std::string_view s) {
  if (s.empty() || s.size() > kMaxCaptureName || s[0] == '.') return false;
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace mpf::shm
