// A layer whose `name` differs from its spec's (wrong_name.ioa).
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class WrongName {
public:
  static constexpr std::string_view name = "Wrong_Name";
  using Header = NoHeader;

  std::uint64_t passed = 0;
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::WrongName, passed);
