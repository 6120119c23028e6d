#include "commands.hpp"

#include <atomic>
#include <cstdio>
#include <cstring>

#include "capture.hpp"
#include "worker.hpp"

static_assert(mpf::shm::kAutoRate == mpf::config::kAutoRate, "one spelling of max_rate auto");

namespace mpf::dp {

namespace {
constexpr uint64_t kFlowsDeadlineMs = 2000;

void set_message(shm::Response* r, const std::string& m) {
  std::memset(r->message, 0, sizeof r->message);
  std::memcpy(r->message, m.data(), std::min(m.size(), sizeof r->message - 1));
}
}  // namespace

void CommandChannel::answer(const shm::Response& r) {
  shm::Mailbox& mb = app_.shm->mailbox;
  std::memcpy(&mb.resp, &r, sizeof r);
  __atomic_store_n(&mb.resp_seq, handled_, __ATOMIC_RELEASE);
}

void CommandChannel::poll(uint64_t now_ms) {
  shm::Region& reg = *app_.shm;
  if (flows_pending_) {
    const uint64_t gen = reg.flow_gen;
    bool all = true;
    for (unsigned i = 0; i < app_.n_workers; i++)
      all &= __atomic_load_n(&reg.flows[i].done_gen, __ATOMIC_ACQUIRE) == gen;
    if (!all && now_ms < flows_deadline_ms_) return;
    flows_pending_ = false;
    shm::Response r{};
    r.status = all ? shm::Status::ok : shm::Status::failed;
    if (!all) set_message(&r, "workers did not list their flows within 2 s");
    return answer(r);
  }
  uint64_t seq = __atomic_load_n(&reg.mailbox.req_seq, __ATOMIC_ACQUIRE);
  if (seq == handled_) return;
  shm::Request q;
  // A controld that gave up on an earlier answer may be writing the next request right now:
  // act only on a copy the sequence number did not move under.
  for (;;) {
    std::memcpy(&q, &reg.mailbox.req, sizeof q);
    std::atomic_thread_fence(std::memory_order_acquire);
    const uint64_t again = __atomic_load_n(&reg.mailbox.req_seq, __ATOMIC_ACQUIRE);
    if (again == seq) break;
    seq = again;
  }
  handled_ = seq;
  shm::Response r{};
  if (execute(q, &r, now_ms)) answer(r);
}

bool CommandChannel::execute(const shm::Request& q, shm::Response* out, uint64_t now_ms) {
  std::string msg;
  switch (q.op) {
    case shm::Op::path_set:
      out->status = path_set(q.path_set, &msg);
      if (out->status == shm::Status::ok) on_path_change_();
      break;
    case shm::Op::flows: {
      shm::Region& reg = *app_.shm;
      if (q.flows.top == 0 || q.flows.top > shm::kFlowsPerLcore || q.flows.filter.prefix_len > 32) {
        out->status = shm::Status::bad_request;
        msg = "flows: top must be 1.." + std::to_string(shm::kFlowsPerLcore) +
              " and the prefix length 0..32";
        break;
      }
      reg.flow_args = q.flows;
      __atomic_store_n(&reg.flow_gen, reg.flow_gen + 1, __ATOMIC_RELEASE);
      flows_pending_ = true;
      flows_deadline_ms_ = now_ms + kFlowsDeadlineMs;
      return false;
    }
    case shm::Op::capture_start:
    case shm::Op::capture_stop:
    case shm::Op::capture_status:
      if (!app_.capture) {
        out->status = shm::Status::unsupported;
        msg = "capture is not available (its memory could not be set up at start)";
        break;
      }
      out->status = shm::Status::ok;
      if (q.op == shm::Op::capture_start) out->status = app_.capture->start(q.capture, &msg);
      else if (q.op == shm::Op::capture_stop) app_.capture->stop();
      out->capture = app_.capture->state();
      break;
    default:
      out->status = shm::Status::bad_request;
      msg = "unknown operation " + std::to_string(uint32_t(q.op));
  }
  set_message(out, msg);
  return true;
}

shm::Status CommandChannel::path_set(const shm::PathSetArgs& a, std::string* message) {
  if (a.peer_index >= app_.peers.size()) {
    *message = "no peer " + std::to_string(a.peer_index);
    return shm::Status::not_found;
  }
  PeerState& peer = app_.peers[a.peer_index];
  if (a.path_id >= peer.n_paths) {
    *message = "no path " + std::to_string(a.path_id);
    return shm::Status::not_found;
  }
  if (a.set_admin && uint8_t(a.admin) > uint8_t(shm::AdminState::down)) {
    *message = "state must be auto, up or down";
    return shm::Status::bad_request;
  }
  if (a.weight != shm::kKeepWeight && (a.weight < 1 || a.weight > 1000)) {
    *message = "weight must be 1..1000";
    return shm::Status::bad_request;
  }
  if (a.max_rate_bps != shm::kKeepRate && a.max_rate_bps != 0 &&
      a.max_rate_bps != config::kAutoRate &&
      (a.max_rate_bps < 64000 || a.max_rate_bps > 400000000000ull)) {
    *message = "max_rate must be 0 (unlimited), auto or 64 kbit/s .. 400 Gbit/s";
    return shm::Status::bad_request;
  }
  if (a.max_rate_bps == config::kAutoRate && !app_.cfg.multipath.rate_control) {
    *message = "max_rate auto needs multipath.rate_control (it discovers the rate)";
    return shm::Status::bad_request;
  }
  if (a.impair_dirs > 3) {
    *message = "impairment direction bits must be 1 (send), 2 (receive) or 3";
    return shm::Status::bad_request;
  }
  const shm::ImpairSpec& im = a.impair;
  if (a.impair_dirs &&
      (im.delay_us > path::kImpairMaxDelayUs || im.jitter_us > path::kImpairMaxDelayUs ||
       im.queue_us > path::kImpairMaxDelayUs || im.loss_ppm > 1'000'000 ||
       (im.rate_bps && (im.rate_bps < 64000 || im.rate_bps > 400000000000ull || im.queue_us < 1000)))) {
    *message = "impairment: delay, jitter and queue 0..10 s, loss 0..100%, rate 0 or "
               "64 kbit/s..400 Gbit/s with a queue of at least 1 ms";
    return shm::Status::bad_request;
  }
  PathShared& shared = peer.paths[a.path_id];
  for (unsigned dir = 0; dir < 2; dir++) {
    if (!(a.impair_dirs & (1u << dir))) continue;
    // Each field on its own (relaxed); the lcores read them after impair_gen (acquire).
    path::ImpairParams& p = shared.impair[dir];
    __atomic_store_n(&p.delay_us, im.delay_us, __ATOMIC_RELAXED);
    __atomic_store_n(&p.jitter_us, im.jitter_us, __ATOMIC_RELAXED);
    __atomic_store_n(&p.loss_ppm, im.loss_ppm, __ATOMIC_RELAXED);
    __atomic_store_n(&p.queue_us, im.rate_bps ? im.queue_us : 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&p.rate_Bps, im.rate_bps / 8, __ATOMIC_RELAXED);
  }
  if (a.impair_dirs) {
    __atomic_store_n(&app_.impair_gen, app_.impair_gen + 1, __ATOMIC_RELEASE);
    std::printf("mpf-dataplane: path %s impaired by operator (%s): delay %u us, jitter %u us, "
                "loss %u ppm, rate %llu bit/s, queue %u us\n",
                app_.cfg.path_profiles[a.path_id].name.c_str(),
                a.impair_dirs == 3 ? "both ways" : a.impair_dirs == 1 ? "sending" : "receiving",
                im.delay_us, im.jitter_us, im.loss_ppm, (unsigned long long)im.rate_bps,
                im.rate_bps ? im.queue_us : 0u);
    std::fflush(stdout);
    if (!a.set_admin && a.weight == shm::kKeepWeight && a.max_rate_bps == shm::kKeepRate)
      return shm::Status::ok;
  }
  PathCtl& c = shared.ctl;
  if (a.set_admin)  // telemetry threads read it: a single-byte atomic store
    __atomic_store_n(reinterpret_cast<uint8_t*>(&c.admin), uint8_t(a.admin), __ATOMIC_RELAXED);
  if (a.weight != shm::kKeepWeight) c.weight = a.weight;
  if (a.max_rate_bps != shm::kKeepRate) c.max_rate_bps = a.max_rate_bps;
  static const char* const kAdmin[] = {"auto", "up", "down"};
  const std::string rate = c.max_rate_bps == config::kAutoRate
                               ? std::string("auto")
                               : std::to_string(c.max_rate_bps) + " bit/s";
  std::printf("mpf-dataplane: path %s set by operator: state %s, weight %u, max_rate %s\n",
              app_.cfg.path_profiles[a.path_id].name.c_str(), kAdmin[uint8_t(c.admin)], c.weight,
              rate.c_str());
  std::fflush(stdout);
  return shm::Status::ok;  // Housekeeping::update_paths publishes it on this pass
}

}  // namespace mpf::dp
