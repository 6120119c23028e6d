// A worker lcore: run-to-completion bursts over its RX queues, its own NAT table, its own
// multipath sender and receiver state, TX buffers and counters. Nothing here is written by any
// other thread. The code is split by direction: worker.cpp (receive, NAT stages, handoff),
// worker_tx.cpp (scheduling onto paths, shaping, retransmission), worker_rx.cpp (tunnel frames
// in: loss detection, feedback, reordering).
#pragma once
#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include "app.hpp"
#include "flow_dump.hpp"
#include "impairments.hpp"
#include "net/ipv4_packet.hpp"
#include "recovery/gap_detector.hpp"
#include "recovery/retransmit_slab.hpp"
#include "recovery/token_bucket.hpp"
#include "reorder/delay_line.hpp"
#include "reorder/equalizer.hpp"
#include "reorder/reorder_window.hpp"
#include "reorder/silence_watch.hpp"
#include "sched/lane_queue.hpp"
#include "sched/policy.hpp"
#include "sched/resend_spotter.hpp"
#include "sched/scheduler.hpp"
#include "tunnel/bodies.hpp"
#include "tunnel/compact.hpp"
#include "tunnel_out.hpp"
#include "tx_buffer.hpp"

namespace mpf::dp {

class Housekeeping;

struct RxQueue {
  uint8_t port;    // our port index
  uint16_t queue;
};

// Per (peer, path) figures of one worker (single writer), summed by the main lcore for probe
// bodies and telemetry.
struct PathCounters {
  uint64_t rx_frames = 0, rx_bytes = 0;  // every accepted frame from the peer on this path
  uint64_t tx_frames = 0, tx_bytes = 0;  // every frame to the peer on this path
  uint64_t lost = 0;                     // path_seq gaps seen (frames missing)
  uint64_t retransmits = 0;              // frames resent on this path
  uint64_t shaper_drops = 0;             // dropped: the path's queue was over max_queue_ms
  uint64_t impair_drops = 0;             // dropped by the operator's impairment (either way)
  // For the main lcore's split of the path's rate (docs/multipath.md, "Shaping"); stored even
  // when counters are compiled out: what is in the path's shaper now (once per pass), and the
  // bytes that left for the path (stamped).
  uint64_t queued_bytes = 0;
  uint64_t sent_bytes = 0;
};

// A frame waiting in a shaper: encapsulated, path_seq not yet stamped (stamp() does that when
// it leaves, so the path carries path_seqs in sending order whichever lane it waited in).
struct QueuedFrame {
  rte_mbuf* m = nullptr;
  uint16_t flow = sched::SparseFlows::kNone;  // its PeerTx::sparse bucket
};

// The egress queue of one (peer, path): frames wait here, encapsulated, until the token bucket
// lets them out (an unshaped path's queue stays empty). Three lanes (sched/lane_queue.hpp),
// served in order: sparse flows and loss-report resends; what a failover moves off a dead
// path; the rest.
struct Shaper {
  static constexpr uint32_t kFastSlots = 512, kResendSlots = 2048, kBulkSlots = 4096;
  sched::LaneQueue<QueuedFrame> q{kFastSlots, kResendSlots, kBulkSlots};
  recovery::TokenBucket bucket{1, 1};
  uint64_t rate_Bps = 0;        // this worker's share of max_rate; 0 = not limited
  uint8_t port = 0;
  bool limited() const { return rate_Bps != 0; }
  bool empty() const { return q.empty(); }
  // Pace per packet: a burst of two frames or a millisecond, whichever is larger.
  void set_rate(uint64_t rate, uint64_t now_us) {
    rate_Bps = rate;
    if (!rate) return;
    bucket.set_rate(rate, now_us);
    bucket.set_burst(std::max<uint64_t>(3200, rate / 1000));
  }
  // The bulk lane's AQM limit on the whole queue: max_queue_ms of the rate (unshaped: the
  // rings alone).
  uint64_t limit_bytes(uint32_t max_queue_ms) const {
    return limited() ? rate_Bps * max_queue_ms / 1000 : UINT64_MAX;
  }
  // The fast lane holds at most a quarter of that (two frames at least): sparse traffic jumps
  // the bulk queue, it must not become one.
  bool fast_room(uint32_t bytes, uint32_t max_queue_ms) const {
    if (q.full(sched::Lane::fast)) return false;
    const uint64_t cap = limited() ? std::max<uint64_t>(3200, limit_bytes(max_queue_ms) / 4)
                                   : UINT64_MAX;
    return q.bytes(sched::Lane::fast) + bytes <= cap;
  }
};

// The sending side towards one peer.
struct PeerTx {
  sched::Scheduler sched{kMaxPaths};
  std::vector<uint32_t> stream_seq;             // per bucket
  // Data frame counters per path: nonce counter, low 32 bits the path_seq (docs/protocol.md 6).
  std::array<uint64_t, kMaxPaths> path_seq{};
  std::array<uint64_t, kMaxPaths> feedback_ctr{};  // feedback frames' counters per path
  std::array<std::unique_ptr<recovery::RetransmitSlab>, kMaxPaths> slab;
  std::array<std::unique_ptr<Shaper>, kMaxPaths> shaper;
  sched::SparseFlows sparse;                    // flows with frames in any of the shapers
  recovery::TokenBucket retx_budget{1, 1};
  // The budget's rate with an even split of max_rate; a worker carrying more of the paths'
  // rates (its load shares) gets retransmit_budget_pct of its shares instead.
  uint64_t retx_budget_min = 1;
  std::array<sched::PathView, kMaxPaths> views{};
  std::array<uint32_t, kMaxPaths> rttvar_us{};
  uint32_t up_mask = 0;                         // as of the last refresh
  std::array<uint64_t, kMaxPaths> down_since_us{};  // when it went down; 0: up or never up
  // Progress (docs/multipath.md, "Failover"), per path: the counter after the highest one the
  // receiver reported received; when the oldest frame not reported yet left (0: none); and
  // until when the path counts as down here because it stopped making progress (0: it does
  // not).
  std::array<uint64_t, kMaxPaths> reported{};
  std::array<uint64_t, kMaxPaths> unreported_since_us{};
  std::array<uint64_t, kMaxPaths> stalled_until_us{};
  std::array<uint64_t, kMaxPaths> stalled_at{};  // the first counter unreported when it stalled
  uint64_t progress_heard_us = 0;  // the last progress report from the peer (any path)
  uint64_t views_pass = ~0ull;                  // pass number of the last refresh
};

// The receiving side from one peer.
struct PeerRx {
  // Loss per (sender worker, path), seen by the worker that receives the path.
  std::array<recovery::GapDetector, kMaxSenders * kMaxPaths> gaps;
  std::array<uint16_t, kMaxSenders * kMaxPaths> gap_epoch{};
  // Pending feedback per sender worker, sent at the end of the pass.
  std::array<tunnel::FeedbackBody, kMaxSenders> feedback{};
  uint32_t feedback_mask = 0;
  // Progress reports: the (sender worker, path)s that brought data frames since the last one.
  std::array<uint8_t, kMaxSenders * kMaxPaths> heard{};
  bool heard_any = false;
  uint64_t progress_due_us = 0;
  // Delay equalisation: each path's base delay as this worker receives it.
  std::array<reorder::BaseDelay, kMaxPaths> base{};
  // Data frames for this worker's windows, per path: a path falling silent makes hold
  // timeouts wait for the peer's failover (hold_waits()).
  reorder::SilenceWatch<kMaxPaths> silence;
};

// One (peer, stream) reorder window owned by this worker.
struct Window {
  std::unique_ptr<reorder::ReorderWindow> w;
  std::unique_ptr<reorder::DelayLine> line;  // in order, waiting for release (equalisation)
  uint16_t epoch = 0;
  bool active = false;  // on the active list (holds frames, or its line does)
  // The head as expire_windows() last saw it with a deadline due, and when it saw it move.
  uint32_t seen_head = 0;
  uint64_t head_moved_us = 0;
};

class Worker {
 public:
  // The session a probe or probe reply body announces; false when the body is not one.
  static bool session_of(tunnel::FrameType type, const uint8_t* body, uint32_t len,
                         tunnel::SessionAnnounce* out);

  Worker(App& app, unsigned index, unsigned lcore_id);

  // Creates the NAT table, rings and multipath state; false with *error (start-up only).
  bool init(std::string* error);
  // The lcore loop; returns when app.quit is set. hk is non-null when this lcore is also main.
  void run(Housekeeping* hk);
  // One pass over handoff rings and RX queues, then timers and TX flush. Returns packets
  // received.
  unsigned poll_once();
  // Frees what the multipath state still holds (shutdown), counted as freed_at_exit.
  void release();

  unsigned index() const { return index_; }
  unsigned lcore_id() const { return lcore_id_; }
  const LcoreStats& stats() const { return stats_; }
  const nat::NatTable* nat() const { return nat_.get(); }
  rte_ring* to_main() const { return to_main_; }
  rte_ring* learn_ring() const { return learn_; }
  std::vector<RxQueue>& rx_queues() { return rxqs_; }
  const PathCounters& path_counters(uint16_t peer, uint8_t path) const {
    return path_ctr_[size_t(peer) * kMaxPaths + path];
  }
  // Sums of the reorder windows this worker owns (read by telemetry; single-writer fields).
  reorder::Stats reorder_totals() const;
  uint16_t txq = 0;

 private:
  // ---- worker.cpp
  bool init_multipath(std::string* error);
  void rx_frame(rte_mbuf* m);
  void gw_from_lan(rte_mbuf* m, const Port& in, net::Ipv4Packet& p);
  void srv_from_wan(rte_mbuf* m, const Port& in, net::Ipv4Packet& p);
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
  void send_ip(rte_mbuf* m, uint8_t port, net::Ipv4 next_hop);
  void hold(rte_mbuf* m, uint8_t port, net::Ipv4 next_hop);
  // To the main lcore: for the appliance (kMetaLocal), or a verified probe / reply
  // (kMetaControl).
  void to_main_local(rte_mbuf* m, uint8_t kind = kMetaLocal);
  bool icmp_error(rte_mbuf* m, const Port& in, const net::Ipv4Packet& p, uint8_t type,
                  uint8_t code, uint16_t mtu, net::Ipv4 from);
  bool mtu_check(rte_mbuf* m, const Port& in, const net::Ipv4Packet& p, net::Ipv4 from);
  void drop(rte_mbuf* m, Drop why);
  void tx(rte_mbuf* m, uint8_t port) { tx_.send(m, port, stats_); }
  // A tunnel frame for (peer, path) leaves on port: through the path's impairment stage when
  // the operator impaired it (docs/multipath.md, "Impairment"), else at once.
  void to_path(rte_mbuf* m, uint16_t peer, uint8_t path, uint8_t port);
  // A tunnel frame from (peer, path) that the path's receive impairment keeps for now; false
  // when the path is not impaired that way (or m comes back out of the stage).
  bool impaired_rx(rte_mbuf* m, uint16_t peer, uint8_t path);
  void release_impaired();

  // ---- worker_tx.cpp
  // Sends the inner packet p (m starts at it) to peer over the path(s) the policy and the
  // scheduler choose.
  void tunnel_send(rte_mbuf* m, uint16_t peer, const net::Ipv4Packet& p);
  // Encapsulates m for (peer, path) and queues it in `lane` of the path's shaper (flow: its
  // sparse-flow bucket) or, when nothing waits and the bucket allows, sends it at once.
  void send_on_path(rte_mbuf* m, uint16_t peer, uint8_t path, const tunnel::Header& h,
                    const PathRoute& r, sched::Lane lane, uint16_t flow);
  // Stamps the next path_seq of (peer, path) into the encapsulated frame m and keeps its inner
  // packet in the path's retransmit slab: the moment a frame leaves for the wire.
  void stamp(rte_mbuf* m, uint16_t peer, uint8_t path);
  // The lane a frame of `bytes` takes on s: fast when sparse and the fast lane has room.
  sched::Lane lane_for(const Shaper& s, bool sparse, uint32_t bytes) const;
  void refresh_views(uint16_t peer);
  void release_shapers();
  // The best live path for a resent frame (earliest arrival), preferring another than
  // exclude_path, kAnyPath for none (fast: it will take the fast lane, so only that lane's
  // backlog counts); false when none is up or routable.
  static constexpr uint8_t kAnyPath = 0xff;
  // A loss report for a frame resent less than this ago is the report's second copy.
  static constexpr uint64_t kReportRepeatUs = 200'000;
  // Jitter allowance on top of the round trip a progress report takes (stall_after_us()) and
  // of the probe interval (silent()).
  static constexpr uint64_t kStallMarginUs = 10'000;
  static constexpr uint64_t kStallCheckUs = 1000;
  // A dead path's failover resends, a round trip of it over the slower paths left, may take
  // this many reorder_max_ms to arrive; holds wait for them while they fill the gaps.
  static constexpr unsigned kResendWaitFactor = 4;
  // Progress is relied on while the peer's reports come: one within this long (a peer that
  // does not send them, progress_interval_ms = 0 there, never has a path stalled).
  static constexpr uint64_t kProgressFreshUs = 1'000'000;
  // Flows whose highest TCP sequence end this worker remembers (12 bytes each: 48 KB).
  static constexpr uint32_t kSpotterSlots = 4096;
  // Whether resends are expedited now (multipath.expedite_resends; `failover`: a path of the
  // peer went down less than kExpediteAfterDownUs ago and is still down).
  static constexpr uint64_t kExpediteAfterDownUs = 5'000'000;
  bool expediting(const PeerTx& t) const;
  bool progress_fresh(const PeerTx& t) const {
    return app_.cfg.multipath.progress_interval_ms && t.progress_heard_us &&
           now_us_ - t.progress_heard_us < kProgressFreshUs;
  }
  bool resend_path(uint16_t peer, uint8_t exclude_path, uint32_t bytes, bool fast,
                   uint8_t* path, PathRoute* r);
  // Resends slab entries of (peer, path) named by a feedback entry or a failover.
  // True when the frame went out (a path was up and, if budgeted, the budget allowed it).
  bool resend(uint16_t peer, const recovery::RetransmitSlab::Entry& e, uint8_t exclude_path,
              bool budgeted);
  // A frame queued on a path that went down, sent on a live one instead; false (m untouched)
  // when no path is up or m is a redundant copy (its twin went on another path).
  bool reroute(uint16_t peer, rte_mbuf* m, uint8_t dead_path);
  void on_feedback(rte_mbuf* m, uint16_t peer);
  void failover(uint16_t peer, uint8_t path);
  // A progress report: the peer's receiver got path_seqs up to highest from us on path.
  void on_progress(uint16_t peer, uint8_t path, uint32_t highest);
  // How long a path's oldest unreported frame may wait for its report before the path counts
  // as stalled; UINT64_MAX when there is no other up path to fail over to or no RTT yet.
  uint64_t stall_after_us(const PeerTx& t, uint16_t peer, uint8_t path) const;
  // Whether a reorder window of the peer whose head last moved at head_moved_us holds its
  // timeouts now: a path of the peer fell silent and its failover resends are on their way
  // or arriving (counts reorder_silence_waits once per silence).
  bool hold_waits(uint16_t peer, uint64_t head_moved_us);
  uint64_t failover_wait_us(uint16_t peer, unsigned path) const;
  // Whether nothing has come from the peer on path for a probe interval and a margin.
  bool silent(uint16_t peer, uint8_t path) const;
  // Forget what path k has not had reported (it went down, or everything was sent again).
  static void forget_progress(PeerTx& t, uint8_t k) {
    t.reported[k] = t.path_seq[k];
    t.unreported_since_us[k] = 0;
  }

  // ---- worker_rx.cpp
  // An outer IPv4/UDP packet addressed to our tunnel port (gateway: from the server).
  void tunnel_frame(rte_mbuf* m, const Port& in, net::Ipv4Packet& outer);
  Drop authenticate(uint16_t peer, const tunnel::Header& h, const uint8_t* frame,
                    const uint8_t* body, uint32_t body_len, bool* fresh, bool* new_session);
  Drop open_frame(net::Ipv4Packet& outer, tunnel::Header* h, uint8_t** inner,
                  uint32_t* inner_len);
  // Makes m the data frame's inner packet (restoring a compact header: flags) and parses it.
  Drop take_inner(rte_mbuf* m, uint16_t peer, uint8_t flags, uint8_t* inner, uint32_t inner_len,
                  net::Ipv4Packet* ip);
  // The tunnel address of the gateway of peer: the near side of every inner packet the tunnel
  // carries (tunnel/compact.hpp).
  net::Ipv4 gateway_address(uint16_t peer) const {
    return app_.gateway ? app_.cfg.tunnel.address : app_.peers[peer].tunnel_addr;
  }
  void note_path_seq(uint16_t peer, const tunnel::Header& h);
  void send_feedback();
  // Adds the progress entries due for peer to its pending feedback.
  void add_progress(uint16_t peer);
  // One feedback frame with fb for the peer on path k (nothing when k has no route).
  void send_feedback_on(uint16_t peer, const tunnel::FeedbackBody& fb, uint8_t k);
  unsigned reorder_owner(uint16_t peer, uint16_t stream) const;
  void reorder_push(rte_mbuf* m);
  uint32_t release_time(uint16_t peer, const tunnel::Header& h);
  void deliver_in_line(Window& w, rte_mbuf* m);
  void deliver_inner(rte_mbuf* m);
  void expire_windows();
  Window* window_for(uint16_t peer, uint16_t stream);

  App& app_;
  const unsigned index_;
  const unsigned lcore_id_;
  std::vector<RxQueue> rxqs_;
  TxBuffers tx_;
  std::unique_ptr<nat::NatTable> nat_;
  FlowDump flows_;                // answers flows requests (region flow_gen) from nat_
  rte_ring* to_main_ = nullptr;   // SP/SC: this worker -> main lcore
  rte_ring* learn_ = nullptr;     // SP/SC elem ring of LearnMsg -> main lcore
  LcoreStats& stats_;  // in app.shm, slot index_
  uint64_t now_tsc_ = 0, now_ms_ = 0, now_us_ = 0, pass_ = 0;
  uint64_t last_session_tsc_ = 0;  // the last new peer session this lcore checked
  tunnel::Sealer scratch_;         // its key
  uint64_t path_gen_seen_ = 0;
  uint64_t next_stall_check_us_ = 0;
  uint32_t burst_ = 32;
  uint16_t ip_id_ = 0;
  std::unique_ptr<sched::Policy> policy_;
  std::vector<PeerTx> peer_tx_;
  // The inner TCP's retransmissions among what this worker sends (counted: tcp_resends;
  // expedited with expedite_resends).
  sched::ResendSpotter resends_{kSpotterSlots};
  std::vector<PeerRx> peer_rx_;
  std::vector<PathCounters> path_ctr_;    // [peer * kMaxPaths + path]
  std::vector<Window> windows_;           // [peer * streams_total + stream index]
  std::vector<uint32_t> active_windows_;  // indexes into windows_, capacity reserved
  uint32_t streams_total_ = 0;            // kMaxSenders * cfg streams
  uint32_t hold_us_ = 0;
  Impairments impair_;
  bool impair_reentry_ = false;  // rx_frame() runs for a frame the receive impairment held
  // ICMP error token bucket (per lcore; config dataplane.icmp_errors_per_s).
  uint64_t icmp_tokens_ = 0, icmp_refill_ms_ = 0;
};

}  // namespace mpf::dp
