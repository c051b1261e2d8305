#include "services/common/spacetime_svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fmt/format.h>
#include <iterator>
#include <limits>
#include <stdexcept>

namespace lamina::viz {
namespace {

// The length of the UTF-8 sequence at the start of `s` and the code point it encodes, or length
// 0 when the bytes there are not UTF-8 (overlong forms and surrogates included).
struct Decoded {
  std::size_t length;
  char32_t code;
};

Decoded decode_utf8(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return {1, b0};
  std::size_t length = 0;
  char32_t code = 0;
  unsigned char low = 0x80;  // the range the second byte must be in: it rules out overlong
  unsigned char high = 0xBF; // forms, surrogates and code points past U+10FFFF
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
    code = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    code = b0 & 0x0Fu;
    if (b0 == 0xE0) low = 0xA0;
    if (b0 == 0xED) high = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    code = b0 & 0x07u;
    if (b0 == 0xF0) low = 0x90;
    if (b0 == 0xF4) high = 0x8F;
  } else {
    return {0, 0};
  }
  if (s.size() < length) return {0, 0};
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char b = byte(i);
    if (b < (i == 1 ? low : 0x80) || b > (i == 1 ? high : 0xBF)) return {0, 0};
    code = (code << 6) | (b & 0x3Fu);
  }
  return {length, code};
}

// XML 1.0's Char production, less the surrogates that UTF-8 cannot encode anyway.
bool xml_char(char32_t c) {
  return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xFFFD && c != 0xFFFE) ||
         c >= 0x10000;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD"; // U+FFFD in UTF-8

void check_finite(double t, std::string_view element, std::size_t index, std::string_view what) {
  if (!std::isfinite(t))
    throw std::invalid_argument(
        fmt::format("{} {}: {} is {}, not a finite number", element, index, what, t));
}

void check_process(std::size_t p, std::size_t processes, std::string_view element,
                   std::size_t index, std::string_view what) {
  if (p >= processes)
    throw std::invalid_argument(fmt::format("{} {}: {} is process {}, but the diagram has {} "
                                            "process{} (numbered from 0)",
                                            element, index, what, p, processes,
                                            processes == 1 ? "" : "es"));
}

void validate(const Diagram& d) {
  const std::size_t n = d.processes.size();
  if (!(d.width >= 200))
    throw std::invalid_argument(
        fmt::format("width {} is too narrow: a diagram needs at least 200 pixels", d.width));
  for (std::size_t i = 0; i < d.events.size(); ++i) {
    check_process(d.events[i].process, n, "event", i, "its process");
    check_finite(d.events[i].time, "event", i, "its time");
  }
  for (std::size_t i = 0; i < d.messages.size(); ++i) {
    const Diagram::Message& m = d.messages[i];
    check_process(m.from, n, "message", i, "its sender ('from')");
    check_process(m.to, n, "message", i, "its receiver ('to')");
    check_finite(m.sent, "message", i, "the time it was sent");
    check_finite(m.received, "message", i, "the time it was received");
  }
  for (std::size_t i = 0; i < d.intervals.size(); ++i) {
    const Diagram::Interval& v = d.intervals[i];
    check_process(v.process, n, "interval", i, "its process");
    check_finite(v.begin, "interval", i, "its begin");
    check_finite(v.end, "interval", i, "its end");
    if (v.end < v.begin)
      throw std::invalid_argument(
          fmt::format("interval {}: it ends ({}) before it begins ({})", i, v.end, v.begin));
  }
  for (std::size_t i = 0; i < d.notes.size(); ++i) {
    check_process(d.notes[i].process, n, "note", i, "its process");
    check_finite(d.notes[i].time, "note", i, "its time");
  }
}

// Where times go on the page: [first, last] of the diagram's times onto [left, right] pixels.
// The fraction is taken on halves so that the span of two huge times of opposite signs cannot
// overflow to infinity; a diagram whose times are all one is drawn in the middle.
struct TimeScale {
  double first = 0;
  double last = 1;
  double left = 0;
  double right = 1;

  [[nodiscard]] double x(double t) const {
    const double half_span = last / 2 - first / 2;
    const double f = half_span > 0 ? (t / 2 - first / 2) / half_span : 0.5;
    return left + f * (right - left);
  }
};

// A tick spacing of 1, 2 or 5 times a power of ten giving about `target` ticks over `span`;
// 0 when there is none to give (no span, or one too wide to represent).
double tick_step(double span, double target) {
  if (!(span > 0) || !std::isfinite(span)) return 0;
  const double raw = span / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  if (!std::isfinite(power) || power == 0) return 0;
  for (const double m : {1.0, 2.0, 5.0})
    if (raw <= m * power) return m * power;
  return 10 * power;
}

// A rough width of `text` at `font_size` pixels, for the margin the process names need.
double text_width(std::string_view text, double font_size) {
  return static_cast<double>(characters(text)) * font_size * 0.6;
}

constexpr const char* kInk = "#333333";
constexpr const char* kRed = "#d62728";

} // namespace

std::size_t characters(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U; // not a continuation byte
  }));
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const Decoded d = decode_utf8(text);
    if (d.length == 0) {
      out += kReplacement;
      text.remove_prefix(1);
      continue;
    }
    switch (d.code) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&apos;";
      break;
    default:
      if (xml_char(d.code))
        out.append(text.substr(0, d.length));
      else
        out += kReplacement;
    }
    text.remove_prefix(d.length);
  }
  return out;
}

std::string to_svg(const Diagram& d) {
  validate(d);
  const std::size_t n = d.processes.size();

  // Every time the diagram mentions, so that all of it is on the page.
  std::vector<double> times;
  for (const auto& e : d.events) times.push_back(e.time);
  for (const auto& m : d.messages) times.insert(times.end(), {m.sent, m.received});
  for (const auto& v : d.intervals) times.insert(times.end(), {v.begin, v.end});
  for (const auto& note : d.notes) times.push_back(note.time);
  TimeScale scale;
  if (!times.empty()) {
    const auto [lo, hi] = std::minmax_element(times.begin(), times.end());
    scale.first = *lo;
    scale.last = *hi;
  }

  // The page: the title, then one row per process, then the time axis.
  constexpr double kTitleHeight = 40;
  constexpr double kRow = 90;            // between process lines
  constexpr double kFirstLine = 40 + 50; // title, then room for the first line's loops
  constexpr double kNameFont = 13;
  constexpr double kSmallFont = 10;
  double name_width = 40;
  for (const auto& p : d.processes) name_width = std::max(name_width, text_width(p, kNameFont));
  // The times start a little right of the names and end a little left of the axis' arrow, so
  // that the labels of the first and last events stay clear of both.
  const double line_start = 16 + std::min(name_width, d.width / 4) + 14;
  scale.left = line_start + 30;
  scale.right = d.width - 60;
  const auto line_y = [&](std::size_t p) { return kFirstLine + static_cast<double>(p) * kRow; };
  const double axis_y = n == 0 ? kTitleHeight + 30 : line_y(n - 1) + 50;
  const double height = axis_y + 40;

  std::string svg;
  auto out = std::back_inserter(svg);
  fmt::format_to(out,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0:.0f}\" "
                 "height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
                 "font-family=\"Helvetica, Arial, sans-serif\">\n",
                 d.width, height);
  // Arrowheads, one per colour: SVG 1.1 markers do not take the colour of the line they end.
  svg += "<defs>\n";
  for (const auto& [id, colour] : {std::pair{"arrow", kInk}, std::pair{"arrow-red", kRed}})
    fmt::format_to(out,
                   "<marker id=\"{}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
                   "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">"
                   "<path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"{}\"/></marker>\n",
                   id, colour);
  svg += "</defs>\n";
  fmt::format_to(out, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
  fmt::format_to(out, "<text x=\"16\" y=\"26\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
                 xml_escape(d.title));
  if (n == 0)
    fmt::format_to(out,
                   "<text x=\"16\" y=\"{:.1f}\" font-size=\"12\" fill=\"#777777\">(no "
                   "processes)</text>\n",
                   kTitleHeight + 20);

  // Intervals under everything else, so that lines and dots stay visible over them.
  for (const auto& v : d.intervals) {
    const double x0 = scale.x(v.begin);
    const double x1 = scale.x(v.end);
    const double y = line_y(v.process);
    fmt::format_to(out,
                   "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"16\" "
                   "fill=\"#4a90d9\" fill-opacity=\"0.25\" stroke=\"#4a90d9\"/>\n",
                   x0, y - 8, std::max(x1 - x0, 1.0));
    if (!v.label.empty())
      fmt::format_to(out,
                     "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\" fill=\"#2a6099\" "
                     "text-anchor=\"middle\">{}</text>\n",
                     (x0 + x1) / 2, y + 20, kSmallFont, xml_escape(v.label));
  }

  // The process lines, each named at its left end.
  for (std::size_t p = 0; p < n; ++p) {
    const double y = line_y(p);
    fmt::format_to(out,
                   "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
                   "stroke-width=\"1.5\"/>\n",
                   line_start, y, scale.right + 30, y, kInk);
    fmt::format_to(out,
                   "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\" text-anchor=\"end\">{}"
                   "</text>\n",
                   line_start - 10, y + 4, kNameFont, xml_escape(d.processes[p]));
  }

  // Messages: a straight arrow between two lines; to the same line, a loop above it.
  for (const auto& m : d.messages) {
    const double x0 = scale.x(m.sent);
    const double x1 = scale.x(m.received);
    const double y0 = line_y(m.from);
    const double y1 = line_y(m.to);
    const char* colour = m.highlight ? kRed : kInk;
    const char* marker = m.highlight ? "arrow-red" : "arrow";
    const char* width = m.highlight ? "2" : "1.2";
    double label_x = (x0 + x1) / 2;
    double label_y = (y0 + y1) / 2;
    if (m.from == m.to) {
      fmt::format_to(out,
                     "<path d=\"M {:.1f} {:.1f} C {:.1f} {:.1f} {:.1f} {:.1f} {:.1f} {:.1f}\" "
                     "fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
                     "marker-end=\"url(#{})\"/>\n",
                     x0, y0, x0 - 12, y0 - 45, x1 + 12, y1 - 45, x1, y1, colour, width, marker);
      label_y = y0 - 40;
    } else {
      fmt::format_to(out,
                     "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
                     "stroke-width=\"{}\" marker-end=\"url(#{})\"/>\n",
                     x0, y0, x1, y1, colour, width, marker);
    }
    if (!m.label.empty())
      fmt::format_to(out,
                     "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\" fill=\"{}\" "
                     "text-anchor=\"start\" dx=\"4\">{}</text>\n",
                     label_x, label_y, kSmallFont, colour, xml_escape(m.label));
  }

  // Events over the arrows, labels above their dots. Labels that would overlap on a line are
  // stacked, up to three high: a label goes on the lowest tier where it clears the labels to
  // its left (events taken from left to right).
  std::vector<std::size_t> by_x(d.events.size());
  for (std::size_t i = 0; i < by_x.size(); ++i) by_x[i] = i;
  std::sort(by_x.begin(), by_x.end(), [&](std::size_t a, std::size_t b) {
    return d.events[a].time != d.events[b].time ? d.events[a].time < d.events[b].time : a < b;
  });
  constexpr std::size_t kTiers = 3;
  std::vector<std::vector<double>> tier_end(n, std::vector<double>(kTiers, -1e300));
  for (const std::size_t i : by_x) {
    const Diagram::Event& e = d.events[i];
    const double x = scale.x(e.time);
    const double y = line_y(e.process);
    fmt::format_to(out, "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"/>\n", x, y,
                   kInk);
    if (e.label.empty()) continue;
    const double half = text_width(e.label, kSmallFont) / 2;
    std::vector<double>& ends = tier_end[e.process];
    std::size_t tier = 0;
    while (tier < kTiers && ends[tier] + 4 > x - half) ++tier;
    if (tier == kTiers)
      tier = static_cast<std::size_t>(std::min_element(ends.begin(), ends.end()) - ends.begin());
    ends[tier] = x + half;
    fmt::format_to(out,
                   "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\" "
                   "text-anchor=\"middle\">{}</text>\n",
                   x, y - 8 - 12 * static_cast<double>(tier), kSmallFont, xml_escape(e.label));
  }

  for (const auto& note : d.notes)
    fmt::format_to(out,
                   "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\" font-style=\"italic\" "
                   "fill=\"#555555\">{}</text>\n",
                   scale.x(note.time) + 4, line_y(note.process) + 34, kSmallFont,
                   xml_escape(note.text));

  // The time axis, with ticks at round values.
  fmt::format_to(out,
                 "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#999999\" "
                 "marker-end=\"url(#arrow)\"/>\n",
                 line_start, axis_y, scale.right + 40, axis_y);
  fmt::format_to(out,
                 "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\" fill=\"#555555\" "
                 "text-anchor=\"end\">time ({})</text>\n",
                 scale.right + 40, axis_y + 30, kSmallFont, xml_escape(d.time_unit));
  const double step = tick_step(scale.last / 2 - scale.first / 2, 4); // 8 ticks on the full span
  if (step > 0) {
    // Counted rather than added up, so that a step too small to change a huge time still ends.
    const double start = std::ceil(scale.first / step);
    for (int k = 0; k <= 40; ++k) {
      const double t = (start + k) * step;
      if (t > scale.last) break;
      const double x = scale.x(t);
      fmt::format_to(out,
                     "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
                     "stroke=\"#999999\"/>\n"
                     "<text x=\"{0:.1f}\" y=\"{3:.1f}\" font-size=\"{4}\" fill=\"#555555\" "
                     "text-anchor=\"middle\">{5:g}</text>\n",
                     x, axis_y - 3, axis_y + 3, axis_y + 15, kSmallFont, t == 0 ? 0.0 : t);
    }
  }
  svg += "</svg>\n";
  return svg;
}

} // namespace lamina::viz
