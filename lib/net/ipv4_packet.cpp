// IPv4 validation and parsing (RFC 791, RFC 1812 5.2.2).
#include "net/ipv4_packet.hpp"

#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/protocol.hpp"

namespace mpf::net {

Drop parse_ipv4(uint8_t* ip, uint32_t avail, Ipv4Packet* out) {
  if (avail < kIpv4HdrLen) return Drop::ipv4_truncated;
  if ((ip[0] >> 4) != 4) return Drop::ipv4_bad_version;
  const unsigned ihl = ip[0] & 0x0f;
  if (ihl < 5) return Drop::ipv4_bad_ihl;
  const uint16_t hl = uint16_t(ihl * 4);
  if (hl > avail) return Drop::ipv4_truncated;
  const uint16_t total = load16(ip + kIpTotalLen);
  if (total < hl) return Drop::ipv4_bad_length;
  if (total > avail) return Drop::ipv4_truncated;
  // A correct header sums (checksum field included) to 0xffff.
  if (csum_fold(csum_partial(ip, hl)) != 0xffff) return Drop::ipv4_bad_checksum;
  const uint16_t frag = load16(ip + kIpFragOff);
  if (frag & (kIpFlagMf | kIpFragMask)) return Drop::ipv4_fragment;

  const uint8_t proto = ip[kIpProto];
  uint8_t* l4 = ip + hl;
  const uint16_t l4_len = uint16_t(total - hl);
  uint16_t sport = 0, dport = 0;
  uint8_t icmp_type = 0, icmp_code = 0;
  switch (proto) {
    case kProtoTcp: {
      if (l4_len < kTcpHdrLen) return Drop::l4_truncated;
      const unsigned doff = l4[12] >> 4;
      if (doff < 5 || doff * 4 > l4_len) return Drop::l4_truncated;
      sport = load16(l4 + kL4Sport);
      dport = load16(l4 + kL4Dport);
      break;
    }
    case kProtoUdp:
      if (l4_len < kUdpHdrLen) return Drop::l4_truncated;
      sport = load16(l4 + kL4Sport);
      dport = load16(l4 + kL4Dport);
      break;
    case kProtoIcmp:
      if (l4_len < kIcmpHdrLen) return Drop::l4_truncated;
      icmp_type = l4[0];
      icmp_code = l4[1];
      if (icmp_type == kIcmpEchoRequest || icmp_type == kIcmpEchoReply)
        sport = dport = load16(l4 + kIcmpId);
      break;
    default:
      break;
  }

  out->ip = ip;
  out->hdr_len = hl;
  out->total_len = total;
  out->proto = proto;
  out->ttl = ip[kIpTtl];
  out->dont_fragment = (frag & kIpFlagDf) != 0;
  out->src = load32(ip + kIpSrc);
  out->dst = load32(ip + kIpDst);
  out->l4 = l4;
  out->l4_len = l4_len;
  out->sport = sport;
  out->dport = dport;
  out->icmp_type = icmp_type;
  out->icmp_code = icmp_code;
  return Drop::none;
}

void ipv4_set_checksum(uint8_t* ip) { store16(ip + kIpCsum, ipv4_header_checksum(ip)); }

bool ipv4_decrement_ttl(uint8_t* ip) {
  if (ip[kIpTtl] <= 1) return false;
  // TTL is the high byte of the 16-bit word TTL|protocol.
  const uint16_t old_w = load16(ip + kIpTtl);
  ip[kIpTtl]--;
  store16(ip + kIpCsum, csum_update16(load16(ip + kIpCsum), old_w, load16(ip + kIpTtl)));
  return true;
}

}  // namespace mpf::net
