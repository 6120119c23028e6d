// Flow listing selection (see flow_select.hpp).
#include "nat/flow_select.hpp"

#include <algorithm>

namespace mpf::nat {

namespace {

// Heap order: the smallest byte count on top, so the next offer compares against it.
bool more_bytes(const SessionInfo& a, const SessionInfo& b) { return a.bytes() > b.bytes(); }

uint32_t saturate32(uint64_t v) { return v > UINT32_MAX ? UINT32_MAX : uint32_t(v); }

}  // namespace

bool matches(const shm::FlowFilter& f, const SessionInfo& s) {
  if (f.proto != 0 && f.proto != s.proto) return false;
  if (f.prefix_len != 0) {
    const uint32_t mask = f.prefix_len >= 32 ? ~0u : ~0u << (32 - f.prefix_len);
    const uint32_t net = f.addr & mask;
    if ((s.inside_ip & mask) != net && (s.remote_ip & mask) != net &&
        (s.external_ip & mask) != net)
      return false;
  }
  if (f.port != 0 && f.port != s.inside_port && f.port != s.remote_port &&
      f.port != s.external_port)
    return false;
  return true;
}

TopN::TopN(uint32_t capacity) : heap_(capacity) {}

void TopN::reset(uint32_t n) {
  size_ = 0;
  limit_ = std::min<uint32_t>(n, uint32_t(heap_.size()));
}

void TopN::offer(const SessionInfo& s) {
  if (size_ < limit_) {
    heap_[size_++] = s;
    std::push_heap(heap_.begin(), heap_.begin() + size_, more_bytes);
  } else if (limit_ != 0 && s.bytes() > heap_[0].bytes()) {
    std::pop_heap(heap_.begin(), heap_.begin() + size_, more_bytes);
    heap_[size_ - 1] = s;
    std::push_heap(heap_.begin(), heap_.begin() + size_, more_bytes);
  }
}

std::span<const SessionInfo> TopN::sorted() {
  // sort_heap orders by the heap's comparison: with more_bytes, most bytes first.
  std::sort_heap(heap_.begin(), heap_.begin() + size_, more_bytes);
  return {heap_.data(), size_};
}

shm::Flow to_flow(const SessionInfo& s, uint64_t now_ms) {
  shm::Flow f{};
  f.proto = s.proto;
  f.tcp_state = s.tcp_state;
  f.inside_ip = s.inside_ip;
  f.remote_ip = s.remote_ip;
  f.external_ip = s.external_ip;
  f.inside_port = s.inside_port;
  f.external_port = s.external_port;
  f.remote_port = s.remote_port;
  f.idle_ms = saturate32(now_ms > s.last_ms ? now_ms - s.last_ms : 0);
  f.age_s = saturate32((now_ms > s.created_ms ? now_ms - s.created_ms : 0) / 1000);
  f.packets_out = s.packets_out;
  f.bytes_out = s.bytes_out;
  f.packets_in = s.packets_in;
  f.bytes_in = s.bytes_in;
  return f;
}

}  // namespace mpf::nat
