// The trace file: one event per line, written by write_trace and read back by read_trace
// (difftest/README.md, "Trace files", is the reference). The format is a few keywords and
// numbers a line, so it is read by hand, word by word, rather than with a parser library.
#include "difftest/trace.hpp"

#include <algorithm>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <system_error>

namespace lamina::difftest {

// splitmix64 (Steele, Lea, Flood): one multiply-xorshift step per 8 bytes, and the same
// sequence on every platform, which std's distributions do not promise.
Msg payload(std::uint32_t size, std::uint64_t fill) {
  std::uint64_t state = fill;
  const auto next = [&state] {
    state += 0x9e3779b97f4a7c15u;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
  };
  Msg m = Msg::with_size(size);
  std::byte* bytes = m.writable_data();
  // Words are stored as the host has them: little-endian, which Msg asserts.
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    const std::uint64_t z = next();
    std::memcpy(bytes + i, &z, 8);
  }
  if (i < size) {
    const std::uint64_t z = next();
    std::memcpy(bytes + i, &z, size - i);
  }
  return m;
}

std::string to_text(const TraceEvent& e) {
  const auto at = e.at.count();
  switch (e.kind) {
  case TraceEvent::Kind::Send:
    return fmt::format("@{} send {} -> {} size {} fill 0x{:x}", at, e.node, e.peer, e.size, e.fill);
  case TraceEvent::Kind::Cast:
    return fmt::format("@{} cast {} size {} fill 0x{:x}", at, e.node, e.size, e.fill);
  case TraceEvent::Kind::Arrive: {
    // The link reads as sender -> receiver; `node` is the receiver.
    std::string line = fmt::format("@{} arrive {} -> {} #{}", at, e.peer, e.node, e.packet);
    if (e.damage.kind == Damage::Kind::Flip)
      fmt::format_to(std::back_inserter(line), " flip {} 0x{:02x}", e.damage.offset, e.damage.mask);
    else if (e.damage.kind == Damage::Kind::Truncate)
      fmt::format_to(std::back_inserter(line), " truncate {}", e.damage.offset);
    return line;
  }
  case TraceEvent::Kind::Timer:
    return fmt::format("@{} timer {} {}", at, e.node, e.timer);
  }
  return fmt::format("@{} <unknown event kind {}>", at, static_cast<int>(e.kind));
}

std::string write_trace(const Trace& t) {
  std::string out =
      "# lamina difftest trace; run it again with: lamina difftest --replay <this file>\n";
  auto to = std::back_inserter(out);
  fmt::format_to(to, "spec {}\nstack {}\n", t.spec_file, t.stack);
  for (const auto& [name, value] : t.params) fmt::format_to(to, "param {} {}\n", name, value);
  fmt::format_to(to, "impl {}\nnodes {}\nseed {}\nevents {}\n", fmt::join(t.impls, ","), t.nodes,
                 t.seed, t.events.size());
  for (const TraceEvent& e : t.events) fmt::format_to(to, "{}\n", to_text(e));
  return out;
}

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A comment runs from a '#' to the end of the line, except that "#<digits>" is a packet number.
std::string_view strip_comment(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i)
    if (line[i] == '#' && (i + 1 == line.size() || !is_digit(line[i + 1])))
      return line.substr(0, i);
  return line;
}

struct Word {
  std::string_view text;
  std::size_t column = 0; // 1-based
};

// One line of a trace file (comment removed), read word by word; every complaint names the file,
// the line and the column.
class Line {
public:
  Line(std::string_view file, std::size_t number, std::string_view text)
      : file_(file), number_(number), text_(text) {}

  [[noreturn]] void fail(std::size_t column, std::string_view what) const {
    throw TraceError(fmt::format("{}:{}:{}: error: {}", file_, number_, column, what));
  }

  bool at_end() {
    skip_blanks();
    return pos_ == text_.size();
  }
  std::size_t number() const { return number_; }

  // The next word; `expected` says what it should be if the line has ended.
  Word word(std::string_view expected) {
    if (at_end()) fail(pos_ + 1, fmt::format("expected {}, found the end of the line", expected));
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !is_blank(text_[pos_])) ++pos_;
    return {text_.substr(start, pos_ - start), start + 1};
  }

  // The rest of the line, without blanks at either end.
  Word rest(std::string_view expected) {
    Word first = word(expected);
    std::size_t end = text_.size();
    while (is_blank(text_[end - 1])) --end;
    pos_ = text_.size();
    return {text_.substr(first.column - 1, end - (first.column - 1)), first.column};
  }

  void keyword(std::string_view keyword) {
    const Word w = word(fmt::format("'{}'", keyword));
    if (w.text != keyword)
      fail(w.column, fmt::format("expected '{}', found '{}'", keyword, w.text));
  }

  void end() {
    if (at_end()) return;
    const Word w = word("the end of the line");
    fail(w.column, fmt::format("unexpected '{}'; expected the end of the line", w.text));
  }

  // `w` as a number of at most `max`, decimal, or hexadecimal with a "0x" prefix if `base` is 16.
  template <std::integral Int>
  Int number(Word w, std::string_view what, Int max = std::numeric_limits<Int>::max(),
             int base = 10) const {
    std::string_view digits = w.text;
    if (base == 16) {
      if (!digits.starts_with("0x"))
        fail(w.column, fmt::format("expected {} as 0x<hex digits>, found '{}'", what, w.text));
      digits.remove_prefix(2);
    }
    Int value{};
    const char* const start = digits.data();
    const char* const stop = start + digits.size();
    const auto [ptr, ec] = std::from_chars(start, stop, value, base);
    if (ec == std::errc::invalid_argument || ptr != stop)
      fail(w.column, fmt::format("expected {}, found '{}'", what, w.text));
    if (ec == std::errc::result_out_of_range || value > max)
      fail(w.column, base == 16
                         ? fmt::format("'{}' is out of range for {}; expected at most 0x{:x}",
                                       w.text, what, max)
                         : fmt::format("'{}' is out of range for {}; expected at most {}", w.text,
                                       what, max));
    return value;
  }
  template <std::integral Int>
  Int number(std::string_view what, Int max = std::numeric_limits<Int>::max(), int base = 10) {
    return number<Int>(word(what), what, max, base);
  }

private:
  void skip_blanks() {
    while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
  }

  std::string_view file_;
  std::size_t number_;
  std::string_view text_;
  std::size_t pos_ = 0;
};

// A node id of a group of `nodes`, and the word it was read from.
std::pair<PeerId, Word> read_node(Line& line, std::uint32_t nodes) {
  const Word w = line.word("a node id");
  return {line.number<PeerId>(w, fmt::format("a node id (nodes {})", nodes), nodes - 1), w};
}

TraceEvent read_event(Line& line, std::uint32_t nodes, Time previous) {
  TraceEvent e;
  const Word at = line.word("an event");
  if (!at.text.starts_with('@'))
    line.fail(
        at.column,
        fmt::format("expected an event '@<time> send|cast|arrive|timer ...', found '{}'", at.text));
  e.at = Time(static_cast<std::int64_t>(
      line.number<std::uint64_t>({at.text.substr(1), at.column + 1}, "a time in ns",
                                 std::numeric_limits<std::int64_t>::max())));
  if (e.at < previous)
    line.fail(at.column, fmt::format("time {} is before the previous event's time {}; events must "
                                     "be in time order",
                                     e.at.count(), previous.count()));

  const Word kind = line.word("an event kind (send, cast, arrive or timer)");
  if (kind.text == "send") {
    e.kind = TraceEvent::Kind::Send;
    e.node = read_node(line, nodes).first;
    line.keyword("->");
    const auto [peer, to] = read_node(line, nodes);
    if (peer == e.node)
      line.fail(to.column, fmt::format("node {} sends to itself; expected another node", peer));
    e.peer = peer;
  } else if (kind.text == "cast") {
    e.kind = TraceEvent::Kind::Cast;
    e.node = read_node(line, nodes).first;
  } else if (kind.text == "arrive") {
    e.kind = TraceEvent::Kind::Arrive;
    e.peer = read_node(line, nodes).first;
    line.keyword("->");
    const auto [node, to] = read_node(line, nodes);
    if (node == e.peer)
      line.fail(to.column,
                fmt::format("a packet from node {} to itself; expected another node", node));
    e.node = node;
    const Word packet = line.word("a packet number '#<n>'");
    if (!packet.text.starts_with('#'))
      line.fail(packet.column,
                fmt::format("expected a packet number '#<n>', found '{}'", packet.text));
    e.packet =
        line.number<std::uint64_t>({packet.text.substr(1), packet.column + 1}, "a packet number");
    if (!line.at_end()) {
      const Word damage = line.word("'flip' or 'truncate'");
      if (damage.text == "flip") {
        e.damage = {Damage::Kind::Flip, line.number<std::uint32_t>("a byte offset"),
                    line.number<std::uint8_t>("a byte mask", 0xff, 16)};
      } else if (damage.text == "truncate") {
        e.damage = {Damage::Kind::Truncate, line.number<std::uint32_t>("a length in bytes"), 0};
      } else {
        line.fail(damage.column,
                  fmt::format("expected 'flip', 'truncate' or the end of the line, found '{}'",
                              damage.text));
      }
    }
  } else if (kind.text == "timer") {
    e.kind = TraceEvent::Kind::Timer;
    e.node = read_node(line, nodes).first;
    e.timer = line.number<std::uint32_t>("a timer number");
  } else {
    line.fail(
        kind.column,
        fmt::format("unknown event kind '{}'; expected send, cast, arrive or timer", kind.text));
  }
  if (e.kind == TraceEvent::Kind::Send || e.kind == TraceEvent::Kind::Cast) {
    line.keyword("size");
    e.size = line.number<std::uint32_t>("a size in bytes");
    line.keyword("fill");
    e.fill =
        line.number<std::uint64_t>("a fill seed", std::numeric_limits<std::uint64_t>::max(), 16);
  }
  line.end();
  return e;
}

// What the header has told so far: the line each keyword was on.
struct Header {
  std::map<std::string_view, std::size_t> seen;
  std::optional<std::uint64_t> events; // the count announced by the "events" line
};

void read_header_line(Line& line, Trace& t, Header& h) {
  const Word keyword = line.word("a keyword");
  if (keyword.text.starts_with('@'))
    line.fail(keyword.column, "an event before the 'events <count>' line; expected the header "
                              "(spec, stack, impl, nodes, events) first");
  if (keyword.text != "param") {
    const auto [first, fresh] = h.seen.emplace(keyword.text, line.number());
    if (!fresh)
      line.fail(keyword.column, fmt::format("a second '{}' line (the first is line {}); expected "
                                            "each header line once",
                                            keyword.text, first->second));
  }
  if (keyword.text == "spec") {
    t.spec_file = line.rest("a spec file after 'spec'").text;
  } else if (keyword.text == "stack") {
    t.stack = line.word("a stack name after 'stack'").text;
  } else if (keyword.text == "param") {
    const std::string_view name = line.word("a parameter name after 'param'").text;
    t.params.emplace_back(name, line.number<std::int64_t>("a parameter value (an int64)"));
  } else if (keyword.text == "impl") {
    const Word list = line.word("implementation names after 'impl' (\"static,dynamic\")");
    for (std::size_t begin = 0;;) {
      const std::size_t comma = std::min(list.text.find(',', begin), list.text.size());
      if (comma == begin)
        line.fail(list.column + begin,
                  fmt::format("an empty implementation name in '{}'; expected names separated "
                              "by commas, without blanks",
                              list.text));
      t.impls.emplace_back(list.text.substr(begin, comma - begin));
      if (comma == list.text.size()) break;
      begin = comma + 1;
    }
  } else if (keyword.text == "nodes") {
    const Word n = line.word("a node count after 'nodes'");
    t.nodes = line.number<std::uint32_t>(n, "a node count");
    if (t.nodes == 0) line.fail(n.column, "a group of 0 nodes; expected at least 1");
  } else if (keyword.text == "seed") {
    t.seed = line.number<std::uint64_t>("a seed (a uint64)");
  } else if (keyword.text == "events") {
    for (const std::string_view required : {"spec", "stack", "impl", "nodes"})
      if (!h.seen.contains(required))
        line.fail(keyword.column,
                  fmt::format("'events' before any '{}' line; expected spec, stack, impl and "
                              "nodes before the events",
                              required));
    h.events = line.number<std::uint64_t>("an event count");
  } else {
    line.fail(keyword.column, fmt::format("unknown keyword '{}'; expected spec, stack, param, "
                                          "impl, nodes, seed or events",
                                          keyword.text));
  }
  line.end();
}

} // namespace

Trace read_trace(std::string_view text, std::string_view file) {
  Trace t;
  Header header;
  std::size_t line_number = 0;
  std::string_view last_line;
  for (std::size_t begin = 0; begin <= text.size();) {
    const std::size_t newline = std::min(text.find('\n', begin), text.size());
    last_line = text.substr(begin, newline - begin);
    begin = newline + 1;
    Line line(file, ++line_number, strip_comment(last_line));
    if (line.at_end()) continue;
    if (!header.events) {
      read_header_line(line, t, header);
    } else if (t.events.size() == *header.events) {
      line.fail(1, fmt::format("more than the {} events that 'events' on line {} announces",
                               *header.events, header.seen.at("events")));
    } else {
      const Time previous = t.events.empty() ? Time{} : t.events.back().at;
      t.events.push_back(read_event(line, t.nodes, previous));
    }
  }

  const Line end(file, line_number, last_line);
  if (!header.events)
    end.fail(last_line.size() + 1, "the file ends before the 'events <count>' line");
  if (t.events.size() != *header.events)
    end.fail(
        last_line.size() + 1,
        fmt::format("the file ends after {} of the {} events that 'events' on line {} announces",
                    t.events.size(), *header.events, header.seen.at("events")));
  return t;
}

} // namespace lamina::difftest
