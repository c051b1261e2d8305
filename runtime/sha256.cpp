#include "runtime/sha256.hpp"

#include <cstdlib>
#include <cstring>
#include <sodium.h>

namespace lamina {

Sha256 sha256(std::span<const std::byte> bytes) {
  // sodium_init() picks the fastest implementation for this CPU; it is safe to call again.
  static const bool ready = sodium_init() >= 0;
  if (!ready) std::abort(); // libsodium could not start: nothing here can be named by hash
  static const unsigned char nothing = 0; // an empty span may have no address
  Sha256 out{};
  crypto_hash_sha256(
      out.data(), bytes.empty() ? &nothing : reinterpret_cast<const unsigned char*>(bytes.data()),
      bytes.size());
  return out;
}

bool sha256_is(std::span<const std::byte> bytes, std::span<const std::byte> digest) {
  const Sha256 d = sha256(bytes);
  return digest.size() == d.size() && std::memcmp(digest.data(), d.data(), d.size()) == 0;
}

} // namespace lamina
