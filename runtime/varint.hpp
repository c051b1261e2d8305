// Integers of variable length, for the compressed headers lamina-opt generates: a counter that
// is small in practice (a sequence number, an id, a Lamport time) takes one byte up to 127, two
// up to 16,383, three up to 2,097,151, and at most one byte more than its type's size.
//
// The encoding is LEB128 (seven bits per byte, least significant first, the top bit set on every
// byte but the last). Only the shortest encoding of a value is read: a decoder that accepted a
// longer one would let two packets stand for one header. A field that is usually close to
// another field of the same header is sent as the difference, zigzag-encoded (0, -1, 1, -2, ...
// as 0, 1, 2, 3, ...) so that a small difference either way is a small number; the difference
// wraps as the unsigned type does, so every pair of values has one.
#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <span>
#include <type_traits>

namespace lamina::varint {

// The most bytes a value of an unsigned type of `type_bytes` bytes takes.
constexpr std::size_t max_bytes(std::size_t type_bytes) { return (type_bytes * 8 + 6) / 7; }
template <std::unsigned_integral T>
inline constexpr std::size_t kMaxBytes = max_bytes(sizeof(T));

// How many bytes `v` takes: one per seven significant bits, one for 0.
template <std::unsigned_integral T>
constexpr std::size_t size(T v) {
  return (static_cast<std::size_t>(std::bit_width(v | 1U)) + 6) / 7;
}

// Writes `v` at `out`; returns the byte after it.
template <std::unsigned_integral T>
std::byte* put(std::byte* out, T v) {
  // One or two bytes, the common cases, straight.
  if (v < 0x80) {
    *out = static_cast<std::byte>(v);
    return out + 1;
  }
  if (v < 0x4000) {
    out[0] = static_cast<std::byte>((v & 0x7F) | 0x80);
    out[1] = static_cast<std::byte>(v >> 7);
    return out + 2;
  }
  while (v >= 0x80) {
    *out++ = static_cast<std::byte>((v & 0x7F) | 0x80);
    v = static_cast<T>(v >> 7);
  }
  *out++ = static_cast<std::byte>(v);
  return out;
}

// Reads a value of type T from `in` at `at`, and moves `at` past it; false (`at` and `v`
// untouched) if the bytes end first, the value does not fit in T, or the encoding is not the
// shortest one.
template <std::unsigned_integral T>
[[nodiscard]] bool get(std::span<const std::byte> in, std::size_t& at, T& v) {
  const std::size_t left = at <= in.size() ? in.size() - at : 0;
  // One or two bytes, the common cases, straight.
  if (left >= 1 && static_cast<unsigned>(in[at]) < 0x80) {
    v = static_cast<T>(in[at]);
    ++at;
    return true;
  }
  if (sizeof(T) > 1 && left >= 2 && static_cast<unsigned>(in[at + 1]) - 1 < 0x7F) {
    v = static_cast<T>((static_cast<unsigned>(in[at]) & 0x7FU) |
                       (static_cast<unsigned>(in[at + 1]) << 7));
    at += 2;
    return true;
  }
  T value = 0;
  for (std::size_t i = 0; i < left && i < kMaxBytes<T>; ++i) {
    const auto b = static_cast<unsigned>(in[at + i]);
    value = static_cast<T>(value | static_cast<T>(static_cast<T>(b & 0x7FU) << (7 * i)));
    if (b < 0x80) {
      // The last byte: not 0 unless it is the only one (a longer encoding than needed), and, in
      // the longest encoding, only the bits that are left.
      if ((b == 0 && i > 0) || (i == kMaxBytes<T> - 1 && b >> (sizeof(T) * 8 - 7 * i) != 0))
        return false;
      at += i + 1;
      v = value;
      return true;
    }
  }
  return false;
}

// `a - b` as a small number when they are close, either way round.
template <std::unsigned_integral T>
constexpr T zigzag(T a, T b) {
  const auto d = static_cast<std::make_signed_t<T>>(static_cast<T>(a - b));
  return static_cast<T>(static_cast<T>(static_cast<T>(d) << 1) ^
                        static_cast<T>(d >> (sizeof(T) * 8 - 1)));
}

// The `a` that zigzag(a, b) was made from.
template <std::unsigned_integral T>
constexpr T unzigzag(T z, T b) {
  const auto d = static_cast<T>(static_cast<T>(z >> 1) ^ static_cast<T>(-static_cast<T>(z & 1U)));
  return static_cast<T>(b + d);
}

} // namespace lamina::varint
