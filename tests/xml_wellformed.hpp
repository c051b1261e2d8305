// A checker of XML well-formedness, for the SVG documents that services/common/spacetime_svg
// writes: written apart from the writer (its own UTF-8 decoder, its own reading of the
// grammar), so that a mistake in one is not repeated in the other.
//
// It checks what XML 1.0 asks of a document without a DTD: the bytes are UTF-8 and every
// character is one XML allows; one root element, with only comments, processing instructions,
// white space and an XML declaration (and a DOCTYPE without an internal subset) around it;
// tags balanced and nested, names well formed, attribute values quoted, no attribute twice on
// an element; no `<` in text or attribute values, and every `&` the start of a reference to one
// of the five predefined entities or to a character XML allows; comments without `--`.
// svg_problem() asks further that the root be <svg> in the SVG namespace.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace lamina::xml_check {

namespace detail {

struct Bad {
  std::size_t at;
  std::string what;
};

// A character of XML 1.0's Char production.
inline bool allowed(char32_t c) {
  return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
         (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

// Throws Bad at the first byte that does not begin a well-formed UTF-8 sequence of an allowed
// character. Decoded by the value of each sequence, then checked against the shortest form.
inline void check_characters(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    char32_t c = 0;
    if (b < 0x80) {
      n = 1;
      c = b;
    } else if ((b & 0xE0u) == 0xC0u) {
      n = 2;
      c = b & 0x1Fu;
    } else if ((b & 0xF0u) == 0xE0u) {
      n = 3;
      c = b & 0x0Fu;
    } else if ((b & 0xF8u) == 0xF0u) {
      n = 4;
      c = b & 0x07u;
    } else {
      throw Bad{i, "a byte that cannot begin a UTF-8 sequence"};
    }
    if (i + n > s.size()) throw Bad{i, "a UTF-8 sequence cut short by the end"};
    for (std::size_t k = 1; k < n; ++k) {
      const auto cont = static_cast<unsigned char>(s[i + k]);
      if ((cont & 0xC0u) != 0x80u) throw Bad{i, "a UTF-8 sequence cut short"};
      c = (c << 6) | (cont & 0x3Fu);
    }
    const char32_t shortest = n == 1 ? 0 : n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (c < shortest) throw Bad{i, "an overlong UTF-8 sequence"};
    if (c >= 0xD800 && c <= 0xDFFF) throw Bad{i, "a surrogate encoded in UTF-8"};
    if (!allowed(c)) throw Bad{i, "a character XML does not allow (a control character?)"};
    i += n;
  }
}

class Reader {
public:
  explicit Reader(std::string_view s) : s_(s) {}

  // The document; returns the root element's name and attributes.
  struct Element {
    std::string name;
    std::vector<std::pair<std::string, std::string>> attributes; // values as written
  };
  Element document() {
    if (starts("<?xml") && s_.size() > 5 && space(s_[5])) declaration();
    misc(true);
    if (!starts("<")) throw Bad{i_, "no root element"};
    Element root = element();
    misc(false);
    if (i_ != s_.size()) throw Bad{i_, "something after the root element"};
    return root;
  }

private:
  static bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
  static bool name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           static_cast<unsigned char>(c) >= 0x80;
  }
  static bool name_char(char c) {
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
  }
  bool starts(std::string_view t) const { return s_.substr(i_).starts_with(t); }
  void skip_space() {
    while (i_ < s_.size() && space(s_[i_])) ++i_;
  }
  void expect(std::string_view t, const char* what) {
    if (!starts(t)) throw Bad{i_, what};
    i_ += t.size();
  }
  std::string name() {
    if (i_ >= s_.size() || !name_start(s_[i_])) throw Bad{i_, "a name expected"};
    const std::size_t from = i_;
    while (i_ < s_.size() && name_char(s_[i_])) ++i_;
    return std::string(s_.substr(from, i_ - from));
  }

  // `&` at i_: a reference to a predefined entity or to an allowed character.
  void reference() {
    const std::size_t at = i_++;
    const std::size_t semicolon = s_.find(';', i_);
    if (semicolon == std::string_view::npos) throw Bad{at, "an '&' with no ';' after it"};
    const std::string_view body = s_.substr(i_, semicolon - i_);
    if (body.starts_with("#")) {
      const bool hex = body.starts_with("#x");
      const std::string_view digits = body.substr(hex ? 2 : 1);
      if (digits.empty() || digits.size() > 8) throw Bad{at, "a malformed character reference"};
      char32_t c = 0;
      for (const char d : digits) {
        int v = -1;
        if (d >= '0' && d <= '9') v = d - '0';
        if (hex && d >= 'a' && d <= 'f') v = d - 'a' + 10;
        if (hex && d >= 'A' && d <= 'F') v = d - 'A' + 10;
        if (v < 0) throw Bad{at, "a malformed character reference"};
        c = c * (hex ? 16 : 10) + static_cast<char32_t>(v);
      }
      if (!allowed(c)) throw Bad{at, "a reference to a character XML does not allow"};
    } else if (body != "amp" && body != "lt" && body != "gt" && body != "quot" && body != "apos") {
      throw Bad{at, "a reference to an entity that is not one of XML's five"};
    }
    i_ = semicolon + 1;
  }

  void declaration() {
    const std::size_t end = s_.find("?>");
    if (end == std::string_view::npos) throw Bad{0, "an XML declaration without '?>'"};
    if (s_.substr(0, end).find("version=") == std::string_view::npos)
      throw Bad{0, "an XML declaration without a version"};
    i_ = end + 2;
  }
  void comment() {
    const std::size_t at = i_;
    i_ += 4;
    const std::size_t end = s_.find("--", i_);
    if (end == std::string_view::npos) throw Bad{at, "a comment that does not end"};
    if (end + 2 >= s_.size() || s_[end + 2] != '>') throw Bad{end, "'--' inside a comment"};
    i_ = end + 3;
  }
  void instruction() {
    const std::size_t at = i_;
    i_ += 2;
    std::string target = name();
    for (char& c : target) c = static_cast<char>(c | 0x20);
    if (target == "xml") throw Bad{at, "an XML declaration not at the start of the document"};
    const std::size_t end = s_.find("?>", i_);
    if (end == std::string_view::npos) throw Bad{at, "a processing instruction without '?>'"};
    i_ = end + 2;
  }
  // Comments, processing instructions and white space; before the root, one DOCTYPE too.
  void misc(bool before_root) {
    bool doctype = false;
    for (;;) {
      skip_space();
      if (starts("<!--")) {
        comment();
      } else if (starts("<?")) {
        instruction();
      } else if (before_root && !doctype && starts("<!DOCTYPE")) {
        const std::size_t end = s_.find('>', i_);
        if (end == std::string_view::npos) throw Bad{i_, "a DOCTYPE that does not end"};
        if (s_.substr(i_, end - i_).find('[') != std::string_view::npos)
          throw Bad{i_, "a DOCTYPE with an internal subset (not supported by this checker)"};
        i_ = end + 1;
        doctype = true;
      } else {
        return;
      }
    }
  }

  // A start tag at i_; sets `empty` when it is an empty-element tag (`/>`).
  Element start_tag(bool& empty) {
    ++i_;
    Element e{name(), {}};
    std::set<std::string> seen;
    for (;;) {
      const std::size_t before = i_;
      skip_space();
      if (starts("/>")) {
        i_ += 2;
        empty = true;
        return e;
      }
      if (starts(">")) {
        ++i_;
        empty = false;
        return e;
      }
      if (i_ == before) throw Bad{i_, "an attribute must be preceded by white space"};
      std::string attribute = name();
      if (!seen.insert(attribute).second) throw Bad{before, "an attribute given twice"};
      skip_space();
      expect("=", "'=' expected after an attribute's name");
      skip_space();
      if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\''))
        throw Bad{i_, "an attribute value not in quotes"};
      const char quote = s_[i_++];
      const std::size_t from = i_;
      while (i_ < s_.size() && s_[i_] != quote) {
        if (s_[i_] == '<') throw Bad{i_, "'<' in an attribute value"};
        if (s_[i_] == '&')
          reference();
        else
          ++i_;
      }
      if (i_ >= s_.size()) throw Bad{from, "an attribute value that does not end"};
      e.attributes.emplace_back(std::move(attribute), std::string(s_.substr(from, i_ - from)));
      ++i_;
    }
  }

  // The element at i_ and everything in it, with a stack of open elements rather than
  // recursion, so that deep nesting cannot exhaust the call stack.
  Element element() {
    bool empty = false;
    Element root = start_tag(empty);
    std::vector<std::string> open;
    if (!empty) open.push_back(root.name);
    while (!open.empty()) {
      if (i_ >= s_.size()) throw Bad{i_, "the document ends inside <" + open.back() + ">"};
      if (starts("</")) {
        const std::size_t at = i_;
        i_ += 2;
        const std::string closed = name();
        skip_space();
        expect(">", "'>' expected to close an end tag");
        if (closed != open.back()) throw Bad{at, "</" + closed + "> closes <" + open.back() + ">"};
        open.pop_back();
      } else if (starts("<!--")) {
        comment();
      } else if (starts("<![CDATA[")) {
        const std::size_t end = s_.find("]]>", i_);
        if (end == std::string_view::npos) throw Bad{i_, "a CDATA section that does not end"};
        i_ = end + 3;
      } else if (starts("<?")) {
        instruction();
      } else if (starts("<")) {
        bool child_empty = false;
        Element child = start_tag(child_empty);
        if (!child_empty) open.push_back(std::move(child.name));
      } else if (s_[i_] == '&') {
        reference();
      } else {
        if (starts("]]>")) throw Bad{i_, "']]>' in text"};
        ++i_;
      }
    }
    return root;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

} // namespace detail

// What is wrong with `doc` as an XML document, with the byte offset, or nullopt when it is well
// formed. `root`, when not empty, is the name the root element must have, and `xmlns`, when not
// empty, the value its xmlns attribute must have.
inline std::optional<std::string> problem(std::string_view doc, std::string_view root = {},
                                          std::string_view xmlns = {}) {
  try {
    detail::check_characters(doc);
    const detail::Reader::Element e = detail::Reader(doc).document();
    if (!root.empty() && e.name != root)
      return "the root element is <" + e.name + ">, not <" + std::string(root) + ">";
    if (!xmlns.empty()) {
      for (const auto& [attribute, value] : e.attributes)
        if (attribute == "xmlns")
          return value == xmlns ? std::nullopt
                                : std::optional<std::string>("the root's xmlns is '" + value +
                                                             "', not '" + std::string(xmlns) + "'");
      return "the root element has no xmlns attribute";
    }
    return std::nullopt;
  } catch (const detail::Bad& bad) {
    const std::size_t from = bad.at < 30 ? 0 : bad.at - 30;
    return "at byte " + std::to_string(bad.at) + ": " + bad.what + ", near '" +
           std::string(doc.substr(from, 60)) + "'";
  }
}

// What is wrong with `doc` as an SVG document: well-formed XML whose root is <svg> in the SVG
// namespace.
inline std::optional<std::string> svg_problem(std::string_view doc) {
  return problem(doc, "svg", "http://www.w3.org/2000/svg");
}

} // namespace lamina::xml_check
