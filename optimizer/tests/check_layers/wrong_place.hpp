// A layer whose place differs from its spec's.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "runtime/layer.hpp"

namespace lamina {

class WrongPlace {
public:
  static constexpr std::string_view name = "WrongPlace";
  static constexpr Place place = Place::top;
  using Header = NoHeader;

  std::uint64_t passed = 0;
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::WrongPlace, passed);
