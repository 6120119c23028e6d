#include "server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "clock.hpp"
#include "metrics.hpp"

namespace mpf::control {

namespace {

constexpr size_t kMaxHttpRequest = 8 * 1024;
constexpr size_t kMaxConns = 256;
constexpr uint64_t kMaintainMs = 200;

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// mkdir -p with mode 0750 for every directory created.
bool make_dirs(const std::string& dir, std::string* error) {
  if (dir.empty() || dir == "/") return true;
  struct stat st{};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return true;
    *error = dir + " exists and is not a directory";
    return false;
  }
  size_t slash = dir.rfind('/');
  if (slash != std::string::npos && !make_dirs(dir.substr(0, slash), error)) return false;
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    *error = errno_text("cannot create " + dir);
    return false;
  }
  ::chmod(dir.c_str(), 0750);  // not subject to the umask
  return true;
}

}  // namespace

int listen_tcp(const std::string& host_port, std::string* error) {
  std::string host = "127.0.0.1", port = host_port;
  if (size_t colon = host_port.rfind(':'); colon != std::string::npos) {
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in a{};
  a.sin_family = AF_INET;
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 1 || p > 65535 || ::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    *error = "--metrics wants HOST:PORT or PORT (IPv4), not \"" + host_port + "\"";
    return -1;
  }
  a.sin_port = htons(uint16_t(p));
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
    *error = errno_text("cannot listen on " + host + ":" + port);
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

Server::Server(DataplaneLink* link, ServerOptions opt)
    : link_(link),
      opt_(std::move(opt)),
      controller_(link, [this](uint64_t client, const std::string& line) { send(client, line); }) {}

Server::~Server() {
  for (auto& [id, c] : conns_) ::close(c.fd);
  if (http_fd_ >= 0) ::close(http_fd_);
  if (unix_fd_ >= 0) {
    ::close(unix_fd_);
    struct stat st{};
    if (::stat(opt_.socket_path.c_str(), &st) == 0 && st.st_ino == socket_inode_)
      ::unlink(opt_.socket_path.c_str());
  }
}

bool Server::open(std::string* error) {
  const std::string& path = opt_.socket_path;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof a.sun_path) {
    *error = "socket path must be 1.." + std::to_string(sizeof a.sun_path - 1) + " bytes";
    return false;
  }
  std::memcpy(a.sun_path, path.c_str(), path.size());
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0 && !make_dirs(path.substr(0, slash), error))
    return false;
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      *error = path + " exists and is not a socket";
      return false;
    }
    // A socket someone answers on belongs to a running controld: leave it alone.
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (probe >= 0) ::close(probe);
    if (live) {
      *error = "another mpf-controld is serving " + path;
      return false;
    }
    ::unlink(path.c_str());
  }
  unix_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (unix_fd_ < 0 || ::bind(unix_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    *error = errno_text("cannot bind " + path);
    return false;
  }
  if (::stat(path.c_str(), &st) == 0) socket_inode_ = st.st_ino;
  if (::chmod(path.c_str(), 0660) != 0 || ::listen(unix_fd_, 64) != 0) {
    *error = errno_text("cannot listen on " + path);
    return false;
  }
  if (!opt_.metrics.empty()) {
    http_fd_ = listen_tcp(opt_.metrics, error);
    if (http_fd_ < 0) return false;
  }
  return true;
}

void Server::send(uint64_t client, const std::string& line) {
  auto it = conns_.find(client);
  if (it == conns_.end() || it->second.dead) return;
  Conn& c = it->second;
  c.out += line;
  c.out += '\n';
  if (c.out.size() > kMaxOutput) {
    std::fprintf(stderr, "mpf-controld: dropping a client that does not read its answers\n");
    c.dead = true;
  }
}

void Server::close_conn(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  ::close(it->second.fd);
  controller_.forget(id);
  conns_.erase(it);
}

void Server::accept_on(int listen_fd, bool http) {
  for (;;) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a client gone before we took it
    if (conns_.size() >= kMaxConns) {
      ::close(fd);
      continue;
    }
    Conn c;
    c.fd = fd;
    c.http = http;
    conns_.emplace(next_id_++, std::move(c));
  }
}

void Server::read_from(uint64_t id, Conn& c) {
  (void)id;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.in.append(buf, size_t(n));
      // Stop taking more while a long line or a backlog sits unprocessed: the rest waits in the
      // kernel (and the checks in drain_lines decide).
      if (c.in.size() > kMaxLine + sizeof buf) return;
      continue;
    }
    if (n == 0) {
      c.eof = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      c.dead = true;
    }
    return;
  }
}

void Server::write_to(Conn& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, size_t(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    c.dead = true;
    return;
  }
}

void Server::drain_lines(uint64_t id, Conn& c, uint64_t now_ms) {
  while (!c.dead && !c.close_after_flush && !controller_.pending(id)) {
    size_t nl = c.in.find('\n');
    size_t len = nl == std::string::npos ? c.in.size() : nl;
    if (len > kMaxLine) {
      send(id, Controller::error_line(nullptr, "too_large",
                                      "request line longer than " + std::to_string(kMaxLine) + " bytes"));
      c.in.clear();
      c.close_after_flush = true;
      return;
    }
    if (nl == std::string::npos) {
      // The last request may come without its newline when the client shuts down writing.
      if (c.eof && !c.in.empty()) {
        std::string line = std::move(c.in);
        c.in.clear();
        controller_.request(id, line, now_ms);
      }
      return;
    }
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    controller_.request(id, line, now_ms);
  }
}

void Server::serve_http(Conn& c) {
  size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) end = c.in.find("\n\n");
  auto reply = [&](const char* status, const std::string& type, const std::string& body) {
    c.out = std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + type +
            "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    c.in.clear();
    c.close_after_flush = true;
  };
  if (end == std::string::npos) {
    if (c.in.size() > kMaxHttpRequest) reply("431 Request Header Fields Too Large", "text/plain", "too large\n");
    else if (c.eof) c.dead = true;
    return;
  }
  std::string first = c.in.substr(0, c.in.find_first_of("\r\n"));
  size_t sp1 = first.find(' ');
  size_t sp2 = first.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
  std::string method = first.substr(0, sp1);
  std::string target = sp1 == std::string::npos ? "" : first.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string path = target.substr(0, target.find('?'));
  if (method != "GET") {
    reply("405 Method Not Allowed", "text/plain", "only GET\n");
  } else if (path != "/metrics") {
    reply("404 Not Found", "text/plain", "not found: try /metrics\n");
  } else {
    std::string body;
    try {
      body = metrics_text(link_->region(), unix_ms());
    } catch (const std::exception& e) {
      reply("500 Internal Server Error", "text/plain", std::string(e.what()) + "\n");
      return;
    }
    reply("200 OK", "text/plain; version=0.0.4; charset=utf-8", body);
  }
}

void Server::run(const volatile std::sig_atomic_t* stop) {
  uint64_t next_maintain = 0;
  std::vector<pollfd> pfds;
  std::vector<uint64_t> ids;
  while (!*stop) {
    uint64_t now = mono_ms();
    if (now >= next_maintain) {
      link_->maintain(now);
      next_maintain = now + kMaintainMs;
    }
    controller_.tick(now);
    // Clients whose mailbox answer arrived may have more lines waiting.
    for (auto& [id, c] : conns_)
      if (!c.http) drain_lines(id, c, now);
    for (auto it = conns_.begin(); it != conns_.end();) {
      Conn& c = it->second;
      bool done = c.dead || (c.out.empty() && (c.close_after_flush ||
                                               (c.eof && c.in.empty() && !controller_.pending(it->first))));
      uint64_t id = it->first;
      ++it;
      if (done) close_conn(id);
    }

    pfds.clear();
    ids.clear();
    pfds.push_back({unix_fd_, POLLIN, 0});
    ids.push_back(0);
    if (http_fd_ >= 0) {
      pfds.push_back({http_fd_, POLLIN, 0});
      ids.push_back(0);
    }
    for (auto& [id, c] : conns_) {
      short ev = 0;
      if (!c.eof && !c.close_after_flush && c.in.size() <= kMaxLine) ev |= POLLIN;
      if (!c.out.empty()) ev |= POLLOUT;
      pfds.push_back({c.fd, ev, 0});
      ids.push_back(id);
    }
    // While a mailbox request is out, look for its answer every 200 us; otherwise wake for the
    // next liveness check.
    timespec ts{};
    if (controller_.busy()) {
      ts.tv_nsec = 200'000;
    } else {
      uint64_t wait = next_maintain > now ? next_maintain - now : 0;
      ts.tv_sec = time_t(wait / 1000);
      ts.tv_nsec = long(wait % 1000) * 1'000'000;
    }
    int n = ::ppoll(pfds.data(), pfds.size(), &ts, nullptr);
    if (n <= 0) continue;  // timeout, or EINTR from a signal (the loop test sees *stop)
    now = mono_ms();
    size_t first_conn = http_fd_ >= 0 ? 2 : 1;
    if (pfds[0].revents & POLLIN) accept_on(unix_fd_, false);
    if (http_fd_ >= 0 && (pfds[1].revents & POLLIN)) accept_on(http_fd_, true);
    for (size_t i = first_conn; i < pfds.size(); i++) {
      auto it = conns_.find(ids[i]);
      if (it == conns_.end()) continue;
      Conn& c = it->second;
      short re = pfds[i].revents;
      if (re & (POLLIN | POLLHUP | POLLERR)) {
        read_from(ids[i], c);
        if (c.http) serve_http(c);
        else drain_lines(ids[i], c, now);
      }
      if (!c.dead && !c.out.empty()) write_to(c);
    }
  }
}

}  // namespace mpf::control
