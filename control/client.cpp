#include "client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mpf::control {

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

bool Client::connect(const std::string& path, std::string* error) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof a.sun_path) {
    *error = "socket path too long";
    return false;
  }
  std::memcpy(a.sun_path, path.c_str(), path.size());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    *error = std::strerror(errno);
    return false;
  }
  timeval tv{10, 0};  // mpf-controld answers within its 2 s mailbox timeout
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return true;
}

json Client::call(const std::string& cmd, const json& args) {
  uint64_t id = next_id_++;
  json req{{"cmd", cmd}, {"id", id}};
  if (!args.is_null()) req["args"] = args;
  std::string line = req.dump() + "\n";
  for (size_t off = 0; off < line.size();) {
    ssize_t n = ::send(fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(std::string("lost mpf-controld: ") + std::strerror(errno));
    off += size_t(n);
  }
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string answer = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      json j = json::parse(answer, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        throw std::runtime_error("mpf-controld sent something that is not a JSON object");
      return j;
    }
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      throw std::runtime_error("mpf-controld did not answer within 10 s");
    if (n <= 0)
      throw std::runtime_error(n == 0 ? "mpf-controld closed the connection"
                                      : std::string("lost mpf-controld: ") + std::strerror(errno));
    buf_.append(tmp, size_t(n));
  }
}

}  // namespace mpf::control
