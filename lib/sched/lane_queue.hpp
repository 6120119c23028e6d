// The egress queue of one shaped path, in three lanes (docs/multipath.md, "Shaping").
//
// Under load a path's shaper queue holds up to multipath.max_queue_ms of bulk traffic. A frame
// that waits behind it pays that delay: a ping, a DNS answer, a VoIP frame, the redundant copy
// that must survive the other path's death, a retransmit the receiver's reorder window is
// waiting for. The fast lane is served first; the caller puts there the frames of flows that
// have nothing queued (sparse flows, see SparseFlows) and loss-report resends, up to a byte
// cap, and everything else in the bulk lane. A flow keeps its order: its next frame goes to
// the fast lane only when none of its frames is queued in any lane. Between the two, the
// resend lane takes what a failover moves off a dead path: older than anything in the bulk
// lane, and what the receiver's reorder windows wait for, but too much for the fast lane.
//
// Single owner, no locks; the rings are allocated once by the constructor.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace mpf::sched {

enum class Lane : uint8_t { fast = 0, resend = 1, bulk = 2 };
constexpr unsigned kLanes = 3;

template <class T>
class LaneQueue {
 public:
  struct Item {
    T value{};
    uint32_t bytes = 0;
  };

  // Slots of each lane, powers of two >= 1; throws std::invalid_argument otherwise.
  LaneQueue(uint32_t fast_slots, uint32_t resend_slots, uint32_t bulk_slots) {
    const uint32_t sizes[kLanes] = {fast_slots, resend_slots, bulk_slots};
    for (unsigned i = 0; i < kLanes; i++) {
      if (sizes[i] == 0 || (sizes[i] & (sizes[i] - 1)) != 0)
        throw std::invalid_argument("LaneQueue lane sizes must be powers of two");
      lanes_[i].slots.resize(sizes[i]);
    }
  }

  // Appends to lane l; false (nothing changed) when that lane is full.
  bool push(Lane l, T value, uint32_t bytes) {
    Ring& r = lanes_[unsigned(l)];
    if (r.full()) return false;
    r.slots[r.tail++ & (r.slots.size() - 1)] = Item{value, bytes};
    r.bytes += bytes;
    return true;
  }

  bool empty() const { return lanes_[0].empty() && lanes_[1].empty() && lanes_[2].empty(); }
  bool full(Lane l) const { return lanes_[unsigned(l)].full(); }
  // The next item out: the head of the first non-empty lane (fast, resend, bulk). Only when
  // !empty().
  const Item& front() const { return lanes_[first()].head_item(); }
  // Removes front().
  void pop() {
    Ring& r = lanes_[first()];
    r.bytes -= r.head_item().bytes;
    r.head++;
  }

  uint64_t bytes() const { return lanes_[0].bytes + lanes_[1].bytes + lanes_[2].bytes; }
  uint64_t bytes(Lane l) const { return lanes_[unsigned(l)].bytes; }
  uint32_t size(Lane l) const { return lanes_[unsigned(l)].tail - lanes_[unsigned(l)].head; }
  uint32_t capacity(Lane l) const { return uint32_t(lanes_[unsigned(l)].slots.size()); }

 private:
  struct Ring {
    std::vector<Item> slots;
    uint32_t head = 0, tail = 0;
    uint64_t bytes = 0;
    bool empty() const { return head == tail; }
    bool full() const { return tail - head == slots.size(); }
    const Item& head_item() const { return slots[head & (slots.size() - 1)]; }
  };
  unsigned first() const { return !lanes_[0].empty() ? 0 : !lanes_[1].empty() ? 1 : 2; }
  Ring lanes_[kLanes];
};

// Which flows have frames waiting in a peer's shaper queues, by flow hash bucket: a flow
// whose bucket is idle is sparse (it sends less than its paths drain) and may take the fast
// lane without passing its own earlier frames. Two flows sharing a bucket are treated as one
// (the cost of a collision is a bulk-lane wait, never reordering).
class SparseFlows {
 public:
  static constexpr uint32_t kBuckets = 1024;
  static constexpr uint16_t kNone = 0xffff;  // a frame that belongs to no flow (a resend)

  static uint16_t bucket(uint32_t flow_hash) { return uint16_t(flow_hash % kBuckets); }
  bool idle(uint16_t b) const { return queued_[b] == 0; }
  void add(uint16_t b) {
    if (b != kNone) queued_[b]++;
  }
  void remove(uint16_t b) {
    if (b != kNone && queued_[b] != 0) queued_[b]--;
  }

 private:
  uint32_t queued_[kBuckets] = {};
};

}  // namespace mpf::sched
