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

} // namespace

std::uint32_t crc32c_portable(std::uint32_t crc, std::span<const std::byte> bytes) {
  BoostCrc32c c(reverse_bits(~crc));
  c.process_bytes(bytes.data(), bytes.size());
  return c.checksum();
}

#if defined(__x86_64__)

bool crc32c_sse42_available() { return __builtin_cpu_supports("sse4.2"); }

namespace {

// The crc32 instruction takes 3 cycles and can start one every cycle, so one stream of it
// runs at a third of its speed. A long buffer is therefore cut into chunks of three blocks of
// kBlock bytes, whose CRCs are computed side by side and then joined: the register is linear
// in its input, so crc(r, A B) = shift(crc(r, A)) ^ crc(0, B), where shift() is what kBlock
// zero bytes do to a register -- a linear map of 32 bits, applied a byte at a time from tables.
constexpr std::size_t kBlock = 128;

struct Shift {
  std::uint32_t table[4][256];
  [[nodiscard]] std::uint32_t operator()(std::uint32_t reg) const {
    return table[0][reg & 0xff] ^ table[1][(reg >> 8) & 0xff] ^ table[2][(reg >> 16) & 0xff] ^
           table[3][reg >> 24];
  }
};

__attribute__((target("sse4.2"))) Shift make_shift() {
  Shift s{};
  for (int k = 0; k < 4; ++k)
    for (std::uint32_t b = 0; b < 256; ++b) {
      std::uint64_t reg = b << (8 * k);
      for (std::size_t i = 0; i < kBlock; i += 8) reg = _mm_crc32_u64(reg, 0);
      s.table[k][b] = static_cast<std::uint32_t>(reg);
    }
  return s;
}

// One stream, eight bytes at a time: all of a short buffer, and the end of a long one.
__attribute__((target("sse4.2"), always_inline)) inline std::uint32_t
crc_serial(std::uint64_t reg, const std::byte* p, std::size_t n) {
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, 8); // unaligned load; the instruction wants little-endian words
    reg = _mm_crc32_u64(reg, word);
  }
  auto reg32 = static_cast<std::uint32_t>(reg);
  for (; n > 0; ++p, --n) reg32 = _mm_crc32_u8(reg32, static_cast<std::uint8_t>(*p));
  return reg32;
}

// A buffer of at least one chunk of 3 * kBlock bytes. Not inlined, so that a short buffer
// does not pay for the registers this needs.
__attribute__((target("sse4.2"), noinline)) std::uint32_t
crc_long(std::uint64_t reg, const std::byte* p, std::size_t n) {
  static const Shift shift = make_shift();
  for (; n >= 3 * kBlock; p += 3 * kBlock, n -= 3 * kBlock) {
    std::uint64_t a = reg;
    std::uint64_t b = 0;
    std::uint64_t c = 0;
    for (std::size_t i = 0; i < kBlock; i += 8) {
      std::uint64_t wa = 0;
      std::uint64_t wb = 0;
      std::uint64_t wc = 0;
      std::memcpy(&wa, p + i, 8);
      std::memcpy(&wb, p + kBlock + i, 8);
      std::memcpy(&wc, p + 2 * kBlock + i, 8);
      a = _mm_crc32_u64(a, wa);
      b = _mm_crc32_u64(b, wb);
      c = _mm_crc32_u64(c, wc);
    }
    reg = shift(shift(static_cast<std::uint32_t>(a)) ^ static_cast<std::uint32_t>(b)) ^
          static_cast<std::uint32_t>(c);
  }
  return crc_serial(reg, p, n);
}

// The register after `bytes`, from `reg`.
__attribute__((target("sse4.2"), always_inline)) inline std::uint32_t
crc_register(std::uint64_t reg, std::span<const std::byte> bytes) {
  if (bytes.size() >= 3 * kBlock) return crc_long(reg, bytes.data(), bytes.size());
  return crc_serial(reg, bytes.data(), bytes.size());
}

// Both pieces in one call: a fused stack's CRC over headers laid out apart from the payload.
// The headers are a few words, taken one at a time: the unrolled loop of crc_serial would spend
// more on its set-up than on them.
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42_split(SplitBytes bytes) {
  std::uint64_t reg = ~std::uint32_t{0};
  const std::byte* p = bytes.head.data();
  std::size_t n = bytes.head.size();
#pragma clang loop unroll(disable)
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, 8);
    reg = _mm_crc32_u64(reg, word);
  }
  if (n != 0) reg = crc_serial(reg, p, n);
  return ~crc_register(reg, bytes.tail);
}

} // namespace

__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc,
                                                             std::span<const std::byte> bytes) {
  return ~crc_register(~crc, bytes);
}

#else

bool crc32c_sse42_available() { return false; }

std::uint32_t crc32c_sse42(std::uint32_t crc, std::span<const std::byte> bytes) {
  return crc32c_portable(crc, bytes);
}

#endif

namespace {

std::uint32_t crc32c_portable_split(SplitBytes bytes) {
  return crc32c_portable(crc32c_portable(0, bytes.head), bytes.tail);
}

std::uint32_t choose_extend(std::uint32_t crc, std::span<const std::byte> bytes) {
  const detail::CrcExtend chosen = crc32c_sse42_available() ? &crc32c_sse42 : &crc32c_portable;
  detail::crc_extend.store(chosen, std::memory_order_relaxed);
  return chosen(crc, bytes);
}

std::uint32_t choose_split(SplitBytes bytes) {
#if defined(__x86_64__)
  const detail::CrcSplit chosen =
      crc32c_sse42_available() ? &crc32c_sse42_split : &crc32c_portable_split;
#else
  const detail::CrcSplit chosen = &crc32c_portable_split;
#endif
  detail::crc_split.store(chosen, std::memory_order_relaxed);
  return chosen(bytes);
}

} // namespace

namespace detail {
constinit std::atomic<CrcExtend> crc_extend{&choose_extend};
constinit std::atomic<CrcSplit> crc_split{&choose_split};
} // namespace detail

} // namespace lamina
