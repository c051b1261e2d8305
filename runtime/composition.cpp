#include "runtime/composition.hpp"

#include <fmt/format.h>

namespace lamina {

std::string Guarantees::names() const {
  std::string out;
  auto add = [&](Guarantee g, const char* name) {
    if (covers(g)) out += out.empty() ? name : std::string(", ") + name;
  };
  add(Guarantee::integrity, "integrity");
  add(Guarantee::reliable, "reliable");
  add(Guarantee::fifo, "fifo");
  add(Guarantee::lamport, "lamport");
  return out.empty() ? "nothing" : out;
}

std::string describe(const Misfit& m, std::span<const LayerFit> layers, std::string_view in) {
  using K = Misfit::Kind;
  const std::string where = in.empty() ? "" : fmt::format(" in {}", in);
  switch (m.kind) {
  case K::none:
    return "";
  case K::empty:
    return "a stack needs at least a Bottom layer";
  case K::top_not_first:
    return fmt::format("{} must be the top layer, but {} is above it{}", layers[m.at].name,
                       layers[m.at - 1].name, where);
  case K::bottom_not_last:
    return fmt::format("{} must be the bottom layer, but {} is below it{}", layers[m.at].name,
                       layers[m.at + 1].name, where);
  case K::need_unmet:
    return fmt::format("{0} needs a {1} channel below it, but no layer below {0}{2} provides it{3}",
                       layers[m.at].name, m.missing.names(), where,
                       m.at + 1 < layers.size()
                           ? fmt::format(" (directly below is {})", layers[m.at + 1].name)
                           : "");
  case K::no_bottom:
    return fmt::format("a stack must end with a bottom layer such as Bottom, but {} ends with {}",
                       in.empty() ? "it" : in, layers[m.at].name);
  }
  return "";
}

} // namespace lamina
