#include "tunnel/auth.hpp"

#include <sodium.h>

#include <cstring>

namespace mpf::tunnel {

namespace {
// Written once by crypto_init(), then only read: the direct GCM calls keep no state in it.
IMB_MGR* g_mgr = nullptr;
IMB_ARCH g_arch = IMB_ARCH_NONE;
}  // namespace

std::string crypto_init() {
  if (sodium_init() < 0) return "libsodium failed to initialise";
  if (g_mgr) return {};
  IMB_MGR* m = alloc_mb_mgr(0);
  if (!m) return "intel-ipsec-mb: cannot allocate its manager";
  init_mb_mgr_auto(m, &g_arch);
  if (imb_get_errno(m) != 0) {
    std::string why = std::string("intel-ipsec-mb: ") + imb_get_strerror(imb_get_errno(m));
    free_mb_mgr(m);
    return why;
  }
  g_mgr = m;
  return {};
}

const char* crypto_arch() {
  switch (g_arch) {
    case IMB_ARCH_NOAESNI: return "no AES-NI";
    case IMB_ARCH_SSE: return "SSE";
    case IMB_ARCH_AVX: return "AVX";
    case IMB_ARCH_AVX2: return "AVX2";
    case IMB_ARCH_AVX512: return "AVX512";
    default: return "none";
  }
}

std::optional<Key> parse_key(std::string_view hex) {
  if (hex.size() != 2 * kKeyLen) return std::nullopt;
  Key k{};
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < kKeyLen; i++) {
    const int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    k[i] = uint8_t(hi << 4 | lo);
  }
  return k;
}

Salt random_salt() {
  Salt s;
  randombytes_buf(s.data(), s.size());
  return s;
}

Nonce make_nonce(uint8_t type, uint8_t sender, uint8_t path_id, uint64_t counter) {
  Nonce n{};
  n[0] = type;
  n[1] = sender;
  n[2] = path_id;
  for (int i = 0; i < 8; i++) n[4 + i] = uint8_t(counter >> (56 - 8 * i));
  return n;
}

uint64_t extend_counter(uint64_t last, uint32_t low) {
  const uint64_t c = (last & ~uint64_t(0xffffffff)) | low;
  const int32_t d = int32_t(low - uint32_t(last));  // serial distance, -2^31 .. 2^31-1
  if (d >= 0 && c < last) return c + (uint64_t(1) << 32);   // low wrapped forward past 2^32
  if (d < 0 && c > last && c >= (uint64_t(1) << 32)) return c - (uint64_t(1) << 32);  // behind, before the wrap
  return c;
}

Sealer::Sealer(const Key& psk, Direction dir, const Salt& salt) {
  static constexpr char kLabel[2][11] = {"mpf-v3 g2s", "mpf-v3 s2g"};
  uint8_t msg[10 + kSaltLen];
  std::memcpy(msg, kLabel[dir == Direction::server_to_gateway], 10);
  std::memcpy(msg + 10, salt.data(), kSaltLen);
  uint8_t k[kKeyLen];
  crypto_generichash(k, sizeof k, msg, sizeof msg, psk.data(), psk.size());
  IMB_AES256_GCM_PRE(g_mgr, k, &key_);
  sodium_memzero(k, sizeof k);
}

// No plaintext, only associated data (header and payload): the tag is a GMAC. (The GCM call with
// the data as AAD ran faster here than the GMAC API.)
void Sealer::seal(const Nonce& nonce, const uint8_t* data, size_t len, uint8_t* tag) const {
  gcm_context_data ctx;
  uint8_t none[1] = {0};
  IMB_AES256_GCM_ENC(g_mgr, &key_, &ctx, none, none, 0, nonce.data(), data, len, tag, kTagLen);
}

bool Sealer::open(const Nonce& nonce, const uint8_t* data, size_t len, const uint8_t* tag) const {
  uint8_t want[kTagLen];
  seal(nonce, data, len, want);
  return sodium_memcmp(want, tag, kTagLen) == 0;  // constant time
}

}  // namespace mpf::tunnel
