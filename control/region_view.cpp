#include "region_view.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "shm/seqlock.hpp"
#include "stats/counter.hpp"

namespace mpf::control {

unsigned lcore_count(const shm::Region& r) { return std::min(r.hdr.n_lcores, shm::kLcores); }
unsigned port_count(const shm::Region& r) { return std::min(r.hdr.n_ports, shm::kPorts); }
unsigned peer_count(const shm::Region& r) { return std::min(r.hdr.n_peers, shm::kPeers); }

namespace {

void add_into(stats::LcoreStats& t, const stats::LcoreStats& s, bool load) {
  auto get = [load](const uint64_t& c) { return load ? read_counter(c) : c; };
#define MPF_X(name, text) t.name += get(s.name);
  MPF_LCORE_COUNTERS(MPF_X)
#undef MPF_X
  for (unsigned p = 0; p < stats::kStatPorts; p++) {
    t.port_rx[p] += get(s.port_rx[p]);
    t.port_tx[p] += get(s.port_tx[p]);
    t.port_rx_bytes[p] += get(s.port_rx_bytes[p]);
    t.port_tx_bytes[p] += get(s.port_tx_bytes[p]);
  }
  for (unsigned d = 0; d < kDropReasons; d++) t.drops[d] += get(s.drops[d]);
}

}  // namespace

stats::LcoreStats read_lcore(const shm::LcoreSlot& slot) {
  stats::LcoreStats t;
  add_into(t, slot.stats, true);
  return t;
}

stats::LcoreStats sum_lcores(const shm::Region& r) {
  stats::LcoreStats t;
  for (unsigned i = 0; i < lcore_count(r); i++) add_into(t, r.lcores[i].stats, true);
  return t;
}

bool seq_read_patiently(const uint64_t* seq, void* dst, const void* src, size_t n) {
  // The writer is a polling lcore that this busy host may preempt mid-update for tens of ms;
  // spinning alone gives up within microseconds, so sleep between short bursts of tries.
  using clock = std::chrono::steady_clock;
  const auto give_up = clock::now() + std::chrono::seconds(2);
  do {
    if (shm::seq_read(seq, dst, src, n, 16)) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  } while (clock::now() < give_up);
  return false;
}

std::unique_ptr<shm::Snapshot> read_snapshot(const shm::Region& r) {
  auto s = std::make_unique<shm::Snapshot>();
  if (!seq_read_patiently(&r.snap_seq, s.get(), &r.snap, sizeof(shm::Snapshot))) return nullptr;
  return s;
}

std::string config_text(const shm::Region& r) {
  uint32_t n = std::min<uint32_t>(r.hdr.config_text_len, shm::kConfigText);
  return std::string(r.config_text, n);
}

const char* role_name(const shm::Region& r) { return r.hdr.gateway ? "gateway" : "server"; }

const char* lcore_role_name(shm::LcoreRole role) {
  switch (role) {
    case shm::LcoreRole::worker: return "worker";
    case shm::LcoreRole::main: return "main";
    case shm::LcoreRole::main_worker: return "main_worker";
  }
  return "unknown";
}

const char* port_kind_name(shm::PortKindCode kind) {
  switch (kind) {
    case shm::PortKindCode::lan: return "lan";
    case shm::PortKindCode::path: return "path";
    case shm::PortKindCode::wan: return "wan";
    case shm::PortKindCode::tunnel: return "tunnel";
  }
  return "unknown";
}

const char* admin_name(shm::AdminState a) {
  switch (a) {
    case shm::AdminState::automatic: return "auto";
    case shm::AdminState::up: return "up";
    case shm::AdminState::down: return "down";
  }
  return "unknown";
}

const char* proto_name(uint8_t proto) {
  switch (proto) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    default: return "other";
  }
}

}  // namespace mpf::control
