// Consistent reads of the dataplane's shared-memory region (shm/layout.hpp): live counters
// summed over lcores, the seqlocked snapshot, the published configuration text. Reads only;
// never blocks the dataplane.
#pragma once
#include <memory>
#include <string>

#include "shm/layout.hpp"

namespace mpf::control {

// Lcore slots in use (hdr.n_lcores, clamped to the layout's capacity).
unsigned lcore_count(const shm::Region& r);
// Ports in use (hdr.n_ports, clamped); snap.ports[0..n) are valid.
unsigned port_count(const shm::Region& r);
// Peers shown in snap.peers (min(hdr.n_peers, kPeers)).
unsigned peer_count(const shm::Region& r);

// One lcore's live counters, each word loaded relaxed (the lcore keeps writing meanwhile).
stats::LcoreStats read_lcore(const shm::LcoreSlot& slot);
// Every counter summed over the lcore slots in use.
stats::LcoreStats sum_lcores(const shm::Region& r);

// shm::seq_read retried for up to 2 s, sleeping between bursts: false only when the writer stayed
// mid-update all that time (it died or hangs mid-update), never because it was preempted.
bool seq_read_patiently(const uint64_t* seq, void* dst, const void* src, size_t n);

// A consistent copy of the snapshot, or nullptr when the main lcore stayed mid-update for 2 s
// (it died mid-update). Heap-allocated: the snapshot is ~100 KiB.
std::unique_ptr<shm::Snapshot> read_snapshot(const shm::Region& r);

// The running configuration as the dataplane read it at start.
std::string config_text(const shm::Region& r);

// Names used in every API answer.
const char* role_name(const shm::Region& r);           // "gateway" / "server"
const char* lcore_role_name(shm::LcoreRole role);      // "worker" / "main" / "main_worker"
const char* port_kind_name(shm::PortKindCode kind);    // "lan" / "path" / "wan" / "tunnel"
const char* admin_name(shm::AdminState a);             // "auto" / "up" / "down"
const char* proto_name(uint8_t proto);                 // "tcp" / "udp" / "icmp" / "17"

// NUL-terminated copy of a fixed-size char field that may lack its NUL.
template <size_t N>
std::string field(const char (&s)[N]) {
  size_t n = 0;
  while (n < N && s[n]) n++;
  return std::string(s, n);
}

}  // namespace mpf::control
