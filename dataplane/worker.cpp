// The fast path. Gateway: LAN -> NAT -> tunnel, and tunnel -> NAT -> LAN. Server: tunnel ->
// NAT -> WAN, and WAN -> NAT -> tunnel. Per packet: no locks, no atomic RMW, no syscalls, no
// allocation; every mbuf is sent, handed to exactly one other lcore, or freed and counted.
#include "worker.hpp"

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstring>

#include "capture.hpp"
#include "housekeeping.hpp"
#include "nat/nat_table.hpp"
#include "net/arp.hpp"
#include "net/bytes.hpp"
#include "net/icmp_build.hpp"
#include "net/protocol.hpp"
#include "stats/counter.hpp"
#include "tunnel/outer.hpp"

namespace mpf::dp {

using namespace mpf::net;

namespace {

constexpr unsigned kPrefetchOffset = 3;
constexpr unsigned kExpireBudget = 64;  // sessions expired per loop pass at most

bool is_martian_source(Ipv4 a) {
  uint8_t top = uint8_t(a >> 24);
  return a == 0 || top == 127 || top >= 224;
}

}  // namespace

Worker::Worker(App& app, unsigned index, unsigned lcore_id)
    : app_(app), index_(index), lcore_id_(lcore_id), stats_(app.shm->lcores[index].stats) {}

bool Worker::init(std::string* error) {
  const auto& cfg = app_.cfg;
  burst_ = cfg.dataplane.burst;
  tx_.init(&app_, txq, index_);

  nat::TableParams np;
  np.name = "mpf_nat_w" + std::to_string(index_);
  np.socket_id = int(rte_lcore_to_socket_id(lcore_id_));
  np.external_ip = app_.gateway ? cfg.tunnel.address : cfg.wan.address.addr;
  np.port_first = app_.partition.share_first(index_);
  np.port_last = app_.partition.share_last(index_);
  np.max_sessions = cfg.nat.max_sessions;
  np.timeouts = cfg.nat.timeouts;
  np.forwards = &app_.forwards;
  nat_ = nat::NatTable::create(np, error);
  if (!nat_) return false;

  std::string rn = "mpf_tomain_" + std::to_string(index_);
  to_main_ = rte_ring_create(rn.c_str(), 1024, np.socket_id, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rn = "mpf_learn_" + std::to_string(index_);
  learn_ = rte_ring_create_elem(rn.c_str(), sizeof(LearnMsg), 256, np.socket_id,
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (!to_main_ || !learn_) {
    *error = "cannot create rings for worker " + std::to_string(index_) + ": " +
             rte_strerror(rte_errno);
    return false;
  }
  icmp_tokens_ = cfg.dataplane.icmp_errors_per_s;
  return init_multipath(error);
}

// Policy, per-peer sender and receiver state, and the reorder windows this worker owns. All
// memory the multipath code uses per packet is allocated here.
bool Worker::init_multipath(std::string* error) {
  const auto& cfg = app_.cfg;
  const auto& mp = cfg.multipath;
  std::vector<sched::Rule> rules;
  for (const auto& r : cfg.policy) {
    sched::Rule x;
    x.match.proto = r.match.proto;
    x.match.src_lo = r.match.src_lo;
    x.match.src_hi = r.match.src_hi;
    x.match.dst_lo = r.match.dst_lo;
    x.match.dst_hi = r.match.dst_hi;
    x.match.dst = r.match.dst;
    x.match.dscp = r.match.dscp;
    x.action.mode = sched::Mode(r.mode);
    x.action.path = int8_t(r.path);
    rules.push_back(x);
  }
  sched::Action def;
  def.mode = sched::Mode(mp.mode);
  def.path = int8_t(mp.path);
  try {
    policy_ = std::make_unique<sched::Policy>(std::move(rules), def);
  } catch (const std::exception& e) {
    *error = std::string("policy: ") + e.what();
    return false;
  }

  const size_t peers = app_.peers.size();
  // Slab: about one round trip plus the detection time of frames at the path's rate.
  const uint32_t slab_slots = app_.gateway ? 4096 : 1024;
  uint64_t rate_sum = 0;
  for (const auto& pp : cfg.path_profiles) rate_sum += pp.max_rate_bps / 8;
  peer_tx_.resize(peers);
  for (size_t i = 0; i < peers; i++) {
    PeerTx& t = peer_tx_[i];
    t.stream_seq.assign(mp.streams, 0);
    for (unsigned k = 0; k < app_.peers[i].n_paths; k++) {
      if (mp.retransmit)
        t.slab[k] = std::make_unique<recovery::RetransmitSlab>(slab_slots, uint16_t(1600));
      // Every path gets a shaper, limited or not: `mpfctl path set NAME max-rate R` may shape
      // an unshaped path at run time.
      t.shaper[k] = std::make_unique<Shaper>();
      t.shaper[k]->set_rate(cfg.path_profiles[k].max_rate_bps / 8 / app_.n_workers, 0);
    }
    const uint64_t budget_base = rate_sum ? rate_sum : 12500000;  // unknown: 100 Mbit/s
    t.retx_budget_min =
        std::max<uint64_t>(1, budget_base * mp.retransmit_budget_pct / 100 / app_.n_workers);
    t.retx_budget = recovery::TokenBucket(t.retx_budget_min, 65536);
  }
  peer_rx_.resize(peers);
  path_ctr_.assign(peers * kMaxPaths, PathCounters{});
  streams_total_ = kMaxSenders * mp.streams;
  windows_.resize(peers * streams_total_);
  for (size_t i = 0; i < peers; i++)
    for (unsigned sdr = 0; sdr < kMaxSenders; sdr++)
      for (unsigned b = 0; b < mp.streams; b++) {
        const uint16_t stream = uint16_t(sdr << 8 | b);
        if (reorder_owner(uint16_t(i), stream) != index_) continue;
        Window& w = windows_[i * streams_total_ + sdr * mp.streams + b];
        w.w = std::make_unique<reorder::ReorderWindow>(2048);
        w.line = std::make_unique<reorder::DelayLine>(1024);  // the senders decide
      }
  active_windows_.reserve(windows_.size());
  impair_.init(app_);
  return true;
}

void Worker::release() {
  if (unsigned n = impair_.free_all()) bump(stats_.freed_at_exit, n);
  for (PeerTx& t : peer_tx_)
    for (auto& sp : t.shaper)
      if (Shaper* s = sp.get())
        while (!s->empty()) {
          rte_pktmbuf_free(s->q.front().value.m);
          s->q.pop();
          bump(stats_.freed_at_exit);
        }
  for (Window& w : windows_) {
    if (w.w)
      w.w->flush([this](void* item) {
        rte_pktmbuf_free(static_cast<rte_mbuf*>(item));
        bump(stats_.freed_at_exit);
      });
    while (w.line && !w.line->empty()) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(w.line->pop()));
      bump(stats_.freed_at_exit);
    }
  }
}

void Worker::run(Housekeeping* hk) {
  const uint32_t idle_us = app_.cfg.dataplane.idle_sleep_us;
  unsigned pass = 0;
  while (!app_.quit.load(std::memory_order_relaxed)) {
    unsigned got = poll_once();
    // Run-time figures (vppctl show runtime): a second TSC read only in passes that did work.
    bump(stats_.polls);
    if (got) {
      bump(stats_.busy_polls);
      if constexpr (kCountersEnabled) bump(stats_.busy_cycles, rte_rdtsc() - now_tsc_);
    }
    if (hk && (++pass & 15) == 0) got += hk->poll(now_tsc_);
    // opt-in: shared test machines. Not while a flows scan is part way: it must finish in time.
    if (got == 0 && idle_us && !flows_.busy()) rte_delay_us_sleep(idle_us);
  }
  tx_.flush(stats_);
}

unsigned Worker::poll_once() {
  now_tsc_ = rte_rdtsc();
  now_ms_ = app_.now_ms(now_tsc_);
  now_us_ = app_.now_us(now_tsc_);
  pass_++;
  // A path changed state: look at every peer now (failover must not wait for the next send:
  // when a path dies the flows using it often stall and send nothing).
  if (uint64_t gen = __atomic_load_n(&app_.path_gen, __ATOMIC_ACQUIRE); gen != path_gen_seen_) {
    path_gen_seen_ = gen;
    for (uint16_t peer = 0; peer < peer_tx_.size(); peer++) refresh_views(peer);
  }
  // Progress stalls are judged in refresh_views(), which sending and receiving call. A path
  // that dies often stops both for a while (the flows wait for what it lost: measured on
  // `asym`, the server sent and received nothing for 45 ms and missed the stall), so every
  // peer with frames awaiting a report is looked at every kStallCheckUs too.
  if (now_us_ >= next_stall_check_us_) {
    next_stall_check_us_ = now_us_ + kStallCheckUs;
    for (uint16_t peer = 0; peer < peer_tx_.size(); peer++) {
      const auto& since = peer_tx_[peer].unreported_since_us;
      if (std::any_of(since.begin(), since.end(), [](uint64_t s) { return s != 0; }))
        refresh_views(peer);
    }
  }
  impair_.sync(app_, stats_);
  unsigned total = drain_handoff();
  rte_mbuf* pkts[kMaxBurst];
  for (const RxQueue& q : rxqs_) {
    uint16_t n = rte_eth_rx_burst(app_.ports[q.port].port_id, q.queue, pkts, uint16_t(burst_));
    if (n == 0) continue;
    app_.capture->tap(index_, q.port, pkts, n, shm::CaptureDir::rx);
    total += n;
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < n && i < kPrefetchOffset; i++)
      rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
    for (uint16_t i = 0; i < n; i++) {
      if (i + kPrefetchOffset < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchOffset], void*));
      bytes += pkts[i]->pkt_len;
      rx_frame(pkts[i]);
    }
    bump(stats_.rx_packets, n);
    bump(stats_.rx_bytes, bytes);
    bump(stats_.port_rx[q.port], n);
    bump(stats_.port_rx_bytes[q.port], bytes);
  }
  send_feedback();
  expire_windows();
  release_shapers();
  release_impaired();
  tx_.flush(stats_);
  nat_->expire(now_ms_, kExpireBudget);
  // A flows request (mpfctl flows) not answered yet: one more slice of the NAT table. Acquire:
  // the main lcore writes flow_args before it bumps flow_gen.
  if (const uint64_t gen = __atomic_load_n(&app_.shm->flow_gen, __ATOMIC_ACQUIRE);
      gen != flows_.answered())
    flows_.step(*nat_, &app_.shm->flows[index_], gen, app_.shm->flow_args, now_ms_);
  return total;
}

unsigned Worker::drain_handoff() {
  if (app_.n_workers < 2) return 0;
  unsigned total = 0;
  rte_mbuf* pkts[kMaxBurst];
  for (unsigned from = 0; from < app_.n_workers; from++) {
    rte_ring* r = app_.handoff[from][index_];
    if (!r) continue;
    unsigned n = rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(pkts), kMaxBurst, nullptr);
    for (unsigned i = 0; i < n; i++) {
      const PktMeta* md = app_.meta(pkts[i]);
      if (md->kind == kMetaReorder) {
        reorder_push(pkts[i]);
        continue;
      }
      if (md->kind == kMetaFeedback) {
        on_feedback(pkts[i], md->peer);
        continue;
      }
      Ipv4Packet p;
      // Already validated by the lcore that handed it over; parse again for the pointers.
      Drop d = parse_ipv4(rte_pktmbuf_mtod(pkts[i], uint8_t*), pkts[i]->data_len, &p);
      if (d != Drop::none) {
        drop(pkts[i], d);
        continue;
      }
      if (md->kind == kMetaInside) inside_to_outside(pkts[i], p);
      else outside_to_inside(pkts[i], p);
    }
    if (n) bump(stats_.handoff_received, n);
    total += n;
  }
  return total;
}

void Worker::drop(rte_mbuf* m, Drop why) {
  bump(stats_.drops[unsigned(why)]);
  rte_pktmbuf_free(m);
}

void Worker::to_main_local(rte_mbuf* m, uint8_t kind) {
  app_.meta(m)->kind = kind;
  app_.meta(m)->release_us = uint32_t(now_us_);  // arrival: probes are timed by it
  if (rte_ring_sp_enqueue(to_main_, m) != 0) return drop(m, Drop::slowpath_ring_full);
  bump(stats_.to_main);
}

void Worker::hold(rte_mbuf* m, uint8_t port, Ipv4 next_hop) {
  PktMeta* md = app_.meta(m);
  md->kind = kMetaHold;
  md->out_port = port;
  md->next_hop = next_hop;
  if (rte_ring_sp_enqueue(to_main_, m) != 0) return drop(m, Drop::slowpath_ring_full);
  bump(stats_.to_main);
}

void Worker::rx_frame(rte_mbuf* m) {
  if (m->nb_segs != 1) return drop(m, Drop::multi_segment);
  int16_t pi = app_.by_port_id[m->port];
  const Port& in = app_.ports[pi];
  uint8_t* eth = rte_pktmbuf_mtod(m, uint8_t*);
  uint32_t len = m->data_len;
  if (len < kEthHdrLen) return drop(m, Drop::eth_truncated);
  // Our MAC, or broadcast (ARP). The PMD may be promiscuous (af_packet is).
  if (!(eth[0] & 1) && std::memcmp(eth, in.mac.b.data(), 6) != 0)
    return drop(m, Drop::eth_not_for_us);
  uint16_t type = load16(eth + 12);
  if (type == kEtherTypeArp) return to_main_local(m);
  if (type != kEtherTypeIpv4) return drop(m, Drop::eth_unsupported);

  Ipv4Packet p;
  Drop d = parse_ipv4(eth + kEthHdrLen, len - kEthHdrLen, &p);
  if (d != Drop::none) return drop(m, d);
  if (p.total_len < len - kEthHdrLen) rte_pktmbuf_trim(m, uint16_t(len - kEthHdrLen - p.total_len));
  if (is_martian_source(p.src) || app_.is_local(p.src)) return drop(m, Drop::ipv4_bad_source);

  const auto& t = app_.cfg.tunnel;
  switch (in.kind) {
    case PortKind::lan: return gw_from_lan(m, in, p);
    case PortKind::path:
      if (p.dst != in.iface->address.addr) return drop(m, Drop::no_route);
      if (p.proto == kProtoUdp && p.dport == t.port && p.src == t.server.addr &&
          p.sport == t.server.port)
        return tunnel_frame(m, in, p);
      return to_main_local(m);
    case PortKind::wan: return srv_from_wan(m, in, p);
    case PortKind::tunnel:
      if (p.dst != in.iface->address.addr) return drop(m, Drop::no_route);
      if (p.proto == kProtoUdp && p.dport == t.port) return tunnel_frame(m, in, p);
      return to_main_local(m);
  }
}

bool Worker::icmp_error(rte_mbuf* m, const Port& in, const Ipv4Packet& p, uint8_t type,
                        uint8_t code, uint16_t mtu, Ipv4 from) {
  const uint32_t rate = app_.cfg.dataplane.icmp_errors_per_s;
  if (rate == 0 || !icmp_error_allowed(p)) return false;
  if (now_ms_ >= icmp_refill_ms_ + 1000) {
    icmp_tokens_ = rate;
    icmp_refill_ms_ = now_ms_;
  }
  if (icmp_tokens_ == 0) {
    bump(stats_.icmp_errors_suppressed);
    return false;
  }
  icmp_tokens_--;
  // The error goes back where the packet came from: to the frame's source MAC, no ARP needed.
  uint8_t* ip = p.ip;
  Mac back;
  std::memcpy(back.b.data(), ip - kEthHdrLen + 6, 6);
  Built b = build_icmp_error(p, type, code, mtu, from);
  uint8_t* eth = b.ip - kEthHdrLen;
  uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
  if (eth < data) {
    if (!rte_pktmbuf_prepend(m, uint16_t(data - eth))) return false;
  } else {
    rte_pktmbuf_adj(m, uint16_t(eth - data));
  }
  m->data_len = m->pkt_len = uint16_t(kEthHdrLen + b.len);
  write_eth(eth, back, in.mac, kEtherTypeIpv4);
  bump(stats_.icmp_errors_sent);
  tx(m, in.index);
  return true;
}

// Oversize packets cannot enter the tunnel: DF ones get ICMP fragmentation-needed with the
// inner MTU (so TCP/PMTUD adapts), the rest are dropped (fragmentation is not implemented).
bool Worker::mtu_check(rte_mbuf* m, const Port& in, const Ipv4Packet& p, Ipv4 from) {
  // A packet with IP options cannot travel compact (tunnel/compact.hpp): 11 bytes less.
  const uint16_t mtu = uint16_t(app_.cfg.tunnel.inner_mtu -
                                (p.hdr_len > 20 ? tunnel::kCompactSaving : 0));
  if (p.total_len <= mtu) return true;
  bump(stats_.drops[unsigned(Drop::too_big)]);
  if (!(p.dont_fragment &&
        icmp_error(m, in, p, kIcmpDestUnreach, kIcmpFragNeededCode, mtu, from)))
    rte_pktmbuf_free(m);
  return false;
}

// ---- gateway ------------------------------------------------------------------------------

void Worker::gw_from_lan(rte_mbuf* m, const Port& in, Ipv4Packet& p) {
  const Prefix& lan = in.iface->address;
  if (app_.is_local(p.dst)) return to_main_local(m);
  if (lan.contains(p.dst) || p.dst >= 0xe0000000u || p.dst == 0xffffffffu)
    return drop(m, Drop::no_route);  // on-link or multicast/broadcast: not ours to route
  if (p.ttl <= 1) {
    bump(stats_.drops[unsigned(Drop::ttl_exceeded)]);
    if (!icmp_error(m, in, p, kIcmpTimeExceeded, 0, 0, lan.addr)) rte_pktmbuf_free(m);
    return;
  }
  if (!mtu_check(m, in, p, lan.addr)) return;
  rte_pktmbuf_adj(m, kEthHdrLen);
  if (in.spread_inside) return dispatch_inside(m, p);
  inside_to_outside(m, p);
}

// ---- server -------------------------------------------------------------------------------

void Worker::srv_from_wan(rte_mbuf* m, const Port& in, Ipv4Packet& p) {
  const Ipv4 pub = in.iface->address.addr;
  if (p.dst != pub) return drop(m, Drop::no_route);
  if (p.proto == kProtoUdp && p.dport == app_.cfg.tunnel.port) return tunnel_frame(m, in, p);
  if (p.proto == kProtoIcmp && p.icmp_type == kIcmpEchoRequest) return to_main_local(m);
  if (p.ttl <= 1) {
    bump(stats_.drops[unsigned(Drop::ttl_exceeded)]);
    if (!icmp_error(m, in, p, kIcmpTimeExceeded, 0, 0, pub)) rte_pktmbuf_free(m);
    return;
  }
  if (!mtu_check(m, in, p, pub)) return;
  rte_pktmbuf_adj(m, kEthHdrLen);
  dispatch_outside(m, p);
}

// Learn where this path of this gateway is now (carrier NAT moves it). Only the main lcore
// writes the table; tell it when what we see differs from what is published. The outer headers
// are still in the mbuf's buffer even after the data pointer moved past them.
void Worker::learn_path(const Port& in, const Ipv4Packet& outer, uint16_t peer_index,
                        uint8_t path_id) {
  const uint8_t* eth = outer.ip - kEthHdrLen;
  LearnedPath::Value cur = app_.peers[peer_index].paths[path_id].learned.read();
  if (cur.valid && cur.ip == outer.src && cur.udp_port == outer.sport &&
      cur.port_index == in.index && std::memcmp(cur.mac.b.data(), eth + 6, 6) == 0)
    return;
  LearnMsg msg = learn_msg(peer_index, path_id, in, outer);
  if (rte_ring_sp_enqueue_elem(learn_, &msg, sizeof(msg)) != 0) bump(stats_.learn_msgs_lost);
}

// ---- both ---------------------------------------------------------------------------------

// An ICMP error from the inside is about a packet that came in from outside: its owner is the
// one of that packet's destination, the inside endpoint it quotes.
unsigned Worker::inside_owner(const Ipv4Packet& p) const {
  Ipv4 addr = p.src;
  uint8_t proto = p.proto;
  uint16_t port = p.sport;
  if (p.proto == kProtoIcmp && (p.icmp_type == kIcmpDestUnreach ||
                                p.icmp_type == kIcmpTimeExceeded ||
                                p.icmp_type == kIcmpParamProblem)) {
    const uint8_t* q = p.l4 + kIcmpHdrLen;
    uint32_t qlen = p.l4_len > kIcmpHdrLen ? p.l4_len - kIcmpHdrLen : 0;
    unsigned qihl = qlen >= kIpv4HdrLen ? unsigned(q[0] & 0x0f) * 4 : 0;
    if (qihl >= kIpv4HdrLen && qlen >= qihl + 8) {
      proto = q[kIpProto];
      addr = load32(q + kIpDst);
      port = proto == kProtoIcmp ? load16(q + qihl + kIcmpId) : load16(q + qihl + kL4Dport);
    }
  }
  uint32_t h = (addr * 2654435761u) ^ ((uint32_t(proto) << 16 | port) * 0x9e3779b1u);
  return (h >> 8) % app_.n_workers;
}

void Worker::handoff(rte_mbuf* m, unsigned owner, uint8_t kind) {
  app_.meta(m)->kind = kind;
  if (rte_ring_sp_enqueue(app_.handoff[index_][owner], m) != 0)
    return drop(m, Drop::handoff_ring_full);
  bump(stats_.handoff_sent);
}

// p comes from the inside (gateway: the LAN; server: out of the tunnel) and m starts at its
// IPv4 header. With one RX queue feeding several workers, or tunnel frames that all arrive on
// one queue, the packet goes to the worker that owns its inside endpoint.
void Worker::dispatch_inside(rte_mbuf* m, Ipv4Packet& p) {
  if (app_.n_workers > 1) {
    unsigned owner = inside_owner(p);
    if (owner != index_) return handoff(m, owner, kMetaInside);
  }
  inside_to_outside(m, p);
}

void Worker::inside_to_outside(rte_mbuf* m, Ipv4Packet& p) {
  if (p.proto == kProtoTcp && clamp_tcp_mss(p, uint16_t(app_.cfg.tunnel.inner_mtu - 40)))
    bump(stats_.mss_clamped);
  ipv4_decrement_ttl(p.ip);  // TTL > 1 checked on arrival
  Drop d = nat_->inside_to_outside(p, now_ms_);
  if (d != Drop::none) return drop(m, d);
  bump(stats_.nat_in2out);
  if (app_.gateway) return tunnel_send(m, 0, p);
  const config::Interface& wan = *app_.ports[app_.wan].iface;
  Ipv4 nh = wan.address.contains(p.dst) ? p.dst : wan.next_hop.value_or(0);
  if (nh == 0) return drop(m, Drop::no_route);
  send_ip(m, uint8_t(app_.wan), nh);
}

// p arrived from the outside (gateway: out of the tunnel; server: on the WAN) and m starts at
// its IPv4 header. The lcore whose port share holds the NAT session translates it.
void Worker::dispatch_outside(rte_mbuf* m, Ipv4Packet& p) {
  unsigned owner = index_;
  uint16_t key;
  if (app_.n_workers > 1 &&
      !((p.proto == kProtoTcp || p.proto == kProtoUdp) &&
        app_.forwards.by_external(p.proto, p.dport)) &&
      nat::outside_key_port(p, &key)) {
    unsigned o = app_.partition.owner(key);
    if (o < app_.n_workers) owner = o;
  }
  if (owner != index_) return handoff(m, owner, kMetaOutside);
  outside_to_inside(m, p);
}

void Worker::outside_to_inside(rte_mbuf* m, Ipv4Packet& p) {
  Drop d = nat_->outside_to_inside(p, now_ms_);
  if (d != Drop::none) return drop(m, d);
  bump(stats_.nat_out2in);
  if (!ipv4_decrement_ttl(p.ip)) return drop(m, Drop::ttl_exceeded);
  // Both directions: a SYN-ACK from outside must not promise more than the tunnel carries.
  if (p.proto == kProtoTcp && clamp_tcp_mss(p, uint16_t(app_.cfg.tunnel.inner_mtu - 40)))
    bump(stats_.mss_clamped);
  if (app_.gateway) {
    const config::Interface& lan = *app_.ports[app_.lan].iface;
    Ipv4 nh = lan.address.contains(p.dst) ? p.dst : lan.next_hop.value_or(0);
    if (nh == 0) return drop(m, Drop::no_route);
    return send_ip(m, uint8_t(app_.lan), nh);
  }
  const PeerState* peer = app_.peer_by_addr(p.dst);
  if (!peer) return drop(m, Drop::no_route);
  tunnel_send(m, uint16_t(peer - app_.peers.data()), p);
}

void Worker::to_path(rte_mbuf* m, uint16_t peer, uint8_t path, uint8_t port) {
  path::ImpairStage* s = impair_.stage(peer, path, kImpairTx);
  if (!s) return tx(m, port);
  app_.meta(m)->out_port = port;
  Drop why;
  if (impair_.admit(s, m, now_us_, &why)) return;
  bump(path_ctr_[size_t(peer) * kMaxPaths + path].impair_drops);
  drop(m, why);
}

bool Worker::impaired_rx(rte_mbuf* m, uint16_t peer, uint8_t path) {
  if (impair_reentry_) return false;
  path::ImpairStage* s = impair_.stage(peer, path, kImpairRx);
  if (!s) return false;
  Drop why;
  if (impair_.admit(s, m, now_us_, &why)) return true;
  bump(path_ctr_[size_t(peer) * kMaxPaths + path].impair_drops);
  drop(m, why);
  return true;
}

// Frames whose impairment delay is over: sent, or received again from the top (the stage held
// them before any check but the header's peer and path).
void Worker::release_impaired() {
  impair_.release(now_us_, [this](rte_mbuf* m, unsigned dir) {
    if (dir == kImpairTx) return tx(m, app_.meta(m)->out_port);
    impair_reentry_ = true;
    rx_frame(m);
    impair_reentry_ = false;
  });
}

void Worker::send_ip(rte_mbuf* m, uint8_t port, Ipv4 next_hop) {
  uint8_t* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kEthHdrLen));
  if (!eth) return drop(m, Drop::mbuf_exhausted);
  Mac dst;
  bool known = app_.neighbors.lookup(next_hop, &dst);
  write_eth(eth, dst, app_.ports[port].mac, kEtherTypeIpv4);
  if (!known) return hold(m, port, next_hop);
  tx(m, port);
}

}  // namespace mpf::dp
