// mpfctl's side of the control socket: connect, send one request line, read one answer line.
#pragma once
#include <string>

#include "api.hpp"

namespace mpf::control {

class Client {
 public:
  ~Client();
  // false with *error = strerror text when mpf-controld cannot be reached.
  bool connect(const std::string& socket_path, std::string* error);
  // Sends {"cmd","args","id"} and returns the whole response object. Throws
  // std::runtime_error when the connection breaks or the answer is not JSON.
  json call(const std::string& cmd, const json& args);

 private:
  int fd_ = -1;
  uint64_t next_id_ = 1;
  std::string buf_;
};

}  // namespace mpf::control
