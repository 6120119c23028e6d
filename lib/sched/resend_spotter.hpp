// Spots the inner TCP's own retransmissions among the segments a worker sends into the tunnel
// (docs/multipath.md, "Expedited TCP resends").
//
// When a path's shaper queue (the AQM) drops a segment, or a path dies, the receiving host
// holds everything after the hole until the sender retransmits it: the application sees
// nothing for that long. A retransmission that waits behind the bulk queue (up to
// max_queue_ms) and then behind the receiver's reorder hold stretches every such stall by
// both. Spotted here, the worker counts it (tcp_resends, resends_shaper_dropped) and, with
// multipath.expedite_resends (off by default), sends it in the fast lane when that has room
// (the bulk lane and its AQM otherwise), and prompt: never held by the far end.
//
// Per flow (a slot chosen by the flow hash, tagged with the whole hash) the highest sequence
// end sent so far. A segment with payload that ends at or before it is a resend. Slots are
// direct-mapped: a flow that takes another's slot starts afresh, so a collision can hide a
// resend (sent as bulk, as without the spotter) but never invents one from another flow's
// sequence space. Sequence comparisons are modulo 2^32 (RFC 793's serial arithmetic).
//
// One owner (a worker lcore): no locks, no atomics; the table is allocated once.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace mpf::sched {

class ResendSpotter {
 public:
  // slots: a power of two, at least 1. Throws std::invalid_argument otherwise.
  explicit ResendSpotter(uint32_t slots) : mask_(slots - 1), slots_(slots) {
    if (slots == 0 || (slots & (slots - 1)) != 0)
      throw std::invalid_argument("ResendSpotter: slots must be a power of two");
  }

  // A segment of the flow with hash flow_hash: sequence number seq, seq_len = payload bytes
  // plus one for SYN and one for FIN. True when it ends at or before the flow's highest end
  // seen (a retransmission, a tail loss probe, a keepalive); false for new data, and for
  // seq_len 0 (a pure ACK carries nothing to resend), which leaves the slot as it was.
  bool resend(uint32_t flow_hash, uint32_t seq, uint32_t seq_len) {
    if (seq_len == 0) return false;
    Slot& s = slots_[flow_hash & mask_];
    const uint32_t end = seq + seq_len;
    if (s.used && s.tag == flow_hash) {
      if (int32_t(end - s.end) <= 0) return true;
    } else {
      s.used = true;
      s.tag = flow_hash;
    }
    s.end = end;
    return false;
  }

  uint32_t slots() const { return mask_ + 1; }

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t end = 0;
    bool used = false;
  };
  uint32_t mask_;
  std::vector<Slot> slots_;
};

}  // namespace mpf::sched
