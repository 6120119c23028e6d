// Outer Ethernet / IPv4 / UDP headers of a tunnel frame.
#include "tunnel/outer.hpp"

#include "net/arp.hpp"
#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/ipv4_packet.hpp"
#include "net/protocol.hpp"

namespace mpf::tunnel {

void write_outer(uint8_t* out, const OuterAddrs& a, uint16_t payload_len, uint16_t ip_id) {
  using namespace net;
  write_eth(out, a.dst_mac, a.src_mac, kEtherTypeIpv4);

  uint8_t* ip = out + kEthHdrLen;
  const uint16_t udp_len = uint16_t(kUdpHdrLen + payload_len);
  ip[0] = 0x45;
  ip[1] = 0;
  store16(ip + kIpTotalLen, uint16_t(kIpv4HdrLen + udp_len));
  store16(ip + 4, ip_id);
  store16(ip + kIpFragOff, kIpFlagDf);
  ip[kIpTtl] = 64;
  ip[kIpProto] = kProtoUdp;
  store32(ip + kIpSrc, a.src_ip);
  store32(ip + kIpDst, a.dst_ip);
  ipv4_set_checksum(ip);

  uint8_t* udp = ip + kIpv4HdrLen;
  store16(udp + kL4Sport, a.src_port);
  store16(udp + kL4Dport, a.dst_port);
  store16(udp + kUdpLen, udp_len);
  store16(udp + kUdpCsum, 0);
}

}  // namespace mpf::tunnel
