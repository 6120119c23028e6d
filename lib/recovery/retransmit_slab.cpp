// Ring of sent packets per (sending worker, path) (retransmit_slab.hpp).
#include "recovery/retransmit_slab.hpp"

#include <cstring>

#include "stats/counter.hpp"

namespace mpf::recovery {

namespace {

uint32_t round_slots(uint32_t n) {
  if (n > RetransmitSlab::kMaxSlots) return RetransmitSlab::kMaxSlots;
  uint32_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

RetransmitSlab::RetransmitSlab(uint32_t slots, uint16_t slot_bytes)
    : mask_(round_slots(slots) - 1),
      slot_bytes_(slot_bytes),
      stride_((size_t(slot_bytes) + 63) / 64 * 64) {
  const size_t n = size_t(mask_) + 1;
  entries_ = std::make_unique<Entry[]>(n);
  bytes_ = std::make_unique_for_overwrite<uint8_t[]>(stride_ == 0 ? 1 : n * stride_);
  for (size_t i = 0; i < n; i++) entries_[i].data = bytes_.get() + i * stride_;
}

void RetransmitSlab::store(uint32_t path_seq, uint16_t stream_id, uint32_t stream_seq,
                           uint8_t form, const uint8_t* pkt, uint16_t len, uint64_t now_us) {
  if (!any_) {
    any_ = true;
    newest_ = floor_ = path_seq;
  } else if (const uint32_t ahead = path_seq - newest_; ahead != 0 && ahead < 0x80000000u) {
    newest_ = path_seq;
    if (newest_ - floor_ > mask_) floor_ = newest_ - mask_;  // the ring's reach
  } else if (newest_ - path_seq >= span()) {
    bump(stats_.stale);
    return;
  }
  const uint32_t idx = path_seq & mask_;
  Entry& e = entries_[idx];
  if (len > slot_bytes_) {
    e.valid = false;  // the previous occupant is evicted all the same
    bump(stats_.oversize);
    return;
  }
  if (len > 0) std::memcpy(bytes_.get() + size_t(idx) * stride_, pkt, len);
  e.path_seq = path_seq;
  e.stream_id = stream_id;
  e.stream_seq = stream_seq;
  e.len = len;
  e.form = form;
  e.sent_us = now_us;
  e.reported_us = 0;
  e.valid = true;
  bump(stats_.stored);
}

const RetransmitSlab::Entry* RetransmitSlab::claim(uint32_t path_seq, uint64_t now_us,
                                                   uint64_t min_gap_us, bool* repeat) {
  *repeat = false;
  if (!find(path_seq)) return nullptr;
  Entry& e = entries_[path_seq & mask_];
  if (e.reported_us != 0 && now_us >= e.reported_us && now_us - e.reported_us < min_gap_us) {
    *repeat = true;
    return nullptr;
  }
  e.reported_us = now_us;
  return &e;
}

const RetransmitSlab::Entry* RetransmitSlab::find(uint32_t path_seq) const {
  if (newest_ - path_seq >= span()) return nullptr;
  return live(path_seq);
}

void RetransmitSlab::forget_before(uint64_t us) {
  for (uint32_t n = span(); n > 0; n--, floor_++) {
    Entry& e = entries_[floor_ & mask_];
    if (e.valid && e.path_seq == floor_) {
      if (e.sent_us >= us) return;
      e.valid = false;
    }
  }
}

void RetransmitSlab::clear() {
  for (uint32_t i = 0; i <= mask_; i++) entries_[i].valid = false;
  any_ = false;
}

}  // namespace mpf::recovery
