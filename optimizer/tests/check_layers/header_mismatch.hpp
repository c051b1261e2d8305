// Layers whose Header differs from the spec's header (header_mismatch.ioa): a field's name, a
// field's type, the order, the layout; and a spec with two headers.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class HeaderName {
public:
  static constexpr std::string_view name = "HeaderName";
  struct Header {
    std::uint8_t kind;
    std::uint8_t unused[3];
    std::uint32_t ident;
  };
  std::uint64_t passed = 0;
};

class HeaderType {
public:
  static constexpr std::string_view name = "HeaderType";
  enum class Kind : std::uint16_t { data, ack };
  struct Header {
    Kind kind;
    std::uint8_t unused[2];
    std::uint32_t id;
  };
  std::uint64_t passed = 0;
};

class HeaderOrder {
public:
  static constexpr std::string_view name = "HeaderOrder";
  struct Header {
    std::uint8_t kind;
    std::uint8_t unused[3];
    std::uint32_t id;
  };
  std::uint64_t passed = 0;
};

class HeaderLayout {
public:
  static constexpr std::string_view name = "HeaderLayout";
  struct [[gnu::packed]] Header {
    std::uint8_t kind;
    std::uint32_t id;
  };
  std::uint64_t passed = 0;
};

class HeaderTwo {
public:
  static constexpr std::string_view name = "HeaderTwo";
  struct Header {
    std::uint32_t id;
  };
  std::uint64_t passed = 0;
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::HeaderName, passed);
BOOST_HANA_ADAPT_STRUCT(lamina::HeaderType, passed);
BOOST_HANA_ADAPT_STRUCT(lamina::HeaderOrder, passed);
BOOST_HANA_ADAPT_STRUCT(lamina::HeaderLayout, passed);
BOOST_HANA_ADAPT_STRUCT(lamina::HeaderTwo, passed);
