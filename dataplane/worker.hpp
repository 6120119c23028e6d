// A worker lcore: run-to-completion bursts over its RX queues, its own NAT table, its own TX
// buffers and counters. Nothing here is written by any other thread.
#pragma once
#include <rte_mbuf.h>

#include <array>
#include <memory>
#include <vector>

#include "app.hpp"
#include "net/ipv4_packet.hpp"
#include "tx_buffer.hpp"

namespace mpf::dp {

class Housekeeping;

struct RxQueue {
  uint8_t port;    // our port index
  uint16_t queue;
};

class Worker {
 public:
  Worker(App& app, unsigned index, unsigned lcore_id);

  // Creates the NAT table and rings; false with *error on failure (start-up only).
  bool init(std::string* error);
  // The lcore loop; returns when app.quit is set. hk is non-null when this lcore is also main.
  void run(Housekeeping* hk);
  // One pass over handoff rings and RX queues, then TX flush. Returns packets received.
  unsigned poll_once();

  unsigned index() const { return index_; }
  unsigned lcore_id() const { return lcore_id_; }
  const LcoreStats& stats() const { return stats_; }
  const nat::NatTable* nat() const { return nat_.get(); }
  rte_ring* to_main() const { return to_main_; }
  rte_ring* learn_ring() const { return learn_; }
  std::vector<RxQueue>& rx_queues() { return rxqs_; }
  uint16_t txq = 0;

 private:
  void rx_frame(rte_mbuf* m);
  void gw_from_lan(rte_mbuf* m, const Port& in, net::Ipv4Packet& p);
  void gw_from_path(rte_mbuf* m, const Port& in, net::Ipv4Packet& p);
  void srv_from_wan(rte_mbuf* m, const Port& in, net::Ipv4Packet& p);
  void srv_tunnel_frame(rte_mbuf* m, const Port& in, net::Ipv4Packet& outer);
  void learn_path(const Port& in, const net::Ipv4Packet& outer, uint16_t peer_index,
                  uint8_t path_id);
  // Stages after the receiving lcore's checks; m starts at the IPv4 header. dispatch_* hand the
  // packet to the owning worker when that is not this one.
  void dispatch_inside(rte_mbuf* m, net::Ipv4Packet& p);
  void inside_to_outside(rte_mbuf* m, net::Ipv4Packet& p);
  void dispatch_outside(rte_mbuf* m, net::Ipv4Packet& p);
  void outside_to_inside(rte_mbuf* m, net::Ipv4Packet& p);
  unsigned inside_owner(const net::Ipv4Packet& p) const;
  void handoff(rte_mbuf* m, unsigned owner, uint8_t kind);
  unsigned drain_handoff();

  // Tunnel frame payload of an outer packet addressed to our tunnel port: returns the header
  // and points *inner/*inner_len at what follows it, or a drop reason.
  Drop open_frame(net::Ipv4Packet& outer, tunnel::Header* h, uint8_t** inner,
                  uint32_t* inner_len);
  Drop take_inner(rte_mbuf* m, uint8_t* inner, uint32_t inner_len, net::Ipv4Packet* ip);
  void encap_to_server(rte_mbuf* m, const net::Ipv4Packet& p);
  void encap_to_peer(rte_mbuf* m, uint16_t peer_index, const net::Ipv4Packet& p);
  void send_ip(rte_mbuf* m, uint8_t port, net::Ipv4 next_hop);
  void hold(rte_mbuf* m, uint8_t port, net::Ipv4 next_hop);
  void to_main_local(rte_mbuf* m);
  // Sends an ICMP error about p back out of `in` to the frame's source MAC. Consumes m and
  // returns true when sent; false (m untouched) when rate-limited or disabled.
  bool icmp_error(rte_mbuf* m, const Port& in, const net::Ipv4Packet& p, uint8_t type,
                  uint8_t code, uint16_t mtu, net::Ipv4 from);
  bool mtu_check(rte_mbuf* m, const Port& in, const net::Ipv4Packet& p, net::Ipv4 from);
  void drop(rte_mbuf* m, Drop why);
  void tx(rte_mbuf* m, uint8_t port) { tx_.send(m, port, stats_); }

  App& app_;
  const unsigned index_;
  const unsigned lcore_id_;
  std::vector<RxQueue> rxqs_;
  TxBuffers tx_;
  std::unique_ptr<nat::NatTable> nat_;
  rte_ring* to_main_ = nullptr;   // SP/SC: this worker -> main lcore
  rte_ring* learn_ = nullptr;     // SP/SC elem ring of LearnMsg -> main lcore
  LcoreStats stats_;
  uint64_t now_tsc_ = 0, now_ms_ = 0;
  uint32_t burst_ = 32;
  uint16_t ip_id_ = 0;
  uint32_t stream_seq_ = 0;                       // gateway: our stream to the server
  std::array<uint32_t, kMaxPaths> path_seq_{};    // gateway
  std::vector<uint32_t> peer_stream_seq_;         // server: per peer
  std::vector<uint32_t> peer_path_seq_;           // server: per peer * kMaxPaths
  // ICMP error token bucket (per lcore; config dataplane.icmp_errors_per_s).
  uint64_t icmp_tokens_ = 0, icmp_refill_ms_ = 0;
};

}  // namespace mpf::dp
