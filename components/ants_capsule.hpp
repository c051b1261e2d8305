// The ANTS packet format (docs/ants.md), shared by the layers of an ANTS node
// (components/ants_*.hpp) and its application side (services/ants/).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "runtime/msg.hpp"

namespace lamina {

// The header of every ANTS packet: 56 bytes, little-endian, no padding.
struct CapsuleHeader {
  enum class Kind : std::uint8_t {
    capsule = 0,   // code to run and its data
    request = 1,   // code distribution: send me the code of `type` from chunk `chunk` on
    chunk = 2,     // code distribution: bytes of the code of `type`, chunk number `chunk`
    unknown = 3,   // code distribution: I do not have the code of `type`
    installed = 4, // inside a node only: code of `type` is cached (AntsCode to AntsExec), or
                   // is given to the node (the application to AntsCode)
    evicted = 5,   // inside a node only: the code of `type` left the cache
    route = 6,     // inside a node only, from the application: the next hop toward `dst` is
                   // `prev` (`dst` itself: straight there)
  };
  static constexpr std::uint8_t kVersion = 1;
  static constexpr std::size_t kTypeOffset = 8;
  static constexpr std::size_t kTypeSize = 32;

  std::uint8_t version;  // kVersion
  Kind kind;             //
  std::uint8_t ttl;      // hops this packet may still take
  std::uint8_t flags;    // none defined: 0
  std::uint16_t app_len; // a capsule: bytes of application header after this header; else 0
  std::uint16_t chunk;   // request, chunk: a chunk number; else 0
  std::array<std::uint8_t, kTypeSize> type; // SHA-256 of the code
  std::uint32_t src;                        // the node that made the packet
  std::uint32_t dst;                        // the node it travels toward
  std::uint32_t prev;                       // a capsule: the last active node that ran it
  std::uint32_t total;                      // chunk, installed: bytes of the whole code; else 0
};
static_assert(sizeof(CapsuleHeader) == 56 && offsetof(CapsuleHeader, type) == 8);

// The header at the front of a packet's bytes; all zeros (version 0, never well formed) if the
// packet is too short to hold one.
inline CapsuleHeader capsule_header(std::span<const std::byte> bytes) {
  CapsuleHeader h{};
  if (bytes.size() >= sizeof h) std::memcpy(&h, bytes.data(), sizeof h);
  return h;
}

// The type of a packet's capsule: its header's bytes 8..39; empty if the packet is too short.
inline std::span<const std::byte> capsule_type(std::span<const std::byte> bytes) {
  if (bytes.size() < CapsuleHeader::kTypeOffset + CapsuleHeader::kTypeSize) return {};
  return bytes.subspan(CapsuleHeader::kTypeOffset, CapsuleHeader::kTypeSize);
}
inline std::span<const std::byte> capsule_type(const Msg& m) { return capsule_type(m.bytes()); }

// Whether a packet from the wire is well formed: a header of this version, a kind that
// travels, no flags; a capsule's application header within it; the code-distribution messages
// of their sizes (a request and an unknown are a header alone, a chunk carries bytes).
inline bool well_formed(const CapsuleHeader& h, std::size_t size) {
  using K = CapsuleHeader::Kind;
  const std::size_t body = size - sizeof(CapsuleHeader);
  if (h.version != CapsuleHeader::kVersion || h.flags != 0) return false;
  switch (h.kind) {
  case K::capsule:
    return h.chunk == 0 && h.total == 0 && h.app_len <= body;
  case K::request:
  case K::unknown:
    return h.app_len == 0 && h.total == 0 && body == 0;
  case K::chunk:
    return h.app_len == 0 && body > 0 && h.total != 0;
  default:
    return false;
  }
}

// Whether a packet from the wire, as its bytes, holds a header and is well formed.
inline bool well_formed(std::span<const std::byte> bytes) {
  return bytes.size() >= sizeof(CapsuleHeader) && well_formed(capsule_header(bytes), bytes.size());
}

} // namespace lamina
