// Counters one lcore owns (single writer, see stats/counter.hpp). They live in the shared-memory
// stats region (shm/layout.hpp), so mpf-controld reads them where the lcore writes them; readers
// sum them over lcores. The names below are the stable API names (JSON keys, Prometheus labels).
#pragma once
#include <cstdint>

#include "stats/drop_reason.hpp"

namespace mpf::stats {

constexpr unsigned kStatPorts = 16;

#define MPF_LCORE_COUNTERS(X)                                                      \
  X(rx_packets, "packets received from ports")                                     \
  X(rx_bytes, "bytes received from ports")                                         \
  X(tx_packets, "packets handed to ports")                                         \
  X(tx_bytes, "bytes handed to ports")                                             \
  X(encapsulated, "packets sent into the tunnel")                                  \
  X(decapsulated, "data frames taken out of the tunnel")                           \
  X(nat_in2out, "packets translated inside -> outside")                            \
  X(nat_out2in, "packets translated outside -> inside")                            \
  X(mss_clamped, "TCP SYNs whose MSS was lowered")                                 \
  X(handoff_sent, "packets passed to the lcore owning their NAT session")         \
  X(handoff_received, "packets received from another lcore")                       \
  X(to_main, "packets passed to the main lcore (ARP, local, held)")                \
  X(icmp_errors_sent, "ICMP errors originated (time exceeded, frag needed)")       \
  X(icmp_errors_suppressed, "ICMP errors not sent: over dataplane.icmp_errors_per_s") \
  X(probes_sent, "tunnel probes sent")                                             \
  X(probe_replies_sent, "tunnel probe replies sent")                               \
  X(probe_replies_received, "tunnel probe replies received")                       \
  X(arp_requests_sent, "ARP requests sent")                                        \
  X(arp_replies_sent, "ARP replies sent")                                          \
  X(arp_replies_received, "ARP replies to us taken in")                            \
  X(echo_replies_sent, "ICMP echo replies sent for our addresses")                 \
  X(held, "packets held waiting for ARP")                                          \
  X(paths_learned, "peer path address changes learned")                            \
  X(learn_msgs_lost, "learn notices lost to a full ring")                          \
  X(freed_at_exit, "packets in flight between lcores at shutdown, freed")         \
  X(redundant_copies, "extra copies sent by the redundant mode")                   \
  X(sent_no_path_up, "frames sent on a path not known to be up (none was)")        \
  X(feedback_sent, "feedback frames sent (loss reports)")                          \
  X(feedback_received, "feedback frames received")                                 \
  X(retransmits, "frames resent after a loss report")                              \
  X(retransmit_misses, "reported frames no longer in the retransmit slab")         \
  X(retransmit_over_budget, "reported frames not resent: over the budget")         \
  X(failover_resends, "frames resent because their path went down")                \
  X(failover_flushed, "frames queued on a path that went down and not rerouted, freed") \
  X(progress_stalls, "paths taken as down early: their frames' progress reports stopped") \
  X(progress_resumed, "of those, paths whose reports came after all (slow, not dead)") \
  X(fast_lane, "frames queued in a shaper's fast lane (sparse flows, retransmits)") \
  X(tcp_resends, "inner TCP retransmissions in flows split over paths")           \
  X(resends_expedited, "inner TCP retransmissions sent like a sparse flow's frames")  \
  X(resends_shaper_dropped, "inner TCP retransmissions the AQM dropped")          \
  X(reorder_held, "frames held for reordering")                                    \
  X(reorder_late, "frames delivered after their gap was given up")                 \
  X(reorder_timeouts, "gaps given up after the hold time")                         \
  X(reorder_silence_waits, "silences of a path that made hold timeouts wait for its failover") \
  X(equalized, "frames held to arrive no earlier than over the slowest path")     \
  X(equalize_hold_us, "microseconds those frames were to be held, summed")         \
  X(equalize_early, "frames released before their time: the delay line was full") \
  X(path_changes, "path state changes (up/down)")                                 \
  X(probe_slowdowns, "idle spells: probes slowed to multipath.idle_probe_interval_ms") \
  X(peer_sessions, "peer sessions adopted (a peer started, or restarted: a new key)")         \
  X(impair_unavailable, "path impairments this lcore could not apply: no memory for the stage") \
  X(polls, "loop passes over the lcore's queues and rings")                       \
  X(busy_polls, "loop passes that found packets")                                  \
  X(busy_cycles, "TSC cycles spent in passes that found packets")

constexpr unsigned kLcoreCounters = 0
#define MPF_X(name, text) +1
    MPF_LCORE_COUNTERS(MPF_X)
#undef MPF_X
    ;

struct alignas(64) LcoreStats {
#define MPF_X(name, text) uint64_t name = 0;
  MPF_LCORE_COUNTERS(MPF_X)
#undef MPF_X
  uint64_t port_rx[kStatPorts] = {};
  uint64_t port_tx[kStatPorts] = {};
  uint64_t port_rx_bytes[kStatPorts] = {};
  uint64_t port_tx_bytes[kStatPorts] = {};
  uint64_t drops[kDropReasons] = {};
};

}  // namespace mpf::stats
