#include "tunnel/auth.hpp"

#include <cstring>

namespace mpf::tunnel {

std::string crypto_init() {
  if (sodium_init() < 0) return "libsodium failed to initialise";
  if (!crypto_aead_aes256gcm_is_available())
    return "this CPU lacks AES-NI or PCLMULQDQ, which tunnel authentication (AES-256-GCM) needs";
  return {};
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
  static constexpr char kLabel[2][11] = {"mpf-v2 g2s", "mpf-v2 s2g"};
  uint8_t msg[10 + kSaltLen];
  std::memcpy(msg, kLabel[dir == Direction::server_to_gateway], 10);
  std::memcpy(msg + 10, salt.data(), kSaltLen);
  uint8_t k[crypto_aead_aes256gcm_KEYBYTES];
  crypto_generichash(k, sizeof k, msg, sizeof msg, psk.data(), psk.size());
  crypto_aead_aes256gcm_beforenm(&st_, k);
  sodium_memzero(k, sizeof k);
}

void Sealer::seal(const Nonce& nonce, const uint8_t* data, size_t len, uint8_t* tag) const {
  // No message, only associated data (header and payload): the tag is a GMAC. libsodium wants
  // non-null buffers even for 0 bytes.
  uint8_t none[1] = {0};
  unsigned long long tag_len = 0;
  crypto_aead_aes256gcm_encrypt_detached_afternm(none, tag, &tag_len, none, 0, data, len, nullptr,
                                                 nonce.data(), &st_);
}

bool Sealer::open(const Nonce& nonce, const uint8_t* data, size_t len, const uint8_t* tag) const {
  uint8_t none[1] = {0};
  return crypto_aead_aes256gcm_decrypt_detached_afternm(none, nullptr, none, 0, tag, data, len,
                                                        nonce.data(), &st_) == 0;
}

}  // namespace mpf::tunnel
