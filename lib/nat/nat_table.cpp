// NAT engine: one table per worker lcore (see nat_table.hpp).
//
// Layout, all allocated in create():
//  - three rte_hash tables without concurrency flags (the owning lcore is the only user):
//      inside key  (proto, in_addr, in_port, remote_addr, remote_port) -> session index
//      outside key (proto, ext_port, remote_addr, remote_port)         -> session index
//      mapping key (proto, in_addr, in_port)                           -> external port
//    created with extendable buckets so that an insert never fails below capacity;
//  - a session pool with a free list; sessions sit on one intrusive LRU list per timeout class,
//    so a touch is O(1) and expiry pops heads only. What a translated packet reads and writes
//    (links, timeout, the rewrite target, the counters) fills one aligned cache line per
//    session; what only creation, expiry and listings need (the remote endpoint, the creation
//    time) sits in a parallel array;
//  - per protocol (TCP, UDP, ICMP ids) a port pool over [port_first, port_last]: a two-level
//    bitmap of free ports (constant-bounded next-fit search) and per port the mapping it carries
//    (inside endpoint and a reference count of the sessions that use it).
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "nat/nat_table.hpp"
#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/protocol.hpp"
#include "stats/counter.hpp"

namespace mpf::nat {

namespace {

using net::load16;
using net::load32;
using net::store16;
using net::store32;

constexpr uint32_t kNil = UINT32_MAX;

// Timeout classes, one LRU list each.
enum Class : uint8_t { kTcpEstablished, kTcpTransitory, kTcpReset, kUdp, kIcmp, kClasses };
constexpr uint64_t kTcpResetMaxMs = 10000;

// TCP flags seen, per session.
constexpr uint8_t kInAck = 1, kOutAck = 2, kInFin = 4, kOutFin = 8, kRstSeen = 16;

// Hash keys: fixed size, every byte written (padding explicit and zero).
struct InKey {
  uint32_t in_addr;
  uint32_t remote_addr;
  uint16_t in_port;
  uint16_t remote_port;
  uint8_t proto;
  uint8_t pad[3];
};
struct OutKey {
  uint32_t remote_addr;
  uint16_t ext_port;
  uint16_t remote_port;
  uint8_t proto;
  uint8_t pad[3];
};
struct MapKey {
  uint32_t in_addr;
  uint16_t in_port;
  uint8_t proto;
  uint8_t pad;
};
static_assert(sizeof(InKey) == 16 && sizeof(OutKey) == 12 && sizeof(MapKey) == 8);

inline InKey in_key(uint8_t proto, net::Ipv4 in_addr, uint16_t in_port, net::Ipv4 remote,
                    uint16_t remote_port) {
  return InKey{in_addr, remote, in_port, remote_port, proto, {0, 0, 0}};
}
inline OutKey out_key(uint8_t proto, uint16_t ext_port, net::Ipv4 remote, uint16_t remote_port) {
  return OutKey{remote, ext_port, remote_port, proto, {0, 0, 0}};
}
inline MapKey map_key(uint8_t proto, net::Ipv4 in_addr, uint16_t in_port) {
  return MapKey{in_addr, in_port, proto, 0};
}

// 0 TCP, 1 UDP, 2 ICMP; -1 otherwise.
inline int proto_index(uint8_t proto) {
  switch (proto) {
    case net::kProtoTcp: return 0;
    case net::kProtoUdp: return 1;
    case net::kProtoIcmp: return 2;
    default: return -1;
  }
}

// The per-packet part of a session: exactly one cache line, so that a translated packet
// touches one line of the pool, counters included.
struct alignas(64) Session {
  uint64_t expire_at;   // ms
  // out = inside -> outside, in = outside -> inside; bytes = IPv4 total length. Plain adds:
  // only the owning lcore writes them, scan() reads them on the same lcore.
  uint64_t packets_out, bytes_out, packets_in, bytes_in;
  uint32_t prev, next;  // LRU links; next doubles as the free-list link
  net::Ipv4 in_addr;
  uint16_t in_port, ext_port;
  uint8_t proto;  // 0 = free slot (scan skips it)
  uint8_t pidx;   // proto_index(proto)
  uint8_t tcp;    // kInAck... flags
  uint8_t cls;    // Class
  uint8_t pad[4];
};
static_assert(sizeof(Session) == 64);

// The rest of a session, same index: written at creation, read at expiry and by scan().
struct SessionCold {
  uint64_t created_ms;
  net::Ipv4 remote_addr;
  uint16_t remote_port;
  uint8_t pad[2];
};
static_assert(sizeof(SessionCold) == 16);

struct PortSlot {
  net::Ipv4 in_addr;
  uint16_t in_port;
  uint16_t pad;
  uint32_t refs;  // sessions using this mapping; 0 = no mapping
};

// Free external ports of one protocol over [first, first + n). Bit i of words[] set = port
// first + i free; bit w of summary[] set = words[w] non-zero. Search cost is bounded by the
// 16 summary words whatever the occupancy.
struct PortPool {
  uint64_t* words = nullptr;  // 1024 words max
  PortSlot* slots = nullptr;  // n entries
  uint64_t summary[16] = {};
  uint32_t n = 0;
  uint32_t free = 0;
  uint32_t cursor = 0;  // next-fit position

  bool is_free(uint32_t i) const { return words[i >> 6] >> (i & 63) & 1; }
  void take(uint32_t i) {
    uint64_t& w = words[i >> 6];
    w &= ~(uint64_t(1) << (i & 63));
    if (w == 0) summary[i >> 12] &= ~(uint64_t(1) << ((i >> 6) & 63));
    --free;
  }
  void give(uint32_t i) {
    words[i >> 6] |= uint64_t(1) << (i & 63);
    summary[i >> 12] |= uint64_t(1) << ((i >> 6) & 63);
    ++free;
  }
  // First non-zero word at or after w, wrapping; requires free > 0.
  uint32_t word_from(uint32_t w) const {
    uint32_t s = w >> 6;
    uint64_t m = summary[s] & (~uint64_t(0) << (w & 63));
    for (unsigned k = 0; k <= 16; ++k) {
      if (m) return (s << 6) | uint32_t(__builtin_ctzll(m));
      s = (s + 1) & 15;
      m = summary[s];
    }
    return 0;  // unreachable while free > 0
  }
  // Index of a free port: `want` when free, else next fit from the cursor. -1 when none.
  int64_t alloc(int64_t want) {
    if (free == 0) return -1;
    uint32_t i;
    if (want >= 0 && uint64_t(want) < n && is_free(uint32_t(want))) {
      i = uint32_t(want);
    } else {
      uint32_t c = cursor < n ? cursor : 0;
      uint64_t m = words[c >> 6] & (~uint64_t(0) << (c & 63));
      if (m) {
        i = (c & ~63u) | uint32_t(__builtin_ctzll(m));
      } else {
        uint32_t nwords = (n + 63) / 64;
        uint32_t w = (c >> 6) + 1 < nwords ? (c >> 6) + 1 : 0;
        w = word_from(w);
        i = (w << 6) | uint32_t(__builtin_ctzll(words[w]));
      }
      cursor = i + 1;
    }
    take(i);
    return i;
  }
};

inline void counter_set(uint64_t& c, uint64_t v) { __atomic_store_n(&c, v, __ATOMIC_RELAXED); }

// Field rewrites that keep a checksum current (RFC 1624). The checksum is passed by reference
// and stored by the caller.
inline void put16(uint8_t* f, uint16_t v, uint16_t& csum) {
  csum = net::csum_update16(csum, load16(f), v);
  store16(f, v);
}
inline void put32(uint8_t* f, uint32_t v, uint16_t& csum) {
  csum = net::csum_update32(csum, load32(f), v);
  store32(f, v);
}

// Rewrites the source (src = true) or destination address and port/id of a TCP, UDP or ICMP
// echo packet, with its checksums, and updates p.
void rewrite_endpoint(net::Ipv4Packet& p, bool src, net::Ipv4 addr, uint16_t port) {
  uint8_t* ip = p.ip;
  uint8_t* l4 = p.l4;
  net::Ipv4 old_addr = src ? p.src : p.dst;
  uint16_t ipc = load16(ip + net::kIpCsum);
  put32(ip + (src ? net::kIpSrc : net::kIpDst), addr, ipc);
  store16(ip + net::kIpCsum, ipc);
  switch (p.proto) {
    case net::kProtoTcp: {
      uint8_t* pf = l4 + (src ? net::kL4Sport : net::kL4Dport);
      uint16_t c = load16(l4 + net::kTcpCsum);
      c = net::csum_update32(c, old_addr, addr);
      put16(pf, port, c);
      store16(l4 + net::kTcpCsum, c);
      break;
    }
    case net::kProtoUdp: {
      uint8_t* pf = l4 + (src ? net::kL4Sport : net::kL4Dport);
      uint16_t c = load16(l4 + net::kUdpCsum);
      if (c == 0) {
        store16(pf, port);  // no checksum: stays 0
      } else {
        c = net::csum_update32(c, old_addr, addr);
        put16(pf, port, c);
        store16(l4 + net::kUdpCsum, c == 0 ? 0xffff : c);
      }
      break;
    }
    default: {  // ICMP echo: the id is the port, no pseudo-header
      uint16_t c = load16(l4 + net::kIcmpCsum);
      put16(l4 + net::kIcmpId, port, c);
      store16(l4 + net::kIcmpCsum, c);
      break;
    }
  }
  if (src) {
    p.src = addr;
    p.sport = port;
    if (p.proto == net::kProtoIcmp) p.dport = port;
  } else {
    p.dst = addr;
    p.dport = port;
    if (p.proto == net::kProtoIcmp) p.sport = port;
  }
}

inline bool is_icmp_error(uint8_t type) {
  return type == net::kIcmpDestUnreach || type == net::kIcmpTimeExceeded ||
         type == net::kIcmpParamProblem;
}
inline bool is_icmp_echo(uint8_t type) {
  return type == net::kIcmpEchoRequest || type == net::kIcmpEchoReply;
}

// The packet quoted by an ICMP error, checked enough to translate it.
struct Quoted {
  uint8_t* ip;
  uint8_t* l4;
  uint32_t l4_len;  // bytes of the quoted L4 header/payload present
  uint8_t proto;
  net::Ipv4 src, dst;
  uint16_t sport, dport;  // TCP/UDP ports; ICMP echo: id in both
};

Drop parse_quoted(const net::Ipv4Packet& p, Quoted* q) {
  if (p.l4_len < net::kIcmpHdrLen + net::kIpv4HdrLen) return Drop::icmp_bad_inner;
  uint8_t* ip = p.l4 + net::kIcmpHdrLen;
  uint32_t len = p.l4_len - net::kIcmpHdrLen;
  if (ip[0] >> 4 != 4) return Drop::icmp_bad_inner;
  uint32_t hl = uint32_t(ip[0] & 0x0f) * 4;
  if (hl < net::kIpv4HdrLen || len < hl + 8) return Drop::icmp_bad_inner;  // RFC 792: 8 bytes
  if (load16(ip + net::kIpFragOff) & net::kIpFragMask) return Drop::icmp_bad_inner;
  q->ip = ip;
  q->l4 = ip + hl;
  q->l4_len = len - hl;
  q->proto = ip[net::kIpProto];
  q->src = load32(ip + net::kIpSrc);
  q->dst = load32(ip + net::kIpDst);
  switch (q->proto) {
    case net::kProtoTcp:
    case net::kProtoUdp:
      q->sport = load16(q->l4 + net::kL4Sport);
      q->dport = load16(q->l4 + net::kL4Dport);
      return Drop::none;
    case net::kProtoIcmp:
      if (!is_icmp_echo(q->l4[0])) return Drop::icmp_bad_inner;
      q->sport = q->dport = load16(q->l4 + net::kIcmpId);
      return Drop::none;
    default:
      return Drop::icmp_bad_inner;
  }
}

// Rewrites the translated endpoint of a quoted packet (its source when `src`, else its
// destination) to addr:port, fixing the quoted IP and L4 checksums and the ICMP checksum of the
// error message that carries it. The caller fixes the outer header.
void rewrite_quoted(const net::Ipv4Packet& p, const Quoted& q, bool src, net::Ipv4 addr,
                    uint16_t port) {
  uint16_t ic = load16(p.l4 + net::kIcmpCsum);
  net::Ipv4 old_addr = src ? q.src : q.dst;
  uint16_t qipc = load16(q.ip + net::kIpCsum);
  put32(q.ip + (src ? net::kIpSrc : net::kIpDst), addr, ic);
  qipc = net::csum_update32(qipc, old_addr, addr);
  put16(q.ip + net::kIpCsum, qipc, ic);
  switch (q.proto) {
    case net::kProtoTcp: {
      uint16_t old_port = src ? q.sport : q.dport;
      if (q.l4_len >= net::kTcpCsum + 2u) {
        uint16_t c = load16(q.l4 + net::kTcpCsum);
        c = net::csum_update32(c, old_addr, addr);
        c = net::csum_update16(c, old_port, port);
        put16(q.l4 + net::kTcpCsum, c, ic);
      }
      put16(q.l4 + (src ? net::kL4Sport : net::kL4Dport), port, ic);
      break;
    }
    case net::kProtoUdp: {
      uint16_t old_port = src ? q.sport : q.dport;
      uint16_t c = load16(q.l4 + net::kUdpCsum);
      if (c != 0) {
        c = net::csum_update32(c, old_addr, addr);
        c = net::csum_update16(c, old_port, port);
        put16(q.l4 + net::kUdpCsum, c == 0 ? 0xffff : c, ic);
      }
      put16(q.l4 + (src ? net::kL4Sport : net::kL4Dport), port, ic);
      break;
    }
    default: {  // ICMP echo (parse_quoted checked): id and the quoted ICMP checksum
      uint16_t c = load16(q.l4 + net::kIcmpCsum);
      c = net::csum_update16(c, q.sport, port);
      put16(q.l4 + net::kIcmpCsum, c, ic);
      put16(q.l4 + net::kIcmpId, port, ic);
      break;
    }
  }
  store16(p.l4 + net::kIcmpCsum, ic);
}

}  // namespace

struct NatTable::Impl {
  TableParams params;
  TableStats stats;
  rte_hash* in_h = nullptr;
  rte_hash* out_h = nullptr;
  rte_hash* map_h = nullptr;
  Session* sessions = nullptr;
  SessionCold* cold = nullptr;  // [max_sessions], parallel to sessions
  uint32_t free_head = kNil;
  uint32_t head[kClasses];
  uint32_t tail[kClasses];
  uint64_t timeout_ms[kClasses];
  PortPool pools[3];
  uint8_t expire_start = 0;

  ~Impl() {
    rte_hash_free(in_h);
    rte_hash_free(out_h);
    rte_hash_free(map_h);
    rte_free(sessions);
    rte_free(cold);
    for (PortPool& pp : pools) {
      rte_free(pp.words);
      rte_free(pp.slots);
    }
  }

  // ---- LRU lists ----
  void unlink(uint32_t i) {
    Session& s = sessions[i];
    if (s.prev != kNil) sessions[s.prev].next = s.next; else head[s.cls] = s.next;
    if (s.next != kNil) sessions[s.next].prev = s.prev; else tail[s.cls] = s.prev;
  }
  void append(uint32_t i) {
    Session& s = sessions[i];
    s.prev = tail[s.cls];
    s.next = kNil;
    if (s.prev != kNil) sessions[s.prev].next = i; else head[s.cls] = i;
    tail[s.cls] = i;
  }
  // Refreshes the session and moves it to the tail of class `cls`.
  void touch(uint32_t i, uint8_t cls, uint64_t now) {
    Session& s = sessions[i];
    s.expire_at = now + timeout_ms[cls];
    if (s.cls == cls && tail[cls] == i) return;
    unlink(i);
    s.cls = cls;
    append(i);
  }

  // ---- sessions ----
  void free_session(uint32_t i) {
    Session& s = sessions[i];
    const SessionCold& c = cold[i];
    InKey ik = in_key(s.proto, s.in_addr, s.in_port, c.remote_addr, c.remote_port);
    OutKey ok = out_key(s.proto, s.ext_port, c.remote_addr, c.remote_port);
    rte_hash_del_key(in_h, &ik);
    rte_hash_del_key(out_h, &ok);
    unlink(i);
    release_mapping(s.pidx, s.ext_port);
    s.proto = 0;
    s.next = free_head;
    free_head = i;
    counter_set(stats.active, stats.active - 1);
  }

  void release_mapping(uint8_t pidx, uint16_t ext_port) {
    PortPool& pp = pools[pidx];
    uint32_t pi = uint32_t(ext_port - params.port_first);
    PortSlot& slot = pp.slots[pi];
    if (--slot.refs == 0) {
      MapKey mk = map_key(pidx == 0 ? net::kProtoTcp : pidx == 1 ? net::kProtoUdp : net::kProtoIcmp,
                          slot.in_addr, slot.in_port);
      rte_hash_del_key(map_h, &mk);
      pp.give(pi);
    }
  }

  // Frees the expired LRU head that expired first, if any (pool full).
  bool reclaim_one(uint64_t now) {
    uint32_t best = kNil;
    for (unsigned c = 0; c < kClasses; ++c) {
      uint32_t h = head[c];
      if (h != kNil && sessions[h].expire_at <= now &&
          (best == kNil || sessions[h].expire_at < sessions[best].expire_at))
        best = h;
    }
    if (best == kNil) return false;
    free_session(best);
    bump(stats.expired);
    return true;
  }

  // Creates a session for inside endpoint in_addr:in_port talking to remote:remote_port.
  // ext_port >= 0: the mapping already exists with that port (filtering from outside).
  Drop create_session(uint8_t proto, net::Ipv4 in_addr, uint16_t in_port, net::Ipv4 remote,
                      uint16_t remote_port, const InKey& ik, hash_sig_t ik_sig, uint64_t now,
                      uint32_t* out) {
    if (free_head == kNil && !reclaim_one(now)) return Drop::nat_table_full;
    int pidx = proto_index(proto);
    PortPool& pp = pools[pidx];

    // Endpoint-independent mapping: reuse the inside endpoint's external port, else allocate.
    MapKey mk = map_key(proto, in_addr, in_port);
    hash_sig_t mk_sig = rte_hash_hash(map_h, &mk);
    void* data = nullptr;
    uint16_t ext_port;
    bool new_mapping = false;
    if (rte_hash_lookup_with_hash_data(map_h, &mk, mk_sig, &data) >= 0) {
      ext_port = uint16_t(uintptr_t(data));
    } else {
      int64_t want = int64_t(in_port) - params.port_first;
      int64_t pi = pp.alloc(want);
      if (pi < 0) return Drop::nat_ports_exhausted;
      ext_port = uint16_t(params.port_first + pi);
      if (rte_hash_add_key_with_hash_data(map_h, &mk, mk_sig, (void*)uintptr_t(ext_port)) < 0) {
        pp.give(uint32_t(pi));
        return Drop::nat_table_full;
      }
      PortSlot& slot = pp.slots[pi];
      slot.in_addr = in_addr;
      slot.in_port = in_port;
      slot.refs = 0;
      new_mapping = true;
    }
    return insert_session(proto, uint8_t(pidx), in_addr, in_port, remote, remote_port, ext_port,
                          ik, ik_sig, new_mapping, now, out);
  }

  Drop insert_session(uint8_t proto, uint8_t pidx, net::Ipv4 in_addr, uint16_t in_port,
                      net::Ipv4 remote, uint16_t remote_port, uint16_t ext_port, const InKey& ik,
                      hash_sig_t ik_sig, bool new_mapping, uint64_t now, uint32_t* out) {
    uint32_t i = free_head;
    PortSlot& slot = pools[pidx].slots[ext_port - params.port_first];
    OutKey ok = out_key(proto, ext_port, remote, remote_port);
    if (rte_hash_add_key_with_hash_data(in_h, &ik, ik_sig, (void*)uintptr_t(i)) < 0) {
      if (new_mapping) {
        ++slot.refs;
        release_mapping(pidx, ext_port);
      }
      return Drop::nat_table_full;
    }
    if (rte_hash_add_key_data(out_h, &ok, (void*)uintptr_t(i)) < 0) {
      rte_hash_del_key_with_hash(in_h, &ik, ik_sig);
      if (new_mapping) {
        ++slot.refs;
        release_mapping(pidx, ext_port);
      }
      return Drop::nat_table_full;
    }
    ++slot.refs;
    Session& s = sessions[i];
    free_head = s.next;
    s.in_addr = in_addr;
    s.in_port = in_port;
    s.ext_port = ext_port;
    s.packets_out = s.bytes_out = s.packets_in = s.bytes_in = 0;
    SessionCold& c = cold[i];
    c.created_ms = now;
    c.remote_addr = remote;
    c.remote_port = remote_port;
    s.proto = proto;
    s.pidx = pidx;
    s.tcp = 0;
    s.cls = proto == net::kProtoTcp ? kTcpTransitory : proto == net::kProtoUdp ? kUdp : kIcmp;
    s.expire_at = now + timeout_ms[s.cls];
    append(i);
    bump(stats.created);
    counter_set(stats.active, stats.active + 1);
    *out = i;
    return Drop::none;
  }

  // TCP state tracking; returns the class the session belongs in after this packet.
  uint8_t tcp_class(uint32_t i, uint8_t flags, bool from_inside) {
    Session& s = sessions[i];
    if (flags & net::kTcpRst) {
      s.tcp |= kRstSeen;
    } else if (from_inside && (flags & (net::kTcpSyn | net::kTcpAck)) == net::kTcpSyn) {
      s.tcp = 0;  // a new connection attempt on this 4-tuple
    }
    if (flags & net::kTcpFin) s.tcp |= from_inside ? kInFin : kOutFin;
    if (flags & net::kTcpAck) s.tcp |= from_inside ? kInAck : kOutAck;
    if (s.tcp & kRstSeen) return kTcpReset;
    if ((s.tcp & (kInFin | kOutFin)) == (kInFin | kOutFin)) return kTcpTransitory;
    if ((s.tcp & (kInAck | kOutAck)) == (kInAck | kOutAck)) return kTcpEstablished;
    return kTcpTransitory;
  }

  uint8_t class_after(uint32_t i, const net::Ipv4Packet& p, bool from_inside) {
    switch (p.proto) {
      case net::kProtoTcp: return tcp_class(i, p.l4[net::kTcpFlags], from_inside);
      case net::kProtoUdp: return kUdp;
      default: return kIcmp;
    }
  }

  // ---- directions ----
  Drop in2out_query(net::Ipv4Packet& p, uint64_t now) {
    // TCP, UDP or ICMP echo request; for ICMP sport = dport = id, remote "port" 0.
    uint16_t rport = p.proto == net::kProtoIcmp ? 0 : p.dport;
    InKey ik = in_key(p.proto, p.src, p.sport, p.dst, rport);
    hash_sig_t sig = rte_hash_hash(in_h, &ik);
    void* data = nullptr;
    uint32_t i;
    if (rte_hash_lookup_with_hash_data(in_h, &ik, sig, &data) >= 0) {
      i = uint32_t(uintptr_t(data));
    } else {
      if (p.proto == net::kProtoTcp && (p.l4[net::kTcpFlags] & net::kTcpRst))
        return Drop::nat_no_session;
      Drop d = create_session(p.proto, p.src, p.sport, p.dst, rport, ik, sig, now, &i);
      if (d != Drop::none) return d;
    }
    touch(i, class_after(i, p, true), now);
    Session& s = sessions[i];
    bump(s.packets_out);
    bump(s.bytes_out, p.total_len);
    rewrite_endpoint(p, true, params.external_ip, s.ext_port);
    return Drop::none;
  }

  Drop out2in_query(net::Ipv4Packet& p, uint64_t now) {
    uint16_t rport = p.proto == net::kProtoIcmp ? 0 : p.sport;
    OutKey ok = out_key(p.proto, p.dport, p.src, rport);
    void* data = nullptr;
    uint32_t i;
    if (rte_hash_lookup_data(out_h, &ok, &data) >= 0) {
      i = uint32_t(uintptr_t(data));
    } else {
      // Endpoint-independent filtering, UDP only: a live mapping admits any remote.
      if (p.proto != net::kProtoUdp) return Drop::nat_no_session;
      if (p.dport < params.port_first || p.dport > params.port_last) return Drop::nat_no_session;
      const PortSlot& slot = pools[1].slots[p.dport - params.port_first];
      if (slot.refs == 0) return Drop::nat_no_session;
      if (free_head == kNil && !reclaim_one(now)) return Drop::nat_table_full;
      if (slot.refs == 0) return Drop::nat_no_session;  // the reclaimed session was its last
      InKey ik = in_key(p.proto, slot.in_addr, slot.in_port, p.src, p.sport);
      hash_sig_t sig = rte_hash_hash(in_h, &ik);
      Drop d = insert_session(p.proto, 1, slot.in_addr, slot.in_port, p.src, p.sport, p.dport, ik,
                              sig, false, now, &i);
      if (d != Drop::none) return d;
    }
    touch(i, class_after(i, p, false), now);
    Session& s = sessions[i];
    bump(s.packets_in);
    bump(s.bytes_in, p.total_len);
    rewrite_endpoint(p, false, s.in_addr, s.in_port);
    return Drop::none;
  }

  // ICMP error from outside about a packet we sent out (quoted src = external endpoint).
  Drop out2in_error(net::Ipv4Packet& p) {
    Quoted q;
    Drop d = parse_quoted(p, &q);
    if (d != Drop::none) return d;
    if (q.src != params.external_ip) return Drop::nat_no_session;
    net::Ipv4 addr;
    uint16_t port;
    const PortForward* f = params.forwards && q.proto != net::kProtoIcmp
                               ? params.forwards->by_external(q.proto, q.sport)
                               : nullptr;
    if (f) {
      addr = f->to_addr;
      port = f->to_port;
    } else {
      uint16_t rport = q.proto == net::kProtoIcmp ? 0 : q.dport;
      OutKey ok = out_key(q.proto, q.sport, q.dst, rport);
      void* data = nullptr;
      if (rte_hash_lookup_data(out_h, &ok, &data) < 0) return Drop::nat_no_session;
      const Session& s = sessions[uintptr_t(data)];
      addr = s.in_addr;
      port = s.in_port;
    }
    rewrite_quoted(p, q, true, addr, port);
    uint16_t ipc = load16(p.ip + net::kIpCsum);
    put32(p.ip + net::kIpDst, addr, ipc);
    store16(p.ip + net::kIpCsum, ipc);
    p.dst = addr;
    bump(stats.icmp_errors);
    return Drop::none;
  }

  // ICMP error from inside about a packet that came in (quoted dst = inside endpoint).
  Drop in2out_error(net::Ipv4Packet& p) {
    Quoted q;
    Drop d = parse_quoted(p, &q);
    if (d != Drop::none) return d;
    uint16_t port;
    const PortForward* f = params.forwards && q.proto != net::kProtoIcmp
                               ? params.forwards->by_internal(q.proto, q.dst, q.dport)
                               : nullptr;
    if (f) {
      port = f->ext_port;
    } else {
      uint16_t rport = q.proto == net::kProtoIcmp ? 0 : q.sport;
      InKey ik = in_key(q.proto, q.dst, q.dport, q.src, rport);
      void* data = nullptr;
      if (rte_hash_lookup_data(in_h, &ik, &data) < 0) return Drop::nat_no_session;
      port = sessions[uintptr_t(data)].ext_port;
    }
    rewrite_quoted(p, q, false, params.external_ip, port);
    uint16_t ipc = load16(p.ip + net::kIpCsum);
    put32(p.ip + net::kIpSrc, params.external_ip, ipc);
    store16(p.ip + net::kIpCsum, ipc);
    p.src = params.external_ip;
    bump(stats.icmp_errors);
    return Drop::none;
  }
};

namespace {

// Minimum L4 bytes the translation touches.
inline bool l4_fits(const net::Ipv4Packet& p) {
  switch (p.proto) {
    case net::kProtoTcp: return p.l4_len >= net::kTcpHdrLen;
    case net::kProtoUdp: return p.l4_len >= net::kUdpHdrLen;
    default: return p.l4_len >= net::kIcmpHdrLen;
  }
}

}  // namespace

std::unique_ptr<NatTable> NatTable::create(const TableParams& params, std::string* error) {
  auto fail = [&](std::string msg) -> std::unique_ptr<NatTable> {
    if (error) *error = "NAT table '" + params.name + "': " + std::move(msg);
    return nullptr;
  };
  // rte_hash derives ring names "HT_EXT_<name>" limited to 29 characters.
  if (params.name.empty() || params.name.size() > 20)
    return fail("name must have 1 to 20 characters");
  if (params.port_first == 0 || params.port_first > params.port_last)
    return fail("port range must be non-empty and start above 0");
  if (params.max_sessions == 0 || params.max_sessions > (1u << 24))
    return fail("max_sessions must be 1..16777216");

  auto impl = std::make_unique<Impl>();
  Impl& t = *impl;
  t.params = params;
  const Timeouts& to = params.timeouts;
  t.timeout_ms[kTcpEstablished] = uint64_t(to.tcp_established_s) * 1000;
  t.timeout_ms[kTcpTransitory] = uint64_t(to.tcp_transitory_s) * 1000;
  t.timeout_ms[kTcpReset] = std::min<uint64_t>(t.timeout_ms[kTcpTransitory], kTcpResetMaxMs);
  t.timeout_ms[kUdp] = uint64_t(to.udp_s) * 1000;
  t.timeout_ms[kIcmp] = uint64_t(to.icmp_s) * 1000;
  for (unsigned c = 0; c < kClasses; ++c) t.head[c] = t.tail[c] = kNil;

  uint32_t entries = std::max<uint32_t>(params.max_sessions, 8);
  struct {
    rte_hash** h;
    const char* suffix;
    uint32_t key_len;
  } hashes[] = {{&t.in_h, "_i", sizeof(InKey)},
                {&t.out_h, "_o", sizeof(OutKey)},
                {&t.map_h, "_m", sizeof(MapKey)}};
  for (auto& hd : hashes) {
    std::string name = params.name + hd.suffix;
    rte_hash_parameters hp{};
    hp.name = name.c_str();
    hp.entries = entries;
    hp.key_len = hd.key_len;
    hp.hash_func = rte_hash_crc;
    hp.hash_func_init_val = 0x9e3779b9;
    hp.socket_id = params.socket_id;
    hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;  // no concurrency flags: one lcore owns it
    *hd.h = rte_hash_create(&hp);
    if (!*hd.h)
      return fail("rte_hash_create(" + name + "): " + rte_strerror(rte_errno) +
                  (rte_errno == EEXIST ? " (name already in use)" : ""));
  }

  t.sessions = static_cast<Session*>(rte_zmalloc_socket(
      "nat_sessions", sizeof(Session) * size_t(params.max_sessions), 64, params.socket_id));
  t.cold = static_cast<SessionCold*>(rte_zmalloc_socket(
      "nat_sessions_cold", sizeof(SessionCold) * size_t(params.max_sessions), 64,
      params.socket_id));
  if (!t.sessions || !t.cold) return fail("cannot allocate the session pool");
  for (uint32_t i = params.max_sessions; i-- > 0;) {
    t.sessions[i].next = t.free_head;
    t.free_head = i;
  }

  uint32_t n = uint32_t(params.port_last) - params.port_first + 1;
  uint32_t nwords = (n + 63) / 64;
  for (int pi = 0; pi < 3; ++pi) {
    PortPool& pp = t.pools[pi];
    pp.n = n;
    pp.words = static_cast<uint64_t*>(
        rte_zmalloc_socket("nat_ports", sizeof(uint64_t) * nwords, 64, params.socket_id));
    pp.slots = static_cast<PortSlot*>(
        rte_zmalloc_socket("nat_slots", sizeof(PortSlot) * n, 64, params.socket_id));
    if (!pp.words || !pp.slots) return fail("cannot allocate the port pools");
    uint8_t proto = pi == 0 ? net::kProtoTcp : pi == 1 ? net::kProtoUdp : net::kProtoIcmp;
    for (uint32_t i = 0; i < n; ++i) {
      uint16_t port = uint16_t(params.port_first + i);
      if (pi < 2 && params.forwards && params.forwards->by_external(proto, port)) continue;
      pp.give(i);
    }
  }
  return std::unique_ptr<NatTable>(new NatTable(std::move(impl)));
}

NatTable::NatTable(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NatTable::~NatTable() = default;

Drop NatTable::inside_to_outside(net::Ipv4Packet& p, uint64_t now_ms) {
  Impl& t = *impl_;
  switch (p.proto) {
    case net::kProtoTcp:
    case net::kProtoUdp:
      if (!l4_fits(p)) return Drop::l4_truncated;
      if (t.params.forwards) {
        if (const PortForward* f = t.params.forwards->by_internal(p.proto, p.src, p.sport)) {
          rewrite_endpoint(p, true, t.params.external_ip, f->ext_port);
          bump(t.stats.forwarded_out);
          return Drop::none;
        }
      }
      return t.in2out_query(p, now_ms);
    case net::kProtoIcmp:
      if (!l4_fits(p)) return Drop::l4_truncated;
      if (p.icmp_type == net::kIcmpEchoRequest) return t.in2out_query(p, now_ms);
      if (is_icmp_error(p.icmp_type)) return t.in2out_error(p);
      return Drop::icmp_unsupported;
    default:
      return Drop::l4_unsupported;
  }
}

Drop NatTable::outside_to_inside(net::Ipv4Packet& p, uint64_t now_ms) {
  Impl& t = *impl_;
  switch (p.proto) {
    case net::kProtoTcp:
    case net::kProtoUdp:
      if (!l4_fits(p)) return Drop::l4_truncated;
      if (p.dst != t.params.external_ip) return Drop::nat_no_session;
      if (t.params.forwards) {
        if (const PortForward* f = t.params.forwards->by_external(p.proto, p.dport)) {
          rewrite_endpoint(p, false, f->to_addr, f->to_port);
          bump(t.stats.forwarded_in);
          return Drop::none;
        }
      }
      return t.out2in_query(p, now_ms);
    case net::kProtoIcmp:
      if (!l4_fits(p)) return Drop::l4_truncated;
      if (p.dst != t.params.external_ip) return Drop::nat_no_session;
      if (p.icmp_type == net::kIcmpEchoReply) return t.out2in_query(p, now_ms);
      if (is_icmp_error(p.icmp_type)) return t.out2in_error(p);
      return Drop::icmp_unsupported;
    default:
      return Drop::l4_unsupported;
  }
}

unsigned NatTable::expire(uint64_t now_ms, unsigned budget) {
  Impl& t = *impl_;
  unsigned done = 0;
  // Rotate the first class so that no class starves another under a small budget.
  unsigned start = t.expire_start;
  t.expire_start = uint8_t((start + 1) % kClasses);
  for (unsigned k = 0; k < kClasses && done < budget; ++k) {
    unsigned c = (start + k) % kClasses;
    while (done < budget) {
      uint32_t h = t.head[c];
      if (h == kNil || t.sessions[h].expire_at > now_ms) break;
      t.free_session(h);
      ++done;
    }
  }
  if (done) bump(t.stats.expired, done);
  return done;
}

namespace {

// The listing's view of the TCP flags the table tracks (session_info.hpp).
TcpState tcp_state(const Session& s) {
  if (s.proto != net::kProtoTcp) return TcpState::none;
  if (s.tcp & kRstSeen) return TcpState::reset;
  uint8_t fins = s.tcp & (kInFin | kOutFin);
  if (fins == (kInFin | kOutFin)) return TcpState::closed;
  if (fins) return TcpState::closing;
  if ((s.tcp & (kInAck | kOutAck)) == (kInAck | kOutAck)) return TcpState::established;
  return TcpState::opening;
}

}  // namespace

uint32_t NatTable::scan(uint32_t* cursor, uint32_t budget, uint64_t now_ms, SessionVisitor fn,
                        void* ctx) const {
  const Impl& t = *impl_;
  const uint32_t n = t.params.max_sessions;
  const uint32_t first = *cursor < n ? *cursor : 0;
  const uint32_t end = n - first > budget ? first + budget : n;
  for (uint32_t i = first; i < end; ++i) {
    const Session& s = t.sessions[i];
    if (s.proto == 0 || s.expire_at <= now_ms) continue;  // free, or expired and not yet reaped
    const SessionCold& c = t.cold[i];
    SessionInfo info;
    info.proto = s.proto;
    info.tcp_state = uint8_t(tcp_state(s));
    info.inside_ip = s.in_addr;
    info.remote_ip = c.remote_addr;
    info.external_ip = t.params.external_ip;
    info.inside_port = s.in_port;
    info.remote_port = c.remote_port;
    info.external_port = s.ext_port;
    info.created_ms = c.created_ms;
    // touch() sets expire_at = last packet + the timeout of the class it moves the session to.
    info.last_ms = s.expire_at - t.timeout_ms[s.cls];
    info.packets_out = s.packets_out;
    info.bytes_out = s.bytes_out;
    info.packets_in = s.packets_in;
    info.bytes_in = s.bytes_in;
    fn(info, ctx);
  }
  *cursor = end == n ? 0 : end;
  return end - first;
}

const TableStats& NatTable::stats() const { return impl_->stats; }
const TableParams& NatTable::params() const { return impl_->params; }

bool outside_key_port(const net::Ipv4Packet& p, uint16_t* port) {
  switch (p.proto) {
    case net::kProtoTcp:
    case net::kProtoUdp:
      *port = p.dport;
      return true;
    case net::kProtoIcmp: {
      if (p.icmp_type == net::kIcmpEchoReply) {
        *port = p.dport;
        return true;
      }
      if (!is_icmp_error(p.icmp_type)) return false;
      Quoted q;
      if (parse_quoted(p, &q) != Drop::none) return false;
      *port = q.sport;
      return true;
    }
    default:
      return false;
  }
}

}  // namespace mpf::nat
