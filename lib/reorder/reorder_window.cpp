// ReorderWindow: construction, reset and names; the per-frame paths are templates in the header.
#include "reorder/reorder_window.hpp"

#include <cstring>

namespace mpf::reorder {

namespace {

uint32_t round_pow2(uint32_t v, uint32_t lo, uint32_t hi) {
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::deliver: return "deliver";
    case Verdict::held: return "held";
    case Verdict::late: return "late";
    case Verdict::duplicate: return "duplicate";
    case Verdict::stale: return "stale";
  }
  return "?";
}

ReorderWindow::ReorderWindow(uint32_t capacity, uint32_t history) {
  capacity_ = round_pow2(capacity, kMinCapacity, kMaxCapacity);
  mask_ = capacity_ - 1;
  uint32_t min_history = 2 * capacity_ < 64 ? 64 : 2 * capacity_;
  history_ = round_pow2(history, min_history, kMaxHistory);
  word_mask_ = 2 * history_ / 64 - 1;
  q_mask_ = 2 * capacity_ - 1;
  slots_ = std::make_unique<Slot[]>(capacity_);
  bits_ = std::make_unique<uint64_t[]>(2 * history_ / 64);
  queue_ = std::make_unique<uint32_t[]>(2 * capacity_);
  reset();
}

void ReorderWindow::skip_to(uint32_t target) {
  if (target - head_ >= history_) {
    // Everything the history still covers was skipped; words ahead are cleared on entry.
    std::memset(bits_.get(), 0xff, 2 * history_ / 8);
    head_ = target;
    enter_word();
    return;
  }
  while (head_ != target) pass_skipped();
}

void ReorderWindow::reset(uint32_t next_seq) {
  reset();
  synced_ = true;
  head_ = next_seq;
  enter_word();
}

void ReorderWindow::reset() {
  if (held_ != 0) {
    for (uint32_t i = 0; i < capacity_; ++i) slots_[i].item = nullptr;
    set_held(0);
  }
  q_rd_ = q_wr_ = 0;
  std::memset(bits_.get(), 0xff, 2 * history_ / 8);  // nothing seen: all "skipped"
  synced_ = false;
  head_ = 0;
}

}  // namespace mpf::reorder
