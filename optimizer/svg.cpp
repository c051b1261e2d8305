#include "optimizer/svg.hpp"

#include <algorithm>
#include <cstddef>
#include <fmt/format.h>
#include <string_view>
#include <vector>

#include "services/common/spacetime_svg.hpp"

namespace lamina::opt {
namespace {

using viz::characters;
using viz::xml_escape;

constexpr double kMargin = 20;
constexpr double kLine = 15;      // between lines of text
constexpr double kCodeFont = 11;  // code: guard terms, delayed statements
constexpr double kFont = 12;      // names and prose
constexpr std::size_t kWrap = 70; // characters on a line of the columns
constexpr double kColumnGap = 36; // between the columns
constexpr double kBarHeight = 26; // of a header drawn to scale
constexpr double kBarWidth = 720; // the layered header's width at most, in pixels

constexpr const char* kInk = "#333333";
constexpr const char* kGrey = "#7f7f7f";
constexpr const char* kRed = "#d62728";
constexpr const char* kBlue = "#1f77b4";
constexpr const char* kSent = "#aec7e8";
constexpr const char* kConstant = "#e0e0e0";
constexpr const char* kBox = "#f7f7f7";

// A rough width of `text` at `size` pixels (monospace advances are about 0.6 em; sans-serif ones
// are narrower, so this is an upper bound for them).
double width_of(std::string_view text, double size) {
  return static_cast<double>(characters(text)) * size * 0.62;
}

// `text` on lines of at most `width` characters, broken at spaces where it can and anywhere
// where a word is longer than a line; runs of white space (newlines too) become one space.
std::vector<std::string> wrap(std::string_view text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t start = text.find_first_not_of(" \t\n", at);
    if (start == std::string_view::npos) break;
    at = std::min(text.find_first_of(" \t\n", start), text.size());
    std::string_view word = text.substr(start, at - start);
    if (!line.empty() && characters(line) + 1 + characters(word) > width) {
      lines.push_back(line);
      line.clear();
    }
    while (characters(word) > width) {
      // A word longer than a line (which is empty now): as much as fits, cut at a character's
      // first byte.
      std::size_t cut = std::min(word.size(), width);
      while (cut > 1 && (static_cast<unsigned char>(word[cut]) & 0xC0U) == 0x80U) --cut;
      lines.emplace_back(word.substr(0, cut));
      word.remove_prefix(cut);
    }
    if (!word.empty()) line += (line.empty() ? "" : " ") + std::string(word);
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// SVG elements, and how far they reach, for the document's size.
class Canvas {
public:
  void text(double x, double y, std::string_view s, double size, const char* fill,
            std::string_view style = "") {
    body_ += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="{}" fill="{}"{}>{}</text>)"
                         "\n",
                         x, y, size, fill, style, xml_escape(s));
    reach(x + width_of(s, size), y + 4);
  }
  void rect(double x, double y, double w, double h, const char* fill, const char* stroke) {
    body_ += fmt::format(
        R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}" stroke="{}"/>)"
        "\n",
        x, y, w, h, fill, stroke);
    reach(x + w, y + h);
  }
  // A line with an arrowhead at (x2, y2).
  void arrow(double x1, double y1, double x2, double y2, const char* colour) {
    body_ += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" )"
                         R"svg(stroke-width="3" marker-end="url(#head)"/>)svg"
                         "\n",
                         x1, y1, x2, y2, colour);
    reach(std::max(x1, x2) + 6, std::max(y1, y2));
  }

  [[nodiscard]] double bottom() const { return bottom_; }

  [[nodiscard]] std::string document(std::string_view title) const {
    const double w = right_ + kMargin;
    const double h = bottom_ + kMargin;
    return fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        R"(<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{:.0f}" height="{:.0f}" )"
        R"(viewBox="0 0 {:.0f} {:.0f}" font-family="sans-serif">)"
        "\n<title>{}</title>\n"
        R"(<defs><marker id="head" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" )"
        R"(refX="10" refY="6" orient="auto"><path d="M0,0 L12,6 L0,12 z" fill="{}"/></marker>)"
        "</defs>"
        "\n"
        R"(<rect x="0" y="0" width="{:.0f}" height="{:.0f}" fill="white"/>)"
        "\n{}</svg>\n",
        w, h, w, h, xml_escape(title), kBlue, w, h, body_);
  }

private:
  void reach(double x, double y) {
    right_ = std::max(right_, x);
    bottom_ = std::max(bottom_, y);
  }
  std::string body_;
  double right_ = 0;
  double bottom_ = 0;
};

constexpr const char* kCode = R"( font-family="monospace")";
constexpr const char* kBold = R"( font-weight="bold")";
constexpr const char* kItalic = R"( font-style="italic")";

// A line of a bypass's column: code (a guard term) or a note (work put off).
struct ColumnLine {
  std::string text;
  bool note = false;
};

// What one direction's column says at each layer: its guard terms, then what was put off.
std::vector<std::vector<ColumnLine>> column_lines(const Explanation& e,
                                                  const Explanation::Direction& d, bool down) {
  std::vector<std::vector<ColumnLine>> at(e.layers.size());
  if (!d.collapsed) return at;
  for (const Explanation::AtLayer& t : d.guard_terms)
    for (std::string& l : wrap(t.text, kWrap)) at[t.layer].push_back({std::move(l), false});
  const std::string after = down ? "after the transmit: " : "after the delivery: ";
  for (const Explanation::AtLayer& t : d.delayed)
    for (std::string& l : wrap(after + t.text, kWrap)) at[t.layer].push_back({std::move(l), true});
  return at;
}

// The drawing of the stack and its bypasses: where each row and column is.
struct Grid {
  std::vector<double> row_top; // one per layer, and the bottom of the last
  double layers_x = kMargin, layers_w = 0;
  double down_x = 0, up_x = 0;
};

double column_width(const std::vector<std::vector<ColumnLine>>& lines,
                    const Explanation::Direction& d, std::string_view heading) {
  double w = width_of(heading, kFont);
  for (const auto& row : lines)
    for (const ColumnLine& l : row) w = std::max(w, 20 + width_of(l.text, kCodeFont));
  if (!d.collapsed)
    for (const std::string& why : d.why_not)
      for (const std::string& l : wrap(why, kWrap)) w = std::max(w, width_of(l, kFont));
  return w;
}

// One direction's column: an arrow over the layers of its bypass, and at each layer its lines;
// or, not collapsed, why not.
void draw_column(Canvas& c, const Grid& g, double x, const Explanation& e,
                 const Explanation::Direction& d, bool down,
                 const std::vector<std::vector<ColumnLine>>& lines) {
  const double top = g.row_top.front();
  if (!d.collapsed) {
    c.text(x, top + kLine, "not collapsed: the layered code runs", kFont, kRed, kBold);
    double y = top + 2 * kLine;
    for (const std::string& why : d.why_not)
      for (const std::string& l : wrap(why, kWrap)) {
        c.text(x, y, l, kFont, kRed);
        y += kLine;
      }
    return;
  }
  if (!d.bypass.empty()) {
    const auto [first, last] = std::minmax_element(d.bypass.begin(), d.bypass.end());
    const double y_top = g.row_top[*first] + 6;
    const double y_bottom = g.row_top[*last + 1] - 6;
    if (down)
      c.arrow(x + 6, y_top, x + 6, y_bottom, kBlue);
    else
      c.arrow(x + 6, y_bottom, x + 6, y_top, kBlue);
  }
  for (std::size_t i = 0; i < e.layers.size(); ++i) {
    double y = g.row_top[i] + kLine + 2;
    for (const ColumnLine& l : lines[i]) {
      if (l.note)
        c.text(x + 20, y, l.text, kCodeFont, kGrey, kItalic);
      else
        c.text(x + 20, y, l.text, kCodeFont, kInk, kCode);
      y += kLine;
    }
    if (d.ends_at == i)
      c.text(x + 20, y, "the message ends here: passed on no further", kFont, kGrey, kItalic);
  }
}

// The stack, top to bottom, and both bypasses beside it; returns where it ends.
double draw_stack(Canvas& c, const Explanation& e, double top) {
  const auto down = column_lines(e, e.down, true);
  const auto up = column_lines(e, e.up, false);
  Grid g;
  for (const auto& l : e.layers)
    g.layers_w = std::max(
        {g.layers_w, 120.0, 20 + width_of(l.name, kFont + 1), 20 + width_of("no header", kFont)});
  const std::string down_heading = "send bypass (down): its guard's terms, work put off";
  const std::string up_heading = "receive bypass (up): its guard's terms, work put off";
  g.down_x = g.layers_x + g.layers_w + kColumnGap;
  g.up_x = g.down_x + column_width(down, e.down, down_heading) + kColumnGap;
  c.text(g.layers_x, top, "layered stack", kFont, kInk, kBold);
  c.text(g.down_x, top, down_heading, kFont, e.down.collapsed ? kBlue : kRed, kBold);
  c.text(g.up_x, top, up_heading, kFont, e.up.collapsed ? kBlue : kRed, kBold);
  double y = top + 10;
  for (std::size_t i = 0; i < e.layers.size(); ++i) {
    g.row_top.push_back(y);
    const std::size_t lines = std::max({std::size_t{2}, down[i].size() + 1, up[i].size() + 1});
    y += static_cast<double>(lines) * kLine + 16;
  }
  g.row_top.push_back(y);
  for (std::size_t i = 0; i < e.layers.size(); ++i) {
    const double h = g.row_top[i + 1] - g.row_top[i] - 6;
    c.rect(g.layers_x, g.row_top[i], g.layers_w, h, kBox, kInk);
    c.text(g.layers_x + 10, g.row_top[i] + kLine + 2, e.layers[i].name, kFont + 1, kInk, kBold);
    const std::uint32_t bytes = e.layers[i].header_size;
    c.text(g.layers_x + 10, g.row_top[i] + 2 * kLine + 2,
           bytes == 0 ? std::string("no header") : fmt::format("header {} B", bytes), kFont, kGrey);
  }
  draw_column(c, g, g.down_x, e, e.down, true, down);
  draw_column(c, g, g.up_x, e, e.up, false, up);
  return c.bottom();
}

// A header to scale: its parts left to right from `x`, each named above (on as many tiers as
// their names need not to overlap) and, where it fits, inside.
struct Part {
  double bytes = 0;
  std::string above; // "Seqno 4 B"; empty: none
  std::string inside;
  const char* fill = "white";
};

double draw_bar(Canvas& c, double x, double y, double scale, const std::vector<Part>& parts,
                const std::string& label) {
  std::vector<double> tier_end;                      // how far each tier of names above reaches
  std::vector<std::pair<std::size_t, double>> names; // tier, x of each part's name
  double at = x;
  for (const Part& p : parts) {
    std::size_t tier = 0;
    if (!p.above.empty()) {
      while (tier < tier_end.size() && tier_end[tier] > at) ++tier;
      if (tier == tier_end.size()) tier_end.push_back(0);
      tier_end[tier] = at + width_of(p.above, kCodeFont) + 6;
    }
    names.emplace_back(tier, at);
    at += p.bytes * scale;
  }
  const double bar_y = y + static_cast<double>(tier_end.size()) * kLine;
  at = x;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const Part& p = parts[k];
    const double w = p.bytes * scale;
    if (!p.above.empty())
      c.text(names[k].second, bar_y - 4 - static_cast<double>(names[k].first) * kLine, p.above,
             kCodeFont, kInk, kCode);
    c.rect(at, bar_y, w, kBarHeight, p.fill, kInk);
    if (!p.inside.empty() && width_of(p.inside, 10) + 4 <= w)
      c.text(at + (w - width_of(p.inside, 10)) / 2, bar_y + kBarHeight / 2 + 4, p.inside, 10, kInk,
             kCode);
    at += w;
  }
  c.text(at + 10, bar_y + kBarHeight / 2 + 4, label, kFont, kInk, kBold);
  return bar_y + kBarHeight;
}

std::string bytes(std::uint32_t n) { return fmt::format("{} byte{}", n, n == 1 ? "" : "s"); }

bool is_sent(const Explanation& e, std::size_t layer, const std::string& field) {
  return std::any_of(e.packed_fields.begin(), e.packed_fields.end(),
                     [&](const auto& f) { return f.layer == layer && f.name == field; });
}

bool is_constant(const Explanation& e, std::size_t layer, const std::string& field) {
  return std::any_of(e.constant_fields.begin(), e.constant_fields.end(),
                     [&](const auto& f) { return f.layer == layer && f.name == field; });
}

// The layered header as on the wire (Bottom's first): each layer's fields where they are in its
// header, shaded by what the bypass does with them.
std::vector<Part> layered_parts(const Explanation& e) {
  std::vector<Part> parts;
  for (std::size_t n = e.layers.size(); n-- > 0;) {
    const Explanation::Layer& l = e.layers[n];
    if (l.header_size == 0) continue;
    std::string above = fmt::format("{} {} B", l.name, l.header_size);
    std::uint32_t at = 0;
    auto gap = [&](std::uint32_t to) {
      if (to <= at) return;
      parts.push_back({static_cast<double>(to - at), std::move(above), "", "white"});
      above.clear();
      at = to;
    };
    for (const HeaderField& f : l.header_fields) {
      gap(f.offset);
      const char* fill = is_sent(e, n, f.name)       ? kSent
                         : is_constant(e, n, f.name) ? kConstant
                                                     : "white";
      parts.push_back({static_cast<double>(f.size), std::move(above), f.name, fill});
      above.clear();
      at = f.offset + f.size;
    }
    gap(l.header_size);
  }
  return parts;
}

// The header on the common path, layered and compressed, to one scale.
void draw_headers(Canvas& c, const Explanation& e, double top) {
  c.text(kMargin, top, "header on the common path", kFont, kInk, kBold);
  const double scale =
      std::clamp(kBarWidth / std::max(1.0, double(e.layered_header_bytes)), 6.0, 24.0);
  double y = draw_bar(c, kMargin, top + 10, scale, layered_parts(e),
                      "layered: " + bytes(e.layered_header_bytes));
  if (e.compressed) {
    // Varints drawn at their longest, and named with their range.
    std::vector<Part> parts{{1, "marker", "", kSent}};
    for (const auto& f : e.packed_fields)
      parts.push_back({static_cast<double>(f.size),
                       f.min_size == f.size ? fmt::format("{}.{}", e.layers[f.layer].name, f.name)
                                            : fmt::format("{}.{} {}-{} B", e.layers[f.layer].name,
                                                          f.name, f.min_size, f.size),
                       f.name, kSent});
    y = draw_bar(c, kMargin, y + 14, scale, parts,
                 e.compressed_header_min_bytes == e.compressed_header_bytes
                     ? "compressed: " + bytes(e.compressed_header_bytes)
                     : fmt::format("compressed: {} to {} bytes", e.compressed_header_min_bytes,
                                   e.compressed_header_bytes));
    for (const auto& f : e.packed_fields)
      if (!f.coding.empty()) {
        y += kLine;
        c.text(kMargin + 20, y, fmt::format("{}.{}: {}", e.layers[f.layer].name, f.name, f.coding),
               kCodeFont, kInk, kCode);
      }
    y += 10;
    c.rect(kMargin, y, 14, 10, kSent, kInk);
    c.text(kMargin + 20, y + 9, "sent on the bypass", kFont, kInk);
    c.rect(kMargin + 160, y, 14, 10, kConstant, kInk);
    c.text(kMargin + 180, y + 9, "constant on the bypass, not sent:", kFont, kInk);
    y += 10;
    std::string constants;
    for (const auto& f : e.constant_fields)
      constants += fmt::format("{}{}.{} = {};", constants.empty() ? "" : " ",
                               e.layers[f.layer].name, f.name, f.value);
    for (const std::string& l : wrap(constants, 2 * kWrap)) {
      y += kLine;
      c.text(kMargin + 20, y, l, kCodeFont, kInk, kCode);
    }
    return;
  }
  c.text(kMargin, y + kLine + 4,
         e.layered_wire ? "not compressed: packets keep the layered format (no layer but the "
                          "bottom one has a header, a constant one)"
                        : "not compressed: packets keep the layered format (the bypass is not "
                          "collapsed both ways)",
         kFont, kGrey, kItalic);
}

} // namespace

std::string stack_svg(const Explanation& e, const std::string& title,
                      const std::string& stack_string) {
  Canvas c;
  c.text(kMargin, kMargin + 12, "lamina-opt: " + title, 16, kInk, kBold);
  c.text(kMargin, kMargin + 30, stack_string, kCodeFont, kInk, kCode);
  const double bottom = draw_stack(c, e, kMargin + 62);
  draw_headers(c, e, bottom + 36);
  return c.document("lamina-opt: " + title);
}

} // namespace lamina::opt
