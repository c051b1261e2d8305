// The lexer of the spec language (spec/lexer.hpp). Hand-written: the language is ours, the
// token set is small, and we want messages such as "'!=' is not an operator; write '≠'" that a
// generated scanner would not give.
#include "spec/lexer.hpp"

#include <array>
#include <fmt/format.h>
#include <unordered_map>

namespace lamina::spec {
namespace {

struct Spelling {
  TokenKind kind;
  std::string_view text;
};

constexpr std::array keywords = {
    Spelling{TokenKind::Import, "import"},
    Spelling{TokenKind::Type, "type"},
    Spelling{TokenKind::Enumeration, "enumeration"},
    Spelling{TokenKind::Of, "of"},
    Spelling{TokenKind::Record, "record"},
    Spelling{TokenKind::Automaton, "automaton"},
    Spelling{TokenKind::Signature, "signature"},
    Spelling{TokenKind::States, "states"},
    Spelling{TokenKind::Transitions, "transitions"},
    Spelling{TokenKind::Input, "input"},
    Spelling{TokenKind::Output, "output"},
    Spelling{TokenKind::Internal, "internal"},
    Spelling{TokenKind::Const, "const"},
    Spelling{TokenKind::Pre, "pre"},
    Spelling{TokenKind::Eff, "eff"},
    Spelling{TokenKind::Components, "components"},
    Spelling{TokenKind::Invariant, "invariant"},
    Spelling{TokenKind::Layer, "layer"},
    Spelling{TokenKind::Provides, "provides"},
    Spelling{TokenKind::Needs, "needs"},
    Spelling{TokenKind::Header, "header"},
    Spelling{TokenKind::Ccp, "ccp"},
    Spelling{TokenKind::Stack, "stack"},
    Spelling{TokenKind::Oracle, "oracle"},
    Spelling{TokenKind::If, "if"},
    Spelling{TokenKind::Then, "then"},
    Spelling{TokenKind::Elseif, "elseif"},
    Spelling{TokenKind::Else, "else"},
    Spelling{TokenKind::Fi, "fi"},
    Spelling{TokenKind::Let, "let"},
    Spelling{TokenKind::For, "for"},
    Spelling{TokenKind::Do, "do"},
    Spelling{TokenKind::Od, "od"},
    Spelling{TokenKind::Emit, "emit"},
    Spelling{TokenKind::SetTimer, "set_timer"},
    Spelling{TokenKind::Skip, "skip"},
    Spelling{TokenKind::True, "true"},
    Spelling{TokenKind::False, "false"},
    Spelling{TokenKind::Div, "div"},
    Spelling{TokenKind::Mod, "mod"},
    Spelling{TokenKind::In, "in"},
    Spelling{TokenKind::NotIn, "notin"},
};

// The Unicode spellings, as UTF-8.
constexpr std::array unicode_operators = {
    Spelling{TokenKind::And, "∧"},     Spelling{TokenKind::Or, "∨"},
    Spelling{TokenKind::Not, "¬"},     Spelling{TokenKind::Ne, "≠"},
    Spelling{TokenKind::Le, "≤"},      Spelling{TokenKind::Ge, "≥"},
    Spelling{TokenKind::Implies, "⇒"}, Spelling{TokenKind::Append, "⊢"},
    Spelling{TokenKind::In, "∈"},      Spelling{TokenKind::NotIn, "∉"},
};

// Characters that look like an operator of the language, with what to write instead.
struct LookAlike {
  char32_t code;
  std::string_view hint;
};
constexpr std::array look_alikes = {
    LookAlike{0x2212, "subtraction is written '-'"},
    LookAlike{0x2192, "implication is written '⇒' or '=>'"},
    LookAlike{0x27F9, "implication is written '⇒' or '=>'"},
    LookAlike{0x00A0, "a no-break space; use an ordinary space"},
    LookAlike{0x201C, "strings are quoted with '\"'"},
    LookAlike{0x201D, "strings are quoted with '\"'"},
};

struct TimeUnit {
  std::string_view suffix;
  std::uint64_t nanoseconds;
};
constexpr std::array time_units = {
    TimeUnit{"ns", 1},
    TimeUnit{"us", 1'000},
    TimeUnit{"ms", 1'000'000},
    TimeUnit{"s", 1'000'000'000},
};

constexpr unsigned __int128 u128_max = ~static_cast<unsigned __int128>(0);

bool is_letter(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(int c) { return c >= '0' && c <= '9'; }
bool is_name_char(int c) { return is_letter(c) || is_digit(c); }
int hex_digit(int c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Quotes source text for a message, shortened if long.
std::string quoted(std::string_view text) {
  constexpr std::size_t longest = 40;
  if (text.size() <= longest) return fmt::format("'{}'", text);
  return fmt::format("'{}...'", text.substr(0, longest));
}

class Lexer {
public:
  Lexer(std::string_view text, FileId file, Diagnostics& diags)
      : src_(text), file_(file), diags_(diags) {}

  std::vector<Token> run() {
    out_.reserve(src_.size() / 4 + 1);
    if (src_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3; // a UTF-8 byte order mark
    while (pos_ < src_.size()) {
      int c = peek();
      if (c == '\n') {
        ++pos_;
        ++line_;
        line_start_ = pos_;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
      } else if (c == '%' || (c == '/' && peek(1) == '/')) {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      } else if (is_letter(c)) {
        name();
      } else if (is_digit(c)) {
        number();
      } else if (c == '"') {
        string();
      } else if (c >= 0x80) {
        unicode();
      } else {
        punctuation(c);
      }
    }
    Token end;
    end.kind = TokenKind::End;
    end.loc = out_.empty() ? SourceLoc{file_, 1, 1}
                           : SourceLoc{file_, out_.back().loc.line,
                                       out_.back().loc.column +
                                           static_cast<std::uint32_t>(out_.back().text.size())};
    out_.push_back(end);
    return std::move(out_);
  }

private:
  // The byte `ahead` bytes on, or -1 past the end.
  [[nodiscard]] int peek(std::size_t ahead = 0) const {
    return pos_ + ahead < src_.size() ? static_cast<unsigned char>(src_[pos_ + ahead]) : -1;
  }
  [[nodiscard]] SourceLoc loc(std::size_t offset) const {
    return {file_, line_, static_cast<std::uint32_t>(offset - line_start_ + 1)};
  }
  Token& push(TokenKind kind, std::size_t begin) {
    Token t;
    t.kind = kind;
    t.loc = loc(begin);
    t.text = src_.substr(begin, pos_ - begin);
    out_.push_back(std::move(t));
    return out_.back();
  }
  // A token of `length` bytes at the current position.
  void take(TokenKind kind, std::size_t length) {
    std::size_t begin = pos_;
    pos_ += length;
    push(kind, begin);
  }
  // A misspelt operator: reported, then taken as the operator meant, so that parsing goes on
  // as the writer intended.
  void misspelt(TokenKind kind, std::size_t length, std::string_view message) {
    diags_.error(loc(pos_), std::string(message));
    take(kind, length);
  }

  void name() {
    std::size_t begin = pos_;
    while (is_name_char(peek())) ++pos_;
    static const std::unordered_map<std::string_view, TokenKind> reserved = [] {
      std::unordered_map<std::string_view, TokenKind> words;
      for (const Spelling& k : keywords) words.emplace(k.text, k.kind);
      return words;
    }();
    auto it = reserved.find(src_.substr(begin, pos_ - begin));
    push(it == reserved.end() ? TokenKind::Ident : it->second, begin);
  }

  void number() {
    std::size_t begin = pos_;
    unsigned __int128 value = 0;
    bool too_large = false;
    bool hex = peek() == '0' && (peek(1) == 'x' || peek(1) == 'X');
    if (hex) {
      pos_ += 2;
      std::size_t digits = pos_;
      for (int d = hex_digit(peek()); d >= 0; d = hex_digit(peek())) {
        if (value > (u128_max >> 4)) too_large = true;
        value = value << 4 | static_cast<unsigned>(d);
        ++pos_;
      }
      if (pos_ == digits) {
        diags_.error(loc(begin), "expected hexadecimal digits after '0x'");
        while (is_name_char(peek())) ++pos_;
        push(TokenKind::Int, begin);
        return;
      }
    } else {
      for (int c = peek(); is_digit(c); c = peek()) {
        auto d = static_cast<unsigned>(c - '0');
        if (value > (u128_max - d) / 10) too_large = true;
        value = value * 10 + d;
        ++pos_;
      }
    }
    std::size_t suffix_begin = pos_;
    while (is_name_char(peek())) ++pos_;
    std::string_view suffix = src_.substr(suffix_begin, pos_ - suffix_begin);
    TokenKind kind = TokenKind::Int;
    if (!suffix.empty()) {
      const TimeUnit* unit = nullptr;
      for (const TimeUnit& u : time_units) {
        if (u.suffix == suffix && !hex) unit = &u;
      }
      if (unit == nullptr) {
        diags_.error(loc(suffix_begin),
                     fmt::format("invalid suffix {} on an integer literal (a time literal "
                                 "ends in ns, us, ms or s)",
                                 quoted(suffix)));
      } else {
        kind = TokenKind::Time;
        if (value > u128_max / unit->nanoseconds) too_large = true;
        value *= unit->nanoseconds;
      }
    }
    if (too_large) {
      diags_.error(loc(begin), fmt::format("{} literal {} is too large (the largest is 2^128 - 1)",
                                           kind == TokenKind::Time ? "time" : "integer",
                                           quoted(src_.substr(begin, pos_ - begin))));
      value = 0;
    }
    push(kind, begin).value = value;
  }

  void string() {
    std::size_t begin = pos_;
    std::string value;
    ++pos_;
    for (;;) {
      int c = peek();
      if (c == -1 || c == '\n') {
        diags_.error(loc(begin), "unterminated string: a string ends with '\"' on the same line");
        break;
      }
      if (c == '"') {
        ++pos_;
        break;
      }
      if (c == '\\') {
        int e = peek(1);
        if (e == '"' || e == '\\') {
          value += static_cast<char>(e);
        } else if (e == 'n') {
          value += '\n';
        } else if (e == 't') {
          value += '\t';
        } else if (e == -1 || e == '\n') {
          ++pos_; // the string is unterminated; said on the next round
          continue;
        } else {
          diags_.error(loc(pos_), fmt::format("unknown escape sequence '\\{}' in a string (known: "
                                              "\\\" \\\\ \\n \\t)",
                                              src_.substr(pos_ + 1, utf8_length(pos_ + 1))));
          pos_ += 1 + utf8_length(pos_ + 1);
          continue;
        }
        pos_ += 2;
        continue;
      }
      value += static_cast<char>(c);
      ++pos_;
    }
    push(TokenKind::String, begin).string = std::move(value);
  }

  // The length of the valid UTF-8 sequence at `at`, or 1 for a byte that does not begin one.
  [[nodiscard]] std::size_t utf8_length(std::size_t at) const {
    auto byte = [&](std::size_t i) {
      return at + i < src_.size() ? static_cast<unsigned char>(src_[at + i]) : 0u;
    };
    unsigned lead = byte(0);
    std::size_t length = 0;
    unsigned low = 0x80, high = 0xBF; // the range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;  // no overlong forms
      if (lead == 0xED) high = 0x9F; // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F; // nothing above U+10FFFF
    } else {
      return 1;
    }
    if (byte(1) < low || byte(1) > high) return 1;
    for (std::size_t i = 2; i < length; ++i) {
      if (byte(i) < 0x80 || byte(i) > 0xBF) return 1;
    }
    return length;
  }

  void unicode() {
    std::size_t length = utf8_length(pos_);
    if (length == 1) {
      diags_.error(loc(pos_), fmt::format("invalid UTF-8 byte 0x{:02X}", peek()));
      ++pos_;
      return;
    }
    std::string_view text = src_.substr(pos_, length);
    for (const Spelling& op : unicode_operators) {
      if (op.text == text) {
        take(op.kind, length);
        return;
      }
    }
    auto code = static_cast<char32_t>(static_cast<unsigned char>(text[0]) & (0xFF >> (length + 1)));
    for (std::size_t i = 1; i < length; ++i) {
      code = code << 6 | (static_cast<unsigned char>(text[i]) & 0x3F);
    }
    std::string message =
        fmt::format("unexpected character '{}' (U+{:04X})", text, static_cast<std::uint32_t>(code));
    for (const LookAlike& l : look_alikes) {
      if (l.code == code) message += fmt::format("; {}", l.hint);
    }
    diags_.error(loc(pos_), std::move(message));
    pos_ += length;
  }

  void punctuation(int c) {
    int next = peek(1);
    switch (c) {
    case '(':
      return take(TokenKind::LParen, 1);
    case ')':
      return take(TokenKind::RParen, 1);
    case '[':
      return take(TokenKind::LBracket, 1);
    case ']':
      return take(TokenKind::RBracket, 1);
    case '{':
      return take(TokenKind::LBrace, 1);
    case '}':
      return take(TokenKind::RBrace, 1);
    case ',':
      return take(TokenKind::Comma, 1);
    case ';':
      return take(TokenKind::Semicolon, 1);
    case '.':
      return take(TokenKind::Dot, 1);
    case ':':
      return next == '=' ? take(TokenKind::Assign, 2) : take(TokenKind::Colon, 1);
    case '<':
      return next == '=' ? take(TokenKind::Le, 2) : take(TokenKind::Lt, 1);
    case '>':
      return next == '=' ? take(TokenKind::Ge, 2) : take(TokenKind::Gt, 1);
    case '~':
      return next == '=' ? take(TokenKind::Ne, 2) : take(TokenKind::Not, 1);
    // `+%`, `-%`, `*%` are operators, so a `%` right after `+ - *` does not begin a comment.
    case '+':
      return next == '%' ? take(TokenKind::PlusWrap, 2) : take(TokenKind::Plus, 1);
    case '-':
      return next == '%' ? take(TokenKind::MinusWrap, 2) : take(TokenKind::Minus, 1);
    case '*':
      return next == '%' ? take(TokenKind::StarWrap, 2) : take(TokenKind::Star, 1);
    case '=':
      if (next == '>') return take(TokenKind::Implies, 2);
      if (next == '=') {
        return misspelt(TokenKind::Eq, 2, "'==' is not an operator; equality is written '='");
      }
      return take(TokenKind::Eq, 1);
    case '/':
      if (next == '\\') return take(TokenKind::And, 2);
      return misspelt(TokenKind::Div, 1, "'/' is not an operator; division is written 'div'");
    case '\\':
      if (next == '/') return take(TokenKind::Or, 2);
      break;
    case '|':
      if (next == '-') return take(TokenKind::Append, 2);
      if (next == '|') {
        return misspelt(TokenKind::Or, 2, "'||' is not an operator; 'or' is written '∨' or '\\/'");
      }
      break;
    case '!':
      if (next == '=') {
        return misspelt(TokenKind::Ne, 2,
                        "'!=' is not an operator; 'not equal' is written '≠' or '~='");
      }
      return misspelt(TokenKind::Not, 1, "'!' is not an operator; 'not' is written '¬' or '~'");
    case '&':
      return misspelt(TokenKind::And, next == '&' ? 2 : 1,
                      fmt::format("'{}' is not an operator; 'and' is written '∧' or '/\\'",
                                  next == '&' ? "&&" : "&"));
    default:
      break;
    }
    if (c >= 0x20 && c < 0x7F) {
      diags_.error(loc(pos_), fmt::format("unexpected character '{}'", static_cast<char>(c)));
    } else {
      diags_.error(loc(pos_), fmt::format("unexpected control character (byte 0x{:02X})", c));
    }
    ++pos_;
  }

  std::string_view src_;
  FileId file_;
  Diagnostics& diags_;
  std::size_t pos_ = 0;
  std::size_t line_start_ = 0;
  std::uint32_t line_ = 1;
  std::vector<Token> out_;
};

} // namespace

std::vector<Token> lex(const Sources& sources, FileId file, Diagnostics& diags) {
  return Lexer(sources.text(file), file, diags).run();
}

std::string_view spelling(TokenKind kind) {
  switch (kind) {
  case TokenKind::End:
    return "end of file";
  case TokenKind::Ident:
    return "a name";
  case TokenKind::Int:
    return "an integer";
  case TokenKind::Time:
    return "a time";
  case TokenKind::String:
    return "a string in quotes";
  case TokenKind::Import:
    return "'import'";
  case TokenKind::Type:
    return "'type'";
  case TokenKind::Enumeration:
    return "'enumeration'";
  case TokenKind::Of:
    return "'of'";
  case TokenKind::Record:
    return "'record'";
  case TokenKind::Automaton:
    return "'automaton'";
  case TokenKind::Signature:
    return "'signature'";
  case TokenKind::States:
    return "'states'";
  case TokenKind::Transitions:
    return "'transitions'";
  case TokenKind::Input:
    return "'input'";
  case TokenKind::Output:
    return "'output'";
  case TokenKind::Internal:
    return "'internal'";
  case TokenKind::Const:
    return "'const'";
  case TokenKind::Pre:
    return "'pre'";
  case TokenKind::Eff:
    return "'eff'";
  case TokenKind::Components:
    return "'components'";
  case TokenKind::Invariant:
    return "'invariant'";
  case TokenKind::Layer:
    return "'layer'";
  case TokenKind::Provides:
    return "'provides'";
  case TokenKind::Needs:
    return "'needs'";
  case TokenKind::Header:
    return "'header'";
  case TokenKind::Ccp:
    return "'ccp'";
  case TokenKind::Stack:
    return "'stack'";
  case TokenKind::Oracle:
    return "'oracle'";
  case TokenKind::If:
    return "'if'";
  case TokenKind::Then:
    return "'then'";
  case TokenKind::Elseif:
    return "'elseif'";
  case TokenKind::Else:
    return "'else'";
  case TokenKind::Fi:
    return "'fi'";
  case TokenKind::Let:
    return "'let'";
  case TokenKind::For:
    return "'for'";
  case TokenKind::Do:
    return "'do'";
  case TokenKind::Od:
    return "'od'";
  case TokenKind::Emit:
    return "'emit'";
  case TokenKind::SetTimer:
    return "'set_timer'";
  case TokenKind::Skip:
    return "'skip'";
  case TokenKind::True:
    return "'true'";
  case TokenKind::False:
    return "'false'";
  case TokenKind::Div:
    return "'div'";
  case TokenKind::Mod:
    return "'mod'";
  case TokenKind::And:
    return "'∧'";
  case TokenKind::Or:
    return "'∨'";
  case TokenKind::Not:
    return "'¬'";
  case TokenKind::Eq:
    return "'='";
  case TokenKind::Ne:
    return "'≠'";
  case TokenKind::Lt:
    return "'<'";
  case TokenKind::Le:
    return "'≤'";
  case TokenKind::Gt:
    return "'>'";
  case TokenKind::Ge:
    return "'≥'";
  case TokenKind::Implies:
    return "'⇒'";
  case TokenKind::Append:
    return "'⊢'";
  case TokenKind::In:
    return "'in'";
  case TokenKind::NotIn:
    return "'notin'";
  case TokenKind::Plus:
    return "'+'";
  case TokenKind::Minus:
    return "'-'";
  case TokenKind::Star:
    return "'*'";
  case TokenKind::PlusWrap:
    return "'+%'";
  case TokenKind::MinusWrap:
    return "'-%'";
  case TokenKind::StarWrap:
    return "'*%'";
  case TokenKind::Assign:
    return "':='";
  case TokenKind::Colon:
    return "':'";
  case TokenKind::Comma:
    return "','";
  case TokenKind::Semicolon:
    return "';'";
  case TokenKind::Dot:
    return "'.'";
  case TokenKind::LParen:
    return "'('";
  case TokenKind::RParen:
    return "')'";
  case TokenKind::LBracket:
    return "'['";
  case TokenKind::RBracket:
    return "']'";
  case TokenKind::LBrace:
    return "'{'";
  case TokenKind::RBrace:
    return "'}'";
  }
  return "a token";
}

std::string describe(const Token& token) {
  if (token.kind == TokenKind::End) return "end of file";
  return quoted(token.text);
}

} // namespace lamina::spec
