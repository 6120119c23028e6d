#include "sched/load_shares.hpp"

#include <algorithm>
#include <stdexcept>

namespace mpf::sched {

LoadShares::LoadShares(unsigned senders) : s_(senders) {
  if (senders == 0) throw std::invalid_argument("LoadShares needs a sender");
}

void LoadShares::observe(unsigned i, uint64_t sent_bytes, uint64_t dropped,
                         uint64_t queued_bytes, uint64_t now_us) {
  Sender& s = s_[i];
  s.limited = queued_bytes > kBacklogBytes || (s.seen && dropped != s.dropped);
  if (s.seen && now_us > s.at_us && sent_bytes >= s.sent) {
    double now = double(sent_bytes - s.sent) * 1e6 / double(now_us - s.at_us);
    if (s.share > 0) now = std::min(now, s.share);
    // A rise counts at once (a flow speeding up must get room now); a fall fades over a few
    // periods (one quiet period is a gap between bursts, not the end of the load).
    s.load_Bps = std::max(now, 0.75 * s.load_Bps + 0.25 * now);
  }
  s.seen = true;
  s.sent = sent_bytes;
  s.dropped = dropped;
  s.at_us = now_us;
}

void LoadShares::split(uint64_t rate_Bps, uint64_t* shares) {
  const size_t n = s_.size();
  const double rate = double(rate_Bps);
  const double floor = rate / double(kFloorDiv * n);
  double others = 0;  // what the unlimited senders use
  unsigned limited = 0;
  for (const Sender& s : s_) {
    if (s.limited) limited++;
    else others += s.load_Bps;
  }
  const double spare = std::max(0.0, rate - others);
  for (size_t i = 0; i < n; i++) {
    Sender& s = s_[i];
    double share;
    if (s.limited) share = std::max(floor, spare / limited);
    else if (limited) share = std::max(floor, kRoom * s.load_Bps);
    else share = std::max(floor, s.load_Bps + spare / double(n));
    shares[i] = std::max<uint64_t>(1, std::min(rate_Bps, uint64_t(share + 0.5)));
    s.share = double(shares[i]);
  }
}

}  // namespace mpf::sched
