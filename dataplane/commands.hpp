// The main lcore's side of the command mailbox (shm/layout.hpp, Mailbox): one request at a time
// from mpf-controld, answered here. Changes reach the workers the way path health does: the main
// lcore publishes (PathPub seqlock, path_gen), workers read once per pass. Nothing here blocks.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "app.hpp"
#include "shm/layout.hpp"

namespace mpf::dp {

class CommandChannel {
 public:
  // on_path_change runs (main lcore) after a path setting changed, before the answer.
  CommandChannel(App& app, std::function<void()> on_path_change)
      : app_(app), on_path_change_(std::move(on_path_change)) {}
  // Every pass: one load when nothing is asked. A flows request is answered once every worker
  // has filled its list (or after a deadline).
  void poll(uint64_t now_ms);

 private:
  // Runs a request that completes at once. False when it must wait (flows).
  bool execute(const shm::Request& q, shm::Response* out, uint64_t now_ms);
  shm::Status path_set(const shm::PathSetArgs& a, std::string* message);
  void answer(const shm::Response& r);

  App& app_;
  std::function<void()> on_path_change_;
  uint64_t handled_ = 0;        // req_seq of the last request answered (or being answered)
  bool flows_pending_ = false;
  uint64_t flows_deadline_ms_ = 0;
};

}  // namespace mpf::dp
