// ICMP echo replies and errors built in place (RFC 792, RFC 1812 4.3.2), and the TCP MSS clamp.
#include "net/icmp_build.hpp"

#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/protocol.hpp"

namespace mpf::net {

namespace {

constexpr uint16_t kIcmpErrorMax = 576;  // RFC 1812 4.3.2.3
constexpr uint8_t kTtlOwn = 64;
constexpr uint8_t kTosInternetControl = 0xc0;  // RFC 1812 4.3.2.5: precedence 6

bool is_icmp_error_type(uint8_t t) {
  // Destination unreachable, source quench, redirect, time exceeded, parameter problem.
  return t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
}

}  // namespace

void make_echo_reply(Ipv4Packet& p) {
  uint8_t* ip = p.ip;
  store32(ip + kIpSrc, p.dst);
  store32(ip + kIpDst, p.src);
  ip[kIpTtl] = kTtlOwn;
  ipv4_set_checksum(ip);

  uint8_t* icmp = p.l4;
  const uint16_t old_w = load16(icmp);
  icmp[0] = kIcmpEchoReply;
  icmp[1] = 0;
  store16(icmp + kIcmpCsum, csum_update16(load16(icmp + kIcmpCsum), old_w, load16(icmp)));

  const Ipv4 s = p.src;
  p.src = p.dst;
  p.dst = s;
  p.ttl = kTtlOwn;
  p.icmp_type = kIcmpEchoReply;
  p.icmp_code = 0;
}

Built build_icmp_error(const Ipv4Packet& p, uint8_t type, uint8_t code, uint16_t next_hop_mtu,
                       Ipv4 from) {
  const uint16_t quote =
      p.total_len < kIcmpErrorMax - kIcmpErrorPrefix ? p.total_len
                                                     : uint16_t(kIcmpErrorMax - kIcmpErrorPrefix);
  const uint16_t total = uint16_t(kIcmpErrorPrefix + quote);
  uint8_t* ip = p.ip - kIcmpErrorPrefix;
  uint8_t* icmp = ip + kIpv4HdrLen;

  ip[0] = 0x45;
  ip[1] = kTosInternetControl;
  store16(ip + kIpTotalLen, total);
  // Identification: the offending packet's, which varies per packet (DF is clear here).
  store16(ip + 4, load16(p.ip + 4));
  store16(ip + kIpFragOff, 0);
  ip[kIpTtl] = kTtlOwn;
  ip[kIpProto] = kProtoIcmp;
  store32(ip + kIpSrc, from);
  store32(ip + kIpDst, p.src);
  ipv4_set_checksum(ip);

  icmp[0] = type;
  icmp[1] = code;
  store16(icmp + kIcmpCsum, 0);
  store16(icmp + 4, 0);
  const bool frag_needed = type == kIcmpDestUnreach && code == kIcmpFragNeededCode;
  store16(icmp + 6, frag_needed ? next_hop_mtu : 0);
  // The quote (p.ip onwards) is already in place right after the ICMP header.
  store16(icmp + kIcmpCsum, csum_finish(csum_partial(icmp, kIcmpHdrLen + quote)));
  return Built{ip, total};
}

bool icmp_error_allowed(const Ipv4Packet& p) {
  // RFC 1812 4.3.2.7: not about ICMP errors, nor about packets whose source does not name a
  // single host (zero, loopback, multicast, limited broadcast), nor to multicast/broadcast
  // destinations. Fragments never get here (parse_ipv4 refuses them).
  if (p.proto == kProtoIcmp && is_icmp_error_type(p.icmp_type)) return false;
  const auto bad_src = [](Ipv4 a) {
    return a == 0 || (a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) == 0xe || (a >> 28) == 0xf;
  };
  if (bad_src(p.src)) return false;
  if ((p.dst >> 28) == 0xe || p.dst == 0xffffffffu) return false;
  return true;
}

bool clamp_tcp_mss(Ipv4Packet& p, uint16_t mss) {
  if (p.proto != kProtoTcp || p.l4_len < kTcpHdrLen) return false;
  uint8_t* tcp = p.l4;
  if (!(tcp[kTcpFlags] & kTcpSyn)) return false;
  const unsigned hl = (tcp[12] >> 4) * 4u;
  if (hl < kTcpHdrLen || hl > p.l4_len) return false;

  // Validate the whole option list first: a malformed list is left untouched.
  constexpr unsigned kMaxMss = 4;
  unsigned mss_at[kMaxMss];
  unsigned n_mss = 0;
  for (unsigned i = kTcpHdrLen; i < hl;) {
    const uint8_t kind = tcp[i];
    if (kind == 0) break;  // end of option list
    if (kind == 1) {       // no-operation
      ++i;
      continue;
    }
    if (i + 1 >= hl) return false;
    const uint8_t len = tcp[i + 1];
    if (len < 2 || i + len > hl) return false;
    if (kind == 2) {
      if (len != 4 || n_mss == kMaxMss) return false;
      mss_at[n_mss++] = i + 2;
    }
    i += len;
  }

  bool changed = false;
  for (unsigned k = 0; k < n_mss; ++k) {
    const unsigned off = mss_at[k];
    const uint16_t old_v = load16(tcp + off);
    if (old_v <= mss) continue;
    store16(tcp + off, mss);
    // A value at an odd offset straddles two checksum words: its bytes count swapped.
    const auto sw = [](uint16_t v) { return uint16_t(v << 8 | v >> 8); };
    const uint16_t c = load16(tcp + kTcpCsum);
    store16(tcp + kTcpCsum, (off & 1) ? csum_update16(c, sw(old_v), sw(mss))
                                      : csum_update16(c, old_v, mss));
    changed = true;
  }
  return changed;
}

}  // namespace mpf::net
