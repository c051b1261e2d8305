// The spec language's front end: sources and diagnostics, the lexer, type identity, and the
// parser (spec/README.md is the reference; tests/specs/ holds the example files).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <regex>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "spec/ast.hpp"
#include "spec/lexer.hpp"
#include "spec/parser.hpp"
#include "spec/source.hpp"

namespace lamina::spec {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string read_file(const std::string& relative) {
  std::ifstream in(std::string(LAMINA_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << relative;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// One file parsed, with the sources and diagnostics it was parsed with.
struct Parsed {
  explicit Parsed(std::string text, std::string path = "test.ioa") : diags(sources) {
    file = sources.add(std::move(path), std::move(text));
    spec = parse(sources, file, diags);
  }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;

  [[nodiscard]] std::string errors() const { return diags.format(); }
  template <class T>
  [[nodiscard]] const T& decl(std::size_t i) const {
    return std::get<T>(spec.decls.at(i));
  }

  Sources sources;
  Diagnostics diags;
  FileId file = 0;
  SpecFile spec;
};

// ------------------------------------------------------------- printing trees for comparison

std::string u128(unsigned __int128 v) {
  if (v == 0) return "0";
  std::string digits;
  for (; v > 0; v /= 10) digits.insert(digits.begin(), static_cast<char>('0' + v % 10));
  return digits;
}

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

// An expression as an S-expression: operators prefix and parenthesised, so precedence and
// associativity are visible; a missing (null) expression prints as <null>.
std::string sexpr(const ExprPtr& e) {
  if (!e) return "<null>";
  auto list = [](const std::vector<ExprPtr>& es) {
    std::string out;
    for (const ExprPtr& x : es) out += (out.empty() ? "" : ", ") + sexpr(x);
    return out;
  };
  return std::visit(
      Overload{
          [](const IntLit& n) { return u128(n.value) + (n.is_time ? "ns" : ""); },
          [](const BoolLit& b) { return std::string(b.value ? "true" : "false"); },
          [&](const CollectionLit& c) { return "{" + list(c.elems) + "}"; },
          [](const Name& n) { return n.ident; },
          [](const Unary& u) {
            return fmt::format("({} {})", u.op == UnaryOp::Not ? "¬" : "neg", sexpr(u.operand));
          },
          [](const Binary& b) {
            return fmt::format("({} {} {})", symbol(b.op), sexpr(b.lhs), sexpr(b.rhs));
          },
          [&](const Call& c) { return c.callee + "(" + list(c.args) + ")"; },
          [](const FieldAccess& f) { return sexpr(f.record) + "." + f.field; },
          [](const IndexAccess& i) { return sexpr(i.collection) + "[" + sexpr(i.index) + "]"; },
          [](const RecordLit& r) {
            std::string out;
            for (const auto& [name, value] : r.fields) {
              out += (out.empty() ? "" : ", ") + name + " = " + sexpr(value);
            }
            return r.type_name + "{" + out + "}";
          },
      },
      e->node);
}

std::string dump(const Stmts& stmts);

std::string dump(const Stmt& s) {
  return std::visit(Overload{
                        [](const Assign& a) { return sexpr(a.target) + " := " + sexpr(a.value); },
                        [](const If& i) {
                          std::string out = "(if";
                          for (const auto& [cond, body] : i.branches)
                            out += " " + sexpr(cond) + " " + dump(body);
                          return out + " else " + dump(i.otherwise) + ")";
                        },
                        [](const Let& l) { return "let " + l.name + " := " + sexpr(l.value); },
                        [](const For& f) {
                          return "(for " + f.var + " " + sexpr(f.range) + " " + dump(f.body) + ")";
                        },
                        [](const Emit& e) {
                          std::string out =
                              fmt::format("emit {}.{}(", e.port == Port::Down ? "down" : "up",
                                          static_cast<int>(e.event));
                          for (const ExprPtr& a : e.args) out += sexpr(a) + ", ";
                          if (e.lamport) out += "lamport = " + sexpr(e.lamport);
                          return out + ")";
                        },
                        [](const SetTimer& t) { return "set_timer(" + sexpr(t.delay) + ")"; },
                        [](const Skip&) { return std::string("skip"); },
                    },
                    s.node);
}

std::string dump(const Stmts& stmts) {
  std::string out = "[";
  for (const auto& s : stmts) out += (out.size() > 1 ? "; " : "") + (s ? dump(*s) : "<null>");
  return out + "]";
}

std::string dump(const TypeExpr& t) {
  std::string out = t.name;
  if (!t.args.empty()) {
    out += "[";
    for (std::size_t i = 0; i < t.args.size(); ++i) out += (i ? ", " : "") + dump(t.args[i]);
    out += "]";
  }
  return out;
}

std::string dump(const std::vector<Param>& params) {
  std::string out;
  for (const Param& p : params) {
    out += fmt::format(" {}: {}", p.name, dump(p.type));
    if (p.default_value) out += " := " + sexpr(p.default_value);
  }
  return out;
}

std::string dump(const Transition& t) {
  std::string out = fmt::format("  transition {} {}", static_cast<int>(t.kind), t.name);
  if (t.port && t.event) {
    out += fmt::format(" port {} event {}", static_cast<int>(*t.port), static_cast<int>(*t.event));
  }
  for (const std::string& p : t.params) out += " " + p;
  if (t.pre) out += " pre " + sexpr(t.pre);
  return out + " eff " + dump(t.eff) + "\n";
}

// A whole file, locations left out (so that two spellings of one file print the same).
std::string dump(const SpecFile& file) {
  std::string out;
  for (const Decl& d : file.decls) {
    out += std::visit(
        Overload{
            [](const Import& i) { return "import " + i.path + "\n"; },
            [](const TypeDecl& t) {
              std::string s = fmt::format("type {} form {}", t.name, static_cast<int>(t.form));
              for (const std::string& e : t.enumerators) s += " " + e;
              for (const auto& [name, type] : t.fields) s += " " + name + ": " + dump(type);
              if (t.form == TypeDecl::Form::Alias) s += " " + dump(t.alias);
              return s + "\n";
            },
            [](const Automaton& a) {
              std::string s = "automaton " + a.name + dump(a.params) + "\n";
              for (const ActionSig& sig : a.signature) {
                s += fmt::format("  sig {} {}", static_cast<int>(sig.kind), sig.name);
                for (const Formal& f : sig.formals) {
                  s += f.is_const ? " const " + f.name : " " + f.name + ": " + dump(f.type);
                }
                s += "\n";
              }
              for (const StateVar& v : a.states) {
                s += "  state " + v.name + ": " + dump(v.type) + " := " + sexpr(v.init) + "\n";
              }
              for (const Transition& t : a.transitions) s += dump(t);
              for (const Component& c : a.components) {
                s += "  component " + c.name + ": " + c.automaton;
                for (const ExprPtr& e : c.args) s += " " + sexpr(e);
                s += "\n";
              }
              return s;
            },
            [](const Layer& l) {
              std::string s = "layer " + l.name + dump(l.params) + "\n";
              for (const std::string& g : l.provides) s += "  provides " + g + "\n";
              for (const std::string& g : l.needs) s += "  needs " + g + "\n";
              for (const Header& h : l.headers) {
                s += "  header " + h.name;
                for (const auto& [name, type] : h.fields) s += " " + name + ": " + dump(type);
                s += "\n";
              }
              for (const StateVar& v : l.states) {
                s += "  state " + v.name + ": " + dump(v.type) + " := " + sexpr(v.init) + "\n";
              }
              for (const Transition& t : l.transitions) s += dump(t);
              for (const Ccp& c : l.ccps) {
                s += fmt::format("  ccp {} {} {}\n", static_cast<int>(c.port),
                                 static_cast<int>(c.event), sexpr(c.predicate));
              }
              return s;
            },
            [](const Stack& st) {
              std::string s = "stack " + st.name + dump(st.params) + " =";
              for (const LayerRef& r : st.layers) {
                s += " " + r.layer;
                for (const auto& [name, value] : r.args) s += " " + name + "=" + sexpr(value);
              }
              return s + "\n";
            },
            [](const Invariant& i) {
              return "invariant of " + i.of + ": " + sexpr(i.predicate) + "\n";
            },
            [](const OracleDecl& o) {
              std::string s = "oracle " + o.name;
              for (const auto& [name, type] : o.params) s += " " + name + ": " + dump(type);
              return s + " -> " + dump(o.result) + "\n";
            },
            [](const Header& h) {
              std::string s = "header " + h.name;
              for (const auto& [name, type] : h.fields) s += " " + name + ": " + dump(type);
              return s + "\n";
            },
        },
        d);
  }
  return out;
}

// The predicate of `invariant: <text>`, as an S-expression, or the errors.
std::string expr(const std::string& text) {
  Parsed p("invariant: " + text);
  if (p.diags.has_errors() || p.spec.decls.size() != 1) return p.errors();
  return sexpr(p.decl<Invariant>(0).predicate);
}

// The file with every operator in its ASCII spelling.
std::string to_ascii(std::string text) {
  const std::pair<std::string, std::string> spellings[] = {
      {"∧", "/\\"}, {"∨", "\\/"}, {"¬", "~"},  {"≠", "~="},   {"≤", "<="},
      {"≥", ">="},  {"⇒", "=>"},  {"⊢", "|-"}, {"∈", " in "}, {"∉", " notin "},
  };
  for (const auto& [unicode, ascii] : spellings) {
    for (std::size_t at = text.find(unicode); at != std::string::npos;
         at = text.find(unicode, at + ascii.size())) {
      text.replace(at, unicode.size(), ascii);
    }
  }
  return text;
}

// --------------------------------------------------------------------- sources, diagnostics

TEST(Sources, LineIsTheTextOfOneLineWithoutItsLineEnd) {
  Sources s;
  FileId f = s.add("a.ioa", "first\r\nsecond\n\nfourth");
  EXPECT_EQ(s.line(f, 1), "first");
  EXPECT_EQ(s.line(f, 2), "second");
  EXPECT_EQ(s.line(f, 3), "");
  EXPECT_EQ(s.line(f, 4), "fourth");
  EXPECT_EQ(s.line(f, 5), "");
  EXPECT_EQ(s.line(f, 0), "");
  EXPECT_EQ(s.line(f + 1, 1), "");
}

TEST(Sources, LoadReadsAFileAndSaysWhyOneCannotBeRead) {
  Sources s;
  FileId id = 99;
  std::string error;
  ASSERT_TRUE(s.load(std::string(LAMINA_SOURCE_DIR) + "/tests/specs/two_counters.ioa", id, error));
  EXPECT_EQ(s.line(id, 1), "% Two counters talking over two FIFO links.");
  EXPECT_FALSE(s.load("/nonexistent/x.ioa", id, error));
  EXPECT_THAT(error, HasSubstr("cannot open '/nonexistent/x.ioa'"));
  EXPECT_FALSE(s.load(LAMINA_SOURCE_DIR, id, error));
  EXPECT_THAT(error, HasSubstr("is a directory"));
}

// A generated index (a .cpp that includes the headers written beside it) gets a new time stamp
// when only a header changed, so that the build recompiles what includes the headers at once.
TEST(GeneratedFiles, AnIndexIsStampedAfreshWhenOnlyTheFilesBesideItChanged) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / fmt::format("lamina_index_{}", ::getpid());
  fs::create_directories(dir);
  const std::string index = (dir / "index.cpp").string();
  std::string error;
  bool wrote = false;
  ASSERT_TRUE(write_if_changed(index, "#include \"a.hpp\"\n", error, &wrote));
  EXPECT_TRUE(wrote);
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
  fs::last_write_time(index, old);
  wrote = false;
  ASSERT_TRUE(write_if_changed(index, "#include \"a.hpp\"\n", error, &wrote));
  EXPECT_FALSE(wrote);
  ASSERT_TRUE(write_index(index, "#include \"a.hpp\"\n", false, error));
  EXPECT_EQ(fs::last_write_time(index), old); // nothing changed: the stamp stays
  ASSERT_TRUE(write_index(index, "#include \"a.hpp\"\n", true, error));
  EXPECT_GT(fs::last_write_time(index), old); // a header changed: a new stamp
  std::ifstream in(index);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "#include \"a.hpp\"\n");
  fs::remove_all(dir);
}

TEST(Diagnostics, FormatQuotesTheLineWithACaretUnderTheColumn) {
  Sources s;
  FileId f = s.add("stacks/rpc.ioa", "\n\nstack Rpc = Top : Frg : Bottom\n");
  Diagnostics d(s);
  d.error({f, 3, 19}, "unknown layer 'Frg'");
  d.note({f, 3, 19}, "did you mean 'Frag'?");
  d.warning({f, 1, 1}, "empty line");
  EXPECT_EQ(d.format(), "stacks/rpc.ioa:3:19: error: unknown layer 'Frg'\n"
                        "  stack Rpc = Top : Frg : Bottom\n"
                        "                    ^\n"
                        "stacks/rpc.ioa:3:19: note: did you mean 'Frag'?\n"
                        "stacks/rpc.ioa:1:1: warning: empty line\n"
                        "  \n"
                        "  ^\n");
  EXPECT_EQ(d.error_count(), 1u);
}

TEST(Diagnostics, CaretKeepsTabsAndCountsAUtf8CharacterAsOneColumn) {
  Sources s;
  FileId f = s.add("t.ioa", "\ta ∧ \tb");
  Diagnostics d(s);
  d.error({f, 1, 9}, "here"); // bytes: tab, a, space, 3 bytes of ∧, space, tab, b
  EXPECT_EQ(d.format(), "t.ioa:1:9: error: here\n  \ta ∧ \tb\n  \t    \t^\n");
}

TEST(Diagnostics, StopsAfterFiftyErrorsWithOneNote) {
  Sources s;
  FileId f = s.add("t.ioa", "x\n");
  Diagnostics d(s);
  for (int i = 0; i < 60; ++i) {
    d.error({f, 1, 1}, fmt::format("error {}", i));
    d.note({f, 1, 1}, "a note");
  }
  EXPECT_EQ(d.error_count(), Diagnostics::max_errors);
  EXPECT_TRUE(d.stopped());
  ASSERT_EQ(d.all().size(), 2 * Diagnostics::max_errors + 1);
  EXPECT_EQ(d.all().back().message, "too many errors, stopping");
  EXPECT_THAT(d.format(), HasSubstr("error 49\n"));
  EXPECT_THAT(d.format(), ::testing::Not(HasSubstr("error 50")));
}

// ---------------------------------------------------------------------------------- types

TEST(Types, SameTypeIsStructuralForBuiltinsAndByDeclarationForEnumsAndRecords) {
  auto fixed = [](std::uint8_t bits, bool is_signed) {
    auto t = std::make_shared<Type>();
    t->kind = TypeKind::Fixed;
    t->bits = bits;
    t->is_signed = is_signed;
    return TypeRef(t);
  };
  auto of = [](TypeKind kind, TypeRef elem, TypeRef value = nullptr) {
    auto t = std::make_shared<Type>();
    t->kind = kind;
    t->elem = std::move(elem);
    t->value = std::move(value);
    return TypeRef(t);
  };
  auto record = [](std::string name) {
    auto t = std::make_shared<Type>();
    t->kind = TypeKind::Record;
    t->name = std::move(name);
    return TypeRef(t);
  };
  TypeRef u32 = fixed(32, false), i32 = fixed(32, true), r1 = record("R"), r2 = record("R");
  EXPECT_TRUE(same_type(of(TypeKind::Map, fixed(32, false), of(TypeKind::Seq, u32)),
                        of(TypeKind::Map, u32, of(TypeKind::Seq, fixed(32, false)))));
  EXPECT_FALSE(same_type(u32, i32));
  EXPECT_FALSE(same_type(of(TypeKind::Seq, u32), of(TypeKind::Set, u32)));
  EXPECT_TRUE(same_type(r1, r1));
  EXPECT_FALSE(same_type(r1, r2)); // two declarations of one name are two types
  EXPECT_FALSE(same_type(of(TypeKind::Int, nullptr), of(TypeKind::Nat, nullptr)));
}

TEST(Types, ErrorTypeIsTheSameAsEveryTypeSoErrorsDoNotCascade) {
  auto error = std::make_shared<Type>();
  auto msg = std::make_shared<Type>();
  msg->kind = TypeKind::Msg;
  EXPECT_TRUE(same_type(error, msg));
  EXPECT_TRUE(same_type(msg, error));
}

TEST(Types, TypeNameIsWrittenAsInTheSource) {
  auto t = [](TypeKind kind) {
    auto x = std::make_shared<Type>();
    x->kind = kind;
    return x;
  };
  auto u32 = t(TypeKind::Fixed);
  u32->bits = 32;
  auto peer = t(TypeKind::Fixed);
  peer->bits = 32;
  peer->name = "Peer";
  auto seq = t(TypeKind::Seq);
  seq->elem = t(TypeKind::Int);
  auto map = t(TypeKind::Map);
  map->elem = peer;
  map->value = u32;
  EXPECT_EQ(type_name(seq), "Seq[Int]");
  EXPECT_EQ(type_name(map), "Map[Peer, u32]");
  EXPECT_EQ(type_name(t(TypeKind::Error)), "<error>");
}

// ---------------------------------------------------------------------------------- lexer

std::vector<TokenKind> kinds(const std::string& text, std::string* errors = nullptr) {
  Sources s;
  Diagnostics d(s);
  std::vector<TokenKind> out;
  for (const Token& t : lex(s, s.add("t.ioa", text), d)) out.push_back(t.kind);
  if (errors != nullptr) *errors = d.format();
  return out;
}

TEST(Lexer, UnicodeAndAsciiSpellingsAreTheSameTokens) {
  std::string errors;
  EXPECT_EQ(kinds("∧ ∨ ¬ ≠ ≤ ≥ ⇒ ⊢ ∈ ∉", &errors), kinds("/\\ \\/ ~ ~= <= >= => |- in notin"));
  EXPECT_EQ(errors, "");
  EXPECT_THAT(kinds("a∧b"),
              ElementsAre(TokenKind::Ident, TokenKind::And, TokenKind::Ident, TokenKind::End));
}

TEST(Lexer, WrappingOperatorsAreNotComments) {
  EXPECT_THAT(kinds("a +% b -% c *% d % a comment +"),
              ElementsAre(TokenKind::Ident, TokenKind::PlusWrap, TokenKind::Ident,
                          TokenKind::MinusWrap, TokenKind::Ident, TokenKind::StarWrap,
                          TokenKind::Ident, TokenKind::End));
  EXPECT_THAT(kinds("a + % comment\n// another\nb := c"),
              ElementsAre(TokenKind::Ident, TokenKind::Plus, TokenKind::Ident, TokenKind::Assign,
                          TokenKind::Ident, TokenKind::End));
}

TEST(Lexer, ReadsDecimalHexAndTimeLiterals) {
  Sources s;
  Diagnostics d(s);
  auto toks = lex(s,
                  s.add("t.ioa", "0 42 0x2A 0XfF 340282366920938463463374607431768211455 "
                                 "20ms 5s 100us 7ns"),
                  d);
  EXPECT_EQ(d.format(), "");
  ASSERT_EQ(toks.size(), 10u);
  EXPECT_EQ(toks[1].value, 42u);
  EXPECT_EQ(toks[2].value, 42u);
  EXPECT_EQ(toks[3].value, 255u);
  EXPECT_EQ(toks[4].value, ~static_cast<unsigned __int128>(0));
  EXPECT_EQ(toks[5].kind, TokenKind::Time);
  EXPECT_EQ(toks[5].value, 20'000'000u);
  EXPECT_EQ(toks[6].value, 5'000'000'000u);
  EXPECT_EQ(toks[7].value, 100'000u);
  EXPECT_EQ(toks[8].value, 7u);
}

TEST(Lexer, AnIntegerTooLargeOrWithABadSuffixIsAnError) {
  std::string errors;
  EXPECT_THAT(
      kinds("340282366920938463463374607431768211456 0x1_0000_0000 12abc 0x", &errors),
      ElementsAre(TokenKind::Int, TokenKind::Int, TokenKind::Int, TokenKind::Int, TokenKind::End));
  EXPECT_THAT(errors, HasSubstr("t.ioa:1:1: error: integer literal "
                                "'340282366920938463463374607431768211456' is too large"));
  EXPECT_THAT(errors, HasSubstr("invalid suffix '_0000_0000' on an integer literal"));
  EXPECT_THAT(errors, HasSubstr("invalid suffix 'abc'"));
  EXPECT_THAT(errors, HasSubstr("expected hexadecimal digits after '0x'"));
}

TEST(Lexer, AnUnknownCharacterIsOneErrorAtItsPlaceAndIsSkipped) {
  std::string errors;
  EXPECT_THAT(kinds("a $ ∀ \xFF\xFE b", &errors),
              ElementsAre(TokenKind::Ident, TokenKind::Ident, TokenKind::End));
  EXPECT_EQ(errors, "t.ioa:1:3: error: unexpected character '$'\n"
                    "  a $ ∀ \xFF\xFE b\n"
                    "    ^\n"
                    "t.ioa:1:5: error: unexpected character '∀' (U+2200)\n"
                    "  a $ ∀ \xFF\xFE b\n"
                    "      ^\n"
                    "t.ioa:1:9: error: invalid UTF-8 byte 0xFF\n"
                    "  a $ ∀ \xFF\xFE b\n"
                    "        ^\n"
                    "t.ioa:1:10: error: invalid UTF-8 byte 0xFE\n"
                    "  a $ ∀ \xFF\xFE b\n"
                    "         ^\n");
}

TEST(Lexer, OperatorsOfOtherLanguagesGetAHintAndCountAsMeant) {
  std::string errors;
  EXPECT_THAT(kinds("a != b && c == d", &errors),
              ElementsAre(TokenKind::Ident, TokenKind::Ne, TokenKind::Ident, TokenKind::And,
                          TokenKind::Ident, TokenKind::Eq, TokenKind::Ident, TokenKind::End));
  EXPECT_THAT(errors, HasSubstr("'!=' is not an operator; 'not equal' is written '≠' or '~='"));
  EXPECT_THAT(errors, HasSubstr("'&&' is not an operator"));
  EXPECT_THAT(errors, HasSubstr("'==' is not an operator; equality is written '='"));
}

TEST(Lexer, StringsResolveEscapesAndAnUnterminatedOneIsAnError) {
  Sources s;
  Diagnostics d(s);
  auto toks = lex(s, s.add("t.ioa", "import \"a\\\"b.ioa\"\nimport \"open\n"), d);
  ASSERT_EQ(toks.size(), 5u);
  EXPECT_EQ(toks[1].string, "a\"b.ioa");
  EXPECT_EQ(toks[3].string, "open");
  EXPECT_THAT(d.format(), HasSubstr("t.ioa:2:8: error: unterminated string"));
}

// ------------------------------------------------------------------ parsing the examples

TEST(Parser, TwoCountersParsesWithoutDiagnosticsIntoTheExpectedTree) {
  Parsed p(read_file("tests/specs/two_counters.ioa"), "two_counters.ioa");
  ASSERT_EQ(p.errors(), "");
  ASSERT_EQ(p.spec.decls.size(), 5u);

  const auto& phase = p.decl<TypeDecl>(0);
  EXPECT_EQ(phase.name, "Phase");
  EXPECT_EQ(phase.form, TypeDecl::Form::Enumeration);
  EXPECT_THAT(phase.enumerators, ElementsAre("idle", "busy"));

  const auto& link = p.decl<Automaton>(1);
  EXPECT_EQ(link.name, "Link");
  EXPECT_FALSE(link.composite);
  ASSERT_EQ(link.params.size(), 2u);
  EXPECT_EQ(link.params[1].name, "dst");
  EXPECT_EQ(link.params[1].type.name, "Nat");
  ASSERT_EQ(link.signature.size(), 2u);
  EXPECT_EQ(link.signature[0].kind, ActionKind::Input);
  ASSERT_EQ(link.signature[0].formals.size(), 3u);
  EXPECT_TRUE(link.signature[0].formals[0].is_const);
  EXPECT_EQ(link.signature[0].formals[2].type.name, "Int");
  ASSERT_EQ(link.states.size(), 1u);
  EXPECT_EQ(dump(link.states[0].type), "Seq[Int]");
  ASSERT_EQ(link.transitions.size(), 2u);
  EXPECT_EQ(sexpr(link.transitions[1].pre), "(∧ (≠ buf {}) (= x head(buf)))");
  EXPECT_THAT(link.transitions[1].params, ElementsAre("src", "dst", "x"));

  const auto& counter = p.decl<Automaton>(2);
  EXPECT_EQ(counter.params[0].name, "me"); // `me` is an ordinary name in classic automata
  ASSERT_EQ(counter.signature.size(), 3u);
  EXPECT_EQ(counter.signature[2].kind, ActionKind::Internal);
  EXPECT_EQ(counter.signature[2].name, "reset");
  EXPECT_TRUE(counter.signature[2].formals.empty());
  ASSERT_EQ(counter.transitions.size(), 3u);
  EXPECT_EQ(dump(counter.transitions[0].eff), "[count := (+ count 1); phase := busy]");
  EXPECT_EQ(dump(counter.transitions[1].eff),
            "[seen := (+ seen 1); (if (> x seen) [phase := busy] (= x seen) [phase := idle] "
            "else [phase := idle])]");
  EXPECT_EQ(counter.transitions[2].name, "reset");
  EXPECT_TRUE(counter.transitions[2].params.empty());

  const auto& pair = p.decl<Automaton>(3);
  EXPECT_TRUE(pair.composite);
  ASSERT_EQ(pair.components.size(), 4u);
  EXPECT_EQ(pair.components[2].name, "AB");
  EXPECT_EQ(pair.components[2].automaton, "Link");
  EXPECT_EQ(pair.components[0].args.size(), 3u);

  const auto& inv = p.decl<Invariant>(4);
  EXPECT_EQ(inv.of, "Pair");
  EXPECT_EQ(sexpr(inv.predicate), "(∧ (∧ (≤ A.count 5) (≤ B.count 5)) (≤ len(AB.buf) 5))");
}

TEST(Parser, ALayersPlaceAndAParametersValuesAndHelpAreRead) {
  Parsed p("layer B(w: u32 in [1, 9] := 4 \"how wide\") at bottom states transitions");
  ASSERT_EQ(p.errors(), "");
  const auto& b = p.decl<Layer>(0);
  EXPECT_EQ(b.place, "bottom");
  ASSERT_EQ(b.params.size(), 1u);
  EXPECT_EQ(sexpr(b.params[0].min), "1");
  EXPECT_EQ(sexpr(b.params[0].max), "9");
  EXPECT_EQ(b.params[0].help, "how wide");
  Parsed wrong("layer B at middle states transitions");
  EXPECT_THAT(wrong.errors(),
              HasSubstr("test.ioa:1:12: error: a layer stands 'at top' or 'at bottom', not "
                        "'at middle'"));
}

TEST(Parser, AnOracleDeclarationReadsItsParametersAndResultType) {
  Parsed p(
      "type AntsAction = record [to: Peer, m: Msg]\n"
      "oracle AntsRun(code: Msg, capsule: Msg, me: Peer, from: Peer, now: Time): "
      "Seq[AntsAction]\n"
      "oracle Tick(): Map[Peer, u32]\n"
      "layer L states transitions input down.send(p, m) eff let x := AntsRun(m, m, p, p, 0)\n");
  ASSERT_EQ(p.errors(), "");
  EXPECT_EQ(dump(p.spec),
            "type AntsAction form 1 to: Peer m: Msg\n"
            "oracle AntsRun code: Msg capsule: Msg me: Peer from: Peer now: Time -> "
            "Seq[AntsAction]\n"
            "oracle Tick -> Map[Peer, u32]\n"
            "layer L\n"
            "  transition 0 send port 0 event 0 p m eff [let x := AntsRun(m, m, p, p, 0)]\n");
  const auto& run = p.decl<OracleDecl>(1);
  EXPECT_EQ(run.loc.line, 2u);
  EXPECT_EQ(run.loc.column, 8u);
  EXPECT_EQ(run.declared_at, "test.ioa:2");
  // In ASCII spelling, and with mistakes that say what is right.
  Parsed ascii("oracle F(a: Seq[u8], b: Map[Peer, Bool]): Bool");
  EXPECT_EQ(ascii.errors(), "");
  Parsed no_result("oracle F(a: u8)\ntype T = enumeration of x\n");
  EXPECT_THAT(no_result.errors(),
              HasSubstr("test.ioa:2:1: error: expected ':' after the parameters of oracle 'F' "
                        "(then its result type), found 'type'"));
  EXPECT_EQ(no_result.spec.decls.size(), 1u); // the type after it is still read
  Parsed no_type("oracle F(a): u8");
  EXPECT_THAT(no_type.errors(), HasSubstr("test.ioa:1:11: error: expected ':' after the parameter "
                                          "name 'a' (a parameter is 'name: type'), found ')'"));
  Parsed no_parens("oracle F: u8");
  EXPECT_THAT(no_parens.errors(), HasSubstr("expected '(' after 'oracle F'"));
}

TEST(Parser, AHeaderMayStandAtTheTopLevelBesideLayers) {
  Parsed p("header Common { kind: u8, id: u32 }\n"
           "layer A header Own { x: u16 } states transitions\n"
           "  input down.send(p, m) eff emit down.send(p, push(m, Common{kind = 1, id = 2}))\n"
           "  ccp down.send: true\n"
           "header Late { y: u64 }\n"
           "automaton B signature states transitions\n"
           "header AfterAutomaton { z: u8 }\n");
  ASSERT_EQ(p.errors(), "");
  ASSERT_EQ(p.spec.decls.size(), 5u);
  EXPECT_EQ(p.decl<Header>(0).name, "Common");
  EXPECT_EQ(p.decl<Header>(0).loc.column, 8u);
  EXPECT_EQ(p.decl<Layer>(1).headers.size(), 1u); // its own, not the top-level ones
  EXPECT_EQ(p.decl<Header>(2).name, "Late");
  EXPECT_EQ(p.decl<Header>(4).name, "AfterAutomaton");
}

TEST(Parser, NodesAreLocatedWhereTheSourceSaysTheyAre) {
  Parsed p(read_file("tests/specs/two_counters.ioa"), "two_counters.ioa");
  ASSERT_EQ(p.errors(), "");
  const auto& link = p.decl<Automaton>(1);
  EXPECT_EQ(link.loc.line, 4u);
  EXPECT_EQ(link.loc.column, 11u);
  const Expr& pre = *link.transitions[1].pre; // pre buf ≠ {} ∧ x = head(buf)
  EXPECT_EQ(pre.loc.line, 14u);
  EXPECT_EQ(pre.loc.column, 22u); // the ∧; columns count bytes, and ≠ has 3
  const auto& inv = p.decl<Invariant>(4);
  EXPECT_EQ(inv.loc.line, 47u);
  EXPECT_EQ(inv.loc.column, 1u);
}

TEST(Parser, SeqnoLayerParsesWithoutDiagnosticsIntoTheExpectedTree) {
  Parsed p(read_file("tests/specs/seqno.ioa"), "seqno.ioa");
  ASSERT_EQ(p.errors(), "");
  ASSERT_EQ(p.spec.decls.size(), 6u);
  EXPECT_EQ(p.decl<Import>(0).path, "../../components/top.ioa");

  const auto& seqno = p.decl<Layer>(3);
  EXPECT_EQ(seqno.name, "Seqno");
  ASSERT_EQ(seqno.params.size(), 1u);
  EXPECT_EQ(sexpr(seqno.params[0].default_value), "65536");
  EXPECT_THAT(seqno.provides, ElementsAre("fifo"));
  EXPECT_THAT(seqno.needs, ElementsAre("reliable"));
  ASSERT_EQ(seqno.headers.size(), 1u);
  EXPECT_EQ(seqno.headers[0].name, "Data");
  EXPECT_EQ(seqno.states.size(), 7u);
  EXPECT_EQ(dump(seqno.states[2].type), "Map[Peer, Map[u32, Msg]]");
  ASSERT_EQ(seqno.transitions.size(), 3u);
  const Transition& send = seqno.transitions[0];
  EXPECT_EQ(send.port, Port::Down);
  EXPECT_EQ(send.event, EventKind::Send);
  EXPECT_EQ(send.name, "send");
  EXPECT_THAT(send.params, ElementsAre("p", "m"));
  EXPECT_EQ(dump(send.eff), "[emit down.0(p, push(m, Data{seq = next_out[p]}), ); "
                            "next_out[p] := (+% next_out[p] 1)]");
  const Transition& deliver = seqno.transitions[2];
  EXPECT_EQ(deliver.port, Port::Up);
  EXPECT_EQ(deliver.event, EventKind::Deliver);
  EXPECT_THAT(dump(deliver.eff), HasSubstr("emit up.2(p, pop(waiting, Data), lamport = 0)"));
  ASSERT_EQ(seqno.ccps.size(), 3u);
  EXPECT_EQ(sexpr(seqno.ccps[2].predicate),
            "(∧ (∧ fits(m, Data) (= top(m, Data).seq next_in[p])) empty(early[p]))");

  const auto& inv = p.decl<Invariant>(4);
  EXPECT_EQ(sexpr(inv.predicate), "(⇒ (> window 0) (¬ has(early[0], next_in[0])))");

  const auto& fifo = p.decl<Stack>(5);
  EXPECT_EQ(fifo.name, "Fifo");
  ASSERT_EQ(fifo.layers.size(), 4u);
  EXPECT_EQ(fifo.layers[2].layer, "Retransmit");
  ASSERT_EQ(fifo.layers[2].args.size(), 1u);
  EXPECT_EQ(fifo.layers[2].args[0].first, "timeout");
  EXPECT_EQ(sexpr(fifo.layers[2].args[0].second), "20000000ns");
}

TEST(Parser, EveryLayerAndStackSpecInTheRepositoryParsesWithoutDiagnostics) {
  for (const char* file :
       {"components/bottom.ioa", "components/checksum.ioa", "components/frag.ioa",
        "components/lamport_clock.ioa", "components/retransmit.ioa", "components/seqno.ioa",
        "components/top.ioa", "stacks/fifo/fifo.ioa"}) {
    Parsed p(read_file(file), file);
    EXPECT_EQ(p.errors(), "") << file;
    EXPECT_FALSE(p.spec.decls.empty()) << file;
  }
}

TEST(Parser, AsciiAndUnicodeSpellingsGiveIdenticalTrees) {
  for (const char* file : {"tests/specs/two_counters.ioa", "tests/specs/seqno.ioa",
                           "components/retransmit.ioa", "components/frag.ioa"}) {
    std::string unicode = read_file(file);
    std::string ascii = to_ascii(unicode);
    ASSERT_NE(unicode, ascii) << file;
    Parsed u(unicode), a(ascii);
    EXPECT_EQ(u.errors(), "") << file;
    EXPECT_EQ(a.errors(), "") << file;
    EXPECT_EQ(dump(u.spec), dump(a.spec)) << file;
  }
}

// ------------------------------------------------------------------------- expressions

TEST(Parser, AndBindsTighterThanOrAndOrTighterThanImplies) {
  EXPECT_EQ(expr("a ∨ b ∧ c"), "(∨ a (∧ b c))");
  EXPECT_EQ(expr("a ∧ b ∨ c"), "(∨ (∧ a b) c)");
  EXPECT_EQ(expr("a ∨ b ⇒ c ∧ d"), "(⇒ (∨ a b) (∧ c d))");
}

TEST(Parser, ImpliesIsRightAssociativeAndTheOthersLeft) {
  EXPECT_EQ(expr("a ⇒ b ⇒ c"), "(⇒ a (⇒ b c))");
  EXPECT_EQ(expr("a - b - c"), "(- (- a b) c)");
  EXPECT_EQ(expr("s ⊢ a ⊢ b"), "(⊢ (⊢ s a) b)");
  EXPECT_EQ(expr("a div b mod c"), "(mod (div a b) c)");
}

TEST(Parser, OperatorsBindAsTheGrammarSays) {
  EXPECT_EQ(expr("¬ a = b"), "(¬ (= a b))"); // ¬ applies to the whole comparison
  EXPECT_EQ(expr("¬¬a"), "(¬ (¬ a))");
  EXPECT_EQ(expr("a + b * c = d"), "(= (+ a (* b c)) d)");
  EXPECT_EQ(expr("s ⊢ x + 1 ≠ t"), "(≠ (⊢ s (+ x 1)) t)");
  EXPECT_EQ(expr("-a.f[i] *% 2"), "(*% (neg a.f[i]) 2)");
  EXPECT_EQ(expr("- - 3"), "(neg (neg 3))");
  EXPECT_EQ(expr("x ∈ s ∧ y ∉ t"), "(∧ (∈ x s) (∉ y t))");
  EXPECT_EQ(expr("(a ∨ b) ∧ c"), "(∧ (∨ a b) c)");
  EXPECT_EQ(expr("a +% b -% c"), "(-% (+% a b) c)");
}

TEST(Parser, NameBraceIsARecordLiteralAndNameParenACall) {
  EXPECT_EQ(expr("H{a = 1, b = x + 1} = top(m, H)"), "(= H{a = 1, b = (+ x 1)} top(m, H))");
  EXPECT_EQ(expr("{} = {1, {2}}"), "(= {} {1, {2}})");
  EXPECT_EQ(expr("f() ∧ E{}.x"), "(∧ f() E{}.x)");
  EXPECT_EQ(expr("true ∨ false"), "(∨ true false)");
}

TEST(Parser, ComparisonsDoNotChainAndTheErrorSaysWhatToWrite) {
  Parsed p("invariant: 0 ≤ i < n\n", "c.ioa");
  EXPECT_EQ(p.errors(), "c.ioa:1:20: error: '<' cannot follow a comparison: comparisons do not "
                        "chain\n"
                        "  invariant: 0 ≤ i < n\n"
                        "                   ^\n"
                        "c.ioa:1:20: note: to compare both, write 'a ≤ b ∧ b < c'\n");
  EXPECT_TRUE(p.spec.decls.empty());
}

TEST(Parser, NotInsideAnOperandNeedsParentheses) {
  EXPECT_THAT(expr("a = ¬b"), HasSubstr("error: expected an operand, found '¬'"));
  EXPECT_EQ(expr("a = (¬b)"), "(= a (¬ b))");
}

// -------------------------------------------------------------------------- statements

TEST(Parser, EmitTakesTheLamportArgumentByNameAndLast) {
  const char* text = "layer L\n"
                     "  states\n"
                     "  transitions\n"
                     "    input up.deliver(p, m)\n"
                     "      eff emit up.deliver(p, m, lamport = lamport + 1); lamport := 0\n"
                     "    input timer\n"
                     "      eff emit down.cast(m); set_timer(5ms)\n";
  Parsed p(text);
  ASSERT_EQ(p.errors(), "");
  const auto& layer = p.decl<Layer>(0);
  EXPECT_EQ(dump(layer.transitions[0].eff),
            "[emit up.2(p, m, lamport = (+ lamport 1)); lamport := 0]");
  EXPECT_EQ(layer.transitions[1].name, "timer");
  EXPECT_FALSE(layer.transitions[1].port);
  EXPECT_EQ(dump(layer.transitions[1].eff), "[emit down.1(m, ); set_timer(5000000ns)]");

  Parsed late("layer L\n  states\n  transitions\n    input timer\n"
              "      eff emit down.send(lamport = 1, p, m)\n");
  EXPECT_THAT(late.errors(), HasSubstr("'lamport = ...' must be the last argument of 'emit'"));
}

TEST(Parser, LetForAndNestedIfsBuildTheirStatements) {
  const char* text = "layer L\n"
                     "  states\n"
                     "  transitions\n"
                     "    input timer\n"
                     "      eff for q in peers do\n"
                     "            let x := q;\n"
                     "            if x = 0 then skip\n"
                     "            elseif x = 1 then if a then b := 1 fi; c[x].f := 2\n"
                     "            fi\n"
                     "          od\n";
  Parsed p(text);
  ASSERT_EQ(p.errors(), "");
  EXPECT_EQ(dump(p.decl<Layer>(0).transitions[0].eff),
            "[(for q peers [let x := q; (if (= x 0) [skip] (= x 1) [(if a [b := 1] else []); "
            "c[x].f := 2] else [])])]");
}

// --------------------------------------------------------------------------------- errors

TEST(Parser, StateWithoutAnInitialValueGivesTheFullMessage) {
  const char* text = "automaton A\n"
                     "  signature\n"
                     "    internal tick\n"
                     "  states\n"
                     "    count: Int = 0\n"
                     "  transitions\n"
                     "    internal tick\n"
                     "      eff count := count + 1\n";
  Parsed p(text, "bad.ioa");
  EXPECT_EQ(p.errors(), "bad.ioa:5:16: error: expected ':=' after the type of state variable "
                        "'count' (every state variable has an initial value), found '='\n"
                        "      count: Int = 0\n"
                        "                 ^\n"
                        "bad.ioa:5:16: note: '=' compares; ':=' assigns\n");
  EXPECT_TRUE(p.spec.decls.empty()); // a declaration with an error is left out
}

TEST(Parser, MissingFiIsReportedAtTheNextTransitionWithANoteAtTheIf) {
  const char* text = "automaton A\n"
                     "  signature\n"
                     "    internal tick, tock\n"
                     "  states\n"
                     "    n: Int := 0\n"
                     "  transitions\n"
                     "    internal tick\n"
                     "      eff if n < 3 then n := n + 1\n"
                     "    internal tock\n"
                     "      eff n := 0\n";
  Parsed p(text, "bad.ioa");
  EXPECT_EQ(p.errors(), "bad.ioa:9:5: error: expected 'fi' to end the 'if' statement, found "
                        "'internal'\n"
                        "      internal tock\n"
                        "      ^\n"
                        "bad.ioa:8:11: note: the 'if' statement begins here\n"
                        "        eff if n < 3 then n := n + 1\n"
                        "            ^\n");
}

TEST(Parser, SeveralErrorsInOneFileAreAllReportedOnceEach) {
  const char* text = "type T = enumeration of a,\n"          // 1
                     "automaton A(n: Nat)\n"                 // 2
                     "  signature\n"                         // 3
                     "    output out(x: Int)\n"              // 4
                     "  states\n"                            // 5
                     "    v: Int := 0\n"                     // 6
                     "  transitions\n"                       // 7
                     "    output out(x)\n"                   // 8
                     "      pre x = v +\n"                   // 9
                     "      eff v := v + 1\n"                // 10
                     "    output out(x)\n"                   // 11
                     "      eff v := := 2; v := 3 )\n"       // 12
                     "layer L\n"                             // 13
                     "  states\n"                            // 14
                     "  transitions\n"                       // 15
                     "    input down.send(p m)\n"            // 16
                     "      eff skip\n"                      // 17
                     "stack S = A : B(3)\n"                  // 18
                     "type Fine = enumeration of yes, no\n"; // 19
  Parsed p(text, "many.ioa");
  std::vector<std::uint32_t> lines;
  for (const Diagnostic& d : p.diags.all()) {
    if (d.severity == Severity::Error) lines.push_back(d.loc.line);
  }
  EXPECT_THAT(lines, ElementsAre(2, 10, 12, 12, 16, 18)) << p.errors();
  EXPECT_THAT(p.errors(), HasSubstr("many.ioa:2:1: error: expected an enumerator after ',', "
                                    "found 'automaton' (a reserved word)"));
  EXPECT_THAT(p.errors(), HasSubstr("many.ioa:10:7: error: expected an expression, found 'eff'"));
  EXPECT_THAT(p.errors(), HasSubstr("many.ioa:12:16: error: expected an expression, found ':='"));
  EXPECT_THAT(p.errors(), HasSubstr("many.ioa:12:29: error: expected ';' or the next transition "
                                    "in transition 'out', found ')'"));
  EXPECT_THAT(p.errors(), HasSubstr("many.ioa:16:23: error: expected ',' or ')', found 'm'"));
  EXPECT_THAT(p.errors(), HasSubstr("many.ioa:16:20: note: to match this '('"));
  EXPECT_THAT(p.errors(), HasSubstr("many.ioa:18:17: error: expected a named argument"));
  ASSERT_EQ(p.spec.decls.size(), 1u); // only the declaration without errors
  EXPECT_EQ(p.decl<TypeDecl>(0).name, "Fine");
}

TEST(Parser, AForgottenSemicolonIsReportedWhereItBelongsAndParsingGoesOn) {
  const char* text = "layer L\n"
                     "  states\n"
                     "    a: u8 := 0\n"
                     "    b: u8 := 0\n"
                     "  transitions\n"
                     "    input timer\n"
                     "      eff a := 1\n"
                     "          b := = 2\n";
  Parsed p(text, "semi.ioa");
  EXPECT_THAT(p.errors(), HasSubstr("semi.ioa:3:15: error: expected ',' before the state variable "
                                    "'b' (state variables are separated by ',')"));
  EXPECT_THAT(p.errors(), HasSubstr("semi.ioa:7:17: error: expected ';' before 'b' (statements "
                                    "are separated by ';')"));
  EXPECT_THAT(p.errors(), HasSubstr("semi.ioa:8:16: error: expected an expression, found '='"));
  EXPECT_EQ(p.diags.error_count(), 3u);
}

TEST(Parser, LayerSyntaxMistakesSayWhatIsRight) {
  auto errors = [](const std::string& transitions) {
    return Parsed("layer L\n  states\n  transitions\n" + transitions).errors();
  };
  EXPECT_THAT(errors("    input down.send(p, m)\n      pre true\n      eff skip\n"),
              HasSubstr("a layer's transition has no 'pre'"));
  EXPECT_THAT(errors("    output down.send(p, m)\n      eff skip\n"),
              HasSubstr("a layer's transitions are all inputs, not 'output'"));
  EXPECT_THAT(errors("    input sideways.send(p, m)\n      eff skip\n"),
              HasSubstr("expected 'down' or 'up' after 'input'"));
  EXPECT_THAT(errors("    input down.recv(p, m)\n      eff skip\n"),
              HasSubstr("expected 'send', 'cast' or 'deliver' after 'down.', found 'recv'"));
  EXPECT_THAT(errors("    input timer\n      eff push(m, H{})\n"),
              HasSubstr("'push(...)' is a call, not a statement"));
  EXPECT_THAT(errors("    input timer\n      eff if a then fi\n"),
              HasSubstr("expected a statement, found 'fi' (a branch or loop that does nothing is "
                        "written 'skip')"));
  EXPECT_THAT(errors("    input timer\n      eff skip;\n    input down.cast(m)\n      eff skip\n"),
              HasSubstr("error: expected a statement after ';', found 'input'"));
  EXPECT_THAT(errors("    input timer\n      eff if a then skip; fi\n"),
              HasSubstr("note: ';' separates statements, so none follows the last; remove this "
                        "one"));
  EXPECT_THAT(errors("  ccp up.deliver: true\n    input timer\n      eff skip\n"),
              HasSubstr("a layer's transitions come before its 'ccp' declarations"));
}

TEST(Parser, AnUnclosedParenthesisNotesWhereItOpened) {
  Parsed p("invariant: (a ∧ (b ∨ c)\ntype T = enumeration of x\n", "p.ioa");
  EXPECT_EQ(p.errors(), "p.ioa:2:1: error: expected ')', found 'type'\n"
                        "  type T = enumeration of x\n"
                        "  ^\n"
                        "p.ioa:1:12: note: to match this '('\n"
                        "  invariant: (a ∧ (b ∨ c)\n"
                        "             ^\n");
  ASSERT_EQ(p.spec.decls.size(), 1u);
}

TEST(Parser, ReservedWordsAreOnlyTheGrammarsKeywords) {
  Parsed p("automaton A(me: Nat, peers: Nat, now: Int, lamport: Int, group_size: Nat, "
           "send: Int, timer: Int, down: Int)\n"
           "  signature\n    output send(const me)\n  states\n  transitions\n"
           "    output send(me)\n      eff timer := now + lamport\n");
  EXPECT_EQ(p.errors(), "");
  Parsed oracle("automaton A(oracle: Nat)\n");
  EXPECT_THAT(oracle.errors(), HasSubstr("found 'oracle' (a reserved word)"));
  Parsed q("automaton A(in: Nat)\n");
  EXPECT_THAT(q.errors(), HasSubstr("expected a parameter name after '(', found 'in' (a reserved "
                                    "word)"));
}

// -------------------------------------------------------------------------------- limits

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(Parser, NestingDeeperThanTheLimitIsOneErrorNotACrash) {
  const std::string after = "\ntype T = enumeration of a\n";
  const int deep = 100'000;
  for (const std::string& text : {
           "invariant: " + repeat("(", deep) + "x" + repeat(")", deep),
           "invariant: " + repeat("-", deep) + "x",
           "invariant: " + repeat("¬", deep) + "x",
           "invariant: x" + repeat(" + x", deep),
           "invariant: x" + repeat(" ⇒ x", deep),
           "invariant: x" + repeat("[x]", deep),
           "invariant: " + repeat("f(", deep) + repeat(")", deep),
           "type A = " + repeat("Seq[", deep) + "Int" + repeat("]", deep),
           "layer L\n states\n transitions\n  input timer\n   eff " + repeat("if a then ", deep) +
               "skip" + repeat(" fi", deep),
       }) {
    Parsed p(text + after);
    EXPECT_EQ(p.diags.error_count(), 1u) << p.errors().substr(0, 500);
    EXPECT_THAT(p.errors(), HasSubstr("too deeply"));
    ASSERT_EQ(p.spec.decls.size(), 1u); // what follows is parsed
  }
}

TEST(Parser, NestingWithinTheLimitParses) {
  const int n = max_nesting / 2;
  for (const std::string& text : {
           "invariant: " + repeat("(", n) + "x" + repeat(")", n),
           "invariant: x" + repeat(" + x", n),
           "layer L\n states\n transitions\n  input timer\n   eff " + repeat("if a then ", n) +
               "skip" + repeat(" fi", n),
       }) {
    Parsed p(text);
    EXPECT_EQ(p.errors(), "");
  }
}

TEST(Parser, AFileWithManyErrorsReportsFiftyThenStops) {
  Parsed p(repeat("invariant: )\n", 200));
  EXPECT_EQ(p.diags.error_count(), Diagnostics::max_errors);
  EXPECT_THAT(p.errors(), ::testing::EndsWith("note: too many errors, stopping\n"));
}

// ----------------------------------------------------------------------------- edge cases

TEST(Parser, EmptyAndCommentOnlyFilesHaveNoDeclarationsAndNoErrors) {
  for (const char* text : {"", "% nothing\n", "// nothing", "\xEF\xBB\xBF", "\n\n\r\n\t "}) {
    Parsed p(text);
    EXPECT_EQ(p.errors(), "") << text;
    EXPECT_TRUE(p.spec.decls.empty());
  }
}

// Inputs that end in the middle of something: each is an error, not a crash. (The fuzzer,
// tests/fuzz/spec_parse_fuzz.cpp, found no fault to add here as a regression case: 317,146
// runs in 10 minutes from the two example files, and 291,974 more from every spec in the
// repository with a dictionary of the language's words.)
TEST(Parser, InputsThatEndMidwayGiveAnErrorAtTheEnd) {
  for (const std::string& text : std::vector<std::string>{
           std::string("\0", 1), "\"", "invariant:", "layer", "automaton A(", "type T = Seq[",
           "stack S = A :", "layer L states transitions input down.send(p, m) eff if a then",
           "invariant: f(a,", "invariant: H{x = ", "import"}) {
    Parsed p(text);
    EXPECT_TRUE(p.diags.has_errors()) << text;
    EXPECT_TRUE(p.spec.decls.empty()) << text;
  }
  Parsed p("automaton A(");
  EXPECT_EQ(p.errors(), "test.ioa:1:13: error: expected a parameter name after '(', found end of "
                        "file\n  automaton A(\n              ^\n");
}

// ------------------------------------------------------------------------------ properties

// Every required child of every node is present: holds after any parse, since a declaration
// with an error is left out.
bool complete(const SpecFile& file) { return dump(file).find("<null>") == std::string::npos; }

// Every diagnostic with a location points into the file (or just past the end of a line).
bool located_in(const Parsed& p) {
  for (const Diagnostic& d : p.diags.all()) {
    if (d.loc.line == 0) continue;
    std::string_view line = p.sources.line(d.loc.file, d.loc.line);
    if (d.loc.file != p.file || d.loc.column == 0 || d.loc.column > line.size() + 1) return false;
    // A diagnostic that names a byte or a character points at it.
    std::string_view at = line.substr(std::min<std::size_t>(d.loc.column - 1, line.size()));
    unsigned byte = 0;
    if (std::sscanf(d.message.c_str(), "invalid UTF-8 byte 0x%X", &byte) == 1 &&
        (at.empty() || static_cast<unsigned char>(at[0]) != byte)) {
      return false;
    }
    constexpr std::string_view unexpected = "unexpected character '";
    if (d.message.starts_with(unexpected)) {
      std::string_view named = std::string_view(d.message).substr(unexpected.size());
      named = named.substr(0, named.find('\''));
      if (!at.starts_with(named)) return false;
    }
  }
  return true;
}

void check_parse(const std::string& text) {
  Parsed p(text);
  RC_ASSERT(complete(p.spec));
  RC_ASSERT(located_in(p));
  std::string formatted = p.errors();
  RC_ASSERT(p.diags.has_errors() == (formatted.find(": error: ") != std::string::npos));
  // Parsing is deterministic.
  Parsed again(text);
  RC_ASSERT(again.errors() == formatted);
  RC_ASSERT(dump(again.spec) == dump(p.spec));
}

RC_GTEST_PROP(ParserProperty, RandomBytesNeverCrashAndErrorsPointIntoTheFile, ()) {
  // Bytes drawn evenly from 0..255, so that stray UTF-8 bytes are as common as ASCII.
  const auto bytes = *rc::gen::container<std::string>(
      rc::gen::map(rc::gen::inRange(0, 256), [](int b) { return static_cast<char>(b); }));
  check_parse(bytes);
}

// Pieces of real specs spliced together: declarations begin well and break off anywhere, so
// that recovery inside them is exercised from every point. Half the pieces begin at a line that
// begins a declaration, section or transition, where recovery resumes.
RC_GTEST_PROP(ParserProperty, SplicedPiecesOfRealSpecsNeverCrash, ()) {
  struct Line {
    std::string text;
    bool begins_part; // a declaration, section or transition
  };
  static const std::vector<Line> lines = [] {
    static const std::regex part(
        "^ *(type|automaton|layer|stack|invariant|import|signature|states|transitions|"
        "components|header|ccp|input|output|internal)\\b");
    std::vector<Line> all;
    for (const char* file :
         {"tests/specs/two_counters.ioa", "tests/specs/seqno.ioa", "components/retransmit.ioa",
          "components/frag.ioa", "components/bottom.ioa", "stacks/fifo/fifo.ioa"}) {
      std::istringstream in(read_file(file));
      for (std::string line; std::getline(in, line);) {
        all.push_back({line, std::regex_search(line, part)});
      }
    }
    return all;
  }();
  static const std::vector<std::size_t> part_starts = [] {
    std::vector<std::size_t> starts;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].begins_part) starts.push_back(i);
    }
    return starts;
  }();
  const auto pieces = *rc::gen::inRange(1, 8);
  std::string text;
  for (int i = 0; i < pieces; ++i) {
    const std::size_t from =
        *rc::gen::arbitrary<bool>()
            ? part_starts[*rc::gen::inRange<std::size_t>(0, part_starts.size())]
            : *rc::gen::inRange<std::size_t>(0, lines.size());
    const auto count = *rc::gen::inRange<std::size_t>(1, 40);
    for (std::size_t l = from; l < std::min(lines.size(), from + count); ++l) {
      text += lines[l].text + "\n";
    }
  }
  check_parse(text);
}

RC_GTEST_PROP(ParserProperty, MutationsOfTheExamplesEitherParseOrReportAnError, ()) {
  static const std::vector<std::string> examples = {read_file("tests/specs/two_counters.ioa"),
                                                    read_file("tests/specs/seqno.ioa")};
  static const std::string alphabet = "()[]{},;:=.%+-*~/\\|<>\"\n x0fi";
  std::string text = examples[*rc::gen::inRange<std::size_t>(0, examples.size())];
  const auto edits = *rc::gen::inRange(1, 8);
  for (int i = 0; i < edits; ++i) {
    const auto at = *rc::gen::inRange<std::size_t>(0, text.size() + 1);
    const auto kind = *rc::gen::inRange(0, 3);
    const char c = *rc::gen::oneOf(rc::gen::elementOf(alphabet), rc::gen::arbitrary<char>());
    if (kind == 0 && at < text.size()) {
      text.erase(at, 1);
    } else if (kind == 1 || at == text.size()) {
      text.insert(at, 1, c);
    } else {
      text[at] = c;
    }
    check_parse(text);
  }
}

} // namespace
} // namespace lamina::spec
