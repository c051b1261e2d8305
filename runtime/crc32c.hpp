// CRC32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final xor ~0.
//
// The check value, crc32c of the ASCII bytes "123456789", is 0xE3069283. On x86-64 processors
// with SSE4.2 the crc32 instruction computes it; elsewhere Boost.CRC does. The choice is made
// once, on first use, and kept in a function pointer that every later call goes through: a call
// costs one indirect call, with no check that a choice was made.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/split_bytes.hpp"

namespace lamina {

namespace detail {
using CrcExtend = std::uint32_t (*)(std::uint32_t, std::span<const std::byte>);
using CrcSplit = std::uint32_t (*)(SplitBytes);
// The implementations for this processor. Until the first call they point at a function that
// makes the choice, stores it here and runs it; threads that race there store the same choice.
extern constinit std::atomic<CrcExtend> crc_extend;
extern constinit std::atomic<CrcSplit> crc_split;
} // namespace detail

// Continues a CRC32C over more bytes: crc32c_extend(crc32c(a), b) == crc32c(a followed by b),
// and crc32c_extend(0, b) == crc32c(b).
inline std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::byte> bytes) {
  return detail::crc_extend.load(std::memory_order_relaxed)(crc, bytes);
}

// The CRC32C of `bytes`.
inline std::uint32_t crc32c(std::span<const std::byte> bytes) { return crc32c_extend(0, bytes); }

// The CRC32C of `bytes.head` followed by `bytes.tail` (one choice of implementation for both).
inline std::uint32_t crc32c(SplitBytes bytes) {
  return detail::crc_split.load(std::memory_order_relaxed)(bytes);
}

// The two implementations behind crc32c_extend, for tests and benchmarks. crc32c_sse42 may be
// called only when crc32c_sse42_available() is true.
std::uint32_t crc32c_portable(std::uint32_t crc, std::span<const std::byte> bytes);
std::uint32_t crc32c_sse42(std::uint32_t crc, std::span<const std::byte> bytes);
bool crc32c_sse42_available();

} // namespace lamina
