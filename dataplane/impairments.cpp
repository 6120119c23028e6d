#include "impairments.hpp"

#include <rte_random.h>

#include <algorithm>
#include <new>

#include "stats/counter.hpp"

namespace mpf::dp {

void Impairments::init(const App& app) {
  const size_t n = app.peers.size() * kMaxPaths * 2;
  stages_.resize(n);
  listed_.assign(n, 0);
  live_.reserve(n);
  // Held frames are mbufs: one direction of one path, over every lcore, may hold an eighth of
  // the pool (256 frames per lcore at least), so one long delay at a high rate cannot starve
  // the receive queues. Each further impaired path and direction may hold as much again.
  const uint32_t lcores = app.n_workers + (app.main_is_worker ? 0 : 1);
  capacity_ = std::clamp<uint32_t>(app.cfg.dataplane.mbufs / 8 / lcores, 256, 65536);
}

void Impairments::sync(const App& app, LcoreStats& stats) {
  const uint64_t gen = __atomic_load_n(&app.impair_gen, __ATOMIC_ACQUIRE);
  if (gen == gen_seen_) return;
  gen_seen_ = gen;
  for (uint16_t peer = 0; peer < app.peers.size(); peer++) {
    for (uint8_t k = 0; k < app.peers[peer].n_paths; k++) {
      for (unsigned dir = 0; dir < 2; dir++) {
        const path::ImpairParams& src = app.peers[peer].paths[k].impair[dir];
        path::ImpairParams p;
        p.delay_us = __atomic_load_n(&src.delay_us, __ATOMIC_RELAXED);
        p.jitter_us = __atomic_load_n(&src.jitter_us, __ATOMIC_RELAXED);
        p.loss_ppm = __atomic_load_n(&src.loss_ppm, __ATOMIC_RELAXED);
        p.queue_us = __atomic_load_n(&src.queue_us, __ATOMIC_RELAXED);
        p.rate_Bps = __atomic_load_n(&src.rate_Bps, __ATOMIC_RELAXED);
        const size_t i = index(peer, k, dir);
        std::unique_ptr<path::ImpairStage>& s = stages_[i];
        if (!s) {
          if (!p.active()) continue;
          s.reset(new (std::nothrow) path::ImpairStage(capacity_));
          if (!s) {
            bump(stats.impair_unavailable);
            continue;
          }
        }
        s->set(p);
        if (s->in_use() && !listed_[i]) {
          listed_[i] = 1;
          live_.push_back(uint32_t(i));
        }
      }
    }
  }
}

bool Impairments::admit(path::ImpairStage* s, rte_mbuf* m, uint64_t now_us, Drop* why) {
  switch (s->admit(m, m->pkt_len, now_us * 1000, rte_rand())) {
    case path::ImpairVerdict::held: return true;
    case path::ImpairVerdict::lost: *why = Drop::impaired_loss; break;
    case path::ImpairVerdict::queue_full: *why = Drop::impaired_queue_full; break;
    case path::ImpairVerdict::line_full: *why = Drop::impaired_line_full; break;
  }
  return false;
}

unsigned Impairments::free_all() {
  unsigned n = 0;
  for (auto& s : stages_)
    while (s && !s->empty()) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(s->pop()));
      n++;
    }
  return n;
}

}  // namespace mpf::dp
