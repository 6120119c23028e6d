#include "housekeeping.hpp"

#include <rte_cycles.h>
#include <rte_ether.h>

#include <cstdio>
#include <cstring>

#include "net/arp.hpp"
#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/icmp_build.hpp"
#include "net/ipv4_packet.hpp"
#include "net/protocol.hpp"
#include "stats/counter.hpp"
#include "tunnel/outer.hpp"
#include "worker.hpp"

namespace mpf::dp {

using namespace mpf::net;

namespace {
constexpr uint64_t kTimerMs = 100;          // hold-queue and ARP retry checks
constexpr uint64_t kHoldMs = 3000;          // give up on an unanswered next hop
constexpr uint64_t kArpRetryMs = 1000;
constexpr uint64_t kProbeMs = 1000;         // keepalive; the multipath work adds probe_interval
constexpr unsigned kMaxHoldQueues = 64;
const Mac kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
}  // namespace

bool Housekeeping::init(std::string* error) {
  (void)error;
  tx_.init(&app_, app_.main_txq);
  holds_.resize(kMaxHoldQueues);
  for (auto& h : holds_) h.pkts.reserve(app_.cfg.dataplane.arp_hold);
  last_request_ms_.assign(app_.ports.size(), 0);
  return true;
}

void Housekeeping::drop(rte_mbuf* m, Drop why) {
  bump(stats_.drops[unsigned(why)]);
  rte_pktmbuf_free(m);
}

int Housekeeping::port_for(Ipv4 addr) const {
  for (const Port& p : app_.ports)
    if (p.iface->address.contains(addr)) return p.index;
  return -1;
}

unsigned Housekeeping::poll(uint64_t tsc) {
  now_ms_ = app_.now_ms(tsc);
  unsigned handled = 0;
  rte_mbuf* pkts[kMaxBurst];
  for (auto& w : app_.workers) {
    unsigned n = rte_ring_sc_dequeue_burst(w->to_main(), reinterpret_cast<void**>(pkts),
                                           kMaxBurst, nullptr);
    for (unsigned i = 0; i < n; i++) {
      if (app_.meta(pkts[i])->kind == kMetaHold) held_frame(pkts[i]);
      else local_frame(pkts[i]);
    }
    handled += n;
    LearnMsg msgs[16];
    unsigned k = rte_ring_sc_dequeue_burst_elem(w->learn_ring(), msgs, sizeof(LearnMsg), 16,
                                                nullptr);
    for (unsigned i = 0; i < k; i++) learn(msgs[i]);
  }
  if (now_ms_ >= next_timer_ms_) {
    next_timer_ms_ = now_ms_ + kTimerMs;
    timers();
  }
  if (app_.gateway && now_ms_ >= next_probe_ms_) {
    next_probe_ms_ = now_ms_ + kProbeMs;
    send_probes();
  }
  tx_.flush(stats_);
  return handled;
}

void Housekeeping::run() {
  const uint32_t idle_us = app_.cfg.dataplane.idle_sleep_us;
  while (!app_.quit.load(std::memory_order_relaxed)) {
    unsigned got = poll(rte_rdtsc());
    if (got == 0) rte_delay_us_sleep(idle_us ? idle_us : 100);  // slow path: never spin hard
  }
}

void Housekeeping::release() {
  for (auto& h : holds_) {
    for (rte_mbuf* m : h.pkts) drop(m, Drop::arp_unresolved);
    h.pkts.clear();
    h.ip = 0;
  }
  // Packets still travelling between lcores: freed and counted, so the books balance.
  auto drain = [&](rte_ring* r) {
    void* m = nullptr;
    while (r && rte_ring_sc_dequeue(r, &m) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      bump(stats_.freed_at_exit);
    }
  };
  for (auto& w : app_.workers) drain(w->to_main());
  for (unsigned a = 0; a < app_.n_workers; a++)
    for (unsigned b = 0; b < app_.n_workers; b++) drain(app_.handoff[a][b]);
}

void Housekeeping::local_frame(rte_mbuf* m) {
  const Port& in = app_.ports[app_.by_port_id[m->port]];
  uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
  if (load16(eth + 12) == kEtherTypeArp) return arp_frame(m, in);
  ipv4_local(m, in);
}

void Housekeeping::arp_frame(rte_mbuf* m, const Port& in) {
  uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
  ArpMessage a;
  Drop d = parse_arp(eth + kEthHdrLen, m->data_len - kEthHdrLen, &a);
  if (d != Drop::none) return drop(m, d);
  const Prefix& mine = in.iface->address;
  // Learn (RFC 826 merge) only on-link senders; never let anyone claim our own address.
  bool learnable = mine.contains(a.sender_ip) && a.sender_ip != mine.addr &&
                   !(a.sender_mac.b[0] & 1) && !a.sender_mac.is_zero();
  if (learnable) {
    Mac old;
    bool had = app_.neighbors.lookup(a.sender_ip, &old);
    if (a.target_ip == mine.addr || had) {
      if (!had || !(old == a.sender_mac)) app_.neighbors.update(a.sender_ip, a.sender_mac);
      resolved(a.sender_ip, a.sender_mac);
    }
  }
  if (a.target_ip != mine.addr) return drop(m, Drop::arp_not_for_us);
  if (a.op != kArpRequest) {
    bump(stats_.arp_replies_received);
    rte_pktmbuf_free(m);
    return;
  }
  // Reply in place.
  write_eth(eth, a.sender_mac, in.mac, kEtherTypeArp);
  write_arp(eth + kEthHdrLen, kArpReply, in.mac, mine.addr, a.sender_mac, a.sender_ip);
  m->data_len = m->pkt_len = kEthHdrLen + kArpLen;
  bump(stats_.arp_replies_sent);
  tx_.send(m, in.index, stats_);
}

void Housekeeping::ipv4_local(rte_mbuf* m, const Port& in) {
  uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
  Ipv4Packet p;
  Drop d = parse_ipv4(eth + kEthHdrLen, m->data_len - kEthHdrLen, &p);
  if (d != Drop::none) return drop(m, d);
  if (!(p.proto == kProtoIcmp && p.icmp_type == kIcmpEchoRequest && app_.is_local(p.dst)))
    return drop(m, Drop::local_unhandled);
  make_echo_reply(p);
  // Back to the MAC it came from: the previous hop, even for off-link senders.
  std::memcpy(eth, eth + 6, 6);
  std::memcpy(eth + 6, in.mac.b.data(), 6);
  bump(stats_.echo_replies_sent);
  tx_.send(m, in.index, stats_);
}

void Housekeeping::held_frame(rte_mbuf* m) {
  PktMeta* md = app_.meta(m);
  Mac mac;
  if (app_.neighbors.lookup(md->next_hop, &mac)) {  // resolved while it travelled
    std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), mac.b.data(), 6);
    return tx_.send(m, md->out_port, stats_);
  }
  HoldQueue* q = nullptr;
  HoldQueue* free_q = nullptr;
  for (auto& h : holds_) {
    if (h.ip == md->next_hop) { q = &h; break; }
    if (h.ip == 0 && !free_q) free_q = &h;
  }
  if (!q) {
    if (!free_q) return drop(m, Drop::arp_unresolved);
    q = free_q;
    q->ip = md->next_hop;
    q->port = md->out_port;
    q->since_ms = now_ms_;
    q->last_request_ms = 0;
  }
  if (q->pkts.size() >= app_.cfg.dataplane.arp_hold) return drop(m, Drop::arp_unresolved);
  q->pkts.push_back(m);  // capacity reserved at start: no allocation
  bump(stats_.held);
  if (now_ms_ >= q->last_request_ms + kArpRetryMs) {
    q->last_request_ms = now_ms_;
    request(q->port, q->ip);
  }
}

void Housekeeping::resolved(Ipv4 ip, const Mac& mac) {
  for (auto& h : holds_) {
    if (h.ip != ip) continue;
    for (rte_mbuf* m : h.pkts) {
      std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), mac.b.data(), 6);
      tx_.send(m, h.port, stats_);
    }
    h.pkts.clear();
    h.ip = 0;
  }
}

void Housekeeping::request(uint8_t port, Ipv4 target) {
  rte_mbuf* m = rte_pktmbuf_alloc(app_.pool);
  if (!m) {
    bump(stats_.drops[unsigned(Drop::mbuf_exhausted)]);
    return;
  }
  const Port& p = app_.ports[port];
  uint8_t* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kEthHdrLen + kArpLen));
  write_eth(eth, kBroadcast, p.mac, kEtherTypeArp);
  write_arp(eth + kEthHdrLen, kArpRequest, p.mac, p.iface->address.addr, Mac{}, target);
  bump(stats_.arp_requests_sent);
  tx_.send(m, port, stats_);
}

void Housekeeping::timers() {
  for (auto& h : holds_) {
    if (h.ip == 0) continue;
    if (now_ms_ >= h.since_ms + kHoldMs) {
      for (rte_mbuf* m : h.pkts) drop(m, Drop::arp_unresolved);
      h.pkts.clear();
      h.ip = 0;
    } else if (now_ms_ >= h.last_request_ms + kArpRetryMs) {
      h.last_request_ms = now_ms_;
      request(h.port, h.ip);
    }
  }
}

void Housekeeping::learn(const LearnMsg& msg) {
  if (msg.peer >= app_.peers.size() || msg.path_id >= kMaxPaths) return;
  LearnedPath& lp = app_.peers[msg.peer].paths[msg.path_id];
  LearnedPath::Value v;
  v.valid = true;
  v.port_index = msg.port_index;
  v.udp_port = msg.udp_port;
  v.ip = msg.ip;
  std::memcpy(v.mac.b.data(), msg.mac, 6);
  LearnedPath::Value cur = lp.read();
  lp.last_ms = now_ms_;
  if (cur.valid && cur.ip == v.ip && cur.udp_port == v.udp_port &&
      cur.port_index == v.port_index && cur.mac == v.mac)
    return;
  lp.write(v);
  bump(stats_.paths_learned);
  std::printf("mpf-dataplane: gateway %u path %u now at %s:%u via %s\n",
              app_.peers[msg.peer].tunnel_id, msg.path_id, to_string(v.ip).c_str(), v.udp_port,
              app_.ports[v.port_index].iface->port.c_str());
  std::fflush(stdout);
}

// Gateway: one keepalive probe per path, so the server learns every path (and carrier NAT keeps
// the mapping) before and between data frames.
void Housekeeping::send_probes() {
  const auto& t = app_.cfg.tunnel;
  for (size_t id = 0; id < app_.path_ports.size(); id++) {
    const Port& out = app_.ports[app_.path_ports[id]];
    const config::Interface& ifc = *out.iface;
    Ipv4 nh = ifc.address.contains(t.server.addr) ? t.server.addr : *ifc.next_hop;
    tunnel::OuterAddrs a;
    if (!app_.neighbors.lookup(nh, &a.dst_mac)) {
      request(out.index, nh);
      continue;
    }
    rte_mbuf* m = rte_pktmbuf_alloc(app_.pool);
    if (!m) {
      bump(stats_.drops[unsigned(Drop::mbuf_exhausted)]);
      continue;
    }
    uint8_t* f = reinterpret_cast<uint8_t*>(
        rte_pktmbuf_append(m, uint16_t(tunnel::kOuterLen + tunnel::kHeaderLen)));
    a.src_mac = out.mac;
    a.src_ip = ifc.address.addr;
    a.dst_ip = t.server.addr;
    a.src_port = t.port;
    a.dst_port = t.server.port;
    tunnel::write_outer(f, a, uint16_t(tunnel::kHeaderLen), ip_id_++);
    tunnel::Header h;
    h.type = tunnel::FrameType::probe;
    h.path_id = uint8_t(id);
    h.tunnel_id = t.id;
    h.epoch = app_.epoch;
    h.stream_id = 0xffff;  // the main lcore's own stream
    h.stream_seq = 0;  // probes carry no stream sequence in v1 (docs/protocol.md)
    h.timestamp_us = uint32_t(rte_rdtsc() * 1000000 / app_.tsc_hz);
    tunnel::encode(h, f + tunnel::kOuterLen);
    bump(stats_.probes_sent);
    tx_.send(m, out.index, stats_);
  }
}

}  // namespace mpf::dp
