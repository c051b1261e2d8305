// KINDS (a test layer for lamina-opt, in the dialect): statements the lowering keeps as written
// on the common path. Its header's kind says what a message is: data goes up; a `note` is
// counted in `notes` by its value; a `tally` counts the bytes of its body into `tallied`. The up
// handler decides the kind with a switch whose `data` case comes after a case that returns; it uses
// `if` with an initialiser, `break` and a range `for`.
#pragma once

#include <cstdint>
#include <map>

#include "runtime/layer.hpp"

namespace lamina {

class Kinds {
public:
  static constexpr std::string_view name = "Kinds";

  enum class Kind : std::uint8_t { note = 0, tally = 1, data = 2 };
  struct Header {
    Kind kind;
    std::uint8_t value;
  };

  std::map<std::uint8_t, std::uint64_t> notes; // notes seen, by value
  std::uint64_t tallied = 0;                   // the bytes of every tally's body
  std::uint64_t dropped_short = 0;             // too short for a header

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header& h) const { return h.kind == Kind::data; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    ev.msg.push(Header{Kind::data, 0});
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.pop(h)) {
      ++dropped_short;
      return;
    }
    switch (h.kind) {
    case Kind::note:
      if (auto it = notes.find(h.value); it != notes.end())
        ++it->second;
      else
        notes.emplace(h.value, 1);
      return;
    case Kind::tally:
      for ([[maybe_unused]] const std::byte b : ev.msg.bytes()) ++tallied;
      break;
    case Kind::data:
      if (auto it = notes.find(h.value); it != notes.end()) ++it->second;
      io.up(ev);
      return;
    }
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Kinds, notes, tallied, dropped_short);
