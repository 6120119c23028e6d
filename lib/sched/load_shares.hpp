// Splitting one path's shaping rate among the workers that send on it (docs/multipath.md,
// "Shaping": shares that follow the load).
//
// Each worker paces its own queue for the path (no lock, no shared bucket), so the path's rate
// has to be divided. An even split (rate / workers) caps one flow, which RSS keeps on one
// worker, at that share of every path. Here the split follows what each worker offers:
// - a worker that offers more than its share is *limited*: a backlog in its queue (more than two
//   frames) or frames its AQM dropped since the last split. The limited ones share equally
//   what the others do not use;
// - any other worker gets what it sent over the last period with a quarter on top (room to
//   grow: a flow in slow start that outgrows it queues, and is limited at the next split), and
//   at least `rate / (8 x workers)`, so a new flow on an idle worker starts at once.
// - With no worker limited, each gets what it sends plus an equal part of what is left: the
//   shares then add up to the rate.
// A worker's load is what it sent (what left its queue), at most its last share: a token
// bucket's burst can pass in one period more than the share carries over time. The limited
// workers' shares add up to the rate less what the others send, so the sum of the shares can
// exceed the rate only by the others' room to grow (a quarter of their load and the floors),
// and only until the next split.
//
// Plain data, no allocation after construction; one instance per (peer, path), owned by the
// main lcore.
#pragma once
#include <cstdint>
#include <vector>

namespace mpf::sched {

class LoadShares {
 public:
  static constexpr uint64_t kBacklogBytes = 3200;  // two full frames: more means limited
  static constexpr double kRoom = 1.25;            // an unlimited worker's share over its load
  static constexpr unsigned kFloorDiv = 8;         // floor = rate / (kFloorDiv x workers)

  // senders >= 1 workers; throws std::invalid_argument for 0.
  explicit LoadShares(unsigned senders);

  // Sender i's figures at now_us: the bytes it has sent on the path so far and the frames its
  // AQM dropped so far (counters that only grow), and what waits in its queue now. Call for
  // every sender, then split().
  void observe(unsigned i, uint64_t sent_bytes, uint64_t dropped, uint64_t queued_bytes,
               uint64_t now_us);

  // Splits rate_Bps (> 0) by the last observations into shares[0 .. senders), and remembers
  // them. Before any split a sender's share is rate / senders. The first observation of a
  // sender only sets its baseline.
  void split(uint64_t rate_Bps, uint64_t* shares);

  unsigned senders() const { return unsigned(s_.size()); }
  // Sender i's load as last measured, bytes per second (smoothed, see observe()).
  uint64_t load_Bps(unsigned i) const { return uint64_t(s_[i].load_Bps); }
  bool limited(unsigned i) const { return s_[i].limited; }

 private:
  struct Sender {
    uint64_t sent = 0, dropped = 0;
    uint64_t at_us = 0;
    double share = 0;  // the last split's (0: none yet)
    bool seen = false;
    bool limited = false;
    double load_Bps = 0;
  };
  std::vector<Sender> s_;
};

}  // namespace mpf::sched
