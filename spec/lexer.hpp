// The tokens of the spec language (spec/README.md, "Lexical structure"): the text of one file
// as names, keywords, literals and operators, with where each begins.
//
// Every operator has one kind for both its spellings (`∧` and `/\` are both And; `∈` and `in`
// are both In). Reserved words are exactly the keywords below; the names the checker knows
// (`me`, `peers`, `now`, `lamport`, `group_size`, the built-in types and functions) and the
// words that have a meaning only in one place (`down`, `up`, `send`, `cast`, `deliver`,
// `timer`) are ordinary names, so a classic automaton may call a parameter `me`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spec/source.hpp"

namespace lamina::spec {

enum class TokenKind : std::uint8_t {
  End, // end of file; the last token, always present
  Ident,
  Int,    // 42, 0x2a
  Time,   // 20ms, 5s, 100us, 7ns
  String, // "..."
  // keywords
  Import,
  Type,
  Enumeration,
  Of,
  Record,
  Automaton,
  Signature,
  States,
  Transitions,
  Input,
  Output,
  Internal,
  Const,
  Pre,
  Eff,
  Components,
  Invariant,
  Layer,
  Provides,
  Needs,
  Header,
  Ccp,
  Stack,
  Oracle,
  If,
  Then,
  Elseif,
  Else,
  Fi,
  Let,
  For,
  Do,
  Od,
  Emit,
  SetTimer,
  Skip,
  True,
  False,
  Div,
  Mod,
  // operators, each with its Unicode and ASCII spelling where it has two
  And,     // ∧ /\ .
  Or,      // ∨ \/ .
  Not,     // ¬ ~
  Eq,      // =
  Ne,      // ≠ ~=
  Lt,      // <
  Le,      // ≤ <=
  Gt,      // >
  Ge,      // ≥ >=
  Implies, // ⇒ =>
  Append,  // ⊢ |-
  In,      // ∈ in
  NotIn,   // ∉ notin
  Plus,
  Minus,
  Star,
  PlusWrap,  // +%
  MinusWrap, // -%
  StarWrap,  // *%
  // punctuation
  Assign, // :=
  Colon,
  Comma,
  Semicolon,
  Dot,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
};

struct Token {
  TokenKind kind = TokenKind::End;
  SourceLoc loc;
  std::string_view text;       // as written; a view into the Sources text, valid while it is
  unsigned __int128 value = 0; // Int: the value; Time: nanoseconds
  std::string string;          // String: the contents, escapes resolved
};

// The tokens of `file`, ending with one End token placed just after the last token. Reports
// what is not a token (an unknown character, a stray UTF-8 byte, an integer too large for 128
// bits, an unterminated string) to `diags` and goes on after it, so the list is always usable.
std::vector<Token> lex(const Sources& sources, FileId file, Diagnostics& diags);

// How a kind is named in a message: "':='", "'automaton'", "'∧'", "a name", "end of file".
std::string_view spelling(TokenKind kind);

// How a token is named in a message ("found ..."): its text in quotes, or "end of file".
std::string describe(const Token& token);

} // namespace lamina::spec
