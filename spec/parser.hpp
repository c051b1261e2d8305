// The parser of the spec language: one file's text to its syntax tree (spec/ast.hpp), by the
// grammar of spec/README.md.
//
// Syntax errors are reported to the Diagnostics as `file:line:col: error: ...` with a caret;
// after each the parser skips to the next place it can trust (the next declaration keyword;
// in a signature or transitions section the next input/output/internal; in statements the
// next ';', fi, od, else or elseif) and goes on, so that every error of a file is reported in
// one run. It never crashes, hangs or recurses without bound, whatever the input:
// declarations, statements, types and expressions nested more than `max_nesting` deep are an
// error.
//
// What the tree holds:
// - A declaration in which the parser found an error is left out, so every node in the tree
//   is complete: no required child is null (only Param::default_value, Transition::pre and
//   Emit::lamport are optional). The lexer's errors (a stray character, a misspelt operator
//   such as `!=`, a literal too large) leave the tree whole and do not drop a declaration.
//   Any error in a file means the file should not be checked.
// - Locations: a declaration, parameter, field, state variable, formal, action, component
//   and layer reference is located at its name; a layer transition and a ccp at its port
//   (`down`) or at `timer`; an import at its string; an invariant at `invariant`; a
//   statement at its first token. Among expressions, a binary or unary operation is located
//   at its operator, a field access at the field's name, an index at its `[`, a call and a
//   record literal at the name before the parenthesis or brace, a collection at its `{`.
//   Parentheses leave no node.
// - `IDENT {` in an expression is always a record (or header) literal and `IDENT (` a
//   built-in call; the checker decides whether the name is a type or a built-in.
// - In `emit`, an argument `lamport = e` is the named Lamport argument (Emit::lamport), never
//   a comparison, and must be the last argument.
// - Time literals (`20ms`) are IntLit with is_time set and the value in nanoseconds.
#pragma once

#include "spec/ast.hpp"
#include "spec/source.hpp"

namespace lamina::spec {

// The deepest nesting the parser accepts: of expressions (counting every operator and
// parenthesis on the way down), of statements, and of types.
inline constexpr unsigned max_nesting = 200;

// Parses file `file` of `sources`, reporting syntax errors to `diags`.
SpecFile parse(const Sources& sources, FileId file, Diagnostics& diags);

} // namespace lamina::spec
