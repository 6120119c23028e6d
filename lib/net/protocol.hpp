// Wire constants for the protocols mpf parses.
#pragma once
#include <cstdint>

namespace mpf::net {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr unsigned kEthHdrLen = 14;
constexpr unsigned kIpv4HdrLen = 20;  // without options
constexpr unsigned kUdpHdrLen = 8;
constexpr unsigned kTcpHdrLen = 20;   // without options
constexpr unsigned kIcmpHdrLen = 8;

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpDestUnreach = 3;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpTimeExceeded = 11;
constexpr uint8_t kIcmpParamProblem = 12;
constexpr uint8_t kIcmpFragNeededCode = 4;  // code of kIcmpDestUnreach

// Offsets inside an IPv4 header.
constexpr unsigned kIpTos = 1, kIpTotalLen = 2, kIpId = 4, kIpFragOff = 6, kIpTtl = 8, kIpProto = 9, kIpCsum = 10,
                   kIpSrc = 12, kIpDst = 16;
constexpr uint16_t kIpFlagDf = 0x4000, kIpFlagMf = 0x2000, kIpFragMask = 0x1fff;
// Offsets inside TCP / UDP / ICMP headers.
constexpr unsigned kL4Sport = 0, kL4Dport = 2, kUdpLen = 4, kUdpCsum = 6, kTcpSeq = 4,
                   kTcpDataOff = 12, kTcpFlags = 13,
                   kTcpCsum = 16, kIcmpCsum = 2, kIcmpId = 4;
constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

}  // namespace mpf::net
