#include "difftest/packet.hpp"

#include <fmt/format.h>
#include <optional>

#include "runtime/hex.hpp"
#include "spec/ast.hpp"

namespace lamina::difftest {

PacketDecoder::PacketDecoder(const StackDecl& stack) {
  const spec::Stack* s = stack.program->stack(stack.stack);
  if (s == nullptr) return;
  for (auto it = s->layers.rbegin(); it != s->layers.rend(); ++it) {
    const spec::Layer* l = stack.program->layer(it->layer);
    if (l == nullptr || l->headers.empty() || !l->headers.front().resolved) continue;
    Level level{l->name, l->headers.front().name, l->headers.front().resolved.get(), {}};
    std::string why;
    if (spec::header_layout(*level.type, level.layout, why)) levels_.push_back(std::move(level));
  }
}

namespace {

std::string bytes_text(std::span<const std::byte> b) { return lamina::bytes_text(b, 16); }

} // namespace

PacketDecoder::Difference PacketDecoder::first_difference(std::span<const std::byte> a,
                                                          std::span<const std::byte> b) const {
  // Outer headers cover what is inside them (a checksum changes with any byte it covers), so
  // the innermost difference is the one to show: the payload's, else the innermost header's.
  std::optional<Difference> innermost;
  std::size_t at = 0;
  for (const Level& l : levels_) {
    const bool in_a = a.size() >= at + l.layout.size;
    const bool in_b = b.size() >= at + l.layout.size;
    if (!in_a && !in_b) break;
    if (in_a != in_b)
      return {l.layer, l.header, in_a ? "a header" : "(the packet ends)",
              in_b ? "a header" : "(the packet ends)"};
    const spec::Value va = spec::decode_header(a.subspan(at), l.layout);
    const spec::Value vb = spec::decode_header(b.subspan(at), l.layout);
    for (std::size_t f = 0; f < l.type->fields.size(); ++f) {
      const auto& [name, type] = l.type->fields[f];
      if (va.items()[f] == vb.items()[f]) continue;
      innermost = {l.layer, l.header + "." + name, spec::to_string(va.items()[f], *type),
                   spec::to_string(vb.items()[f], *type)};
      break;
    }
    at += l.layout.size;
  }
  const auto pa = a.subspan(std::min(at, a.size()));
  const auto pb = b.subspan(std::min(at, b.size()));
  std::size_t i = 0;
  while (i < pa.size() && i < pb.size() && pa[i] == pb[i]) ++i;
  if (i < pa.size() || i < pb.size() || !innermost)
    return {"", fmt::format("payload byte {}", i), bytes_text(pa.subspan(i)),
            bytes_text(pb.subspan(i))};
  return *innermost;
}

std::string PacketDecoder::describe(std::span<const std::byte> packet) const {
  std::string out;
  std::size_t at = 0;
  for (const Level& l : levels_) {
    if (packet.size() < at + l.layout.size) break;
    const spec::Value v = spec::decode_header(packet.subspan(at), l.layout);
    fmt::format_to(std::back_inserter(out), "{}{}{}", out.empty() ? "" : " ", l.layer,
                   spec::to_string(v, *l.type));
    at += l.layout.size;
  }
  const std::size_t rest = packet.size() - std::min(at, packet.size());
  fmt::format_to(std::back_inserter(out), ", {}",
                 rest == 0 ? "no payload"
                           : fmt::format("payload {}", bytes_text(packet.subspan(at))));
  return out;
}

std::optional<spec::Value> PacketDecoder::header_of(std::span<const std::byte> packet,
                                                    std::string_view layer) const {
  std::size_t at = 0;
  for (const Level& l : levels_) {
    if (packet.size() < at + l.layout.size) return std::nullopt;
    if (l.layer == layer) return spec::decode_header(packet.subspan(at), l.layout);
    at += l.layout.size;
  }
  return std::nullopt;
}

} // namespace lamina::difftest
