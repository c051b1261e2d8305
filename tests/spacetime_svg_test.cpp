// The space-time diagram writer: every diagram it accepts comes out as a well-formed SVG
// document, whatever its labels hold, and a diagram it cannot draw is refused with a message
// that names the element. The well-formedness checker (xml_wellformed.hpp) is tested first, on
// documents known to be broken, so that a pass means something.
#include <cmath>
#include <gtest/gtest.h>
#include <limits>
#include <rapidcheck/gtest.h>
#include <stdexcept>
#include <string>

#include "services/common/spacetime_svg.hpp"
#include "tests/xml_wellformed.hpp"

namespace lamina::viz {
namespace {

using xml_check::svg_problem;

constexpr const char* kHead = "<svg xmlns=\"http://www.w3.org/2000/svg\">";

TEST(XmlChecker, AcceptsAWellFormedSvg) {
  EXPECT_EQ(svg_problem(std::string("<?xml version=\"1.0\"?>\n<!-- a -->") + kHead +
                        "<g a='1' b=\"&amp;&#60;&#x3E;\"><text>&lt;&apos;&quot;</text><br/>"
                        "<![CDATA[<&]]></g></svg>\n"),
            std::nullopt);
}

TEST(XmlChecker, RejectsWhatIsNotWellFormed) {
  const std::string head = kHead;
  const std::string cases[] = {
      "",                                                  // no root
      head,                                                // never closed
      head + "<g></svg>",                                  // misnested
      head + "</svg><svg/>",                               // two roots
      head + "<g a=1/></svg>",                             // unquoted attribute
      head + "<g a='1' a='2'/></svg>",                     // attribute twice
      head + "<g a='1'b='2'/></svg>",                      // no space between attributes
      head + "<g a='<'/></svg>",                           // < in an attribute
      head + "a & b</svg>",                                // bare &
      head + "&nbsp;</svg>",                               // entity not predefined
      head + "&#1;</svg>",                                 // reference to a control character
      head + "a < b</svg>",                                // bare <
      head + "]]></svg>",                                  // ]]> in text
      head + "<!-- a -- b --></svg>",                      // -- in a comment
      head + "\x01</svg>",                                 // control character
      head + "\xC3</svg>",                                 // UTF-8 cut short
      head + "\xC0\x80</svg>",                             // overlong
      head + "\xED\xA0\x80</svg>",                         // surrogate
      head + "\xEF\xBF\xBF</svg>",                         // U+FFFF
      "<svg></svg>",                                       // no xmlns
      "<svg xmlns='http://example.org/'></svg>",           // another namespace
      "<html xmlns='http://www.w3.org/2000/svg'></html>",  // another root
      head + "</svg> trailing",                            // text after the root
      "<?xml version=\"1.0\"?>" + head + "<?xml x?></svg>" // a second declaration
  };
  for (const std::string& doc : cases) EXPECT_NE(svg_problem(doc), std::nullopt) << doc;
}

Diagram small() {
  Diagram d;
  d.title = "two processes";
  d.processes = {"P", "Q"};
  d.events = {{0, 1, "C=1"}, {1, 3, "C=4"}};
  d.messages = {{0, 1, 1, 3, "m", true}, {1, 4, 1, 4, "to itself", false}};
  d.intervals = {{1, 5, 7, "critical section"}};
  d.notes = {{0, 2, "queue: P1 < Q2"}};
  return d;
}

TEST(SpacetimeSvg, DrawsEveryElement) {
  const std::string svg = to_svg(small());
  EXPECT_EQ(svg_problem(svg), std::nullopt) << svg;
  EXPECT_NE(svg.find("<circle"), std::string::npos);
  EXPECT_NE(svg.find("marker-end=\"url(#arrow-red)\""), std::string::npos); // the highlighted one
  EXPECT_NE(svg.find("<path d=\"M"), std::string::npos);                    // the loop to itself
  EXPECT_NE(svg.find("critical section"), std::string::npos);
  EXPECT_NE(svg.find("queue: P1 &lt; Q2"), std::string::npos);
}

TEST(SpacetimeSvg, DrawsAnEmptyDiagram) {
  EXPECT_EQ(svg_problem(to_svg(Diagram{})), std::nullopt);
  Diagram one;
  one.processes = {"alone"};
  one.events = {{0, 5, "at one time only"}};
  EXPECT_EQ(svg_problem(to_svg(one)), std::nullopt);
}

TEST(SpacetimeSvg, EscapesLabels) {
  EXPECT_EQ(xml_escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  EXPECT_EQ(xml_escape("caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x95\x90"),
            "caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x95\x90"); // UTF-8 kept
  EXPECT_EQ(xml_escape(std::string("\x01\x00\xFF", 3)), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(xml_escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); // a surrogate
  EXPECT_EQ(xml_escape("tab\there\nnewline"), "tab\there\nnewline");
}

// The message of the exception `d` throws.
std::string refusal(const Diagram& d) {
  try {
    (void)to_svg(d);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

TEST(SpacetimeSvg, RefusesBadInputSayingWhichElementAndWhy) {
  Diagram d = small();
  d.messages[1].to = 2;
  EXPECT_EQ(refusal(d), "message 1: its receiver ('to') is process 2, but the diagram has 2 "
                        "processes (numbered from 0)");
  d = small();
  d.events[1].process = 9;
  EXPECT_EQ(refusal(d), "event 1: its process is process 9, but the diagram has 2 processes "
                        "(numbered from 0)");
  d = small();
  d.intervals[0].end = 4;
  EXPECT_EQ(refusal(d), "interval 0: it ends (4) before it begins (5)");
  d = small();
  d.notes[0].time = std::nan("");
  EXPECT_EQ(refusal(d), "note 0: its time is nan, not a finite number");
  d = small();
  d.messages[0].received = std::numeric_limits<double>::infinity();
  EXPECT_EQ(refusal(d), "message 0: the time it was received is inf, not a finite number");
  d = small();
  d.width = 10;
  EXPECT_EQ(refusal(d), "width 10 is too narrow: a diagram needs at least 200 pixels");
}

// Labels that need escaping or replacing, mixed with arbitrary strings (any bytes).
rc::Gen<std::string> label() {
  return rc::gen::map(
      rc::gen::container<std::vector<std::string>>(rc::gen::oneOf(
          rc::gen::arbitrary<std::string>(),
          rc::gen::element<std::string>("&", "<", ">", "\"", "'", "]]>", "&amp;", "<!--", "--",
                                        "\xC3\xA9", "\xE2\x89\xA5", "\xF0\x9F\x95\x90", "\x80",
                                        "\xC0\x80", "\xED\xA0\x80", "\xEF\xBF\xBF",
                                        std::string(1, '\0'), "\x1B[31m", "\t\r\n"))),
      [](const std::vector<std::string>& parts) {
        std::string s;
        for (const auto& p : parts) s += p;
        return s;
      });
}

// Times over many scales, the extremes of double included.
rc::Gen<double> time() {
  return rc::gen::oneOf(
      rc::gen::map(rc::gen::inRange(-1'000'000, 1'000'000), [](int ms) { return ms / 1000.0; }),
      rc::gen::element(0.0, -0.0, 1e-300, 5e-324, 1e15, -1e15, 1e300, -1e300,
                       std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest()));
}

rc::Gen<Diagram> diagram() {
  return rc::gen::exec([] {
    Diagram d;
    d.title = *label();
    d.time_unit = *label();
    const auto n = *rc::gen::inRange<std::size_t>(0, 7);
    for (std::size_t p = 0; p < n; ++p) d.processes.push_back(*label());
    if (n == 0) return d;
    const auto process = rc::gen::inRange<std::size_t>(0, n);
    const auto count = rc::gen::inRange<std::size_t>(0, 12);
    for (std::size_t i = *count; i > 0; --i) d.events.push_back({*process, *time(), *label()});
    for (std::size_t i = *count; i > 0; --i)
      d.messages.push_back(
          {*process, *time(), *process, *time(), *label(), *rc::gen::arbitrary<bool>()});
    for (std::size_t i = *count; i > 0; --i) {
      double a = *time();
      double b = *time();
      if (b < a) std::swap(a, b);
      d.intervals.push_back({*process, a, b, *label()});
    }
    for (std::size_t i = *count; i > 0; --i) d.notes.push_back({*process, *time(), *label()});
    d.width = *rc::gen::element(200.0, 640.0, 960.0, 4000.0);
    return d;
  });
}

RC_GTEST_PROP(SpacetimeSvg, EveryDiagramIsAWellFormedSvgDocument, ()) {
  const Diagram d = *diagram();
  const std::string svg = to_svg(d);
  if (const auto problem = svg_problem(svg)) RC_FAIL(*problem);
  // Every coordinate is a number: text cannot hold a '"' (it is escaped), so each one in the
  // document delimits an attribute value.
  for (std::size_t open = svg.find('"'); open != std::string::npos;) {
    const std::size_t close = svg.find('"', open + 1);
    const std::string value = svg.substr(open + 1, close - open - 1);
    RC_ASSERT(value.find("nan") == std::string::npos);
    RC_ASSERT(value.find("inf") == std::string::npos);
    open = svg.find('"', close + 1);
  }
}

// A diagram with one element pointing past the last process is refused, whichever it is.
RC_GTEST_PROP(SpacetimeSvg, RefusesAProcessOutOfRange, ()) {
  Diagram d = *diagram();
  const std::size_t bad = d.processes.size() + *rc::gen::inRange<std::size_t>(0, 3);
  switch (*rc::gen::inRange(0, 5)) {
  case 0:
    d.events.push_back({bad, 0, ""});
    break;
  case 1:
    d.messages.push_back({0, 0, bad, 1, "", false});
    break;
  case 2:
    d.messages.push_back({bad, 0, 0, 1, "", false});
    break;
  case 3:
    d.intervals.push_back({bad, 0, 1, ""});
    break;
  default:
    d.notes.push_back({bad, 0, ""});
  }
  RC_ASSERT_THROWS_AS((void)to_svg(d), std::invalid_argument);
}

} // namespace
} // namespace lamina::viz
