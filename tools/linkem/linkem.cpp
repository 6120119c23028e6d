// linkem: a link emulator for the test bed's "wire" namespaces, where this kernel has no netem.
// An nftables rule sends a direction's packets to NFQUEUE number N; linkem holds each one for
// the configured delay (plus bounded jitter that never reorders, as a radio link keeps order),
// drops a random share of them, and accepts the rest when their time comes. It sleeps until the
// next deadline (ppoll), never spins: two cores run the whole test bed.
//
//   linkem --queue N [--delay-ms D] [--jitter-ms J] [--loss PERCENT] [--seed S]
//
// Rate limits are tbf's job (on the wire's egress, after linkem). Prints "linkem queue N: ready"
// on stderr once the queue is bound. SIGUSR1: counters on stderr, carry on. SIGTERM/SIGINT:
// exit, with counters on stderr. Exit 2 on bad arguments, 1 when the queue cannot be bound.
//
// Counters: seen (packets queued to us), dropped (random loss), accepted (verdicts given after
// the delay), held (waiting now), held_max, overruns (ENOBUFS: the kernel dropped queue messages
// because we did not read fast enough; each may stand for several packets).
#include <endian.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <string>

namespace {

// Verdicts (linux/netfilter.h, whose includes clash with glibc's netinet/in.h in C++).
constexpr uint32_t NF_DROP = 0, NF_ACCEPT = 1;

struct Options {
  int queue = -1;
  double delay_ms = 0, jitter_ms = 0, loss_pct = 0;
  uint64_t seed = 1;
};

struct Held {
  uint32_t id;
  uint64_t due_ns;
};

struct State {
  Options opt;
  nfq_q_handle* qh = nullptr;
  std::deque<Held> held;
  std::mt19937_64 rng;
  uint64_t last_due_ns = 0;
  uint64_t seen = 0, dropped = 0, accepted = 0, overruns = 0;
  size_t held_max = 0;
};

volatile sig_atomic_t g_stop = 0, g_report = 0;
void on_signal(int) { g_stop = 1; }
void on_usr1(int) { g_report = 1; }

void report(const State& st, const char* why) {
  std::fprintf(stderr,
               "linkem queue %d: %s: seen %llu dropped %llu accepted %llu held %zu held_max %zu "
               "overruns %llu\n",
               st.opt.queue, why, (unsigned long long)st.seen, (unsigned long long)st.dropped,
               (unsigned long long)st.accepted, st.held.size(), st.held_max,
               (unsigned long long)st.overruns);
}

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "linkem: %s\nusage: linkem --queue N [--delay-ms D] [--jitter-ms J] "
               "[--loss PERCENT] [--seed S]\n",
               why);
  std::exit(2);
}

double number(const char* s, const char* what, double lo, double hi) {
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (!end || *end || v < lo || v > hi)
    usage((std::string(what) + ": not a number in range").c_str());
  return v;
}

int on_packet(nfq_q_handle*, nfgenmsg*, nfq_data* nfa, void* data) {
  auto* st = static_cast<State*>(data);
  nfqnl_msg_packet_hdr* ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  uint32_t id = be32toh(ph->packet_id);
  st->seen++;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  if (st->opt.loss_pct > 0 && u(st->rng) * 100.0 < st->opt.loss_pct) {
    st->dropped++;
    nfq_set_verdict(st->qh, id, NF_DROP, 0, nullptr);
    return 0;
  }
  double d = st->opt.delay_ms;
  if (st->opt.jitter_ms > 0) d += (u(st->rng) * 2.0 - 1.0) * st->opt.jitter_ms;
  if (d < 0) d = 0;
  uint64_t due = now_ns() + uint64_t(d * 1e6);
  if (due < st->last_due_ns) due = st->last_due_ns;  // jitter never reorders
  st->last_due_ns = due;
  // Straight through only when nothing is held: a packet must never overtake an earlier one.
  if (st->held.empty() && due <= now_ns()) {
    st->accepted++;
    nfq_set_verdict(st->qh, id, NF_ACCEPT, 0, nullptr);
  } else {
    st->held.push_back({id, due});
    if (st->held.size() > st->held_max) st->held_max = st->held.size();
  }
  return 0;
}

// Everything due goes in one message: held packets are in packet-id order (the kernel numbers
// a queue's packets in arrival order) and their deadlines never decrease, so the due ones are a
// prefix of what the kernel still holds for us, and a batch verdict up to the last due id
// accepts exactly those.
void release_due(State& st) {
  uint64_t t = now_ns();
  uint32_t last = 0;
  size_t n = 0;
  while (!st.held.empty() && st.held.front().due_ns <= t) {
    last = st.held.front().id;
    st.held.pop_front();
    n++;
  }
  if (n == 1) nfq_set_verdict(st.qh, last, NF_ACCEPT, 0, nullptr);
  else if (n > 1) nfq_set_verdict_batch(st.qh, last, NF_ACCEPT);
  st.accepted += n;
}

}  // namespace

int main(int argc, char** argv) {
  static State st;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    const char* v = argv[++i];
    if (a == "--queue") st.opt.queue = int(number(v, "--queue", 0, 65535));
    else if (a == "--delay-ms") st.opt.delay_ms = number(v, "--delay-ms", 0, 10000);
    else if (a == "--jitter-ms") st.opt.jitter_ms = number(v, "--jitter-ms", 0, 10000);
    else if (a == "--loss") st.opt.loss_pct = number(v, "--loss", 0, 100);
    else if (a == "--seed") st.opt.seed = uint64_t(number(v, "--seed", 0, 1e18));
    else usage(("unknown option " + a).c_str());
  }
  if (st.opt.queue < 0) usage("--queue is required");
  st.rng.seed(st.opt.seed);
  // A daemon of the test bed: keep no descriptor of whoever started it (a lock, the read end
  // of a caller's pipe) open for as long as the test bed is up.
  close_range(3, ~0U, 0);

  nfq_handle* h = nfq_open();
  if (!h) {
    std::perror("linkem: nfq_open");
    return 1;
  }
  st.qh = nfq_create_queue(h, uint16_t(st.opt.queue), on_packet, &st);
  if (!st.qh) {
    std::fprintf(stderr, "linkem: cannot bind NFQUEUE %d: %s\n", st.opt.queue,
                 std::strerror(errno));
    return 1;
  }
  // Metadata only: the verdict accepts the kernel's own copy, nothing crosses to user space.
  nfq_set_mode(st.qh, NFQNL_COPY_META, 0);
  nfq_set_queue_maxlen(st.qh, 65536);
  int fd = nfq_fd(h);
  int rcvbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction su {};
  su.sa_handler = on_usr1;
  sigaction(SIGUSR1, &su, nullptr);
  std::fprintf(stderr,
               "linkem queue %d: ready: delay %g ms, jitter %g ms, loss %g%%, seed %llu\n",
               st.opt.queue, st.opt.delay_ms, st.opt.jitter_ms, st.opt.loss_pct,
               (unsigned long long)st.opt.seed);

  char buf[65536];
  while (!g_stop) {
    timespec timeout{};
    timespec* tp = nullptr;
    if (!st.held.empty()) {
      uint64_t t = now_ns(), due = st.held.front().due_ns;
      uint64_t wait = due > t ? due - t : 0;
      timeout.tv_sec = time_t(wait / 1000000000ull);
      timeout.tv_nsec = long(wait % 1000000000ull);
      tp = &timeout;
    }
    pollfd pfd{fd, POLLIN, 0};
    int rc = ppoll(&pfd, 1, tp, nullptr);
    if (rc < 0 && errno != EINTR) break;
    if (rc > 0) {
      // A bounded batch, so due packets are released on time even under a flood.
      for (int batch = 0; batch < 256; batch++) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
          if (errno == ENOBUFS) {  // the kernel dropped messages: count, carry on
            st.overruns++;
            continue;
          }
          break;
        }
        nfq_handle_packet(h, buf, int(n));
      }
    }
    release_due(st);
    if (g_report) {
      g_report = 0;
      report(st, "counters");
    }
  }
  // Let what is held go rather than have the kernel drop it with the queue.
  for (const Held& x : st.held) nfq_set_verdict(st.qh, x.id, NF_ACCEPT, 0, nullptr);
  st.accepted += st.held.size();
  st.held.clear();
  report(st, "exit");
  nfq_destroy_queue(st.qh);
  nfq_close(h);
  return 0;
}
