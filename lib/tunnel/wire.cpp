// mpf tunnel header v3 (docs/protocol.md).
#include "tunnel/wire.hpp"

#include "net/bytes.hpp"

namespace mpf::tunnel {

using net::load16;
using net::load32;
using net::store16;
using net::store32;

void encode(const Header& h, uint8_t* out) {
  out[0] = uint8_t(kVersion << 4 | (uint8_t(h.type) & 0x0f));
  out[1] = h.flags;
  out[2] = h.path_id;
  out[3] = h.tag_len;
  store32(out + 4, h.tunnel_id);
  store16(out + 8, h.epoch);
  store16(out + kStreamIdOffset, h.stream_id);
  store32(out + kStreamSeqOffset, h.stream_seq);
  store32(out + kPathSeqOffset, h.path_seq);
  store32(out + 20, h.timestamp_us);
}

void set_path_seq(uint8_t* header, uint32_t path_seq) {
  store32(header + kPathSeqOffset, path_seq);
}

Drop decode(const uint8_t* frame, size_t frame_len, Header* out) {
  if (frame_len < kHeaderLen) return Drop::tunnel_truncated;
  if ((frame[0] >> 4) != kVersion) return Drop::tunnel_bad_version;
  const uint8_t type = frame[0] & 0x0f;
  if (type > kMaxFrameType) return Drop::tunnel_bad_type;
  const uint8_t flags = frame[1];
  if (flags & ~kFlagsKnown) return Drop::tunnel_bad_length;
  if ((flags & kFlagCompact) ? type != uint8_t(FrameType::data) : (flags & kFlagInnerDf))
    return Drop::tunnel_bad_length;
  const uint8_t tag_len = frame[3];
  if (tag_len > frame_len - kHeaderLen) return Drop::tunnel_bad_length;
  out->type = FrameType(type);
  out->flags = flags;
  out->path_id = frame[2];
  out->tag_len = tag_len;
  out->tunnel_id = load32(frame + 4);
  out->epoch = load16(frame + 8);
  out->stream_id = load16(frame + 10);
  out->stream_seq = load32(frame + 12);
  out->path_seq = load32(frame + 16);
  out->timestamp_us = load32(frame + 20);
  return Drop::none;
}

}  // namespace mpf::tunnel
