// Per-lcore TX buffers, one per port: packets collect into bursts and go out at the end of each
// loop pass. What the PMD does not take is freed and counted, never retried forever.
#pragma once
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "app.hpp"
#include "capture.hpp"
#include "stats/counter.hpp"

namespace mpf::dp {

class TxBuffers {
 public:
  // lane: this lcore's capture lane (Capture::tap).
  void init(const App* app, uint16_t txq, unsigned lane) {
    app_ = app;
    txq_ = txq;
    lane_ = lane;
  }

  void send(rte_mbuf* m, uint8_t port, LcoreStats& st) {
    Buf& b = bufs_[port];
    b.pkts[b.n++] = m;
    if (b.n == kMaxBurst) flush_port(port, st);
  }

  void flush(LcoreStats& st) {
    for (uint8_t p = 0; p < kMaxPorts; p++)
      if (bufs_[p].n) flush_port(p, st);
  }

 private:
  void flush_port(uint8_t port, LcoreStats& st) {
    Buf& b = bufs_[port];
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < b.n; i++) bytes += b.pkts[i]->pkt_len;
    app_->capture->tap(lane_, port, b.pkts, b.n, shm::CaptureDir::tx);
    uint16_t sent = rte_eth_tx_burst(app_->ports[port].port_id, txq_, b.pkts, b.n);
    uint64_t unsent_bytes = 0;
    for (uint16_t i = sent; i < b.n; i++) {
      unsent_bytes += b.pkts[i]->pkt_len;
      rte_pktmbuf_free(b.pkts[i]);
    }
    bump(st.tx_packets, sent);
    bump(st.tx_bytes, bytes - unsent_bytes);
    bump(st.port_tx[port], sent);
    bump(st.port_tx_bytes[port], bytes - unsent_bytes);
    if (sent < b.n) bump(st.drops[unsigned(Drop::tx_full)], b.n - sent);
    b.n = 0;
  }

  struct Buf {
    uint16_t n = 0;
    rte_mbuf* pkts[kMaxBurst];
  };
  const App* app_ = nullptr;
  uint16_t txq_ = 0;
  unsigned lane_ = 0;
  Buf bufs_[kMaxPorts];
};

}  // namespace mpf::dp
