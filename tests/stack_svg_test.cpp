// lamina-opt --svg (optimizer/svg.hpp): whatever the collapse found, the picture is a
// well-formed SVG document that names every layer, every guard term and the header's sizes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "optimizer/svg.hpp"
#include "services/common/spacetime_svg.hpp"
#include "tests/xml_wellformed.hpp"

namespace lamina::opt {
namespace {

using xml_check::svg_problem;

// Text that needs escaping or replacing, mixed with arbitrary strings (any bytes).
rc::Gen<std::string> text() {
  return rc::gen::map(
      rc::gen::container<std::vector<std::string>>(rc::gen::oneOf(
          rc::gen::arbitrary<std::string>(),
          rc::gen::element<std::string>("&", "<=", ">", "\"", "'", "&&", "ev.msg.size()", " ",
                                        "\xC3\xA9", "\xF0\x9F\x95\x90", "\x80", "\xED\xA0\x80",
                                        std::string(1, '\0'), "\t\r\n", std::string(150, 'x')))),
      [](const std::vector<std::string>& parts) {
        std::string s;
        for (const auto& p : parts) s += p;
        return s;
      });
}

// An explanation as the collapse could make it: indices in range, fields inside their headers.
rc::Gen<Explanation> explanation() {
  return rc::gen::exec([] {
    Explanation e;
    const auto n = *rc::gen::inRange<std::size_t>(0, 9);
    for (std::size_t i = 0; i < n; ++i) {
      Explanation::Layer l{*text(), 0, {}};
      for (auto k = *rc::gen::inRange(0, 5); k > 0; --k) {
        const auto gap = *rc::gen::inRange<std::uint32_t>(0, 3);
        const auto size = *rc::gen::inRange<std::uint32_t>(1, 9);
        l.header_fields.push_back({*text(), "std::uint32_t", l.header_size + gap, size});
        l.header_size += gap + size;
      }
      l.header_size += *rc::gen::inRange<std::uint32_t>(0, 3);
      e.layered_header_bytes += l.header_size;
      e.layers.push_back(std::move(l));
    }
    if (n == 0) return e;
    const auto layer = rc::gen::inRange<std::size_t>(0, n);
    for (Explanation::Direction* d : {&e.down, &e.up}) {
      d->collapsed = *rc::gen::arbitrary<bool>();
      const std::size_t from = *layer;
      const std::size_t to = *rc::gen::inRange<std::size_t>(from, n);
      for (std::size_t i = from; i <= to; ++i) d->bypass.push_back(i);
      if (*rc::gen::arbitrary<bool>()) d->ends_at = to;
      for (auto k = *rc::gen::inRange(0, 6); k > 0; --k)
        d->guard_terms.push_back({*layer, *text()});
      for (auto k = *rc::gen::inRange(0, 3); k > 0; --k) d->delayed.push_back({*layer, *text()});
      for (auto k = *rc::gen::inRange(0, 3); k > 0; --k) d->why_not.push_back(*text());
    }
    e.compressed = e.down.collapsed && e.up.collapsed && *rc::gen::arbitrary<bool>();
    e.layered_wire = !e.compressed && *rc::gen::arbitrary<bool>();
    e.compressed_header_bytes = e.compressed ? 1 : e.layered_header_bytes;
    e.compressed_header_min_bytes = e.compressed_header_bytes;
    for (std::size_t i = 0; i < n; ++i)
      for (const HeaderField& f : e.layers[i].header_fields) {
        if (!e.compressed) continue;
        if (*rc::gen::arbitrary<bool>()) {
          // Sent whole, or as a varint of 1 to (size * 8 + 6) / 7 bytes.
          const bool varint = *rc::gen::arbitrary<bool>();
          const std::uint32_t most = varint ? (f.size * 8 + 6) / 7 : f.size;
          e.packed_fields.push_back(
              {i, f.name, most, {}, varint ? 1 : most, varint ? *text() : std::string()});
          e.compressed_header_bytes += most;
          e.compressed_header_min_bytes += varint ? 1 : most;
        } else {
          e.constant_fields.push_back({i, f.name, f.size, *text(), 0, {}});
        }
      }
    return e;
  });
}

RC_GTEST_PROP(StackSvg, EveryExplanationIsDrawnAsAWellFormedSvgDocument, ()) {
  const Explanation e = *explanation();
  const std::string title = *text();
  const std::string svg = stack_svg(e, title, *text());
  if (const auto problem = svg_problem(svg)) RC_FAIL(*problem);
  RC_ASSERT(svg.find(viz::xml_escape("lamina-opt: " + title)) != std::string::npos);
  // Names are not wrapped: each layer's is there whole.
  for (const Explanation::Layer& l : e.layers)
    RC_ASSERT(svg.find(">" + viz::xml_escape(l.name) + "</text>") != std::string::npos);
  RC_ASSERT(svg.find(fmt::format(">layered: {} byte", e.layered_header_bytes)) !=
            std::string::npos);
  const std::string compressed =
      e.compressed_header_min_bytes == e.compressed_header_bytes
          ? fmt::format(">compressed: {} byte", e.compressed_header_bytes)
          : fmt::format(">compressed: {} to {} bytes", e.compressed_header_min_bytes,
                        e.compressed_header_bytes);
  RC_ASSERT((svg.find(compressed) != std::string::npos) == e.compressed);
}

// A guard term short enough for one line is drawn in its layer's row, beside its box: at the
// height of the layer's name, or under it.
TEST(StackSvg, AGuardTermStandsInItsLayersRow) {
  Explanation e;
  e.layers = {{"Top", 0, {}}, {"Seqno", 4, {{"seq", "std::uint32_t", 0, 4}}}, {"Bottom", 1, {}}};
  e.layered_header_bytes = 5;
  e.down.collapsed = true;
  e.down.bypass = {0, 1, 2};
  e.down.guard_terms = {{1, "seq < window"}};
  e.up.collapsed = false;
  e.up.why_not = {"Seqno::up: it calls a virtual function"};
  const std::string svg = stack_svg(e, "stack S of s.ioa", "Top:Seqno:Bottom");
  ASSERT_EQ(svg_problem(svg), std::nullopt);
  auto y_of = [&](const std::string& text) {
    const std::size_t at = svg.find(">" + text + "</text>");
    EXPECT_NE(at, std::string::npos) << text;
    const std::size_t y = svg.rfind(" y=\"", at);
    return std::stod(svg.substr(y + 4));
  };
  EXPECT_EQ(y_of("seq &lt; window"), y_of("Seqno"));
  EXPECT_LT(y_of("Top"), y_of("Seqno"));
  EXPECT_LT(y_of("Seqno"), y_of("Bottom"));
  EXPECT_NE(svg.find(">Seqno::up: it calls a virtual function</text>"), std::string::npos);
  EXPECT_NE(svg.find(">layered: 5 bytes</text>"), std::string::npos);
}

} // namespace
} // namespace lamina::opt
