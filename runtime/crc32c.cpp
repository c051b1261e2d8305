#include "runtime/crc32c.hpp"

#include <boost/crc.hpp>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace lamina {
namespace {

using BoostCrc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

// Boost.CRC takes a starting remainder in unreflected bit order, while a finished CRC32C is in
// reflected order; continuing a CRC therefore starts from its register bit-reversed.
std::uint32_t reverse_bits(std::uint32_t x) {
  std::uint32_t r = 0;
  for (int i = 0; i < 32; ++i, x >>= 1) r = (r << 1) | (x & 1u);
  return r;
}

using Implementation = std::uint32_t (*)(std::uint32_t, std::span<const std::byte>);

Implementation choose() { return crc32c_sse42_available() ? &crc32c_sse42 : &crc32c_portable; }

} // namespace

std::uint32_t crc32c_portable(std::uint32_t crc, std::span<const std::byte> bytes) {
  BoostCrc32c c(reverse_bits(~crc));
  c.process_bytes(bytes.data(), bytes.size());
  return c.checksum();
}

#if defined(__x86_64__)

bool crc32c_sse42_available() { return __builtin_cpu_supports("sse4.2"); }

__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc,
                                                             std::span<const std::byte> bytes) {
  std::uint64_t reg = ~crc;
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, 8); // unaligned load; the instruction wants little-endian words
    reg = _mm_crc32_u64(reg, word);
  }
  auto reg32 = static_cast<std::uint32_t>(reg);
  for (; n > 0; ++p, --n) reg32 = _mm_crc32_u8(reg32, static_cast<std::uint8_t>(*p));
  return ~reg32;
}

#else

bool crc32c_sse42_available() { return false; }

std::uint32_t crc32c_sse42(std::uint32_t crc, std::span<const std::byte> bytes) {
  return crc32c_portable(crc, bytes);
}

#endif

std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::byte> bytes) {
  static const Implementation implementation = choose();
  return implementation(crc, bytes);
}

std::uint32_t crc32c(std::span<const std::byte> bytes) { return crc32c_extend(0, bytes); }

} // namespace lamina
