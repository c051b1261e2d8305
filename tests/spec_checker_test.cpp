// The spec checker (spec/checker.hpp) and program loading (spec/program.hpp): what a clean
// program is annotated with, and one test per rule with an input that breaks it and the exact
// `file:line:col: error: ...` the checker must answer.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <optional>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "spec/ast.hpp"
#include "spec/checker.hpp"
#include "spec/parser.hpp"
#include "spec/program.hpp"
#include "spec/source.hpp"

namespace lamina::spec {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string specs_dir = std::string(LAMINA_SOURCE_DIR) + "/tests/specs/";

using u128 = unsigned __int128;
constexpr u128 kOne = 1;

// The classic example (spec/README.md's IOA core). The parser's copy is
// tests/specs/two_counters.ioa; this one is kept here so that the annotations tested below do
// not move when that file grows.
constexpr std::string_view kTwoCounters = R"(% Two counters talking over two FIFO links.
type Phase = enumeration of idle, busy

automaton Link(src: Nat, dst: Nat)
  signature
    input  put(const src, const dst, x: Int)
    output get(const src, const dst, x: Int)
  states
    buf: Seq[Int] := {}
  transitions
    input put(src, dst, x)
      eff buf := buf ⊢ x
    output get(src, dst, x)
      pre buf ≠ {} ∧ x = head(buf)
      eff buf := tail(buf)

automaton Counter(me: Nat, peer: Nat, limit: Int)
  signature
    output put(const me, const peer, x: Int)
    input  get(from: Nat, const me, x: Int)
    internal reset
  states
    count: Int := 0,
    seen: Int := 0,
    phase: Phase := idle
  transitions
    output put(me, peer, x)
      pre phase = idle ∧ count < limit ∧ x = count
      eff count := count + 1; phase := busy
    input get(from, me, x)
      eff seen := seen + 1;
          if x > seen then phase := busy
          elseif x = seen then phase := idle
          else phase := idle
          fi
    internal reset
      pre count = limit ∧ phase = busy
      eff phase := idle

automaton Pair
  components
    A: Counter(0, 1, 5);
    B: Counter(1, 0, 5);
    AB: Link(0, 1);
    BA: Link(1, 0)

invariant of Pair:
  A.count ≤ 5 ∧ B.count ≤ 5 ∧ len(AB.buf) ≤ 5
)";

// A program loaded from text, with its sources and diagnostics (which refer to each other, so
// they stay in one place).
struct Checked {
  Sources sources;
  Diagnostics diags{sources};
  std::optional<Program> program;

  [[nodiscard]] std::string text() const { return diags.format(); }
  [[nodiscard]] bool clean() const { return program.has_value() && diags.all().empty(); }
  // The program, after ASSERT_TRUE(program); throws if it is missing all the same.
  Program& get() {
    if (!program) throw std::logic_error("no program:\n" + text());
    return *program;
  }
};

std::unique_ptr<Checked> check_text(std::string_view text, const std::string& path = "test.ioa") {
  auto c = std::make_unique<Checked>();
  c->program = load_text(path, std::string(text), c->sources, c->diags);
  return c;
}

std::unique_ptr<Checked> check_file(const std::string& path) {
  auto c = std::make_unique<Checked>();
  c->program = load(path, c->sources, c->diags);
  return c;
}

// "test.ioa:L:C" of the `nth` (1-based) occurrence of `needle` in `text`: where a diagnostic
// about that piece of the source must point.
std::string at(std::string_view text, std::string_view needle, int nth = 1,
               std::string_view path = "test.ioa") {
  std::size_t pos = std::string_view::npos;
  for (int i = 0; i < nth; ++i) {
    pos = text.find(needle, pos == std::string_view::npos ? 0 : pos + 1);
    if (pos == std::string_view::npos) {
      ADD_FAILURE() << "'" << needle << "' occurs fewer than " << nth << " times";
      return "?";
    }
  }
  const std::size_t line_start = pos == 0 ? std::string_view::npos : text.rfind('\n', pos - 1);
  const std::size_t line =
      1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + pos, '\n'));
  const std::size_t column = pos - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
  return fmt::format("{}:{}:{}", path, line, column);
}

std::string error_at(std::string_view text, std::string_view needle, std::string_view message,
                     int nth = 1) {
  return fmt::format("{}: error: {}", at(text, needle, nth), message);
}

std::string warning_at(std::string_view text, std::string_view needle, std::string_view message,
                       int nth = 1) {
  return fmt::format("{}: warning: {}", at(text, needle, nth), message);
}

std::string note_at(std::string_view text, std::string_view needle, std::string_view message,
                    int nth = 1) {
  return fmt::format("{}: note: {}", at(text, needle, nth), message);
}

// Expects `text` to fail to load with the diagnostic `expected` among what is reported.
void expect_diagnostic(std::string_view text, const std::string& expected) {
  auto c = check_text(text);
  EXPECT_FALSE(c->program.has_value()) << c->text();
  EXPECT_THAT(c->text(), HasSubstr(expected));
}

// Expects `text` to load, with the warning `expected`.
void expect_warning(std::string_view text, const std::string& expected) {
  auto c = check_text(text);
  EXPECT_TRUE(c->program.has_value()) << c->text();
  EXPECT_THAT(c->text(), HasSubstr(expected));
}

template <class T>
T* find_decl(Program& p, std::string_view name) {
  for (SpecFile& f : p.files) {
    for (Decl& d : f.decls) {
      if (auto* x = std::get_if<T>(&d); x && x->name == name) return x;
    }
  }
  return nullptr;
}

Transition& transition(Automaton& a, std::string_view name) {
  for (Transition& t : a.transitions) {
    if (t.name == name) return t;
  }
  throw std::runtime_error("no transition " + std::string(name));
}

// Calls `f` on every expression under `e`, `e` included.
void walk(const Expr* e, const std::function<void(const Expr&)>& f) {
  if (e == nullptr) return;
  f(*e);
  std::visit(
      [&](const auto& n) {
        using N = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<N, CollectionLit>) {
          for (const auto& x : n.elems) walk(x.get(), f);
        } else if constexpr (std::is_same_v<N, Unary>) {
          walk(n.operand.get(), f);
        } else if constexpr (std::is_same_v<N, Binary>) {
          walk(n.lhs.get(), f);
          walk(n.rhs.get(), f);
        } else if constexpr (std::is_same_v<N, Call>) {
          for (const auto& x : n.args) walk(x.get(), f);
        } else if constexpr (std::is_same_v<N, FieldAccess>) {
          walk(n.record.get(), f);
        } else if constexpr (std::is_same_v<N, IndexAccess>) {
          walk(n.collection.get(), f);
          walk(n.index.get(), f);
        } else if constexpr (std::is_same_v<N, RecordLit>) {
          for (const auto& [field, x] : n.fields) walk(x.get(), f);
        }
      },
      e->node);
}

void walk(const Stmts& stmts, const std::function<void(const Expr&)>& f) {
  for (const auto& s : stmts) {
    std::visit(
        [&](const auto& n) {
          using N = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<N, Assign>) {
            walk(n.target.get(), f);
            walk(n.value.get(), f);
          } else if constexpr (std::is_same_v<N, If>) {
            for (const auto& [cond, body] : n.branches) {
              walk(cond.get(), f);
              walk(body, f);
            }
            walk(n.otherwise, f);
          } else if constexpr (std::is_same_v<N, Let>) {
            walk(n.value.get(), f);
          } else if constexpr (std::is_same_v<N, For>) {
            walk(n.range.get(), f);
            walk(n.body, f);
          } else if constexpr (std::is_same_v<N, Emit>) {
            for (const auto& x : n.args) walk(x.get(), f);
            walk(n.lamport.get(), f);
          } else if constexpr (std::is_same_v<N, SetTimer>) {
            walk(n.delay.get(), f);
          }
        },
        s->node);
  }
}

// Every expression of the program, outside component names and header-name arguments (which
// have no value), in declaration order.
void walk(Program& p, const std::function<void(const Expr&)>& f) {
  for (SpecFile& file : p.files) {
    for (Decl& d : file.decls) {
      if (auto* a = std::get_if<Automaton>(&d)) {
        for (auto& s : a->states) walk(s.init.get(), f);
        for (auto& t : a->transitions) {
          walk(t.pre.get(), f);
          walk(t.eff, f);
        }
        for (auto& c : a->components) {
          for (auto& x : c.args) walk(x.get(), f);
        }
      } else if (auto* l = std::get_if<Layer>(&d)) {
        for (auto& prm : l->params) walk(prm.default_value.get(), f);
        for (auto& s : l->states) walk(s.init.get(), f);
        for (auto& t : l->transitions) walk(t.eff, f);
        for (auto& c : l->ccps) walk(c.predicate.get(), f);
      } else if (auto* s = std::get_if<Stack>(&d)) {
        for (auto& ref : s->layers) {
          for (auto& [name, x] : ref.args) walk(x.get(), f);
        }
      } else if (auto* i = std::get_if<Invariant>(&d)) {
        walk(i->predicate.get(), f);
      }
    }
  }
}

const Name& name_of(const Expr* e) { return std::get<Name>(e->node); }

// -------------------------------------------------------------------- the classic example

TEST(SpecChecker, TwoCountersCheckWithoutDiagnostics) {
  auto c = check_text(kTwoCounters);
  EXPECT_TRUE(c->clean()) << c->text();
}

TEST(SpecChecker, TheParsersTwoCountersFileChecksWithoutDiagnostics) {
  auto c = check_file(specs_dir + "two_counters.ioa");
  EXPECT_TRUE(c->clean()) << c->text();
}

TEST(SpecChecker, OutputParameterIsBoundByTheEqualityConjunctOfThePrecondition) {
  auto c = check_text(kTwoCounters);
  ASSERT_TRUE(c->program) << c->text();
  Automaton& counter = *c->get().automaton("Counter");
  Transition& put = transition(counter, "put");
  ASSERT_EQ(put.bindings.size(), 3U);
  EXPECT_EQ(put.bindings[0].source, ParamBinding::Source::Const);
  EXPECT_EQ(put.bindings[0].state_slot, 0U); // me
  EXPECT_EQ(put.bindings[1].source, ParamBinding::Source::Const);
  EXPECT_EQ(put.bindings[1].state_slot, 1U); // peer
  EXPECT_EQ(put.bindings[2].source, ParamBinding::Source::Equality);
  ASSERT_NE(put.bindings[2].expr, nullptr);
  const Name& count = name_of(put.bindings[2].expr);
  EXPECT_EQ(count.ident, "count");
  EXPECT_EQ(count.kind, NameKind::State);
  EXPECT_EQ(count.slot, 3U); // after the parameters me, peer, limit
  ASSERT_EQ(put.param_types.size(), 3U);
  EXPECT_EQ(type_name(put.param_types[0]), "Nat");
  EXPECT_EQ(type_name(put.param_types[2]), "Int");

  Transition& get = transition(*c->get().automaton("Link"), "get");
  ASSERT_EQ(get.bindings.size(), 3U);
  EXPECT_EQ(get.bindings[2].source, ParamBinding::Source::Equality);
  ASSERT_NE(get.bindings[2].expr, nullptr);
  EXPECT_EQ(std::get<Call>(get.bindings[2].expr->node).callee, "head");
}

TEST(SpecChecker, InputParametersComeFromTheEnvironmentOrTheConstAutomatonParameter) {
  auto c = check_text(kTwoCounters);
  ASSERT_TRUE(c->program) << c->text();
  Transition& get = transition(*c->get().automaton("Counter"), "get");
  ASSERT_EQ(get.bindings.size(), 3U);
  EXPECT_EQ(get.bindings[0].source, ParamBinding::Source::Environment); // from
  EXPECT_EQ(get.bindings[1].source, ParamBinding::Source::Const);       // me
  EXPECT_EQ(get.bindings[1].state_slot, 0U);
  EXPECT_EQ(get.bindings[2].source, ParamBinding::Source::Environment); // x
  EXPECT_EQ(get.locals, 0U);
}

TEST(SpecChecker, NamesResolveToStateParameterAndEnumeratorSlots) {
  auto c = check_text(kTwoCounters);
  ASSERT_TRUE(c->program) << c->text();
  Transition& put = transition(*c->get().automaton("Counter"), "put");
  // pre phase = idle ∧ count < limit ∧ x = count, parsed left-associatively.
  const auto& outer = std::get<Binary>(put.pre->node);
  const auto& inner = std::get<Binary>(outer.lhs->node);
  const auto& phase_is_idle = std::get<Binary>(inner.lhs->node);
  EXPECT_EQ(name_of(phase_is_idle.lhs.get()).kind, NameKind::State);
  EXPECT_EQ(name_of(phase_is_idle.lhs.get()).slot, 5U);
  EXPECT_EQ(name_of(phase_is_idle.rhs.get()).kind, NameKind::Enumerator);
  EXPECT_EQ(name_of(phase_is_idle.rhs.get()).slot, 0U);
  EXPECT_EQ(type_name(phase_is_idle.rhs->type), "Phase");
  const auto& count_below_limit = std::get<Binary>(inner.rhs->node);
  EXPECT_EQ(name_of(count_below_limit.rhs.get()).slot, 2U); // limit, a parameter
  const auto& x_is_count = std::get<Binary>(outer.rhs->node);
  EXPECT_EQ(name_of(x_is_count.lhs.get()).kind, NameKind::Param);
  EXPECT_EQ(name_of(x_is_count.lhs.get()).slot, 2U);
  EXPECT_EQ(type_name(put.pre->type), "Bool");

  // eff count := count + 1: the literal takes count's type.
  const auto& assign = std::get<Assign>(put.eff.front()->node);
  EXPECT_EQ(name_of(assign.target.get()).slot, 3U);
  EXPECT_EQ(type_name(std::get<Binary>(assign.value->node).rhs->type), "Int");
}

TEST(SpecChecker, CompositeInvariantNamesComponentVariablesBySlot) {
  auto c = check_text(kTwoCounters);
  ASSERT_TRUE(c->program) << c->text();
  auto invariants = c->get().invariants_of("Pair");
  ASSERT_EQ(invariants.size(), 1U);
  // A.count ≤ 5 ∧ B.count ≤ 5 ∧ len(AB.buf) ≤ 5
  const auto& all = std::get<Binary>(invariants[0]->predicate->node);
  const auto& a_count = std::get<Binary>(std::get<Binary>(all.lhs->node).lhs->node);
  const auto& access = std::get<FieldAccess>(a_count.lhs->node);
  EXPECT_EQ(name_of(access.record.get()).kind, NameKind::Component);
  EXPECT_EQ(name_of(access.record.get()).slot, 0U); // A
  EXPECT_EQ(access.index, 3U);                      // count, after me, peer, limit
  EXPECT_EQ(type_name(a_count.lhs->type), "Int");

  const auto& len_le = std::get<Binary>(all.rhs->node);
  const auto& len = std::get<Call>(len_le.lhs->node);
  const auto& buf = std::get<FieldAccess>(len.args[0]->node);
  EXPECT_EQ(name_of(buf.record.get()).slot, 2U); // AB
  EXPECT_EQ(buf.index, 2U);                      // buf, after src, dst
  EXPECT_EQ(type_name(len.args[0]->type), "Seq[Int]");
  EXPECT_EQ(type_name(len_le.lhs->type), "Nat");
}

TEST(SpecChecker, EveryExpressionOfACleanProgramHasAType) {
  std::vector<std::unique_ptr<Checked>> programs;
  programs.push_back(check_text(kTwoCounters));
  programs.push_back(check_file(specs_dir + "check/layers.ioa"));
  for (auto& c : programs) {
    ASSERT_TRUE(c->program) << c->text();
    std::size_t seen = 0;
    walk(c->get(), [&](const Expr& e) {
      ++seen;
      ASSERT_NE(e.type, nullptr) << e.loc.line << ":" << e.loc.column;
      const Name* n = std::get_if<Name>(&e.node);
      if (n != nullptr && n->kind == NameKind::Component) return; // no value of its own
      if (n != nullptr && e.type->is_header) return;              // H in top(m, H)
      EXPECT_NE(e.type->kind, TypeKind::Error) << e.loc.line << ":" << e.loc.column;
      if (n != nullptr) {
        EXPECT_NE(n->kind, NameKind::Unresolved) << n->ident << " " << e.loc.line;
      }
    });
    EXPECT_GT(seen, 20U);
  }
}

TEST(SpecChecker, TypesOfDeclarationsAreResolved) {
  auto c = check_text(kTwoCounters);
  ASSERT_TRUE(c->program) << c->text();
  TypeDecl& phase = *c->get().type("Phase");
  ASSERT_NE(phase.resolved, nullptr);
  EXPECT_EQ(phase.resolved->kind, TypeKind::Enum);
  EXPECT_EQ(phase.resolved->enumerators, (std::vector<std::string>{"idle", "busy"}));
  Automaton& counter = *c->get().automaton("Counter");
  EXPECT_EQ(counter.states[2].type.resolved, phase.resolved); // one declaration, one type
  EXPECT_EQ(type_name(counter.params[0].type.resolved), "Nat");
  // A const formal has the type of the automaton parameter it names.
  EXPECT_EQ(type_name(counter.signature[0].formals[0].type.resolved), "Nat");
  Automaton& link = *c->get().automaton("Link");
  EXPECT_EQ(type_name(link.states[0].type.resolved), "Seq[Int]");
}

// -------------------------------------------------------------------------------- layers

TEST(SpecChecker, LayersAndAStackCheckCleanly) {
  auto c = check_file(specs_dir + "check/layers.ioa");
  EXPECT_TRUE(c->clean()) << c->text();
}

TEST(SpecChecker, TheFoundationLayersAndTheFifoStackCheckWithoutDiagnostics) {
  const std::string root = std::string(LAMINA_SOURCE_DIR) + "/";
  for (const char* spec : {"components", "stacks/fifo/fifo.ioa"}) {
    auto c = check_file(root + spec);
    EXPECT_TRUE(c->clean()) << spec << "\n" << c->text();
  }
}

TEST(SpecChecker, LayerAnnotationsGiveEventParametersLocalsAndHeaders) {
  auto c = check_file(specs_dir + "check/layers.ioa");
  ASSERT_TRUE(c->program) << c->text();
  Layer& seqno = *c->get().layer("Seqno");
  ASSERT_EQ(seqno.headers.size(), 1U);
  const TypeRef& data = seqno.headers[0].resolved;
  ASSERT_NE(data, nullptr);
  EXPECT_TRUE(data->is_header);
  EXPECT_EQ(data->kind, TypeKind::Record);
  ASSERT_EQ(data->fields.size(), 1U);
  EXPECT_EQ(type_name(data->fields[0].second), "u32");

  for (Transition& t : seqno.transitions) {
    for (const ParamBinding& b : t.bindings) {
      EXPECT_EQ(b.source, ParamBinding::Source::Environment);
    }
    if (t.event == EventKind::Send) {
      ASSERT_EQ(t.param_types.size(), 2U);
      EXPECT_EQ(type_name(t.param_types[0]), "Peer");
      EXPECT_EQ(type_name(t.param_types[1]), "Msg");
      EXPECT_EQ(t.locals, 0U);
    }
    if (t.event == EventKind::Cast) {
      ASSERT_EQ(t.param_types.size(), 1U);
      EXPECT_EQ(t.locals, 1U); // for q
      const For& loop = std::get<For>(t.eff[0]->node);
      EXPECT_EQ(loop.slot, 0U);
      const Name& peers = name_of(loop.range.get());
      EXPECT_EQ(peers.kind, NameKind::Builtin);
      EXPECT_EQ(peers.slot, 2U);
      EXPECT_EQ(type_name(loop.range->type), "Seq[Peer]");
    }
    if (t.event == EventKind::Deliver) {
      EXPECT_EQ(t.locals, 1U); // let h
      const If& fits = std::get<If>(t.eff[0]->node);
      const Let& h = std::get<Let>(fits.branches[0].second[0]->node);
      EXPECT_EQ(h.slot, 0U);
      EXPECT_EQ(h.value->type, data);
    }
  }
  // window: the layer's first variable; the stack passes its own parameter by name.
  Stack& reliable = *c->get().stack("Reliable");
  const Expr& arg = *reliable.layers[0].args[0].second;
  EXPECT_EQ(name_of(&arg).kind, NameKind::State);
  EXPECT_EQ(name_of(&arg).slot, 0U);
}

TEST(SpecChecker, LamportIsTheAssignableBuiltinOfLayers) {
  auto c = check_file(specs_dir + "check/layers.ioa");
  ASSERT_TRUE(c->program) << c->text();
  Layer& resend = *c->get().layer("Resend");
  for (Transition& t : resend.transitions) {
    if (t.event != EventKind::Deliver) continue;
    const Assign& a = std::get<Assign>(t.eff[0]->node);
    EXPECT_EQ(name_of(a.target.get()).kind, NameKind::Builtin);
    EXPECT_EQ(name_of(a.target.get()).slot, 4U);
    EXPECT_EQ(type_name(a.target->type), "u64");
  }
}

// --------------------------------------------------------------------- names and types

constexpr std::string_view kNames = R"(
automaton Counter
  signature
    internal step
  states
    next_in: Nat := 0
  transitions
    internal step
      eff next_in := nxt_in + 1
)";

TEST(SpecChecker, UnknownNameIsAnErrorWithTheClosestNameAsANote) {
  auto c = check_text(kNames);
  EXPECT_FALSE(c->program);
  EXPECT_THAT(c->text(), HasSubstr(error_at(kNames, "nxt_in", "unknown name 'nxt_in'")));
  EXPECT_THAT(c->text(), HasSubstr(note_at(kNames, "nxt_in", "did you mean 'next_in'?")));
}

TEST(SpecChecker, UnknownTypeIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: u33 := 0
  transitions
    internal step
)";
  expect_diagnostic(src, error_at(src, "u33", "unknown type 'u33'"));
  expect_diagnostic(src, note_at(src, "u33", "did you mean 'u32'?"));
}

TEST(SpecChecker, UnknownBuiltinFunctionIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    s: Seq[Int] := {}
  transitions
    internal step
      eff s := taill(s)
)";
  expect_diagnostic(src, error_at(src, "taill", "unknown function 'taill'"));
  expect_diagnostic(src, note_at(src, "taill", "did you mean 'tail'?"));
}

TEST(SpecChecker, BuiltinWithTheWrongNumberOfArgumentsIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    s: Seq[Int] := {}, n: Int := 0
  transitions
    internal step
      eff n := head(s, s)
)";
  expect_diagnostic(src, error_at(src, "head", "'head' takes 1 argument, not 2"));
}

TEST(SpecChecker, BuiltinWithAnArgumentOfTheWrongTypeIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0
  transitions
    internal step
      eff n := len(n)
)";
  expect_diagnostic(src, error_at(src, "n)", "'len' needs a sequence, not Int"));
}

TEST(SpecChecker, ArithmeticOnANonIntegerIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    b: Bool := false, n: Int := 0
  transitions
    internal step
      eff n := n + b
)";
  expect_diagnostic(src, error_at(src, "b\n", "'+' needs integer operands; this one is Bool"));
}

TEST(SpecChecker, WrappingArithmeticNeedsOneFixedWidthType) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    x: u32 := 0, y: u64 := 0, n: Nat := 0
  transitions
    internal step
      eff x := x +% 1; y := y *% 3; y := x +% y; n := n -% 1
)";
  auto c = check_text(src);
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "+% y",
                                            "'+%' wraps around modulo 2^bits: it "
                                            "needs two operands of one fixed-width "
                                            "type, not u32 and u64")));
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "-% 1", "'-%' wraps around modulo 2^bits")));
  EXPECT_THAT(c->text(), Not(HasSubstr("'*%'")));
}

TEST(SpecChecker, LiteralOfAWrappingOperatorTakesTheOtherOperandsWidth) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    x: u8 := 0
  transitions
    internal step
      eff x := x +% 256
)";
  expect_diagnostic(src, error_at(src, "256", "256 does not fit u8 (0 .. 255)"));
}

TEST(SpecChecker, IntegerArithmeticIsExactAndAnyIntegerStoresIntoAnyOther) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    x: u8 := 0, y: u64 := 0, n: Nat := 0, i: Int := 0, t: Time := 0
  transitions
    internal step
      eff n := n + x; i := x - n; y := x; x := y; i := t; t := -5;
          x := x + 300; i := -x; if x < 300 ∧ y = x then n := 1 fi
)";
  auto c = check_text(src);
  ASSERT_TRUE(c->clean()) << c->text();
  // x := x + 300: the sum is an exact Int, the literal too; the store into u8 is checked when
  // the simulator runs it.
  const auto& eff = c->get().automaton("A")->transitions[0].eff;
  const auto& sum = std::get<Assign>(eff[6]->node);
  EXPECT_EQ(type_name(sum.target->type), "u8");
  EXPECT_EQ(type_name(sum.value->type), "Int");
  EXPECT_EQ(type_name(std::get<Binary>(sum.value->node).rhs->type), "Int");
}

TEST(SpecChecker, ComparingValuesOfDifferentTypesIsAnError) {
  constexpr std::string_view src = R"(
type Phase = enumeration of idle, busy
automaton A
  signature
    internal step
  states
    p: Phase := idle, n: Int := 0
  transitions
    internal step
      pre p = n
)";
  expect_diagnostic(src, error_at(src, "= n", "'=' compares Phase with Int"));
}

TEST(SpecChecker, ConjunctionOfANonBoolIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0
  transitions
    internal step
      pre n ∧ true
)";
  expect_diagnostic(src, error_at(src, "n ∧", "'∧' needs Bool operands; this one is Int"));
}

TEST(SpecChecker, AppendingToANonSequenceIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0
  transitions
    internal step
      eff n := n ⊢ 1
)";
  expect_diagnostic(src, error_at(src, "n ⊢", "'⊢' appends to a sequence; the left side is Int"));
}

TEST(SpecChecker, MembershipNeedsASetSequenceOrMap) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0, s: Set[Int] := {}, m: Map[Int, Bool] := {}
  transitions
    internal step
      pre n ∈ s ∧ n ∉ m ∧ n ∈ n
)";
  expect_diagnostic(src, error_at(src, "n\n",
                                  "'∈' needs a set, sequence or map on its right, "
                                  "not Int"));
}

TEST(SpecChecker, AssigningAValueOfTheWrongTypeIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0
  transitions
    internal step
      eff n := true
)";
  expect_diagnostic(src, error_at(src, "true", "cannot assign Bool to 'n', which is Int"));
}

TEST(SpecChecker, PreconditionMustBeBool) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0
  transitions
    internal step
      pre n + 1
)";
  expect_diagnostic(src, error_at(src, "+ 1", "the precondition must be Bool, not Int"));
}

TEST(SpecChecker, IfConditionMustBeBool) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0
  transitions
    internal step
      eff if n then n := 1 fi
)";
  expect_diagnostic(src, error_at(src, "n then", "the condition of 'if' must be Bool, not Int"));
}

TEST(SpecChecker, IntegerLiteralThatDoesNotFitItsTypeIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    b: u8 := 256, c: i8 := -128, d: i8 := -129
  transitions
    internal step
)";
  auto c = check_text(src);
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "256", "256 does not fit u8 (0 .. 255)")));
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "-129", "-129 does not fit i8 (-128 .. 127)")));
  EXPECT_THAT(c->text(), Not(HasSubstr("-128 does not fit")));
}

// A u8..i64 variable initialised with a literal is an error exactly when the literal leaves the
// type's range.
RC_GTEST_PROP(SpecChecker, LiteralFitsExactlyTheRangeOfItsType, ()) {
  const auto bits = *rc::gen::element<unsigned>(8, 16, 32, 64);
  const bool is_signed = *rc::gen::arbitrary<bool>();
  const bool negative = is_signed && *rc::gen::arbitrary<bool>();
  const u128 limit =
      is_signed ? (negative ? (kOne << (bits - 1)) : (kOne << (bits - 1)) - 1) : (kOne << bits) - 1;
  // Around the limit, or anywhere below it.
  const u128 value =
      *rc::gen::oneOf(rc::gen::just(limit), rc::gen::just(limit + 1),
                      rc::gen::map(rc::gen::arbitrary<std::uint64_t>(), [&](std::uint64_t v) {
                        return static_cast<u128>(v) % (limit + 1);
                      }));
  std::string digits;
  for (u128 v = value; v != 0 || digits.empty(); v /= 10) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
  }
  const std::string src =
      fmt::format("automaton A\n  signature\n    internal step\n  states\n    x: {}{} := {}{}\n"
                  "  transitions\n    internal step\n",
                  is_signed ? 'i' : 'u', bits, negative ? "-" : "", digits);
  auto c = check_text(src);
  RC_ASSERT(c->program.has_value() == (value <= limit));
}

TEST(SpecChecker, TypeDefinedInTermsOfItselfIsAnError) {
  constexpr std::string_view src = R"(
type Tree = record [children: Seq[Tree]]
)";
  expect_diagnostic(src, error_at(src, "Tree =", "type 'Tree' is defined in terms of itself"));
}

TEST(SpecChecker, EnumeratorDeclaredInTwoEnumerationsIsAnError) {
  constexpr std::string_view src = R"(
type Phase = enumeration of idle, busy
type Mode = enumeration of fast, idle
)";
  expect_diagnostic(src,
                    error_at(src, "idle", "enumerator 'idle' is already declared in 'Phase'", 2));
}

TEST(SpecChecker, VariableNamedLikeAnEnumeratorHidesIt) {
  constexpr std::string_view src = R"(
type Phase = enumeration of idle, busy
automaton A
  signature
    internal step
  states
    idle: Int := 0
  transitions
    internal step
      eff idle := idle + 1
)";
  auto c = check_text(src);
  EXPECT_TRUE(c->clean()) << c->text();
}

TEST(SpecChecker, EmptyBracesAreTheEmptyMessageWhereAMessageIsExpected) {
  constexpr std::string_view src = R"(
layer L
  header H { kind: u8 }
  states
    last: Msg := {}
  transitions
    input down.send(p, m)
      eff emit down.send(p, push({}, H{kind = 1})); last := {}; emit down.send(p, {1})
)";
  auto c = check_text(src);
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "{1}",
                                            "a message is written '{}' (empty) or "
                                            "built with push and concat")));
  EXPECT_EQ(c->diags.error_count(), 1U) << c->text();
}

TEST(SpecChecker, RangeIsTheSequenceOfNaturalsBelowItsArgument) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    s: Seq[u32] := {}, total: Nat := 0
  transitions
    internal step
      eff for i in range(len(s)) do total := total + i + s[i] od; total := range(true)
)";
  auto c = check_text(src);
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "true", "'range' needs an integer, not Bool")));
  EXPECT_EQ(c->diags.error_count(), 1U) << c->text();
}

// -------------------------------------------------------------------------- assignment

constexpr std::string_view kReadOnly = R"(
automaton A(limit: Int)
  signature
    input put(x: Int)
  states
    n: Int := 0
  transitions
    input put(x)
      eff x := 1; limit := 2; let k := 0; k := 3; for e in {1, 2} do e := 4 od; n := k
)";

TEST(SpecChecker, ActionParametersAreReadOnly) {
  expect_diagnostic(
      kReadOnly,
      error_at(kReadOnly, "x := 1", "cannot assign to 'x': the parameters of 'put' are read-only"));
}

TEST(SpecChecker, AutomatonParametersAreReadOnly) {
  expect_diagnostic(kReadOnly, error_at(kReadOnly, "limit :=",
                                        "cannot assign to 'limit': it is a parameter of A, not a "
                                        "state variable"));
}

TEST(SpecChecker, LetVariablesAreAssignableButLoopVariablesAreNot) {
  auto c = check_text(kReadOnly);
  EXPECT_THAT(c->text(), Not(HasSubstr("'k'")));
  EXPECT_THAT(c->text(),
              HasSubstr(error_at(kReadOnly, "e := 4", "cannot assign to the loop variable 'e'")));
}

TEST(SpecChecker, BuiltinsOtherThanLamportAreReadOnly) {
  constexpr std::string_view src = R"(
layer L
  states
    n: u64 := 0
  transitions
    input timer
      eff lamport := lamport + 1; now := 0
)";
  expect_diagnostic(src, error_at(src, "now :=",
                                  "cannot assign to the built-in 'now': of the "
                                  "built-ins, only 'lamport' is assignable"));
  auto c = check_text(src);
  EXPECT_THAT(c->text(), Not(HasSubstr("built-in 'lamport'")));
}

TEST(SpecChecker, MeIsAnOrdinaryNameOutsideLayers) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0
  transitions
    internal step
      eff n := me
)";
  expect_diagnostic(src, error_at(src, "me\n", "unknown name 'me'"));
}

// -------------------------------------------------------------- signatures and transitions

TEST(SpecChecker, TransitionForAnActionOutsideTheSignatureIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0
  transitions
    internal stop
)";
  auto c = check_text(src);
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "stop",
                                            "'stop' is not an action of the "
                                            "signature of A")));
  EXPECT_THAT(c->text(), HasSubstr(note_at(src, "stop", "did you mean 'step'?")));
}

TEST(SpecChecker, TransitionOfTheWrongKindIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    output step
  states
    n: Int := 0
  transitions
    input step
)";
  expect_diagnostic(src, error_at(src, "step",
                                  "'step' is an output in the signature of A, not an "
                                  "input",
                                  2));
}

TEST(SpecChecker, TransitionWithTheWrongNumberOfParametersIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    input put(x: Int, y: Int)
  states
    n: Int := 0
  transitions
    input put(x)
)";
  expect_diagnostic(src, error_at(src, "put(x)",
                                  "'put' has 2 parameters in the signature, but "
                                  "its transition names 1"));
}

TEST(SpecChecker, ConstFormalMustNameAnAutomatonParameter) {
  constexpr std::string_view src = R"(
automaton A(src: Nat)
  signature
    input put(const sr, x: Int)
  states
    n: Int := 0
  transitions
    input put(sr, x)
)";
  expect_diagnostic(src, error_at(src, "sr,", "'const sr' must name a parameter of A"));
  expect_diagnostic(src, note_at(src, "sr,", "did you mean 'src'?"));
}

TEST(SpecChecker, TransitionMustUseTheNameOfAConstFormal) {
  constexpr std::string_view src = R"(
automaton A(src: Nat)
  signature
    input put(const src, x: Int)
  states
    n: Int := 0
  transitions
    input put(s, x)
)";
  expect_diagnostic(src, error_at(src, "s, x)",
                                  "the signature has 'const src' here: the "
                                  "transition must name it 'src'"));
}

TEST(SpecChecker, SecondTransitionForOneActionIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0
  transitions
    internal step
      eff n := 1
    internal step
      eff n := 2
)";
  expect_diagnostic(src, error_at(src, "step",
                                  "'step' has a second transition; each action has "
                                  "at most one",
                                  3));
  expect_diagnostic(src, note_at(src, "step", "the first transition is here", 2));
}

TEST(SpecChecker, InputTransitionWithAPreconditionIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    input put(x: Int)
  states
    n: Int := 0
  transitions
    input put(x)
      pre x > 0
)";
  expect_diagnostic(src, error_at(src, ">", "input 'put' has a 'pre': inputs are always enabled"));
}

TEST(SpecChecker, OutputParameterNotBoundByThePreconditionIsAnError) {
  constexpr std::string_view src = R"(
automaton A
  signature
    output put(x: Int)
  states
    n: Int := 0
  transitions
    output put(x)
      pre x > n
)";
  expect_diagnostic(src, error_at(src, "x)",
                                  "parameter 'x' of output 'put' is not bound: add a "
                                  "conjunct 'x = ...' to the precondition"));
}

TEST(SpecChecker, EqualityThatMentionsItsOwnParameterDoesNotBindIt) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal pick(x: Int, y: Int)
  states
    n: Int := 0
  transitions
    internal pick(x, y)
      pre x = x + 0 ∧ y = n + x
)";
  auto c = check_text(src);
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "x, y)",
                                            "parameter 'x' of internal 'pick' is "
                                            "not bound")));
  // y = n + x reads x, which is not bound: y is not bound either.
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "y)",
                                            "parameter 'y' of internal 'pick' is not "
                                            "bound")));
}

TEST(SpecChecker, ParametersAreBoundInOrderFromEarlierOnes) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal pick(x: Int, y: Int)
  states
    n: Int := 0
  transitions
    internal pick(x, y)
      pre y = x + 1 ∧ n = x ∧ x = n
)";
  auto c = check_text(src);
  ASSERT_TRUE(c->clean()) << c->text();
  Transition& pick = transition(*c->get().automaton("A"), "pick");
  ASSERT_EQ(pick.bindings.size(), 2U);
  EXPECT_EQ(pick.bindings[0].source, ParamBinding::Source::Equality);
  EXPECT_EQ(name_of(pick.bindings[0].expr).ident, "n"); // `n = x` read from either side
  EXPECT_EQ(pick.bindings[1].source, ParamBinding::Source::Equality);
  EXPECT_TRUE(std::holds_alternative<Binary>(pick.bindings[1].expr->node));
}

// ------------------------------------------------------------------- composite automata

constexpr std::string_view kLink = R"(
automaton Link(src: Nat, dst: Nat)
  signature
    input  put(const src, const dst, x: Int)
    output get(const src, const dst, x: Int)
  states
    buf: Seq[Int] := {}
  transitions
    input put(src, dst, x)
      eff buf := buf ⊢ x
    output get(src, dst, x)
      pre buf ≠ {} ∧ x = head(buf)
      eff buf := tail(buf)
)";

TEST(SpecChecker, TwoComponentsOwningOneOutputIsAnError) {
  const std::string src = std::string(kLink) + R"(
automaton Two
  components
    L1: Link(0, 1);
    L2: Link(1, 0);
    L3: Link(0, 2 - 1)
)";
  expect_diagnostic(src, error_at(src, "L3",
                                  "L1 and L3 both have the output 'get(0, 1, _)': an "
                                  "action is the output of at most one component"));
  expect_diagnostic(src, note_at(src, "L1", "L1 is here"));
  auto c = check_text(src);
  EXPECT_THAT(c->text(), Not(HasSubstr("L2 and")));
}

TEST(SpecChecker, ComponentOfAnUnknownAutomatonIsAnError) {
  const std::string src = std::string(kLink) + R"(
automaton Two
  components
    L1: Lnk(0, 1)
)";
  expect_diagnostic(src, error_at(src, "L1", "unknown automaton 'Lnk'"));
  expect_diagnostic(src, note_at(src, "L1", "did you mean 'Link'?"));
}

TEST(SpecChecker, ComponentWithTheWrongNumberOfArgumentsIsAnError) {
  const std::string src = std::string(kLink) + R"(
automaton Two
  components
    L1: Link(0)
)";
  expect_diagnostic(src, error_at(src, "L1", "Link takes 2 arguments, not 1"));
}

TEST(SpecChecker, ComponentArgumentOfTheWrongTypeIsAnError) {
  const std::string src = std::string(kLink) + R"(
automaton Two
  components
    L1: Link(0, true)
)";
  expect_diagnostic(src, error_at(src, "true", "argument 2 of Link ('dst') must be Nat, not Bool"));
}

TEST(SpecChecker, OutputAndTheInputItMeetsAgreeOnParameterTypes) {
  const std::string src = std::string(kLink) + R"(
automaton Source
  signature
    output put(a: Nat, b: Nat, x: Bool)
  states
    sent: Bool := false
  transitions
    output put(a, b, x)
      pre ¬sent ∧ a = 0 ∧ b = 1 ∧ x = true
      eff sent := true

automaton Two
  components
    S: Source;
    L: Link(0, 1)
)";
  expect_diagnostic(src, error_at(src, "L: Link",
                                  "S's output 'put' carries Bool as parameter 3, "
                                  "but L's input 'put' takes Int"));
}

TEST(SpecChecker, ComponentThatIsALayerIsAnError) {
  const std::string src = std::string(kLink) + R"(
layer Frag
  states
    n: u32 := 0
  transitions

automaton Two
  components
    F: Frag
)";
  expect_diagnostic(src, error_at(src, "F: Frag",
                                  "'Frag' is a layer: the components of an "
                                  "automaton are automata"));
}

TEST(SpecChecker, CompositeThatContainsItselfIsAnError) {
  constexpr std::string_view src = R"(
automaton Outer
  components
    I: Inner

automaton Inner
  components
    O: Outer
)";
  expect_diagnostic(src, error_at(src, "I: Inner",
                                  "Outer contains itself through its component "
                                  "'I'"));
}

TEST(SpecChecker, CompositeInvariantNamingAnUnknownComponentVariableIsAnError) {
  const std::string src = std::string(kLink) + R"(
automaton Two
  components
    L1: Link(0, 1)

invariant of Two: len(L1.bf) ≤ 3
)";
  expect_diagnostic(src, error_at(src, "bf", "L1 (a Link) has no variable 'bf'"));
  expect_diagnostic(src, note_at(src, "bf", "did you mean 'buf'?"));
}

TEST(SpecChecker, InvariantWithoutOfBelongsToThePrecedingAutomaton) {
  const std::string src = std::string(kLink) + "\ninvariant: len(buf) ≤ 3\n";
  auto c = check_text(src);
  ASSERT_TRUE(c->clean()) << c->text();
  EXPECT_EQ(c->get().invariants_of("Link").size(), 1U);
  EXPECT_EQ(c->get().invariants_of("Link")[0]->of, "Link");
}

TEST(SpecChecker, InvariantMustBeBool) {
  const std::string src = std::string(kLink) + "\ninvariant of Link: len(buf)\n";
  expect_diagnostic(src, error_at(src, "len(buf)\n", "an invariant must be Bool, not Nat"));
}

// ------------------------------------------------------------------- any program at all

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whether a loaded program is annotated as the simulator needs it: every expression typed, every
// name resolved (checker.hpp lists the two exceptions), every transition bound.
void expect_annotated(Program& p) {
  walk(p, [&](const Expr& e) {
    RC_ASSERT(e.type != nullptr);
    const Name* n = std::get_if<Name>(&e.node);
    if (n != nullptr && n->kind == NameKind::Component) return;
    if (n != nullptr && e.type->is_header) return;
    RC_ASSERT(e.type->kind != TypeKind::Error);
    if (n != nullptr) RC_ASSERT(n->kind != NameKind::Unresolved);
  });
  for (SpecFile& f : p.files) {
    for (Decl& d : f.decls) {
      auto transitions = [](auto& unit) {
        for (Transition& t : unit.transitions) {
          RC_ASSERT(t.bindings.size() == t.params.size());
          RC_ASSERT(t.param_types.size() == t.params.size());
          for (const ParamBinding& b : t.bindings) {
            RC_ASSERT(b.source != ParamBinding::Source::Equality || b.expr != nullptr);
          }
        }
      };
      if (auto* a = std::get_if<Automaton>(&d)) transitions(*a);
      if (auto* l = std::get_if<Layer>(&d)) transitions(*l);
    }
  }
}

// `text` with `count` words, numbers or operators replaced by others of the same sort, keywords
// left alone so that most mutants still parse and reach the checker.
std::string mutate(const std::string& text, int count) {
  static const std::set<std::string, std::less<>> keywords = {
      "automaton", "signature", "input",      "output",    "internal",    "states", "transitions",
      "pre",       "eff",       "components", "invariant", "of",          "layer",  "provides",
      "needs",     "header",    "stack",      "type",      "enumeration", "record", "import",
      "if",        "then",      "elseif",     "else",      "fi",          "let",    "for",
      "in",        "do",        "od",         "emit",      "set_timer",   "skip",   "const",
      "down",      "up",        "send",       "cast",      "deliver",     "timer",  "notin",
      "div",       "mod"};
  static const std::vector<std::string> operators = {"+", "-", "*", "=", "<", ">",  "≤", "≥",
                                                     "≠", "∧", "∨", "⊢", "∈", "+%", "⇒"};
  struct Token {
    std::size_t pos, len;
    int sort; // 0 word, 1 number, 2 operator
  };
  std::vector<Token> tokens;
  std::vector<std::string> words = {"zz", "Bool",    "u8",  "Time",  "Msg",  "head", "len",
                                    "me", "lamport", "now", "peers", "true", "false"};
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (std::isalpha(c) || c == '_') {
      std::size_t j = i;
      while (j < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_'))
        ++j;
      std::string w = text.substr(i, j - i);
      if (!keywords.contains(w)) {
        tokens.push_back({i, j - i, 0});
        words.push_back(w);
      }
      i = j;
    } else if (std::isdigit(c)) {
      std::size_t j = i;
      while (j < text.size() && std::isalnum(static_cast<unsigned char>(text[j]))) ++j;
      tokens.push_back({i, j - i, 1});
      i = j;
    } else {
      bool matched = false;
      for (const std::string& op : operators) {
        if (text.compare(i, op.size(), op) == 0 && text.compare(i, 2, ":=") != 0) {
          tokens.push_back({i, op.size(), 2});
          i += op.size();
          matched = true;
          break;
        }
      }
      if (!matched) ++i;
    }
  }
  std::vector<std::pair<Token, std::string>> edits;
  for (int k = 0; k < count; ++k) {
    const Token t = *rc::gen::elementOf(tokens);
    std::string by;
    if (t.sort == 0) by = *rc::gen::elementOf(words);
    if (t.sort == 1)
      by = *rc::gen::element<std::string>(
          "0", "1", "255", "256", "-1", "99999999999999999999999999999999999999999", "0x10", "5ms");
    if (t.sort == 2) by = *rc::gen::elementOf(operators);
    edits.emplace_back(t, by);
  }
  std::sort(edits.begin(), edits.end(),
            [](const auto& a, const auto& b) { return a.first.pos > b.first.pos; });
  std::string out = text;
  std::size_t last = std::string::npos;
  for (const auto& [t, by] : edits) {
    if (t.pos == last) continue; // one edit per token
    out.replace(t.pos, t.len, by);
    last = t.pos;
  }
  return out;
}

// Mutants of the clean programs never crash the checker, and those that still load are fully
// annotated.
RC_GTEST_PROP(SpecChecker, MutatedProgramsNeverCrashAndLoadOnlyWhenFullyAnnotated, ()) {
  static const std::string layers = read_file(specs_dir + "check/layers.ioa");
  const std::string& base = *rc::gen::element<std::string>(std::string(kTwoCounters), layers);
  const std::string text = mutate(base, *rc::gen::inRange(1, 5));
  auto c = check_text(text, specs_dir + "check/mutant.ioa");
  RC_TAG(c->program.has_value() ? "loads" : "rejected");
  if (c->program) expect_annotated(c->get());
  RC_ASSERT(c->program.has_value() == !c->diags.has_errors());
}

// load() does not check a file with syntax errors, but check() itself must survive the partial
// trees the parser leaves: here they are checked anyway, after random cuts and deletions.
RC_GTEST_PROP(SpecChecker, CheckingThePartialTreeOfABrokenFileNeverCrashes, ()) {
  static const std::string layers = read_file(specs_dir + "check/layers.ioa");
  std::string text = *rc::gen::element<std::string>(std::string(kTwoCounters), layers);
  const int cuts = *rc::gen::inRange(1, 4);
  for (int k = 0; k < cuts && !text.empty(); ++k) {
    const auto at = *rc::gen::inRange<std::size_t>(0, text.size());
    const auto len = *rc::gen::inRange<std::size_t>(0, std::min<std::size_t>(12, text.size() - at));
    text.erase(at, len);
  }
  Sources sources;
  Diagnostics diags(sources);
  Program program;
  program.files.push_back(parse(sources, sources.add("cut.ioa", text), diags));
  program.index(diags);
  check(program, diags);
  RC_ASSERT(diags.format().empty() == diags.all().empty());
}

// A tree with every optional and required piece missing, as no parser would build it.
TEST(SpecChecker, CheckToleratesNullExpressionsAndEmptyNames) {
  auto null_expr = [] { return ExprPtr{}; };
  auto name = [](std::string ident) {
    auto e = std::make_unique<Expr>();
    e->node = Name{std::move(ident)};
    return e;
  };
  auto stmt = [](auto node) {
    auto s = std::make_unique<Stmt>();
    s->node = std::move(node);
    return s;
  };
  SpecFile file;
  Automaton a;
  a.name = "A";
  a.params.push_back(Param{{}, "", TypeExpr{}, nullptr, nullptr, null_expr(), ""});
  a.signature.push_back(ActionSig{{}, ActionKind::Output, "", {Formal{{}, "", true, {}}}});
  a.signature.push_back(ActionSig{{}, ActionKind::Output, "go", {Formal{{}, "", false, {}}}});
  a.states.push_back(StateVar{{}, "", TypeExpr{{}, "Seq", {}, nullptr}, null_expr()});
  Transition t;
  t.kind = ActionKind::Output;
  t.name = "go";
  t.params = {"", "x"}; // no param_locs
  auto pre = std::make_unique<Expr>();
  pre->node = Binary{BinaryOp::And, name(""), null_expr()};
  t.pre = std::move(pre);
  t.eff.push_back(stmt(Assign{null_expr(), null_expr()}));
  t.eff.push_back(stmt(Assign{name(""), name("x")}));
  If branches;
  branches.branches.emplace_back(null_expr(), Stmts{});
  t.eff.push_back(stmt(std::move(branches)));
  t.eff.push_back(stmt(Let{"", null_expr()}));
  t.eff.push_back(stmt(For{"", null_expr(), {}}));
  Emit emit{Port::Up, EventKind::Send, {}, null_expr()};
  emit.args.push_back(null_expr());
  t.eff.push_back(stmt(std::move(emit)));
  t.eff.push_back(stmt(SetTimer{null_expr()}));
  t.eff.push_back(nullptr);
  auto call = std::make_unique<Expr>();
  Call top{"top", {}};
  top.args.push_back(null_expr());
  top.args.push_back(null_expr());
  call->node = std::move(top);
  auto field = std::make_unique<Expr>();
  field->node = FieldAccess{std::move(call), ""};
  t.eff.push_back(stmt(Assign{name("x"), std::move(field)}));
  a.transitions.push_back(std::move(t));
  file.decls.emplace_back(std::move(a));

  Automaton composite;
  composite.name = "C";
  composite.composite = true;
  composite.components.push_back(Component{{}, "", "", {}});
  composite.components.push_back(Component{{}, "K", "A", {}});
  composite.components.back().args.push_back(null_expr());
  file.decls.emplace_back(std::move(composite));

  Layer l;
  l.name = "L";
  l.provides = {""};
  l.headers.push_back(Header{{}, "", {{"", TypeExpr{}}}, nullptr});
  Transition lt;
  lt.kind = ActionKind::Input;
  lt.port = Port::Down; // no event
  lt.params = {"p"};
  l.transitions.push_back(std::move(lt));
  l.ccps.push_back(Ccp{{}, Port::Up, EventKind::Cast, null_expr()});
  file.decls.emplace_back(std::move(l));

  Stack st;
  st.name = "S";
  for (const char* layer : {"", "L"}) {
    st.layers.push_back(LayerRef{{}, layer, {}, {}});
    st.layers.back().args.emplace_back("", null_expr());
  }
  file.decls.emplace_back(std::move(st));
  file.decls.emplace_back(Invariant{{}, "", null_expr()});
  file.decls.emplace_back(Invariant{{}, "C", null_expr()});
  file.decls.emplace_back(TypeDecl{{}, "", TypeDecl::Form::Alias, {}, {}, {}, TypeExpr{}, nullptr});

  Sources sources;
  Diagnostics diags(sources);
  Program program;
  program.files.push_back(std::move(file));
  program.index(diags);
  check(program, diags);
  EXPECT_TRUE(diags.has_errors());
}

// ------------------------------------------------------------------------------ layers

TEST(SpecChecker, LayerEventWithTheWrongNumberOfParametersIsAnError) {
  constexpr std::string_view src = R"(
layer L
  states
    n: u64 := 0
  transitions
    input down.send(m)
      eff skip
)";
  expect_diagnostic(src, error_at(src, "down",
                                  "'input down.send' has two parameters (the peer "
                                  "and the message), not 1 parameter"));
}

TEST(SpecChecker, EmittedEventArgumentsHaveEventTypes) {
  constexpr std::string_view src = R"(
layer L
  states
    n: u64 := 0
  transitions
    input down.send(p, m)
      eff emit down.send(m, m)
)";
  expect_diagnostic(src,
                    error_at(src, "m, m", "the peer of 'emit down.send' must be Peer, not Msg"));
}

TEST(SpecChecker, EmitLamportMustBeU64AndTimerDelayTime) {
  constexpr std::string_view src = R"(
layer L
  states
    b: Bool := false
  transitions
    input down.cast(m)
      eff emit down.cast(m, lamport = b); set_timer(b)
)";
  expect_diagnostic(src, error_at(src, "b)", "the lamport time of an emit must be u64, not Bool"));
  expect_diagnostic(src, error_at(src, "b)", "the delay of 'set_timer' must be Time, not Bool", 2));
}

TEST(SpecChecker, LayerEmitsOnlyDownSendDownCastAndUpDeliver) {
  constexpr std::string_view src = R"(
layer L
  states
    n: u64 := 0
  transitions
    input down.cast(m)
      eff emit up.cast(m)
)";
  expect_diagnostic(src, error_at(src, "emit",
                                  "a layer emits down.send, down.cast or up.deliver, "
                                  "not up.cast"));
}

TEST(SpecChecker, EmitOutsideALayerIsAnError) {
  const std::string src = std::string(kLink) + R"(
automaton E
  signature
    input go(m: Msg)
  states
    n: Int := 0
  transitions
    input go(m)
      eff emit down.cast(m)
)";
  expect_diagnostic(src, error_at(src, "emit",
                                  "'emit' is for layers; an automaton's outputs are "
                                  "its output actions"));
}

TEST(SpecChecker, LayerVariableNamedLikeABuiltinIsAnError) {
  constexpr std::string_view src = R"(
layer L(me: u32)
  states
    now: u64 := 0
  transitions
)";
  expect_diagnostic(src, error_at(src, "me:",
                                  "'me' is a built-in name in a layer; choose another "
                                  "name"));
  expect_diagnostic(src, error_at(src, "now:", "'now' is a built-in name in a layer"));
}

TEST(SpecChecker, NowAndLamportHaveNoValueOutsideAnEvent) {
  constexpr std::string_view src = R"(
layer L
  states
    t: Time := now,
    n: u32 := group_size
  transitions

invariant: lamport ≥ 0
)";
  expect_diagnostic(src, error_at(src, "now,",
                                  "'now' belongs to the event being handled; there "
                                  "is none here"));
  expect_diagnostic(src, error_at(src, "lamport", "'lamport' belongs to the event being handled"));
}

TEST(SpecChecker, HeaderFieldsAreFixedWidth) {
  constexpr std::string_view src = R"(
layer L
  header H { seq: u32, flag: Bool, n: Nat }
  states
    n: u64 := 0
  transitions
    input timer
      eff skip
)";
  auto c = check_text(src);
  EXPECT_FALSE(c->program);
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "Bool",
                                            "header field 'flag' has type Bool; "
                                            "header fields are fixed-width")));
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "Nat", "header field 'n' has type Nat")));
}

TEST(SpecChecker, HeaderFieldIsNeverAHeader) {
  constexpr std::string_view src = R"(
layer L
  header Data { seq: Data }
  states
    n: u64 := 0
  transitions
    input timer
      eff skip
)";
  expect_diagnostic(src, error_at(src, "Data }",
                                  "header field 'seq' has type Data; header fields "
                                  "are fixed-width"));
}

TEST(SpecChecker, CcpIsBoolAndReadsTheEventOfItsTransition) {
  constexpr std::string_view src = R"(
layer L
  header H { seq: u32 }
  states
    next: u32 := 0
  transitions
    input up.deliver(p, m)
      eff emit up.deliver(p, m)
  ccp up.deliver: top(m, H).seq = next ∧ p = me
  ccp down.send: next
)";
  auto c = check_text(src);
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "down.send:",
                                            "ccp for down.send, but L has no "
                                            "'input down.send'")));
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "next\n", "a ccp must be Bool, not u32")));
  EXPECT_THAT(c->text(), Not(HasSubstr("ccp up.deliver")));
}

TEST(SpecChecker, ProvidesAndNeedsNameKnownGuarantees) {
  constexpr std::string_view src = R"(
layer L
  provides fifo, relable
  states
    n: u64 := 0
  transitions
    input timer
      eff skip
)";
  expect_diagnostic(src, error_at(src, "L\n", "unknown guarantee 'relable' in 'provides' of L"));
  expect_diagnostic(src, note_at(src, "L\n", "did you mean 'reliable'?"));
}

TEST(SpecChecker, TopPopAndFitsNameAHeaderOfTheLayer) {
  constexpr std::string_view src = R"(
layer L
  header Data { seq: u32 }
  states
    n: u32 := 0
  transitions
    input up.deliver(p, m)
      eff n := top(m, Dat).seq
)";
  expect_diagnostic(src, error_at(src, "Dat)", "L has no header 'Dat'"));
  expect_diagnostic(src, note_at(src, "Dat)", "did you mean 'Data'?"));
}

TEST(SpecChecker, RecordLiteralGivesEveryFieldOnce) {
  constexpr std::string_view src = R"(
layer L
  header Data { seq: u32, len: u16 }
  states
    n: u32 := 0
  transitions
    input down.send(p, m)
      eff emit down.send(p, push(m, Data{seq = n}))
)";
  expect_diagnostic(src, error_at(src, "Data{",
                                  "Data{...} leaves out the field 'len': give "
                                  "every field"));
}

TEST(SpecChecker, RecordLiteralFieldsAreReorderedIntoDeclarationOrder) {
  constexpr std::string_view src = R"(
type Pair = record [first: Int, second: Bool]
automaton A
  signature
    internal step
  states
    p: Pair := Pair{second = true, first = 1}
  transitions
    internal step
)";
  auto c = check_text(src);
  ASSERT_TRUE(c->clean()) << c->text();
  const auto& lit = std::get<RecordLit>(c->get().automaton("A")->states[0].init->node);
  ASSERT_EQ(lit.fields.size(), 2U);
  EXPECT_EQ(lit.fields[0].first, "first");
  EXPECT_EQ(type_name(lit.fields[0].second->type), "Int");
  EXPECT_EQ(lit.fields[1].first, "second");
}

// ------------------------------------------------------------------------------ stacks

constexpr std::string_view kStackLayers = R"(
layer Top(window: u32)
  needs reliable
  states
    n: u32 := 0
  transitions
    input down.send(p, m)
      eff emit down.cast(m)
    input up.deliver(p, m)
      eff emit up.deliver(p, m)

layer Middle
  provides fifo
  states
    n: u32 := 0
  transitions
    input down.send(p, m)
      eff emit down.send(p, m); emit up.deliver(p, m)

layer Bottom at bottom
  provides reliable
  states
    n: u32 := 0
  transitions
    input down.send(p, m)
      eff emit down.send(p, m)
    input down.cast(m)
      eff emit down.cast(m)
    input up.deliver(p, m)
      eff emit up.deliver(p, m)
)";

TEST(SpecChecker, UnknownLayerInAStackIsAnErrorWithTheClosestLayer) {
  const std::string src = std::string(kStackLayers) + "\nstack S = Top(window = 1) : Botom\n";
  expect_diagnostic(src, error_at(src, "Botom", "unknown layer 'Botom'"));
  expect_diagnostic(src, note_at(src, "Botom", "did you mean 'Bottom'?"));
}

TEST(SpecChecker, StackArgumentsNameLayerParametersWithTheirTypes) {
  const std::string src =
      std::string(kStackLayers) + "\nstack S = Top(windw = 1, window = true) : Bottom\n";
  auto c = check_text(src);
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "windw", "Top has no parameter 'windw'")));
  EXPECT_THAT(c->text(), HasSubstr(note_at(src, "windw", "did you mean 'window'?")));
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "true",
                                            "the parameter 'window' of Top must be "
                                            "u32, not Bool")));
}

TEST(SpecChecker, StackMustGiveLayerParametersWithoutDefaults) {
  const std::string src = std::string(kStackLayers) + "\nstack S = Top : Bottom\n";
  expect_diagnostic(src, error_at(src, "Top :",
                                  "the parameter 'window' of Top has no default: "
                                  "give it here, as in Top(window = ...)"));
}

TEST(SpecChecker, DownEventEmittedMustBeAcceptedByTheLayerBelow) {
  const std::string src =
      std::string(kStackLayers) + "\nstack S = Top(window = 1) : Middle : Bottom\n";
  expect_diagnostic(src, error_at(src, "Top(window = 1)",
                                  "Top emits down.cast, but Middle below it has "
                                  "no 'input down.cast'"));
  expect_diagnostic(src, note_at(src, "emit down.cast", "Top emits down.cast here"));
}

TEST(SpecChecker, UpEventEmittedMustBeAcceptedByTheLayerAbove) {
  const std::string src = std::string(kStackLayers) + "\nstack S = Middle : Middle\n";
  expect_diagnostic(src, error_at(src, "Middle\n",
                                  "Middle emits up.deliver, but Middle above it "
                                  "has no 'input up.deliver'",
                                  2));
}

TEST(SpecChecker, EventsLeavingTheStackAtEitherEndNeedNoNeighbour) {
  // Only emits down and up, and is the whole stack.
  const std::string src = std::string(kStackLayers) + R"(
layer Only at bottom
  states
    n: u32 := 0
  transitions
    input down.send(p, m)
      eff emit down.send(p, m); emit up.deliver(p, m)
stack S = Only
)";
  auto c = check_text(src);
  EXPECT_TRUE(c->clean()) << c->text();
}

TEST(SpecChecker, NeedsMustBeProvidedBelow) {
  const std::string src = std::string(kStackLayers) + "\nstack S = Top(window = 1) : Middle\n";
  expect_diagnostic(src, error_at(src, "Top(window = 1)",
                                  "Top needs a reliable channel below it, but no layer "
                                  "below Top in stack S provides it (directly below is "
                                  "Middle)"));
}

TEST(SpecChecker, AParametersValuesAreConstantsInOrderAroundItsDefault) {
  const std::string src = R"(
layer L(a: u32 in [5, 2] := 3, b: u32 in [1, 10] := 11, c: u32 in [1, 4] := 2, d: u32 in [1, a])
  states
    n: u32 := 0
  transitions
    input down.send(p, m)
      eff emit down.send(p, m)
)";
  auto c = check_text(src);
  EXPECT_FALSE(c->program.has_value());
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "5, 2]",
                                            "the values of 'a' are empty: its least "
                                            "value 5 is above its greatest 2")));
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "11,",
                                            "the default of 'b', 11, is outside its "
                                            "values [1, 10]")));
  EXPECT_THAT(c->text(), HasSubstr("the greatest value of 'd' must be a constant"));
  EXPECT_THAT(c->text(), Not(HasSubstr("'c'")));
}

TEST(SpecChecker, AConstantStackArgumentOutsideTheParametersValuesIsAnError) {
  const std::string src = R"(
layer L(w: u32 in [1, 100] := 10) at bottom
  states
    n: u32 := 0
  transitions
    input down.send(p, m)
      eff emit down.send(p, m)
stack Fine = L(w = 100)
stack Wrong = L(w = 101)
)";
  expect_diagnostic(src, error_at(src, "w = 101",
                                  "w = 101 is outside the values of L's "
                                  "parameter 'w': [1, 100]"));
  EXPECT_THAT(check_text(src)->text(), Not(HasSubstr("w = 100 is outside")));
}

TEST(SpecChecker, AFolderImportsEverySpecInIt) {
  Sources sources;
  Diagnostics diags(sources);
  const auto p = load(std::string(LAMINA_SOURCE_DIR) + "/components", sources, diags);
  ASSERT_TRUE(p.has_value()) << diags.format();
  for (const char* layer :
       {"Top", "Bottom", "Frag", "Seqno", "Retransmit", "Checksum", "LamportClock"})
    EXPECT_NE(p->layer(layer), nullptr) << layer;
}

TEST(SpecChecker, OutputWithoutATransitionIsAWarning) {
  constexpr std::string_view src = R"(
automaton A
  signature
    output tick
  states
    n: Int := 0
  transitions
)";
  expect_warning(src, warning_at(src, "tick",
                                 "output 'tick' has no transition: the simulator "
                                 "never takes it"));
}

// ---------------------------------------------------------------------- unreachable code

TEST(SpecChecker, BranchWithTheConditionFalseIsUnreachable) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0
  transitions
    internal step
      eff if n = 0 then n := 1 elseif false then n := 2 fi
)";
  expect_warning(src, warning_at(src, "false",
                                 "this branch is never taken: its condition is "
                                 "'false'"));
}

TEST(SpecChecker, BranchAfterTheConditionTrueIsUnreachable) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0
  transitions
    internal step
      eff if true then n := 1 elseif n = 0 then n := 2 fi;
          if true then n := 1 else n := 3 fi
)";
  expect_warning(src, warning_at(src, "= 0 then",
                                 "this branch is never taken: an earlier condition "
                                 "is 'true'"));
  expect_warning(src, warning_at(src, "n := 3",
                                 "the 'else' branch is never taken: an earlier "
                                 "condition is 'true'"));
}

TEST(SpecChecker, ActionWithThePreconditionFalseIsNeverEnabled) {
  constexpr std::string_view src = R"(
automaton A
  signature
    internal step
  states
    n: Int := 0
  transitions
    internal step
      pre false
)";
  expect_warning(src, warning_at(src, "false",
                                 "the precondition of 'step' is 'false': the "
                                 "action is never enabled"));
}

// -------------------------------------------------------------------- program structure

TEST(SpecChecker, NameDeclaredTwiceIsAnErrorWithANoteAtTheFirst) {
  constexpr std::string_view src = R"(
type Phase = enumeration of idle, busy
layer Phase
  states
    n: u32 := 0
  transitions
)";
  expect_diagnostic(src, error_at(src, "Phase", "'Phase' is declared twice", 2));
  expect_diagnostic(src, note_at(src, "Phase", "'Phase' is first declared here", 1));
}

TEST(SpecChecker, MissingImportIsAnErrorAtTheImport) {
  const std::string path = specs_dir + "check/missing_import.ioa";
  auto c = check_file(path);
  EXPECT_FALSE(c->program);
  EXPECT_THAT(c->text(), HasSubstr(fmt::format("{}: error: cannot read imported file",
                                               at(read_file(path), "\"nowhere.ioa\"", 1, path))));
}

TEST(SpecChecker, ImportCyclesReadEachFileOnce) {
  auto c = check_file(specs_dir + "check/cycle_a.ioa");
  ASSERT_TRUE(c->clean()) << c->text();
  EXPECT_EQ(c->get().files.size(), 2U);
  EXPECT_NE(c->get().automaton("Painter"), nullptr);
  EXPECT_NE(c->get().automaton("Palette"), nullptr);
}

TEST(SpecChecker, ImportsAreRelativeToTheImportingFile) {
  auto c = check_file(specs_dir + "check/importer.ioa");
  ASSERT_TRUE(c->clean()) << c->text();
  EXPECT_NE(c->get().automaton("Ticker"), nullptr);
}

TEST(SpecChecker, SeveralErrorsInOneFileAreAllReported) {
  constexpr std::string_view src = R"(
type Phase = enumeration of idle, busy
automaton A(limit: Nat)
  signature
    output put(x: Int)
    internal step
  states
    n: Int := 0, p: Phase := idle
  transitions
    output put(x)
      pre n < limit
    internal step
      eff n := p; limit := 1; p := bussy
)";
  auto c = check_text(src);
  EXPECT_FALSE(c->program);
  EXPECT_EQ(c->diags.error_count(), 4U) << c->text();
  EXPECT_THAT(c->text(),
              HasSubstr(error_at(src, "x)", "parameter 'x' of output 'put' is not bound")));
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "p;",
                                            "cannot assign Phase to 'n', which is "
                                            "Int")));
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "limit :=", "cannot assign to 'limit'")));
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "bussy", "unknown name 'bussy'")));
}

// ------------------------------------------------------------ oracles, top-level headers

constexpr std::string_view kOracles = R"(
type AntsAction = record [to: Peer, capsule: Msg]
oracle AntsRun(code: Msg, capsule: Msg, me: Peer, from: Peer, now: Time): Seq[AntsAction]
layer Ants
  states
    code: Msg := {},
    sent: Nat := 0
  transitions
    input up.deliver(p, m)
      eff for a in AntsRun(code, m, me, p, now) do
            emit down.send(a.to, a.capsule); sent := sent + 1
          od
automaton Counter
  signature
    internal step
  states
    n: Nat := 0
  transitions
    internal step
      eff n := len(AntsRun({}, {}, 1, 2, 3))
)";

TEST(SpecChecker, AnOracleCallIsTypedAgainstItsDeclarationInLayersAndAutomata) {
  auto c = check_text(kOracles);
  ASSERT_TRUE(c->clean()) << c->text();
  const OracleDecl* run = c->get().oracle("AntsRun");
  ASSERT_NE(run, nullptr);
  ASSERT_EQ(run->params.size(), 5u);
  EXPECT_EQ(type_name(run->params[4].second.resolved), "Time");
  EXPECT_EQ(type_name(run->result.resolved), "Seq[AntsAction]");
  int calls = 0;
  walk(c->get(), [&](const Expr& e) {
    const auto* call = std::get_if<Call>(&e.node);
    if (call == nullptr || call->callee != "AntsRun") return;
    ++calls;
    EXPECT_EQ(call->oracle, run);
    EXPECT_EQ(type_name(e.type), "Seq[AntsAction]");
  });
  EXPECT_EQ(calls, 2);
}

TEST(SpecChecker, AnOracleCallTakesTheDeclaredNumberOfArguments) {
  constexpr std::string_view src = R"(
oracle Pick(from: Seq[u32], seed: u64): u32
automaton A
  signature
    internal step
  states
    n: u32 := 0
  transitions
    internal step
      eff n := Pick({1, 2})
)";
  expect_diagnostic(src, error_at(src, "Pick({", "oracle 'Pick' takes 2 arguments, not 1"));
  expect_diagnostic(src, note_at(src, "Pick(from", "'Pick' is declared here"));
}

TEST(SpecChecker, AnOracleArgumentMustBeOfItsParametersType) {
  constexpr std::string_view src = R"(
oracle Pick(from: Seq[u32], seed: u64): u32
automaton A
  signature
    internal step
  states
    n: u32 := 0, m: Msg := {}
  transitions
    internal step
      eff n := Pick({1, 2}, m)
)";
  expect_diagnostic(src, error_at(src, "m)", "argument 2 of oracle 'Pick' (seed) is u64, not Msg"));
  // Integers of any type flow into an integer parameter, as into any other store.
  constexpr std::string_view widths = R"(
oracle Pick(from: Seq[u32], seed: u64): u32
automaton A
  signature
    internal step
  states
    n: Nat := 0
  transitions
    internal step
      eff n := Pick({}, n + 1)
)";
  EXPECT_TRUE(check_text(widths)->clean()) << check_text(widths)->text();
}

TEST(SpecChecker, AnOraclesParameterAndResultTypesMustBeKnown) {
  constexpr std::string_view src = R"(
type Action = record [to: Peer]
oracle Run(code: Mgs): Seq[Actoin]
)";
  expect_diagnostic(src, error_at(src, "Mgs", "unknown type 'Mgs'"));
  expect_diagnostic(src, error_at(src, "Actoin", "unknown type 'Actoin'"));
  expect_diagnostic(src, note_at(src, "Actoin", "did you mean 'Action'?"));
}

TEST(SpecChecker, AnOraclesNameClashesWithNoBuiltInTypeLayerOrOtherOracle) {
  constexpr std::string_view builtin_fn = "oracle size(m: Msg): Nat\n";
  expect_diagnostic(
      builtin_fn,
      error_at(builtin_fn, "size", "'size' is a built-in function; an oracle needs another name"));
  constexpr std::string_view sha = "oracle sha256(m: Msg): Msg\n";
  expect_diagnostic(sha, error_at(sha, "sha256", "'sha256' is a built-in function"));
  constexpr std::string_view builtin_type = "oracle u32(m: Msg): Nat\n";
  expect_diagnostic(
      builtin_type,
      error_at(builtin_type, "u32(", "'u32' is a built-in type; an oracle needs another name"));
  constexpr std::string_view type = R"(
type Run = enumeration of a, b
oracle Run(m: Msg): Nat
)";
  expect_diagnostic(type, error_at(type, "Run(", "'Run' is declared twice"));
  expect_diagnostic(type, note_at(type, "Run =", "'Run' is first declared here"));
  constexpr std::string_view layer = R"(
layer Run
  states
  transitions
oracle Run(m: Msg): Nat
)";
  expect_diagnostic(layer, error_at(layer, "Run(", "'Run' is declared twice"));
  constexpr std::string_view twice = R"(
oracle Run(m: Msg): Nat
oracle Run(m: Msg, n: Nat): Nat
)";
  expect_diagnostic(twice, error_at(twice, "Run", "'Run' is declared twice", 2));
  constexpr std::string_view params = "oracle Run(m: Msg, m: Nat): Nat\n";
  expect_diagnostic(params, error_at(params, "Nat)", "'m' names two parameters of oracle Run"));
  // An oracle is no type, and no function is an oracle unless declared.
  constexpr std::string_view as_type = R"(
oracle Run(m: Msg): Nat
automaton A
  signature
  states
    r: Run := 0
  transitions
)";
  expect_diagnostic(as_type, error_at(as_type, "Run :=", "'Run' is not a type"));
  constexpr std::string_view misspelt = R"(
oracle AntsRun(m: Msg): Nat
automaton A
  signature
    internal step
  states
    n: Nat := 0
  transitions
    internal step
      eff n := AntRun({})
)";
  expect_diagnostic(misspelt, error_at(misspelt, "AntRun", "unknown function 'AntRun'"));
  expect_diagnostic(misspelt, note_at(misspelt, "AntRun", "did you mean 'AntsRun'?"));
}

TEST(SpecChecker, OraclesAndTopLevelHeadersOfAnImportedFileAreVisibleToTheImporter) {
  auto c = check_file(specs_dir + "check/uses_oracles.ioa");
  ASSERT_TRUE(c->clean()) << c->text();
  EXPECT_NE(c->get().oracle("AntsRun"), nullptr);
  ASSERT_NE(c->get().header("Capsule"), nullptr);
  EXPECT_TRUE(c->get().header("Capsule")->resolved->is_header);
  // The layer's own headers are its own: none.
  EXPECT_TRUE(c->get().layer("Ants")->headers.empty());
}

TEST(SpecChecker, AnOracleOrHeaderDeclaredInAFileNotImportedIsUnknown) {
  const std::string path = specs_dir + "check/oracle_not_imported.ioa";
  auto c = check_file(path);
  EXPECT_FALSE(c->program);
  EXPECT_THAT(c->text(), HasSubstr(fmt::format("{}: error: unknown function 'AntsRun'",
                                               at(read_file(path), "AntsRun(", 1, path))));
}

constexpr std::string_view kSharedHeader = R"(
type Kind = enumeration of data, ack
header Common { kind: Kind, id: u32 }
layer Upper
  states
    last: u32 := 0
  transitions
    input down.send(p, m)
      eff emit down.send(p, push(m, Common{kind = data, id = last}))
    input up.deliver(p, m)
      eff if fits(m, Common) then last := top(m, Common).id; emit up.deliver(p, pop(m, Common)) fi
  ccp up.deliver: fits(m, Common) ∧ top(m, Common).kind = data
layer Lower at bottom
  header Own { n: u8 }
  states
    seen: Seq[Common] := {}
  transitions
    input down.send(p, m)
      eff emit down.send(p, push(m, Own{n = 1}))
    input up.deliver(p, m)
      eff if fits(m, Own) ∧ fits(pop(m, Own), Common) then
            seen := seen ⊢ top(pop(m, Own), Common); emit up.deliver(p, pop(m, Own))
          fi
automaton Watch
  signature
    input see(m: Msg)
  states
    ids: Seq[u32] := {}
  transitions
    input see(m)
      eff if fits(m, Common) then ids := ids ⊢ top(m, Common).id fi
stack Both = Upper : Lower
)";

TEST(SpecChecker, ATopLevelHeaderIsUsedByEveryLayerAndAutomatonAndOwnedByNone) {
  auto c = check_text(kSharedHeader);
  ASSERT_TRUE(c->clean()) << c->text();
  const Header* common = c->get().header("Common");
  ASSERT_NE(common, nullptr);
  ASSERT_TRUE(common->resolved);
  EXPECT_TRUE(common->resolved->is_header);
  ASSERT_EQ(common->resolved->fields.size(), 2u);
  EXPECT_EQ(type_name(common->resolved->fields[0].second), "Kind");
  // No layer owns it: stacks, header sizes and the C++ conformance check see Layer::headers.
  EXPECT_TRUE(c->get().layer("Upper")->headers.empty());
  ASSERT_EQ(c->get().layer("Lower")->headers.size(), 1u);
  EXPECT_EQ(c->get().layer("Lower")->headers[0].name, "Own");
  // top(m, Common) is the one declared type everywhere.
  walk(c->get(), [&](const Expr& e) {
    const auto* call = std::get_if<Call>(&e.node);
    if (call != nullptr && call->callee == "top" &&
        std::get<Name>(call->args[1]->node).ident == "Common")
      EXPECT_EQ(e.type, common->resolved);
  });
}

TEST(SpecChecker, ATopLevelHeadersNameClashesWithNoTypeOrOtherHeader) {
  constexpr std::string_view type = R"(
type Common = record [id: u32]
header Common { id: u32 }
)";
  expect_diagnostic(type, error_at(type, "Common {", "'Common' is declared twice"));
  expect_diagnostic(type, note_at(type, "Common =", "'Common' is first declared here"));
  constexpr std::string_view twice = R"(
header Common { id: u32 }
header Common { id: u16 }
)";
  expect_diagnostic(twice, error_at(twice, "Common", "'Common' is declared twice", 2));
  constexpr std::string_view in_layer = R"(
header Common { id: u32 }
layer L
  header Common { n: u8 }
  states
  transitions
)";
  expect_diagnostic(in_layer, error_at(in_layer, "Common",
                                       "header 'Common' of L has the name of a "
                                       "top-level header",
                                       2));
  expect_diagnostic(
      in_layer, note_at(in_layer, "Common", "the top-level header 'Common' is declared here", 1));
  constexpr std::string_view builtin_type = "header Msg { id: u32 }\n";
  expect_diagnostic(
      builtin_type,
      error_at(builtin_type, "Msg", "'Msg' is a built-in type; a header needs another name"));
  constexpr std::string_view field = R"(
header Inner { id: u32 }
header Outer { inner: Inner, n: Msg }
)";
  expect_diagnostic(field, error_at(field, "Inner,", "header field 'inner' has type Inner"));
  expect_diagnostic(field, error_at(field, "Msg", "header field 'n' has type Msg"));
  constexpr std::string_view missing = R"(
header Common { id: u32 }
automaton A
  signature
    input see(m: Msg)
  states
    n: u32 := 0
  transitions
    input see(m)
      eff n := top(m, Comon).id
)";
  expect_diagnostic(missing, error_at(missing, "Comon",
                                      "'top' reads a header, and 'Comon' is no top-level header"));
}

TEST(SpecChecker, Sha256TakesAMessageAndGivesAMessage) {
  constexpr std::string_view src = R"(
automaton A
  signature
    input see(m: Msg)
  states
    d: Msg := {}, n: u32 := 0
  transitions
    input see(m)
      eff d := sha256(m); d := sha256(concat(d, m)); n := sha256(5)
)";
  auto c = check_text(src);
  EXPECT_FALSE(c->program);
  EXPECT_EQ(c->diags.error_count(), 1U) << c->text();
  EXPECT_THAT(c->text(), HasSubstr(error_at(src, "5)", "'sha256' needs a message (Msg), not Int")));
}

TEST(SpecChecker, ClosestNameIsWithinAThirdOfTheName) {
  EXPECT_EQ(closest_name("nxt_in", {"next_out", "next_in", "early"}), "next_in");
  EXPECT_EQ(closest_name("Frg", {"Frag", "Seqno"}), "Frag");
  EXPECT_EQ(closest_name("zzz", {"Frag", "Seqno"}), std::nullopt);
}

} // namespace
} // namespace lamina::spec
