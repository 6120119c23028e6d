#include "controller.hpp"

#include <cstring>

#include "clock.hpp"
#include "dataplane_link.hpp"
#include "region_view.hpp"

namespace mpf::control {

namespace {

// Invalid UTF-8 (a config file in Latin-1, say) must not make dump() throw.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}

}  // namespace

Controller::Controller(DataplaneLink* link, Send send, uint64_t timeout_ms)
    : link_(link), send_(std::move(send)), timeout_ms_(timeout_ms) {}

std::string Controller::ok_line(const json& id, const json& result) {
  return dump(json{{"id", id}, {"ok", true}, {"result", result}});
}

std::string Controller::error_line(const json& id, const std::string& code,
                                   const std::string& message) {
  return dump(json{{"id", id}, {"ok", false}, {"error", {{"code", code}, {"message", message}}}});
}

ApiContext Controller::context(uint64_t now_ms) const {
  ApiContext c;
  c.link = link_;
  c.region = link_ ? link_->region() : nullptr;
  c.now_ms = now_ms;
  c.now_unix_ms = unix_ms();
  return c;
}

void Controller::request(uint64_t client, std::string_view line, uint64_t now_ms) {
  if (blank(line)) return;
  json id;
  try {
    json req = json::parse(line, nullptr, false);
    if (req.is_discarded()) {
      send_(client, error_line(id, "bad_request", "not valid JSON"));
      return;
    }
    if (!req.is_object()) {
      send_(client, error_line(id, "bad_request", "a request is a JSON object"));
      return;
    }
    if (auto it = req.find("id"); it != req.end()) id = *it;
    for (auto it = req.begin(); it != req.end(); ++it)
      if (it.key() != "cmd" && it.key() != "args" && it.key() != "id")
        throw ApiError("bad_request", "unknown request field \"" + it.key() + "\" (cmd, args, id)");
    auto cmd = req.find("cmd");
    if (cmd == req.end() || !cmd->is_string())
      throw ApiError("bad_request", "\"cmd\" must be a string naming the command");
    // Absent args means none; present, it must be an object (null included is refused, as
    // docs/control-api.md says: one shape per field keeps clients honest).
    auto ait = req.find("args");
    if (ait != req.end() && !ait->is_object()) throw ApiError("bad_request", "\"args\" must be an object");
    json args = ait != req.end() ? *ait : json();
    Outcome out = dispatch(cmd->get<std::string>(), args, context(now_ms));
    if (json* result = std::get_if<json>(&out)) {
      send_(client, ok_line(id, *result));
      return;
    }
    queue_.push_back({client, id, std::move(std::get<MailboxJob>(out))});
    if (!active_) start_next(now_ms);
  } catch (const ApiError& e) {
    send_(client, error_line(id, e.code, e.what()));
  } catch (const json::exception& e) {
    send_(client, error_line(id, "bad_request", e.what()));
  } catch (const std::exception& e) {
    send_(client, error_line(id, "failed", e.what()));
  }
}

bool Controller::pending(uint64_t client) const {
  if (active_ && active_->q.client == client) return true;
  for (const Queued& q : queue_)
    if (q.client == client) return true;
  return false;
}

void Controller::forget(uint64_t client) {
  std::erase_if(queue_, [client](const Queued& q) { return q.client == client; });
  // An answer in flight still has to be waited for (the dataplane is working on it); it is
  // discarded on arrival.
  if (active_ && active_->q.client == client) active_->q.client = 0;
}

void Controller::start_next(uint64_t now_ms) {
  while (!active_ && !queue_.empty()) {
    Queued q = std::move(queue_.front());
    queue_.pop_front();
    shm::Region* r = link_ ? link_->region() : nullptr;
    if (!r) {
      if (q.client)
        send_(q.client, error_line(q.id, "dataplane_unavailable",
                                   "no dataplane attached: " + (link_ ? link_->reason() : "")));
      continue;
    }
    // The request is written in full before the sequence bump publishes it.
    shm::Mailbox& mb = r->mailbox;
    uint64_t seq = __atomic_load_n(&mb.req_seq, __ATOMIC_RELAXED) + 1;
    std::memcpy(&mb.req, &q.job.req, sizeof(shm::Request));
    __atomic_store_n(&mb.req_seq, seq, __ATOMIC_RELEASE);
    active_ = Active{std::move(q), seq, now_ms + timeout_ms_, link_->generation()};
  }
}

void Controller::finish(const Queued& q, const shm::Region& r, const shm::Response& resp) {
  if (!q.client) return;
  try {
    if (resp.status != shm::Status::ok) {
      std::string msg = field(resp.message);
      if (msg.empty()) msg = std::string("the dataplane refused the request (") + status_code(resp.status) + ")";
      send_(q.client, error_line(q.id, status_code(resp.status), msg));
      return;
    }
    send_(q.client, ok_line(q.id, q.job.finish(r, resp)));
  } catch (const ApiError& e) {
    send_(q.client, error_line(q.id, e.code, e.what()));
  } catch (const std::exception& e) {
    send_(q.client, error_line(q.id, "failed", e.what()));
  }
}

void Controller::tick(uint64_t now_ms) {
  if (active_) {
    shm::Region* r = link_ ? link_->region() : nullptr;
    if (!r || link_->generation() != active_->generation) {
      Queued q = std::move(active_->q);
      active_.reset();
      if (q.client)
        send_(q.client, error_line(q.id, "dataplane_unavailable",
                                   "the dataplane went away before answering"));
    } else if (__atomic_load_n(&r->mailbox.resp_seq, __ATOMIC_ACQUIRE) == active_->seq) {
      shm::Response resp;
      std::memcpy(&resp, &r->mailbox.resp, sizeof resp);
      Queued q = std::move(active_->q);
      active_.reset();
      finish(q, *r, resp);
    } else if (now_ms >= active_->deadline_ms) {
      Queued q = std::move(active_->q);
      active_.reset();
      if (q.client)
        send_(q.client, error_line(q.id, "dataplane_timeout",
                                   "the dataplane did not answer within " +
                                       std::to_string(timeout_ms_) + " ms"));
    }
  }
  start_next(now_ms);
}

}  // namespace mpf::control
