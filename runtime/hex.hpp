// Bytes as text, for messages to the user: the one way every part of Lamina shows a packet.
#pragma once

#include <cstddef>
#include <fmt/format.h>
#include <iterator>
#include <span>
#include <string>

namespace lamina {

// " 01 02 ff": the first `limit` bytes, then " ..." if there are more.
inline void append_hex(std::string& out, std::span<const std::byte> bytes, std::size_t limit) {
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i)
    fmt::format_to(std::back_inserter(out), " {:02x}", static_cast<unsigned>(bytes[i]));
  if (bytes.size() > limit) out += " ...";
}

// "msg[3: 01 02 ff]", "msg[0]".
inline std::string msg_text(std::span<const std::byte> bytes, std::size_t limit) {
  std::string out = fmt::format("msg[{}", bytes.size());
  if (!bytes.empty()) out += ':';
  append_hex(out, bytes, limit);
  return out + "]";
}

// "3 bytes: 01 02 ff", "0 bytes".
inline std::string bytes_text(std::span<const std::byte> bytes, std::size_t limit) {
  std::string out = fmt::format("{} bytes", bytes.size());
  if (!bytes.empty()) out += ':';
  append_hex(out, bytes, limit);
  return out;
}

} // namespace lamina
