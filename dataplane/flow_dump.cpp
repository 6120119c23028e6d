// A worker's flow listing (see flow_dump.hpp).
#include "flow_dump.hpp"

#include "shm/seqlock.hpp"

namespace mpf::dp {

FlowDump::FlowDump() : top_(shm::kFlowsPerLcore) {}

void FlowDump::step(const nat::NatTable& nat, shm::FlowSlot* slot, uint64_t flow_gen,
                    const shm::FlowsArgs& args, uint64_t now_ms) {
  if (flow_gen == answered_) return;
  if (!busy_ || flow_gen != gen_) {
    // A new request (or a newer one replacing the one in progress): start over.
    gen_ = flow_gen;
    args_ = args;
    top_.reset(args_.top);
    cursor_ = 0;
    matched_ = 0;
    scanned_ = 0;
    busy_ = true;
  }
  nat.scan(&cursor_, kScanBudget, now_ms, [this](const nat::SessionInfo& s) {
    ++scanned_;
    if (!nat::matches(args_.filter, s)) return;
    ++matched_;
    top_.offer(s);
  });
  if (cursor_ != 0) return;  // more of the table to go, next pass
  publish(slot, now_ms);
  answered_ = gen_;
  busy_ = false;
}

void FlowDump::publish(shm::FlowSlot* slot, uint64_t now_ms) {
  std::span<const nat::SessionInfo> top = top_.sorted();
  shm::seq_write_begin(&slot->seq);
  slot->n = uint32_t(top.size());
  slot->matched = matched_;
  slot->scanned = scanned_;
  for (size_t i = 0; i < top.size(); ++i) slot->flows[i] = nat::to_flow(top[i], now_ms);
  shm::seq_write_end(&slot->seq);
  // After the list: a reader that sees done_gen == its request finds the list complete.
  __atomic_store_n(&slot->done_gen, gen_, __ATOMIC_RELEASE);
}

}  // namespace mpf::dp
