// The two-lane egress queue of one shaped path (docs/multipath.md, "Shaping").
//
// Under load a path's shaper queue holds up to multipath.max_queue_ms of bulk traffic. A frame
// that waits behind it pays that delay: a ping, a DNS answer, a VoIP frame, the redundant copy
// that must survive the other path's death, a retransmit the receiver's reorder window is
// waiting for. The fast lane is served first; the caller puts there the frames of flows that
// have nothing queued (sparse flows, see SparseFlows) and loss-report resends, up to a byte
// cap, and everything else in the bulk lane. A flow keeps its order: its next frame goes to
// the fast lane only when none of its frames is queued in either lane.
//
// Single owner, no locks; the rings are allocated once by the constructor.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace mpf::sched {

enum class Lane : uint8_t { fast = 0, bulk = 1 };

template <class T>
class LaneQueue {
 public:
  struct Item {
    T value{};
    uint32_t bytes = 0;
  };

  // Slots of each lane, powers of two >= 1; throws std::invalid_argument otherwise.
  LaneQueue(uint32_t fast_slots, uint32_t bulk_slots) {
    for (uint32_t c : {fast_slots, bulk_slots})
      if (c == 0 || (c & (c - 1)) != 0)
        throw std::invalid_argument("LaneQueue lane sizes must be powers of two");
    lanes_[0].slots.resize(fast_slots);
    lanes_[1].slots.resize(bulk_slots);
  }

  // Appends to lane l; false (nothing changed) when that lane is full.
  bool push(Lane l, T value, uint32_t bytes) {
    Ring& r = lanes_[unsigned(l)];
    if (r.full()) return false;
    r.slots[r.tail++ & (r.slots.size() - 1)] = Item{value, bytes};
    r.bytes += bytes;
    return true;
  }

  bool empty() const { return lanes_[0].empty() && lanes_[1].empty(); }
  bool full(Lane l) const { return lanes_[unsigned(l)].full(); }
  // The next item out: the fast lane's head, else the bulk lane's. Only when !empty().
  const Item& front() const { return lanes_[lanes_[0].empty() ? 1 : 0].head_item(); }
  // Removes front().
  void pop() {
    Ring& r = lanes_[lanes_[0].empty() ? 1 : 0];
    r.bytes -= r.head_item().bytes;
    r.head++;
  }

  uint64_t bytes() const { return lanes_[0].bytes + lanes_[1].bytes; }
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
  Ring lanes_[2];
};

// Which flows have frames waiting in a peer's shaper queues, by flow hash bucket: a flow
// whose bucket is idle is sparse (it sends less than its paths drain) and may take the fast
// lane without passing its own earlier frames. Two flows sharing a bucket are treated as one
// (the cost of a collision is a bulk-lane wait, never reordering).
class SparseFlows {
 public:
  static constexpr uint32_t kBuckets = 1024;
  static constexpr uint16_t kNone = 0xffff;  // a frame that belongs to no flow (retransmit)

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
