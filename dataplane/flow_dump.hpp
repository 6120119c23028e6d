// A worker's answer to a flows request (mpfctl flows): the top N sessions of its NAT table by
// bytes, matching the request's filter, written into the worker's slot of the shared-memory
// region (shm::FlowSlot). The table is scanned a slice per loop pass so that a large table never
// holds up packet processing for more than one slice.
#pragma once
#include <cstdint>

#include "nat/flow_select.hpp"
#include "nat/nat_table.hpp"
#include "shm/layout.hpp"

namespace mpf::dp {

class FlowDump {
 public:
  // Sessions looked at per step(): 512 slots read (32 KiB of session lines, a few microseconds).
  static constexpr uint32_t kScanBudget = 512;

  FlowDump();  // allocates the top-N array (kFlowsPerLcore) here, never afterwards

  // Advances the answer to request flow_gen by one slice. A flow_gen other than the one being
  // answered starts a new scan with args (copied: later changes to *args do not apply); once the
  // scan has been over the whole table, the sorted list is written into *slot under its
  // seqlock and slot->done_gen is set to flow_gen (release). Does nothing when flow_gen was
  // answered already. now_ms is the table's clock.
  void step(const nat::NatTable& nat, shm::FlowSlot* slot, uint64_t flow_gen,
            const shm::FlowsArgs& args, uint64_t now_ms);

  // The request last answered (0 before any): the worker calls step() only while the region's
  // flow_gen differs from this.
  uint64_t answered() const { return answered_; }
  // True while a scan is part way through (the worker should not sleep idle meanwhile).
  bool busy() const { return busy_; }

 private:
  void publish(shm::FlowSlot* slot, uint64_t now_ms);

  nat::TopN top_;
  shm::FlowsArgs args_{};
  uint64_t answered_ = 0;  // shm::Region::flow_gen starts at 0: nothing asked yet
  uint64_t gen_ = 0;       // being answered, while busy_
  bool busy_ = false;
  uint32_t cursor_ = 0;
  uint32_t matched_ = 0;
  uint64_t scanned_ = 0;
};

}  // namespace mpf::dp
