#include "spec/mutant_file.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <utility>

namespace lamina::spec {

namespace {

std::string_view trim(std::string_view s) {
  const std::size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

bool is_identifier(std::string_view s, bool lower_case_only) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    const bool lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    return lower || (!lower_case_only && c >= 'A' && c <= 'Z');
  });
}

std::uint32_t column_of(std::string_view line, std::string_view part) {
  return static_cast<std::uint32_t>(part.data() - line.data()) + 1;
}

} // namespace

std::optional<MutantFile> parse_mutant(const Sources& sources, FileId file,
                                       std::span<const MutantKey> keys, Diagnostics& diagnostics) {
  MutantFile m;
  m.file = file;
  const std::filesystem::path path(sources.path(file));
  m.name = path.stem().string();
  const std::size_t errors_before = diagnostics.error_count();
  const SourceLoc top{file, 1, 1};
  if (path.extension() != ".mutant" || !is_identifier(m.name, true))
    diagnostics.error(top, fmt::format("a mutant's file is called <name>.mutant, <name> in a-z, "
                                       "0-9 and '_' (it names the C++ namespace of the mutant); "
                                       "'{}' is not",
                                       path.filename().string()));

  // Blocks: `from` and `to` texts, as lines, until the next keyword line.
  enum class In : std::uint8_t { head, from, to } in = In::head;
  std::vector<std::string_view> block;
  const auto end_block = [&] {
    while (!block.empty() && trim(block.back()).empty()) block.pop_back();
    std::string joined;
    for (std::string_view l : block) {
      if (l.ends_with('\r')) l.remove_suffix(1);
      joined.append(l).push_back('\n');
    }
    block.clear();
    if (in == In::from)
      m.changes.back().from = std::move(joined);
    else if (in == In::to)
      m.changes.back().to = std::move(joined);
  };
  std::uint32_t n = 0;
  for (std::string_view text = sources.text(file); !text.empty();) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    const SourceLoc at{file, ++n, 1};
    const std::string_view word = trim(line);
    if (word == "from") {
      if (in == In::from)
        diagnostics.error(at, "'from' again before a 'to': each 'from' text needs its 'to'");
      end_block();
      m.changes.push_back({at, {}, {}});
      in = In::from;
      continue;
    }
    if (word == "to") {
      if (in != In::from) {
        diagnostics.error(at, "'to' without a 'from' before it");
        continue;
      }
      end_block();
      if (m.changes.back().from.empty())
        diagnostics.error(m.changes.back().at,
                          "the text after 'from' is empty; give the lines to replace");
      in = In::to;
      continue;
    }
    if (in != In::head) {
      block.push_back(line);
      continue;
    }
    if (word.empty()) continue;
    if (word.starts_with('#')) {
      if (m.description.empty()) m.description = trim(word.substr(1));
      continue;
    }
    const std::size_t space = word.find_first_of(" \t");
    const std::string_view key = word.substr(0, space);
    const std::string_view value =
        space == std::string_view::npos ? std::string_view{} : trim(word.substr(space));
    const auto format =
        std::find_if(keys.begin(), keys.end(), [&](const MutantKey& k) { return k.name == key; });
    if (format == keys.end()) {
      std::vector<std::string> expected;
      for (const MutantKey& k : keys) expected.push_back(fmt::format("'{} {}'", k.name, k.example));
      diagnostics.error({file, n, column_of(line, word)},
                        fmt::format("expected {}, 'from' or a '#' comment, found '{}'",
                                    fmt::join(expected, ", "), word));
      continue;
    }
    const SourceLoc value_at{file, n, column_of(line, value.empty() ? key : value)};
    if (const auto seen = m.head.find(key); seen != m.head.end()) {
      diagnostics.error(value_at, fmt::format("a second '{}' line (the first is line {})", key,
                                              seen->second.at.line));
      continue;
    }
    if (value.empty())
      diagnostics.error(value_at,
                        fmt::format("'{}' needs a value: {} {}", key, key, format->example));
    else if (format->identifier && !is_identifier(value, false))
      diagnostics.error(value_at,
                        fmt::format("'{}' is not a name such as {}", value, format->example));
    m.head.emplace(key, MutantFile::Value{std::string(value), value_at});
  }
  if (in == In::from) {
    end_block();
    diagnostics.error(m.changes.back().at,
                      "this 'from' has no 'to' after it (an empty 'to' deletes)");
  } else {
    end_block();
  }
  if (m.description.empty())
    diagnostics.error(top, "a mutant opens with a '#' comment that says what is wrong with it");
  for (const MutantKey& k : keys)
    if (!m.head.contains(k.name))
      diagnostics.error(top, fmt::format("no '{}' line: give '{} {}'", k.name, k.name, k.example));
  if (m.changes.empty()) diagnostics.error(top, "no change: give a 'from' block and a 'to' block");
  if (diagnostics.error_count() != errors_before) return std::nullopt;
  return m;
}

std::optional<std::vector<TextEdit>> locate_changes(const MutantFile& m, std::string_view source,
                                                    std::string_view what,
                                                    Diagnostics& diagnostics) {
  const std::size_t errors_before = diagnostics.error_count();
  std::vector<TextEdit> edits;
  for (const MutantChange& c : m.changes) {
    std::size_t count = 0;
    std::size_t first = std::string_view::npos;
    for (std::size_t pos = source.find(c.from); pos != std::string_view::npos;
         pos = source.find(c.from, pos + 1), ++count)
      if (count == 0) first = pos;
    if (count == 1)
      edits.push_back({first, c.from.size(), c.to, &c});
    else if (count == 0)
      diagnostics.error(c.at,
                        fmt::format("the text after 'from' is not in {}; update the mutant", what));
    else
      diagnostics.error(c.at, fmt::format("the text after 'from' occurs {} times in {}; update "
                                          "the mutant (it must name one place)",
                                          count, what));
  }
  for (const TextEdit& a : edits)
    for (const TextEdit& b : edits)
      if (a.change->at.line < b.change->at.line && a.pos < b.pos + b.length &&
          b.pos < a.pos + a.length)
        diagnostics.error(b.change->at,
                          fmt::format("the text after 'from' overlaps that of the change at line "
                                      "{}",
                                      a.change->at.line));
  if (diagnostics.error_count() != errors_before) return std::nullopt;
  return edits;
}

std::string apply_edits(std::string_view source, std::vector<TextEdit> edits) {
  std::sort(edits.begin(), edits.end(), [](const TextEdit& a, const TextEdit& b) {
    return a.pos != b.pos ? a.pos < b.pos : a.length < b.length;
  });
  std::string out;
  std::size_t copied = 0;
  for (const TextEdit& e : edits) {
    out.append(source.substr(copied, e.pos - copied));
    out += e.text;
    copied = e.pos + e.length;
  }
  out.append(source.substr(copied));
  return out;
}

} // namespace lamina::spec
