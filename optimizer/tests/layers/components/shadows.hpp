// SHADOWS (a test layer for lamina-opt): helpers whose parameters are named like the names in
// the arguments they are called with, so that inlining them must rename. `bump(n)` calls
// `twice(n + 1)`, whose parameter is also `n`; `cross(a, b)` calls `minus(b, a)`, whose
// parameters are `a` and `b` the other way round; `tripled(k)` is called with a local `k` and
// declares a `k` of its own; `offset(n + 1, m)` has a parameter `n` and an unused one `n_1`, so
// that `n` must be renamed to something else; `doubling(n)` changes its copy of the caller's
// `n`. Inlined by substituting names as they are written, these would read `n = n + 1`,
// `a * 2 + a`, `k * k`, `doubled += m` and `std::uint64_t n = n`.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class Shadows {
public:
  static constexpr std::string_view name = "Shadows";
  using Header = NoHeader;

  std::uint64_t doubled = 0;  // three times (each message's size plus one), summed
  std::uint64_t weighted = 0; // twice each message's size, plus one, summed
  std::uint64_t scaled = 0;   // three times each message's size, summed
  std::uint64_t twofold = 0;  // twice each message's size, summed

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    const std::uint64_t n = ev.msg.size();
    const std::uint64_t m = n + 1;
    const std::uint64_t k = n;
    bump(n);
    cross(m, n);
    tripled(k);
    offset(n + 1, m);
    doubling(n);
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }

private:
  void bump(std::uint64_t n) { twice(n + 1); }
  void twice(std::uint64_t n) { doubled += 2 * n; }
  void cross(std::uint64_t a, std::uint64_t b) { minus(b, a); }
  void minus(std::uint64_t a, std::uint64_t b) { weighted += a * 2 + b; }
  // `n_1` unused: `n` must not be renamed to it.
  void offset(std::uint64_t n, std::uint64_t n_1) { doubled += n; }
  // A copy that the body changes, of the caller's variable of the same name.
  void doubling(std::uint64_t n) {
    n *= 2;
    twofold += n;
  }
  void tripled(std::uint64_t x) {
    const std::uint64_t k = 3;
    scaled += x * k;
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Shadows, doubled, weighted, scaled, twofold);
