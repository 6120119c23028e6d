#include "tunnel_out.hpp"

#include <cstring>

#include "tunnel/outer.hpp"

namespace mpf::dp {

PathRoute route_to_peer(const App& app, uint16_t peer, uint8_t path) {
  PathRoute r;
  if (app.gateway) {
    if (path >= app.path_ports.size()) return r;
    const Port& out = app.ports[app.path_ports[path]];
    const config::Interface& ifc = *out.iface;
    const auto& t = app.cfg.tunnel;
    r.port = out.index;
    r.next_hop = ifc.address.contains(t.server.addr) ? t.server.addr : ifc.next_hop.value_or(0);
    r.addrs.src_mac = out.mac;
    r.addrs.src_ip = ifc.address.addr;
    r.addrs.dst_ip = t.server.addr;
    r.addrs.src_port = t.port;
    r.addrs.dst_port = t.server.port;
    r.mac_known = app.neighbors.lookup(r.next_hop, &r.addrs.dst_mac);
    r.ok = true;
    return r;
  }
  LearnedPath::Value v = app.peers[peer].paths[path].learned.read();
  if (!v.valid) return r;
  const Port& out = app.ports[v.port_index];
  r.port = out.index;
  r.addrs.src_mac = out.mac;
  r.addrs.dst_mac = v.mac;  // the hop the gateway's frames came from
  r.addrs.src_ip = out.iface->address.addr;
  r.addrs.dst_ip = v.ip;
  r.addrs.src_port = app.cfg.tunnel.port;
  r.addrs.dst_port = v.udp_port;
  r.mac_known = true;
  r.ok = true;
  return r;
}

bool encapsulate(rte_mbuf* m, const PathRoute& r, const tunnel::Header& h, uint16_t ip_id) {
  if (!rte_pktmbuf_is_contiguous(m) && rte_pktmbuf_linearize(m) != 0) return false;
  if (rte_pktmbuf_headroom(m) < tunnel::kOuterLen + tunnel::kHeaderLen ||
      rte_pktmbuf_tailroom(m) < tunnel::kFrameTagLen)
    return false;
  const uint16_t payload = uint16_t(m->pkt_len);
  uint8_t* tag = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, tunnel::kFrameTagLen));
  std::memset(tag, 0, tunnel::kFrameTagLen);
  uint8_t* f = reinterpret_cast<uint8_t*>(
      rte_pktmbuf_prepend(m, uint16_t(tunnel::kOuterLen + tunnel::kHeaderLen)));
  tunnel::write_outer(f, r.addrs, uint16_t(tunnel::kHeaderLen + payload + tunnel::kFrameTagLen),
                      ip_id);
  tunnel::Header hh = h;
  hh.tag_len = tunnel::kFrameTagLen;
  tunnel::encode(hh, f + tunnel::kOuterLen);
  return true;
}

void seal_frame(rte_mbuf* m, const tunnel::Sealer& s, uint64_t counter) {
  uint8_t* hdr = rte_pktmbuf_mtod_offset(m, uint8_t*, tunnel::kOuterLen);
  tunnel::set_path_seq(hdr, uint32_t(counter));
  const size_t len = m->pkt_len - tunnel::kOuterLen - tunnel::kFrameTagLen;
  const tunnel::Nonce n = tunnel::make_nonce(hdr[0] & 0x0f, hdr[tunnel::kStreamIdOffset],
                                             hdr[2], counter);
  s.seal(n, hdr, len, hdr + len);
}

}  // namespace mpf::dp
