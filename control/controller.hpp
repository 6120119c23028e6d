// The request side of mpf-controld without any socket: one JSON request line in, one JSON
// response line out (now, or once the dataplane answers the mailbox). Mailbox commands are
// queued and sent one at a time; waiting for an answer never blocks: tick() looks for it.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "api.hpp"

namespace mpf::control {

class DataplaneLink;

class Controller {
 public:
  using Send = std::function<void(uint64_t client, const std::string& line)>;

  // send(client, line) gets every response line (without the '\n'). timeout_ms: how long the
  // dataplane has to answer a mailbox request (then "dataplane_timeout").
  Controller(DataplaneLink* link, Send send, uint64_t timeout_ms = 2000);

  // Handles one request line (without its '\n'). Blank lines are ignored.
  void request(uint64_t client, std::string_view line, uint64_t now_ms);
  // Sends the next queued mailbox request, delivers an answer or a timeout. Call at least every
  // few hundred microseconds while busy().
  void tick(uint64_t now_ms);
  bool busy() const { return active_.has_value() || !queue_.empty(); }
  // True while this client waits for a mailbox answer (its later lines should wait too, so
  // that answers keep the order of requests).
  bool pending(uint64_t client) const;
  // The client went away: its queued requests are dropped, an answer in flight is discarded.
  void forget(uint64_t client);

  // Response lines (exposed for the socket server's own errors and for tests).
  static std::string ok_line(const json& id, const json& result);
  static std::string error_line(const json& id, const std::string& code, const std::string& message);

 private:
  struct Queued {
    uint64_t client;
    json id;
    MailboxJob job;
  };
  struct Active {
    Queued q;
    uint64_t seq;
    uint64_t deadline_ms;
    uint64_t generation;
  };

  ApiContext context(uint64_t now_ms) const;
  void start_next(uint64_t now_ms);
  void finish(const Queued& q, const shm::Region& r, const shm::Response& resp);

  DataplaneLink* link_;
  Send send_;
  uint64_t timeout_ms_;
  std::deque<Queued> queue_;
  std::optional<Active> active_;
};

}  // namespace mpf::control
