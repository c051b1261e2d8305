// TERNARYHELPER (a test layer for lamina-opt): passes everything on, counting the messages it
// sends in rounds of at most `round` (`round` 0: one round of 1). A helper of one `return c ? a :
// b;` is inlined into a comparison, where it must stay in parentheses (lamina-opt once printed
// `n == 0 ? 1 : n != 1`, which C++ reads as `n == 0 ? 1 : (n != 1)`). Read by
// ../../inline_ternary.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class TernaryHelper {
public:
  static constexpr std::string_view name = "TernaryHelper";

  using Header = NoHeader;

  std::uint64_t round = 0;    // messages a round holds; 0: 1
  std::uint64_t in_round = 0; // messages sent in this round
  std::uint64_t rounds = 0;   // rounds completed

  [[nodiscard]] bool ccp_down(const Event& /*ev*/) const { return true; }
  [[nodiscard]] bool ccp_up(const Event& /*ev*/, const Header& /*h*/) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (++in_round == round_size()) {
      in_round = 0;
      ++rounds;
    }
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }

private:
  [[nodiscard]] std::uint64_t round_size() const { return round == 0 ? 1 : round; }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::TernaryHelper, round, in_round, rounds);
