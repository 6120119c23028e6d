// mpf-controld's sockets: the unix socket of the JSON API (one request per line, one response
// per line) and, when asked for, a Prometheus endpoint over HTTP, all in one poll() loop. No
// client can block another: sockets are non-blocking, a line is at most 64 KiB, and a client
// whose unread answers pass 4 MiB is dropped.
#pragma once
#include <csignal>
#include <cstdint>
#include <map>
#include <string>

#include "controller.hpp"
#include "dataplane_link.hpp"

namespace mpf::control {

constexpr size_t kMaxLine = 64 * 1024;
constexpr size_t kMaxOutput = 4 * 1024 * 1024;

struct ServerOptions {
  std::string socket_path = "/run/mpf/control.sock";
  std::string metrics;  // "HOST:PORT" or "PORT" (loopback); empty = no metrics endpoint
};

class Server {
 public:
  Server(DataplaneLink* link, ServerOptions opt);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Creates the socket's directory (0750) when missing, replaces a stale socket file (refuses
  // one a live controld answers on), binds it mode 0660, and opens the metrics listener.
  bool open(std::string* error);
  // Serves until *stop is set (by a signal handler).
  void run(const volatile std::sig_atomic_t* stop);

 private:
  struct Conn {
    int fd = -1;
    bool http = false;
    std::string in, out;
    bool eof = false;            // the peer shut down its sending side
    bool close_after_flush = false;
    bool dead = false;           // close now
  };

  void accept_on(int listen_fd, bool http);
  void read_from(uint64_t id, Conn& c);
  void write_to(Conn& c);
  void drain_lines(uint64_t id, Conn& c, uint64_t now_ms);
  void serve_http(Conn& c);
  void send(uint64_t client, const std::string& line);
  void close_conn(uint64_t id);

  DataplaneLink* link_;
  ServerOptions opt_;
  Controller controller_;
  int unix_fd_ = -1;
  int http_fd_ = -1;
  ino_t socket_inode_ = 0;
  uint64_t next_id_ = 1;  // 0 means "no client" to the controller
  std::map<uint64_t, Conn> conns_;
};

// "127.0.0.1:9580", "9580" (loopback), "0.0.0.0:9580" -> a listening TCP socket, or -1 with
// *error.
int listen_tcp(const std::string& host_port, std::string* error);

}  // namespace mpf::control
