// Control frame bodies (docs/protocol.md, sections 3.1-3.3).
#include "tunnel/bodies.hpp"

#include <cstring>

#include "net/bytes.hpp"

namespace mpf::tunnel {

using net::load16;
using net::load32;
using net::store16;
using net::store32;

namespace {

uint64_t load64(const uint8_t* p) { return uint64_t(load32(p)) << 32 | load32(p + 4); }
void store64(uint8_t* p, uint64_t v) {
  store32(p, uint32_t(v >> 32));
  store32(p + 4, uint32_t(v));
}

void store_session(uint8_t* p, const SessionAnnounce& a) {
  std::memcpy(p, a.salt.data(), kSessionSaltLen);
  store64(p + kSessionSaltLen, a.start_ms);
}
void load_session(const uint8_t* p, SessionAnnounce* a) {
  std::memcpy(a->salt.data(), p, kSessionSaltLen);
  a->start_ms = load64(p + kSessionSaltLen);
}

bool entry_ok(const FeedbackEntry& e) {
  return e.path_id <= kBodyMaxPathId && e.missing <= kFeedbackMaxMissing;
}

}  // namespace

bool FeedbackBody::operator==(const FeedbackBody& o) const {
  if (count != o.count) return false;
  for (unsigned i = 0; i < count && i < kFeedbackMaxEntries; i++)
    if (!(entries[i] == o.entries[i])) return false;
  return true;
}

// probe: probe_seq(0,4) rx_frames(4,4) rx_bytes(8,8) srtt_us(16,4) queue_us(20,4)
// interval_ms(24,4) salt(28,16) start_ms(44,8) rttvar_us(52,4)
size_t encode(const ProbeBody& b, uint8_t* out, size_t cap) {
  if (cap < kProbeBodyLen) return 0;
  store32(out, b.probe_seq);
  store32(out + 4, b.rx_frames);
  store64(out + 8, b.rx_bytes);
  store32(out + 16, b.srtt_us);
  store32(out + 20, b.queue_us);
  store32(out + 24, b.interval_ms);
  store_session(out + 28, b.session);
  store32(out + 52, b.rttvar_us);
  return kProbeBodyLen;
}

Drop decode(const uint8_t* body, size_t len, ProbeBody* out) {
  if (len != kProbeBodyLen) return Drop::tunnel_bad_length;
  out->probe_seq = load32(body);
  out->rx_frames = load32(body + 4);
  out->rx_bytes = load64(body + 8);
  out->srtt_us = load32(body + 16);
  out->queue_us = load32(body + 20);
  out->interval_ms = load32(body + 24);
  load_session(body + 28, &out->session);
  out->rttvar_us = load32(body + 52);
  return Drop::none;
}

// probe_reply: probe_seq(0,4) rx_frames(4,4) rx_bytes(8,8) queue_us(16,4) salt(20,16)
// start_ms(36,8)
size_t encode(const ProbeReplyBody& b, uint8_t* out, size_t cap) {
  if (cap < kProbeReplyBodyLen) return 0;
  store32(out, b.probe_seq);
  store32(out + 4, b.rx_frames);
  store64(out + 8, b.rx_bytes);
  store32(out + 16, b.queue_us);
  store_session(out + 20, b.session);
  return kProbeReplyBodyLen;
}

Drop decode(const uint8_t* body, size_t len, ProbeReplyBody* out) {
  if (len != kProbeReplyBodyLen) return Drop::tunnel_bad_length;
  out->probe_seq = load32(body);
  out->rx_frames = load32(body + 4);
  out->rx_bytes = load64(body + 8);
  out->queue_us = load32(body + 16);
  load_session(body + 20, &out->session);
  return Drop::none;
}

// feedback: count(0,1) reserved(1,3), then per entry at 4 + 12 i:
//   sender_worker(0,1) path_id(1,1) reserved(2,2) first_missing(4,4) missing(8,2) reserved(10,2)
size_t encode(const FeedbackBody& b, uint8_t* out, size_t cap) {
  if (b.count < 1 || b.count > kFeedbackMaxEntries) return 0;
  const size_t len = feedback_len(b.count);
  if (cap < len) return 0;
  for (unsigned i = 0; i < b.count; i++)
    if (!entry_ok(b.entries[i])) return 0;
  out[0] = b.count;
  out[1] = out[2] = out[3] = 0;
  uint8_t* p = out + kFeedbackHeadLen;
  for (unsigned i = 0; i < b.count; i++, p += kFeedbackEntryLen) {
    const FeedbackEntry& e = b.entries[i];
    p[0] = e.sender_worker;
    p[1] = e.path_id;
    store16(p + 2, 0);
    store32(p + 4, e.first_missing);
    store16(p + 8, e.missing);
    store16(p + 10, 0);
  }
  return len;
}

Drop decode(const uint8_t* body, size_t len, FeedbackBody* out) {
  if (len < kFeedbackHeadLen) return Drop::tunnel_bad_length;
  const uint8_t count = body[0];
  if (count < 1 || count > kFeedbackMaxEntries) return Drop::tunnel_bad_length;
  if (len != feedback_len(count)) return Drop::tunnel_bad_length;
  if (body[1] | body[2] | body[3]) return Drop::tunnel_bad_length;
  // Validate everything before writing anything, so a rejected body leaves *out untouched.
  const uint8_t* p = body + kFeedbackHeadLen;
  for (unsigned i = 0; i < count; i++, p += kFeedbackEntryLen) {
    if (load16(p + 2) != 0 || load16(p + 10) != 0) return Drop::tunnel_bad_length;
    const uint16_t missing = load16(p + 8);
    if (missing > kFeedbackMaxMissing) return Drop::tunnel_bad_length;
    if (p[1] > kBodyMaxPathId) return Drop::tunnel_bad_path;
  }
  out->count = count;
  p = body + kFeedbackHeadLen;
  for (unsigned i = 0; i < count; i++, p += kFeedbackEntryLen) {
    FeedbackEntry& e = out->entries[i];
    e.sender_worker = p[0];
    e.path_id = p[1];
    e.first_missing = load32(p + 4);
    e.missing = load16(p + 8);
  }
  for (unsigned i = count; i < kFeedbackMaxEntries; i++) out->entries[i] = FeedbackEntry{};
  return Drop::none;
}

}  // namespace mpf::tunnel
