#include "runtime/registry.hpp"

#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <limits>

namespace lamina {

std::optional<std::uint64_t> parse_nanoseconds(std::string_view text, bool unit_required) {
  std::uint64_t n = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, n);
  const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  std::uint64_t scale = 0;
  if (unit == "ns" || (unit.empty() && !unit_required))
    scale = 1;
  else if (unit == "us")
    scale = 1'000;
  else if (unit == "ms")
    scale = 1'000'000;
  else if (unit == "s")
    scale = 1'000'000'000;
  if (ec != std::errc{} || ptr == text.data() || scale == 0 ||
      n > std::numeric_limits<std::uint64_t>::max() / scale)
    return std::nullopt;
  return n * scale;
}

LayerArgs::Arg* LayerArgs::find(std::string_view key, bool has_fallback) {
  known_.emplace_back(key);
  for (Arg& a : args_) {
    if (a.key != key) continue;
    a.used = true;
    return &a;
  }
  if (has_fallback) return nullptr;
  throw StackError(fmt::format("{} needs its parameter '{}': give it, as in {}({}=...)", layer_,
                               key, layer_, key));
}

std::uint64_t LayerArgs::get_uint(std::string_view key, std::optional<std::uint64_t> fallback,
                                  std::uint64_t min, std::uint64_t max) {
  const Arg* a = find(key, fallback.has_value());
  if (a == nullptr) return *fallback;
  std::uint64_t v = 0;
  const char* end = a->value.data() + a->value.size();
  auto [ptr, ec] = std::from_chars(a->value.data(), end, v);
  if (ec != std::errc{} || ptr != end || a->value.empty())
    throw StackError(fmt::format("column {}: {}({}={}): expected an unsigned integer", a->column,
                                 layer_, a->key, a->value));
  if (v < min || v > max)
    throw StackError(fmt::format("column {}: {}({}={}): out of range, expected {} to {}", a->column,
                                 layer_, a->key, a->value, min, max));
  return v;
}

Duration LayerArgs::get_duration(std::string_view key, std::optional<Duration> fallback,
                                 Duration min, Duration max) {
  const Arg* a = find(key, fallback.has_value());
  if (a == nullptr) return *fallback;
  const std::optional<std::uint64_t> ns = parse_nanoseconds(a->value, true);
  if (!ns || *ns > static_cast<std::uint64_t>(max.count()))
    throw StackError(fmt::format("column {}: {}({}={}): expected a duration such as 20ms, "
                                 "5s, 100us or 7ns, at most {}ns",
                                 a->column, layer_, a->key, a->value, max.count()));
  const Duration d(static_cast<Duration::rep>(*ns));
  if (d < min)
    throw StackError(fmt::format("column {}: {}({}={}): too short, at least {}ns", a->column,
                                 layer_, a->key, a->value, min.count()));
  return d;
}

bool LayerArgs::get_bool(std::string_view key, std::optional<bool> fallback) {
  const Arg* a = find(key, fallback.has_value());
  if (a == nullptr) return *fallback;
  if (a->value == "true") return true;
  if (a->value == "false") return false;
  throw StackError(fmt::format("column {}: {}({}={}): expected true or false", a->column, layer_,
                               a->key, a->value));
}

void LayerArgs::finish() const {
  for (const Arg& a : args_) {
    if (a.used) continue;
    throw StackError(
        fmt::format("column {}: {} has no parameter '{}' ({})", a.column, layer_, a.key,
                    known_.empty() ? "it takes none"
                                   : fmt::format("its parameters: {}", fmt::join(known_, ", "))));
  }
}

namespace {

// Reads a stack string: Name [ '(' key '=' value { ',' key '=' value } ')' ] { ':' ... }.
class StackParser {
public:
  explicit StackParser(std::string_view text) : text_(text) {}

  std::vector<LayerSpec> parse() {
    std::vector<LayerSpec> items;
    skip_space();
    if (at_end()) fail("empty stack: expected layer names separated by ':', e.g. Top:Seqno:Bottom");
    for (;;) {
      LayerSpec item;
      item.column = pos_ + 1;
      item.name = word("a layer name");
      skip_space();
      if (peek() == '(') {
        ++pos_;
        for (;;) {
          skip_space();
          LayerArgs::Arg a;
          a.column = pos_ + 1;
          a.key = word("a parameter name");
          skip_space();
          expect('=');
          skip_space();
          a.value = word("a parameter value");
          item.args.push_back(std::move(a));
          skip_space();
          if (peek() == ',') {
            ++pos_;
            continue;
          }
          expect(')');
          break;
        }
        skip_space();
      }
      items.push_back(std::move(item));
      if (at_end()) return items;
      expect(':');
      skip_space();
    }
  }

private:
  [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  std::string word(const char* what) {
    const std::size_t start = pos_;
    while (!at_end() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
      ++pos_;
    if (start == pos_) fail(fmt::format("expected {}", what));
    return std::string(text_.substr(start, pos_ - start));
  }
  void expect(char c) {
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++pos_;
  }
  [[noreturn]] void fail(const std::string& what) const {
    const std::string found =
        at_end() ? "the end of the string" : fmt::format("'{}'", text_.substr(pos_, 1));
    throw StackError(fmt::format("column {}: {}, found {}", pos_ + 1, what, found));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

} // namespace

std::vector<LayerSpec> parse_stack_string(std::string_view spec) {
  return StackParser(spec).parse();
}

std::unique_ptr<DynLayer> Registry::make(const LayerSpec& layer) const {
  auto it = entries_.find(layer.name);
  if (it == entries_.end()) {
    std::vector<std::string> names;
    for (const auto& [name, entry] : entries_) names.push_back(name);
    throw StackError(fmt::format("column {}: unknown layer '{}' (known layers: {})", layer.column,
                                 layer.name, fmt::join(names, ", ")));
  }
  LayerArgs args(layer.name, layer.args);
  auto made = it->second.make(args);
  args.finish();
  return made;
}

std::unique_ptr<DynamicStack> Registry::build(std::string_view spec) const {
  std::vector<std::unique_ptr<DynLayer>> layers;
  for (const auto& item : parse_stack_string(spec)) layers.push_back(make(item));
  return std::make_unique<DynamicStack>(std::move(layers));
}

void Registry::duplicate(std::string_view name) {
  throw StackError(fmt::format("two different layers are registered under the name {}: a layer's "
                               "name must be unique among the layers a program is built with",
                               name));
}

Registry& layer_registry() {
  static Registry registry;
  return registry;
}

std::vector<std::pair<std::string, std::string>> Registry::layers() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, entry] : entries_) out.emplace_back(name, entry.params);
  return out;
}

} // namespace lamina
