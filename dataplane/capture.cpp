// rte_pcapng is experimental in DPDK 22.11: allowed here, in this file only.
#define ALLOW_EXPERIMENTAL_API 1

#include "capture.hpp"

#include <fcntl.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_pcapng.h>
#include <rte_pdump.h>
#include <rte_version.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "shm/capture_name.hpp"
#include "stats/counter.hpp"

namespace mpf::dp {

namespace {

constexpr unsigned kPoolMbufs = 4095;    // copies in flight at once, all lanes together
constexpr unsigned kPoolCache = 32;
constexpr unsigned kLaneSize = 1024;
constexpr unsigned kDrainBurst = 64;

// Offsets in an Enhanced Packet Block (the pcapng format; rte_pcapng_copy puts one at the start
// of each copy).
constexpr size_t kEpbTsHigh = 12, kEpbTsLow = 16, kEpbOrigLen = 24;

uint64_t unix_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
void store32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

const char* dir_name(shm::CaptureDir d) {
  return d == shm::CaptureDir::rx ? "rx" : d == shm::CaptureDir::tx ? "tx" : "rx+tx";
}

}  // namespace

void Capture::init() {
  // dpdk-dumpcap is a secondary process: it needs a primary with shared (hugepage) memory.
  if (rte_eal_has_hugepages()) {
    if (rte_pdump_init() == 0) pdump_ = true;
    else
      std::printf("mpf-dataplane: warning: pdump server not started (%s); dpdk-dumpcap cannot "
                  "attach, in-process capture still works\n", rte_strerror(rte_errno));
  }

  n_lanes_ = app_.n_workers + 1;
  bool ok = true;
  for (unsigned i = 0; i < n_lanes_ && ok; i++) {
    std::string name = "mpf_cap_" + std::to_string(i);
    lanes_[i].ring = rte_ring_create(name.c_str(), kLaneSize, int(rte_socket_id()),
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
    ok = lanes_[i].ring != nullptr;
  }
  rte_mempool* pool = nullptr;
  if (ok)
    pool = rte_pktmbuf_pool_create("mpf_capture", kPoolMbufs, kPoolCache, 0,
                                   uint16_t(rte_pcapng_mbuf_size(RTE_MBUF_DEFAULT_BUF_SIZE)),
                                   int(rte_socket_id()));
  if (!pool) {
    std::printf("mpf-dataplane: warning: packet capture unavailable (%s)\n",
                rte_strerror(rte_errno));
    for (Lane& l : lanes_) {
      rte_ring_free(l.ring);
      l.ring = nullptr;
    }
    return;
  }
  // rte_pcapng (22.11) sets up its TSC-to-time base on its first conversion, from a clock read
  // after the caller's timestamp: a first call from a worker (or pdump) would go backwards and
  // wrap. One copy here, stamped a little ahead, sets the base up while nothing else runs.
  if (rte_mbuf* m = rte_pktmbuf_alloc(pool)) {
    if (void* d = rte_pktmbuf_append(m, RTE_ETHER_MIN_LEN)) std::memset(d, 0, RTE_ETHER_MIN_LEN);
    rte_mbuf* c = rte_pcapng_copy(0, 0, m, pool, UINT32_MAX, rte_get_tsc_cycles() + app_.tsc_hz / 2,
                                  RTE_PCAPNG_DIRECTION_UNKNOWN);
    rte_pktmbuf_free(c);
    rte_pktmbuf_free(m);
  }
  pool_ = pool;
  open_dir();
}

void Capture::copy(unsigned lane, uint8_t port, rte_mbuf* const* pkts, unsigned n,
                   shm::CaptureDir dir) {
  // Pairs with start()'s release store of the mask: snaplen_ is the new capture's.
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  Lane& l = lanes_[lane];
  const uint16_t port_id = app_.ports[port].port_id;
  const auto direction =
      dir == shm::CaptureDir::tx ? RTE_PCAPNG_DIRECTION_OUT : RTE_PCAPNG_DIRECTION_IN;
  const uint64_t tsc = rte_rdtsc();
  uint64_t lost = 0;
  rte_mbuf* copies[kMaxBurst];
  for (unsigned done = 0; done < n;) {
    unsigned k = 0;
    for (; done < n && k < kMaxBurst; done++) {
      // The queue option records the lane: for workers, their RX and TX queue.
      rte_mbuf* c = rte_pcapng_copy(port_id, lane, pkts[done], pool_, snaplen_, tsc, direction);
      if (!c) {
        lost++;
        continue;
      }
      // Our own timestamp: the raw TSC, turned into time by the main lcore when it writes
      // (22.11 converts here through state every lcore updates unsynchronised).
      uint8_t* epb = rte_pktmbuf_mtod(c, uint8_t*);
      store32(epb + kEpbTsHigh, uint32_t(tsc >> 32));
      store32(epb + kEpbTsLow, uint32_t(tsc));
      copies[k++] = c;
    }
    unsigned q = rte_ring_sp_enqueue_burst(l.ring, reinterpret_cast<void* const*>(copies), k,
                                           nullptr);
    if (q < k) {
      rte_pktmbuf_free_bulk(copies + q, k - q);
      lost += k - q;
    }
  }
  if (lost) bump(l.dropped, lost);
}

uint64_t Capture::dropped_total() const {
  uint64_t t = 0;
  for (unsigned i = 0; i < n_lanes_; i++) t += read_counter(lanes_[i].dropped);
  return t;
}

uint64_t Capture::tsc_to_unix_ns(uint64_t tsc) const {
  const uint64_t d = tsc - start_tsc_;  // copies older than the start are never written
  return start_unix_ns_ + uint64_t((unsigned __int128)d * 1000000000u / app_.tsc_hz);
}

void Capture::open_dir() {
  const std::string& dir = app_.cfg.control.capture_dir;
  // mkdir -p: every missing component (0750: captures are the operators' business).
  for (size_t i = 1; i <= dir.size(); i++)
    if (i == dir.size() || dir[i] == '/') mkdir(dir.substr(0, i).c_str(), 0750);
  dir_fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0)
    std::printf("mpf-dataplane: warning: capture directory %s unusable (%s): mpfctl capture "
                "is refused, --capture still works\n", dir.c_str(), std::strerror(errno));
}

int Capture::open_file(const shm::CaptureArgs& a, Origin origin, std::string* path,
                       std::string* message, shm::Status* status) const {
  const size_t len = strnlen(a.file, sizeof a.file);
  *status = shm::Status::bad_request;
  if (origin == Origin::command_line) {
    if (len == 0 || len == sizeof a.file || a.file[0] != '/') {
      *message = "the capture file must be an absolute path of at most 255 bytes";
      return -1;
    }
    *path = std::string(a.file, len);
    // O_NOFOLLOW: we run as root; a link planted at the path must not redirect the write.
    const int fd = open(path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
      *message = "cannot open " + *path + ": " + std::strerror(errno);
      *status = shm::Status::failed;
    }
    return fd;
  }
  if (!shm::capture_name_ok(std::string_view(a.file, len))) {
    *message = "the capture file must be a plain name (A-Za-z0-9._-, 1..200, not starting with "
               "'.'): it is created in control.capture_dir";
    return -1;
  }
  *path = app_.cfg.control.capture_dir + "/" + std::string(a.file, len);
  if (path->size() >= sizeof a.file) {
    *message = "the capture file's full path " + *path + " is longer than 255 bytes";
    return -1;
  }
  if (dir_fd_ < 0) {
    *message = "the capture directory " + app_.cfg.control.capture_dir + " is unusable (see the log)";
    *status = shm::Status::unsupported;
    return -1;
  }
  // A new file only: nothing that exists (a file, a link planted there) is written through.
  const int fd = openat(dir_fd_, std::string(a.file, len).c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) {
    *message = "cannot create " + *path + ": " + std::strerror(errno);
    *status = shm::Status::failed;
  }
  return fd;
}

shm::Status Capture::start(const shm::CaptureArgs& a, std::string* message, Origin origin) {
  if (!available()) {
    *message = "capture is not available (its memory could not be set up at start)";
    return shm::Status::unsupported;
  }
  if (file_) {
    *message = std::string("a capture is running (") + state_.file + ")";
    return shm::Status::busy;
  }
  if (a.port_index >= app_.ports.size()) {
    *message = "no port " + std::to_string(a.port_index);
    return shm::Status::not_found;
  }
  if (a.dir != shm::CaptureDir::both && a.dir != shm::CaptureDir::rx &&
      a.dir != shm::CaptureDir::tx) {
    *message = "direction must be both, rx or tx";
    return shm::Status::bad_request;
  }
  if (a.count == 0 && a.duration_ms == 0 && origin == Origin::control) {
    *message = "a capture needs a packet count or a duration";
    return shm::Status::bad_request;
  }
  std::string path;
  shm::Status open_status;
  const int fd = open_file(a, origin, &path, message, &open_status);
  if (fd < 0) return open_status;

  const Port& port = app_.ports[a.port_index];
  // 22.11 writes one interface per DPDK port (named "dpdk:<port id>" unless the device has a
  // kernel interface); the comment says which of ours each is.
  std::string comment = std::string("mpf ") + (app_.gateway ? "gateway" : "server") + " " +
                        app_.cfg.control.name + ": capture of " + port.iface->name + " (" +
                        dir_name(a.dir) + "); DPDK port ids:";
  for (const Port& p : app_.ports)
    comment += " " + p.iface->name + "=" + std::to_string(p.port_id) + " (" + p.iface->port + ")";
  utsname un{};
  std::string os = uname(&un) == 0 ? std::string(un.sysname) + " " + un.release : "Linux";
  std::string appname = std::string("mpf-dataplane ") + MPF_VERSION + " (" + rte_version() + ")";
  rte_pcapng* f = rte_pcapng_fdopen(fd, os.c_str(), nullptr, appname.c_str(), comment.c_str());
  if (!f) {
    *message = "cannot write the pcapng header to " + path + ": " + rte_strerror(rte_errno);
    close(fd);
    return shm::Status::failed;
  }

  drain();  // copies a late tapper left from the last capture: freed
  file_ = f;
  port_id_ = port.port_id;
  count_ = a.count;
  const uint64_t now_tsc = rte_rdtsc();
  deadline_ms_ = a.duration_ms ? app_.now_ms(now_tsc) + a.duration_ms : 0;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  start_tsc_ = now_tsc;
  start_unix_ns_ = uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
  dropped_base_ = dropped_total();
  state_ = shm::CaptureState{};
  state_.active = 1;
  state_.port_index = a.port_index;
  state_.started_unix_ms = start_unix_ns_ / 1000000;
  std::memcpy(state_.file, path.c_str(), path.size() + 1);  // < sizeof: open_file checked
  snaplen_ = a.snaplen == 0 ? kMaxSnap : std::min(a.snaplen, kMaxSnap);

  uint32_t mask = 0;
  if (a.dir != shm::CaptureDir::tx) mask |= bit(a.port_index, shm::CaptureDir::rx);
  if (a.dir != shm::CaptureDir::rx) mask |= bit(a.port_index, shm::CaptureDir::tx);
  __atomic_store_n(&active_mask_, mask, __ATOMIC_RELEASE);

  std::printf("mpf-dataplane: capture of %s (%s) to %s started\n", port.iface->name.c_str(),
              dir_name(a.dir), state_.file);
  std::fflush(stdout);
  return shm::Status::ok;
}

bool Capture::start_option(const std::string& spec, std::string* message, bool* usage_error) {
  *usage_error = true;
  const size_t colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
    *message = "--capture wants PORT:FILE[:COUNT], not '" + spec + "'";
    return false;
  }
  const std::string name = spec.substr(0, colon);
  std::string file = spec.substr(colon + 1);
  uint64_t count = 0;
  if (size_t c = file.rfind(':'); c != std::string::npos && c + 1 < file.size() &&
                                  file.find_first_not_of("0123456789", c + 1) == std::string::npos) {
    count = std::strtoull(file.c_str() + c + 1, nullptr, 10);
    file.resize(c);
    if (count == 0 || count > UINT32_MAX) {
      *message = "--capture: COUNT must be 1.." + std::to_string(UINT32_MAX);
      return false;
    }
  }
  if (file.empty()) {
    *message = "--capture: no FILE in '" + spec + "'";
    return false;
  }
  if (file[0] != '/') {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) {
      *message = std::string("--capture: cannot resolve ") + file + ": " + std::strerror(errno);
      return false;
    }
    file = std::string(cwd) + "/" + file;
  }
  shm::CaptureArgs a{};
  std::string names;
  bool found = false;
  for (const Port& p : app_.ports) {
    names += (names.empty() ? "" : ", ") + p.iface->name;
    if (p.iface->name == name) {
      a.port_index = p.index;
      found = true;
    }
  }
  if (!found) {
    *message = "--capture: no interface '" + name + "' (interfaces: " + names + ")";
    return false;
  }
  if (file.size() >= sizeof a.file) {
    *message = "--capture: the file's absolute path is over 255 bytes";
    return false;
  }
  std::memcpy(a.file, file.c_str(), file.size() + 1);
  a.dir = shm::CaptureDir::both;
  a.count = uint32_t(count);
  *usage_error = false;
  if (start(a, message, Origin::command_line) != shm::Status::ok) {
    *message = "--capture: " + *message;
    return false;
  }
  return true;
}

void Capture::write_batch(rte_mbuf** pkts, unsigned n) {
  if (n == 0) return;
  uint64_t bytes = 0;
  for (unsigned i = 0; i < n; i++) {
    uint8_t* epb = rte_pktmbuf_mtod(pkts[i], uint8_t*);
    const uint64_t tsc = uint64_t(load32(epb + kEpbTsHigh)) << 32 | load32(epb + kEpbTsLow);
    const uint64_t ns = tsc_to_unix_ns(tsc);
    store32(epb + kEpbTsHigh, uint32_t(ns >> 32));
    store32(epb + kEpbTsLow, uint32_t(ns));
    bytes += load32(epb + kEpbOrigLen);
  }
  // 22.11 writes and leaves the mbufs to us (its header says otherwise; its code does not free).
  const ssize_t w = rte_pcapng_write_packets(file_, pkts, uint16_t(n));
  rte_pktmbuf_free_bulk(pkts, n);
  if (w < 0) {
    std::printf("mpf-dataplane: capture to %s: write failed (%s)\n", state_.file,
                rte_strerror(rte_errno));
    close_file("write error");  // the rest of this drain is freed
    return;
  }
  state_.packets += n;
  state_.bytes += bytes;
}

void Capture::drain() {
  rte_mbuf* in[kDrainBurst];
  rte_mbuf* out[kDrainBurst];
  for (unsigned i = 0; i < n_lanes_; i++) {
    // At most a lane's worth per call: the main lcore has other work.
    for (unsigned budget = kLaneSize; budget > 0;) {
      const unsigned n = rte_ring_sc_dequeue_burst(lanes_[i].ring, reinterpret_cast<void**>(in),
                                                   kDrainBurst, nullptr);
      if (n == 0) break;
      budget = n > budget ? 0 : budget - n;
      unsigned k = 0;
      for (unsigned j = 0; j < n; j++) {
        rte_mbuf* c = in[j];
        const uint8_t* epb = rte_pktmbuf_mtod(c, const uint8_t*);
        const uint64_t tsc = uint64_t(load32(epb + kEpbTsHigh)) << 32 | load32(epb + kEpbTsLow);
        // Keep only this capture's copies (a worker that read the mask just before a stop can
        // enqueue after it), up to its count.
        const bool keep = file_ && tsc >= start_tsc_ && c->port == port_id_ &&
                          (count_ == 0 || state_.packets + k < count_);
        if (keep) out[k++] = c;
        else rte_pktmbuf_free(c);
      }
      write_batch(out, k);
    }
  }
}

void Capture::poll(uint64_t now_ms) {
  if (!file_) return;
  drain();
  if (!file_) return;  // a write failed
  if (count_ && state_.packets >= count_) finish("count reached");
  else if (deadline_ms_ && now_ms >= deadline_ms_) finish("duration over");
}

void Capture::finish(const char* why) {
  __atomic_store_n(&active_mask_, 0u, __ATOMIC_RELEASE);
  // What the lanes hold now is written; what a worker still copying enqueues after this is
  // freed by the next drain (start or release).
  if (file_) drain();
  close_file(why);
}

void Capture::close_file(const char* why) {
  __atomic_store_n(&active_mask_, 0u, __ATOMIC_RELEASE);
  if (!file_) return;
  rte_pcapng_close(file_);  // closes the descriptor too
  file_ = nullptr;
  state_.active = 0;
  state_.dropped = dropped_total() - dropped_base_;
  state_.stopped_unix_ms = unix_ms();
  std::printf("mpf-dataplane: capture to %s stopped (%s): %lu packets, %lu dropped\n",
              state_.file, why, (unsigned long)state_.packets, (unsigned long)state_.dropped);
  std::fflush(stdout);
}

void Capture::stop() {
  if (file_) finish("stopped");
}

shm::CaptureState Capture::state() const {
  shm::CaptureState s = state_;
  if (file_) s.dropped = dropped_total() - dropped_base_;
  return s;
}

void Capture::release() {
  if (file_) finish("dataplane stopping");
  drain();  // frees anything left
  for (Lane& l : lanes_) {
    rte_ring_free(l.ring);
    l.ring = nullptr;
  }
  rte_mempool_free(pool_);
  pool_ = nullptr;
  if (pdump_) rte_pdump_uninit();
  pdump_ = false;
  if (dir_fd_ >= 0) close(dir_fd_);
  dir_fd_ = -1;
}

}  // namespace mpf::dp
