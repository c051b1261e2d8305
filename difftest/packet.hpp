// Packets read as their headers: the layered wire format of a stack decoded, outermost header
// (the bottom layer's) first, with each layer's header as its spec declares it. difftest
// reports a packet that differs by the layer, header field and values where it differs.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "difftest/implementation.hpp"
#include "spec/value.hpp"

namespace lamina::difftest {

class PacketDecoder {
public:
  // The headers of the layers of `stack`, from its spec. A layer with several header types is
  // read as its first.
  explicit PacketDecoder(const StackDecl& stack);

  // Where two packets first differ: a header field ("Seqno", "Data.seq", values), or the
  // payload ("", "payload byte 12 of 64", bytes).
  struct Difference {
    std::string layer;
    std::string field;
    std::string left;
    std::string right;
  };
  [[nodiscard]] Difference first_difference(std::span<const std::byte> a,
                                            std::span<const std::byte> b) const;
  // "Bottom{format: 1} Checksum{crc: 3735928559} Retransmit{kind: 1, id: 0}, no payload". A
  // header is read while the bytes left hold it; the rest is payload.
  [[nodiscard]] std::string describe(std::span<const std::byte> packet) const;
  // The header of `layer` in `packet`, if the bytes hold it and every header outside it: a
  // record whose items are the fields in the spec's order. Nothing for a packet that ends
  // before it (an ack of a layer below, say).
  [[nodiscard]] std::optional<spec::Value> header_of(std::span<const std::byte> packet,
                                                     std::string_view layer) const;

private:
  struct Level {
    std::string layer;
    std::string header;
    const spec::Type* type = nullptr;
    spec::HeaderLayout layout;
  };
  std::vector<Level> levels_; // bottom first
};

} // namespace lamina::difftest
