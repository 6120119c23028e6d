// Copies of the inner packets a sending worker put on one path, for retransmission after a
// feedback report and for resending after a failover (docs/multipath.md, "Frames", "Failover").
// One slab per (sending worker, path), owned by that worker.
//
// A ring of slots() fixed-size slots indexed by path_seq % slots(): it holds the packets of at
// most the last slots() path_seqs stored (path_seq is per (sender worker, path), +1 per frame,
// serial arithmetic, wraps at 2^32). Storing path_seq s evicts s - slots(); a packet longer than
// slot_bytes() is not stored (counted in oversize) and still evicts the old occupant of its
// slot, so the slab never answers for a path_seq with another one's packet.
//
// The memory is allocated once by the constructor; store(), find(), for_each_since() and
// forget_before() allocate nothing and take no locks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

namespace mpf::recovery {

struct SlabStats {
  uint64_t stored = 0;
  uint64_t oversize = 0;   // longer than slot_bytes(): not stored
  uint64_t stale = 0;      // store() of a path_seq slots() or more behind the newest: ignored
};

class RetransmitSlab {
 public:
  struct Entry {
    uint32_t path_seq = 0;
    uint32_t stream_seq = 0;
    uint16_t stream_id = 0;
    uint16_t len = 0;
    uint8_t form = 0;               // the frame's payload-form flags (tunnel::kFlagsForm)
    uint64_t sent_us = 0;
    uint64_t reported_us = 0;       // when a loss report last claimed it (claim()); 0 = never
    const uint8_t* data = nullptr;  // len bytes: the inner packet as stored
    bool valid = false;             // internal; entries handed out are always valid
  };

  static constexpr uint32_t kMaxSlots = uint32_t(1) << 24;

  // slots is rounded up to a power of two (1..kMaxSlots); slot_bytes is the largest packet
  // stored (rounded up to a multiple of 64 for the layout; slot_bytes() reports the request).
  RetransmitSlab(uint32_t slots, uint16_t slot_bytes);

  // Copies pkt (len bytes, in the form `form` says: tunnel::kFlagsForm of its frame) as the
  // packet sent with path_seq at now_us. Path_seqs are expected in sending order (gaps are
  // fine); one that is not after the newest but still answered for replaces its slot; one older
  // than that is ignored (stale).
  void store(uint32_t path_seq, uint16_t stream_id, uint32_t stream_seq, uint8_t form,
             const uint8_t* pkt, uint16_t len, uint64_t now_us);

  // The packet sent with path_seq, or nullptr when it was never stored, was evicted (by a
  // newer path_seq slots() later, or by forget_before()) or was too long.
  const Entry* find(uint32_t path_seq) const;

  // A loss report names path_seq: the entry to resend, or nullptr when find() has none
  // (*repeat false) or a report claimed it less than min_gap_us ago (*repeat true: the
  // receiver sends each report on two paths; the second copy must not resend it again).
  const Entry* claim(uint32_t path_seq, uint64_t now_us, uint64_t min_gap_us, bool* repeat);

  // Calls f(const Entry&) for every stored entry sent at or after since_us, oldest first (in
  // path_seq order), and returns how many calls were made. If f returns bool, false stops the
  // walk (after counting that call). Times are assumed non-decreasing in path_seq order: the
  // walk starts after the newest entry sent before since_us. f must not modify this slab.
  template <class F>
  unsigned for_each_since(uint64_t since_us, F&& f) const;

  // Evicts every entry sent before us (a packet that old is not worth resending). Amortised
  // O(1) per stored entry.
  void forget_before(uint64_t us);

  // Evicts everything (the path's path_seq restarted).
  void clear();

  uint32_t slots() const { return mask_ + 1; }
  uint16_t slot_bytes() const { return slot_bytes_; }
  bool empty() const { return !any_; }
  uint32_t newest() const { return newest_; }  // meaningful unless empty()
  const SlabStats& stats() const { return stats_; }

 private:
  const Entry* live(uint32_t seq) const {
    const Entry& e = entries_[seq & mask_];
    return e.valid && e.path_seq == seq ? &e : nullptr;
  }
  // How many path_seqs back from newest_ (inclusive) the ring still answers for.
  uint32_t span() const { return any_ ? newest_ - floor_ + 1 : 0; }

  uint32_t mask_;
  uint16_t slot_bytes_;
  size_t stride_;
  std::unique_ptr<Entry[]> entries_;
  std::unique_ptr<uint8_t[]> bytes_;
  uint32_t newest_ = 0;
  // Oldest path_seq still answered for: newest_ - slots() + 1 or later; newest_ + 1 when
  // forget_before() dropped everything.
  uint32_t floor_ = 0;
  bool any_ = false;
  SlabStats stats_;
};

template <class F>
unsigned RetransmitSlab::for_each_since(uint64_t since_us, F&& f) const {
  const uint32_t n = span();
  // Walk back from the newest to the first entry sent before since_us (holes are skipped)...
  uint32_t back = 0;
  for (; back < n; back++) {
    const Entry* e = live(newest_ - back);
    if (e && e->sent_us < since_us) break;
  }
  // ...then forward from just after it.
  unsigned calls = 0;
  for (uint32_t i = back; i-- > 0;) {
    const Entry* e = live(newest_ - i);
    if (!e) continue;
    calls++;
    if constexpr (std::is_same_v<std::invoke_result_t<F&, const Entry&>, bool>) {
      if (!f(*e)) break;
    } else {
      f(*e);
    }
  }
  return calls;
}

}  // namespace mpf::recovery
