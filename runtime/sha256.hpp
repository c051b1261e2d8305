// SHA-256, by libsodium: the names ANTS gives to capsule code, and the spec language's sha256(m).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace lamina {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(std::span<const std::byte> bytes);

// Whether `digest` (32 bytes) is the SHA-256 of `bytes`.
bool sha256_is(std::span<const std::byte> bytes, std::span<const std::byte> digest);

} // namespace lamina
