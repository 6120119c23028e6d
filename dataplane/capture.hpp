// Packet capture to a pcapng file from inside the dataplane (every EAL mode, --no-huge too),
// and DPDK's pdump server so the stock dpdk-dumpcap can attach when we run on hugepages.
//
// Who does what: the lcore that receives or sends a packet on the captured port copies it
// (rte_pcapng_copy) into a small capture pool and hands the copy to the main lcore over its own
// SP/SC ring (a "lane": one per worker, plus one for the main lcore's housekeeping). The main
// lcore alone drains the lanes, writes the file and closes it. A port and direction nobody
// captures costs one relaxed load per burst; a capture never blocks a worker: a copy that finds
// no mbuf or a full lane is counted as dropped.
#pragma once
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <cstdint>
#include <string>

#include "app.hpp"
#include "shm/layout.hpp"

struct rte_pcapng;

namespace mpf::dp {

class Capture {
 public:
  // Lanes: worker i uses lane i; the main lcore's housekeeping uses lane n_workers.
  static constexpr unsigned kLanes = kMaxWorkers + 1;
  // Copies hold at most this many bytes of a packet (the original length is kept in the
  // file): a copy must fit one capture mbuf, because DPDK 22.11 frames only single-segment
  // copies correctly.
  static constexpr uint32_t kMaxSnap = RTE_MBUF_DEFAULT_DATAROOM;

  explicit Capture(App& app) : app_(app) {}
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Start-up, main lcore, before the lcores run (after EAL, the mbuf pool and the ports):
  // starts the pdump server when EAL has hugepages (a failure there is logged, nothing more),
  // then creates the capture pool and the lanes. When those cannot be made, capture is
  // unavailable (start() answers unsupported) and the dataplane runs on; never fails.
  void init();
  bool available() const { return pool_ != nullptr; }

  // Any lcore, per burst: `lane` (its lane) is about to process the n packets it received on
  // our port index `port` (dir rx), or to hand them to the device (dir tx). When that port and
  // direction are captured, copies them onto the lane; the packets themselves are untouched
  // and stay the caller's. No locks, no syscalls, no heap; never blocks.
  void tap(unsigned lane, uint8_t port, rte_mbuf* const* pkts, unsigned n, shm::CaptureDir dir) {
    const uint32_t mask = __atomic_load_n(&active_mask_, __ATOMIC_RELAXED);
    if (__builtin_expect((mask & bit(port, dir)) == 0, 1)) return;
    copy(lane, port, pkts, n, dir);
  }

  // Main lcore, every housekeeping pass (one branch when no capture runs): writes what the
  // lanes hold, then ends the capture once it has `count` packets or its duration is over.
  void poll(uint64_t now_ms);

  // Who asked: a client of mpf-controld (a.file is a plain file name, created new in
  // control.capture_dir: whoever reaches the control socket must not pick a file of the
  // system for us, root, to write), or the operator's --capture option (any absolute path,
  // truncated if it exists; no count and no duration: until stop or exit).
  enum class Origin : uint8_t { control, command_line };

  // Main lcore. Starts a capture of a.port_index in direction a.dir into a.file (see Origin;
  // mode 0640, a symbolic link is never followed), writes the section header and one
  // interface per DPDK port. bad_request: no count and no duration (control), a file name
  // that is not a plain name (control) or not an absolute path (command line), a bad
  // direction; not_found: no such port; busy: a capture runs; unsupported: capture or the
  // capture directory unavailable; failed: the file exists already (control) or could not be
  // opened or written (*message says why). state().file names the full path.
  shm::Status start(const shm::CaptureArgs& a, std::string* message, Origin origin = Origin::control);
  // The --capture option's "PORT:FILE[:COUNT]" (PORT an interface name; FILE made absolute
  // against the working directory; no COUNT: until exit). Starts it as start() does; false
  // with *message when the text is wrong or the capture does not start (*usage_error tells
  // which: the option's text, or the capture itself).
  bool start_option(const std::string& spec, std::string* message, bool* usage_error);
  // Main lcore. Ends a running capture now (what the lanes hold is written first); nothing
  // when none runs.
  void stop();
  // Main lcore. The running capture, or the last one (active 0) with its final figures.
  shm::CaptureState state() const;

  // Shutdown, main lcore, after every lcore has left its loop: ends a running capture (what
  // the lanes still hold is written), frees every copy left, the lanes and the pool, and stops
  // the pdump server.
  void release();

 private:
  static constexpr uint32_t bit(uint8_t port, shm::CaptureDir dir) {
    return 1u << (port * 2u + (dir == shm::CaptureDir::tx ? 1u : 0u));
  }
  static_assert(kMaxPorts * 2 <= 32, "active_mask_ has a bit per port and direction");

  void copy(unsigned lane, uint8_t port, rte_mbuf* const* pkts, unsigned n, shm::CaptureDir dir);
  // Writes (or, when no capture runs or it has its count, frees) what the lanes hold.
  void drain();
  void write_batch(rte_mbuf** pkts, unsigned n);
  // Ends the capture: clears the mask, writes what the lanes hold, closes the file.
  void finish(const char* why);
  void close_file(const char* why);
  uint64_t dropped_total() const;
  uint64_t tsc_to_unix_ns(uint64_t tsc) const;

  // Opens (creating it, mode 0750, when missing) control.capture_dir; -1 when that fails.
  void open_dir();
  // The file for a start(): opened for writing, its full path in *path; -1 with *message.
  int open_file(const shm::CaptureArgs& a, Origin origin, std::string* path, std::string* message,
                shm::Status* status) const;

  App& app_;
  bool pdump_ = false;            // rte_pdump_init succeeded
  int dir_fd_ = -1;               // control.capture_dir, for captures asked through controld
  unsigned n_lanes_ = 0;

  // Read by the lcores that tap; written by the main lcore before it sets active_mask_
  // (release) and not again while any bit is set.
  alignas(64) uint32_t active_mask_ = 0;  // bit(port, dir) per captured port and direction
  uint32_t snaplen_ = kMaxSnap;
  rte_mempool* pool_ = nullptr;

  struct alignas(64) Lane {
    rte_ring* ring = nullptr;     // SP (its lcore) / SC (main lcore) of pcapng-framed copies
    uint64_t dropped = 0;         // copies lost (no mbuf, lane full); writer: its lcore (bump)
  };
  std::array<Lane, kLanes> lanes_{};

  // Main lcore only.
  alignas(64) rte_pcapng* file_ = nullptr;  // non-null while a capture runs
  uint16_t port_id_ = 0;          // DPDK port id of the captured port
  uint64_t count_ = 0;            // 0: no limit
  uint64_t deadline_ms_ = 0;      // app.now_ms() clock; 0: no limit
  uint64_t start_tsc_ = 0;        // copies stamped earlier belong to an older capture
  uint64_t start_unix_ns_ = 0;    // wall clock at start_tsc_, for the packets' timestamps
  uint64_t dropped_base_ = 0;     // dropped_total() at start
  shm::CaptureState state_{};
};

}  // namespace mpf::dp
