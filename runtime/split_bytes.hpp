// SplitBytes: a sequence of bytes held in two pieces, `head` then `tail`, read as one without
// copying them together.
//
// A fused stack's bypass computes (sending) and checks (receiving) a CRC over the layered headers
// that its compressed header stands for, followed by the payload. It lays those headers out in a
// buffer on the stack and reads the payload where it lies. Pushed onto the message instead, they
// would copy a received message whose buffer is shared (a packet of a bundled datagram shares it
// with the others), and a sent one would drop them again for the compressed header.
//
// A function of a message's bytes may offer an overload that takes a SplitBytes; lamina-opt then
// calls that one where the bytes are split. The overload must return what the function returns on
// the head followed by the tail (crc32c does: runtime/crc32c.hpp).
#pragma once

#include <cstddef>
#include <span>

namespace lamina {

struct SplitBytes {
  std::span<const std::byte> head;
  std::span<const std::byte> tail;

  [[nodiscard]] std::size_t size() const { return head.size() + tail.size(); }
};

} // namespace lamina
