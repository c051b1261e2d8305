#include "runtime/layer.hpp"

namespace lamina {

std::string Guarantees::names() const {
  std::string out;
  auto add = [&](Guarantee g, const char* name) {
    if (covers(g)) out += out.empty() ? name : std::string(", ") + name;
  };
  add(Guarantee::integrity, "integrity");
  add(Guarantee::reliable, "reliable");
  add(Guarantee::fifo, "fifo");
  return out.empty() ? "nothing" : out;
}

} // namespace lamina
