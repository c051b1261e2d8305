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

namespace detail {

// put() beyond two bytes.
template <std::unsigned_integral T>
[[gnu::noinline]] std::byte* put_long(std::byte* out, T v) {
  while (v >= 0x80) {
    *out++ = static_cast<std::byte>((v & 0x7F) | 0x80);
    v = static_cast<T>(v >> 7);
  }
  *out++ = static_cast<std::byte>(v);
  return out;
}

// get() beyond its fast cases: any length, every check.
template <std::unsigned_integral T>
[[gnu::noinline]] bool get_long(const std::byte*& at, const std::byte* end, T& v) {
  if (end <= at) return false;
  const auto left = static_cast<std::size_t>(end - at);
  T value = 0;
  for (std::size_t i = 0; i < left && i < kMaxBytes<T>; ++i) {
    const auto b = static_cast<unsigned>(at[i]);
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

} // namespace detail

// Writes `v` at `out`; returns the byte after it. One to three bytes, the common cases, are
// written in line, without a loop.
template <std::unsigned_integral T>
[[gnu::always_inline]] inline std::byte* put(std::byte* out, T v) {
  if (v < 0x80) {
    *out = static_cast<std::byte>(v);
    return out + 1;
  }
  if (v < 0x4000) {
    out[0] = static_cast<std::byte>((v & 0x7F) | 0x80);
    out[1] = static_cast<std::byte>(v >> 7);
    return out + 2;
  }
  if (sizeof(T) >= 4 && v < 0x200000) {
    out[0] = static_cast<std::byte>((v & 0x7F) | 0x80);
    out[1] = static_cast<std::byte>(((v >> 7) & 0x7F) | 0x80);
    out[2] = static_cast<std::byte>(v >> 14);
    return out + 3;
  }
  return detail::put_long(out, v);
}

// Reads a value of type T from `at`, no further than `end`, and moves `at` past it; false (`at`
// and `v` untouched) if the bytes end first, the value does not fit in T, or the encoding is not
// the shortest one. One to three bytes are read in line.
template <std::unsigned_integral T>
[[nodiscard, gnu::always_inline]] inline bool get(const std::byte*& at, const std::byte* end,
                                                  T& v) {
  const std::ptrdiff_t left = end - at;
  if (left >= 1 && static_cast<unsigned>(at[0]) < 0x80) {
    v = static_cast<T>(at[0]);
    at += 1;
    return true;
  }
  // A second byte of 0 would be a longer encoding than needed.
  if (sizeof(T) > 1 && left >= 2 && static_cast<unsigned>(at[1]) - 1 < 0x7F) {
    v = static_cast<T>((static_cast<unsigned>(at[0]) & 0x7FU) |
                       (static_cast<unsigned>(at[1]) << 7));
    at += 2;
    return true;
  }
  // Three bytes (a counter past 16,383), into a type that holds 21 bits; a third byte of 0
  // would be a longer encoding than needed.
  if (sizeof(T) >= 4 && left >= 3 && static_cast<unsigned>(at[1]) >= 0x80 &&
      static_cast<unsigned>(at[2]) - 1 < 0x7F) {
    v = static_cast<T>((static_cast<unsigned>(at[0]) & 0x7FU) |
                       ((static_cast<unsigned>(at[1]) & 0x7FU) << 7) |
                       (static_cast<unsigned>(at[2]) << 14));
    at += 3;
    return true;
  }
  return detail::get_long(at, end, v);
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
