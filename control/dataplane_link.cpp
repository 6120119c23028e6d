#include "dataplane_link.hpp"

#include <algorithm>
#include <cstdio>

#include "region_view.hpp"

namespace mpf::control {

DataplaneLink::DataplaneLink(std::string name_or_path, bool exclusive)
    : name_(std::move(name_or_path)), path_(shm::region_path(name_)), exclusive_(exclusive) {
  reason_ = "not attached yet";
}

uint64_t DataplaneLink::stall_ms() const {
  uint64_t interval = mapped_ ? __atomic_load_n(&mapped_->get()->hdr.publish_interval_ms,
                                                __ATOMIC_RELAXED)
                              : 0;
  return std::max<uint64_t>(1000, 3 * interval);
}

uint64_t DataplaneLink::heartbeat_age_ms(uint64_t now_ms) const {
  return ready_ && now_ms > heartbeat_moved_ms_ ? now_ms - heartbeat_moved_ms_ : 0;
}

void DataplaneLink::set_reason(const std::string& why) {
  if (why != reason_) std::fprintf(stderr, "mpf-controld: %s\n", why.c_str());
  reason_ = why;
}

void DataplaneLink::detach(const std::string& why) {
  if (mapped_) {
    const shm::Header& h = mapped_->get()->hdr;
    if (ready_) {
      dead_inode_ = mapped_->inode();
      dead_heartbeat_ = __atomic_load_n(&h.heartbeat, __ATOMIC_ACQUIRE);
      std::fprintf(stderr, "mpf-controld: detached from dataplane pid %d (%s): %s\n", h.pid,
                   path_.c_str(), why.c_str());
    }
  }
  mapped_.reset();
  ready_ = false;
  reason_ = "dataplane gone: " + why;
}

void DataplaneLink::try_attach(uint64_t now_ms) {
  if (!mapped_) {
    std::string err;
    auto m = shm::MappedRegion::attach(name_, exclusive_, &err);
    if (!m) {
      set_reason(err);
      return;
    }
    const shm::Header& h = m->get()->hdr;
    uint64_t hb = __atomic_load_n(&h.heartbeat, __ATOMIC_ACQUIRE);
    if (!shm::process_alive(h.pid)) {
      set_reason("stale region " + path_ + " of dead dataplane pid " + std::to_string(h.pid) +
                 " (waiting for a new one)");
      return;  // dropping m releases the lock
    }
    if (m->inode() == dead_inode_ && hb == dead_heartbeat_) return;  // still the dead one
    mapped_ = std::move(m);
    last_heartbeat_ = hb;
    heartbeat_moved_ms_ = now_ms;
  }
  const shm::Header& h = mapped_->get()->hdr;
  if (__atomic_load_n(&h.ready, __ATOMIC_ACQUIRE) != 1) {
    // Created but still starting: keep the lock, look again next time; a dataplane that dies
    // while starting is noticed below.
    if (!shm::process_alive(h.pid) || !mapped_->still_current()) mapped_.reset();
    set_reason("dataplane pid " + std::to_string(h.pid) + " is starting");
    return;
  }
  ready_ = true;
  generation_++;
  reason_.clear();
  std::fprintf(stderr, "mpf-controld: attached to dataplane pid %d (%s, %s \"%s\")\n", h.pid,
               path_.c_str(), h.gateway ? "gateway" : "server", field(h.name).c_str());
}

void DataplaneLink::maintain(uint64_t now_ms) {
  if (!ready_) {
    try_attach(now_ms);
    return;
  }
  const shm::Header& h = mapped_->get()->hdr;
  uint64_t hb = __atomic_load_n(&h.heartbeat, __ATOMIC_ACQUIRE);
  if (hb != last_heartbeat_) {
    last_heartbeat_ = hb;
    heartbeat_moved_ms_ = now_ms;
  }
  if (!shm::process_alive(h.pid)) {
    detach("pid " + std::to_string(h.pid) + " exited");
  } else if (!mapped_->still_current()) {
    detach(path_ + " was removed or replaced");
  } else if (now_ms - heartbeat_moved_ms_ > stall_ms()) {
    detach("heartbeat stalled for " + std::to_string(now_ms - heartbeat_moved_ms_) + " ms");
  }
}

}  // namespace mpf::control
