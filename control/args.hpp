// Typed, strict access to a request's "args" object: every getter checks the JSON type and
// range and throws ApiError("bad_request") naming the argument; done() refuses arguments no
// getter asked for (a misspelt argument is an error, not silently ignored).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>

#include "api.hpp"

namespace mpf::control {

class Args {
 public:
  // args: an object or null (no arguments); anything else is a bad_request.
  explicit Args(const json& args);

  std::optional<int64_t> integer(const char* key, int64_t lo, int64_t hi);
  std::optional<std::string> string(const char* key);
  // Any JSON number in lo..hi.
  std::optional<double> number(const char* key, double lo, double hi);
  // A string among `choices`.
  std::optional<std::string> one_of(const char* key, std::initializer_list<const char*> choices);
  // The raw value (any type), or nullptr when absent.
  const json* raw(const char* key);
  void done() const;

 private:
  const json* find(const char* key);
  const json& j_;
  std::set<std::string> used_;
};

}  // namespace mpf::control
