// Frame authentication (docs/protocol.md, section 6): every frame carries a 12-byte AES-256-GCM
// tag (the first 12 bytes of GCM's tag, as RFC 4106 allows) over its mpf header and payload
// (GMAC: the payload is authenticated, not encrypted).
//
// Keys. Each tunnel has a pre-shared 32-byte key (config `key`, 64 hex digits). Each appliance
// draws a random 16-byte salt when it starts (its session, named on the wire by the header's
// epoch); what it sends in that session is tagged with
//   BLAKE2b-256(key = PSK, message = "mpf-v3 g2s" or "mpf-v3 s2g", then the salt).
// A fresh salt per start means a fresh key, so counters that restart at 0 never repeat a nonce
// under one key. The salt travels in clear in the sender's probes (gateway) and probe replies
// (server); the receiver derives the key from it and checks that frame's own tag with it.
//
// Nonces (12 bytes, unique per key): frame type, sending lcore (stream_id >> 8), path_id, 0,
// then a 64-bit counter the sender keeps per (type, lcore, path) and carries the low 32 bits of
// in path_seq. The receiver restores the high bits from the last counter it verified on that
// stream (extend_counter), as IPsec's extended sequence numbers do.
//
// AES-GCM comes from intel-ipsec-mb (the library DPDK's and VPP's IPsec use: AVX-512 VAES on
// CPUs that have it, 4x libsodium's speed on a 1400-byte frame here; plain SSE where AES-NI is
// missing), BLAKE2b and the CSPRNG from libsodium.
//
// Everything here is allocation-free after construction; seal() and open() may run per packet
// on any lcore at once (the key is read-only).
#pragma once
#include <intel-ipsec-mb.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tunnel/wire.hpp"

namespace mpf::tunnel {

constexpr size_t kKeyLen = 32;
constexpr size_t kSaltLen = 16;
constexpr size_t kTagLen = 12;
static_assert(kTagLen == kFrameTagLen);
constexpr size_t kNonceLen = 12;
using Key = std::array<uint8_t, kKeyLen>;
using Salt = std::array<uint8_t, kSaltLen>;
using Nonce = std::array<uint8_t, kNonceLen>;

// The sending lcore in a nonce and in stream_id's high byte for frames the main lcore sends
// (probes, probe replies); workers use their index, 0..7.
constexpr uint8_t kMainSender = 0xff;

// Initialises libsodium and intel-ipsec-mb (the code for this CPU). Returns an empty string,
// or why not. Call once, before any Sealer is made or used.
std::string crypto_init();
// The intel-ipsec-mb code path in use ("AVX512", "AVX2", "SSE", ...), after crypto_init().
const char* crypto_arch();

// 64 hex digits -> key. nullopt for anything else.
std::optional<Key> parse_key(std::string_view hex);

// A random salt (libsodium's CSPRNG: getrandom()).
Salt random_salt();

Nonce make_nonce(uint8_t type, uint8_t sender, uint8_t path_id, uint64_t counter);

// The 64-bit counter whose low 32 bits are `low`, nearest to `last` (the last one verified on
// that stream): within 2^31 either way. 0 is taken as "nothing verified yet".
uint64_t extend_counter(uint64_t last, uint32_t low);

// One session key, expanded once (AES key schedule and GHASH tables).
class Sealer {
 public:
  Sealer() = default;
  // The key of the session (psk, direction, salt).
  Sealer(const Key& psk, Direction dir, const Salt& salt);

  // Writes the tag of data[0, len) under nonce to tag (kTagLen bytes).
  void seal(const Nonce& nonce, const uint8_t* data, size_t len, uint8_t* tag) const;
  // True when tag is data's tag under nonce (constant time).
  bool open(const Nonce& nonce, const uint8_t* data, size_t len, const uint8_t* tag) const;

 private:
  alignas(64) gcm_key_data key_{};
};

}  // namespace mpf::tunnel
