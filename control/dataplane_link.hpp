// mpf-controld's attachment to one dataplane's region: attaches (exclusively: one controld
// commands a region), notices the dataplane dying or being replaced, detaches and attaches
// again to the next one. Everything it learns is logged to stderr, once per change.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "shm/region.hpp"

namespace mpf::control {

class DataplaneLink {
 public:
  // name_or_path as for shm::region_path(). exclusive: take the region's command lock (false
  // only in tests that attach a second reader).
  explicit DataplaneLink(std::string name_or_path, bool exclusive = true);

  // Call every ~200 ms: attaches when detached (a region that exists, is ready and is not the
  // one just found dead), detaches when the dataplane died: heartbeat still for longer than
  // stall_ms(), its pid gone, or the file unlinked or replaced. now_ms: a monotonic clock.
  void maintain(uint64_t now_ms);

  // The region while attached to a live, ready dataplane; nullptr otherwise.
  shm::Region* region() const { return ready_ ? mapped_->get() : nullptr; }
  bool attached() const { return ready_; }
  // Why there is no region (empty while attached).
  const std::string& reason() const { return reason_; }
  const std::string& path() const { return path_; }
  // Bumped at every attach: a mailbox request sent before it has no answer coming.
  uint64_t generation() const { return generation_; }
  // Heartbeat silence after which the dataplane counts as dead: 1 s, or 3 publish intervals
  // when those are longer.
  uint64_t stall_ms() const;
  // Monotonic ms since the heartbeat last moved (0 when detached).
  uint64_t heartbeat_age_ms(uint64_t now_ms) const;

 private:
  void try_attach(uint64_t now_ms);
  void detach(const std::string& why);
  void set_reason(const std::string& why);

  std::string name_;
  std::string path_;
  bool exclusive_;
  std::unique_ptr<shm::MappedRegion> mapped_;
  bool ready_ = false;
  uint64_t generation_ = 0;
  uint64_t last_heartbeat_ = 0;
  uint64_t heartbeat_moved_ms_ = 0;
  // The region last found dead: not attached again until its heartbeat moves.
  ino_t dead_inode_ = 0;
  uint64_t dead_heartbeat_ = 0;
  std::string reason_;
};

}  // namespace mpf::control
