// LAMBDAINHELPER (a test layer for lamina-opt): passes everything on, counting what it sends
// through a helper whose body uses a lambda that captures, outside the dialect. The helper
// cannot be inlined (its parameter is spelled in the lambda, which is kept as written), and the
// warning names the lambda, where it is, not only the call (Arq's take_ack once met this and
// said only "could not inline"). Read by ../../dialect_capturing_lambda.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class LambdaInHelper {
public:
  static constexpr std::string_view name = "LambdaInHelper";

  using Header = NoHeader;

  std::uint64_t sent = 0; // messages taken down

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    const std::uint64_t step = 1;
    add(step + 0);
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }

private:
  void add(std::uint64_t step) {
    const auto bump = [&] { sent += step; };
    bump();
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::LambdaInHelper, sent);
