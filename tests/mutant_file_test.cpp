// Mutant files (spec/mutant_file.hpp), the one format of lamina-mutate's mutants of the layers and
// lamina-opt's mutants of generated code: what a file says is what its changes make, whatever
// the source and however many changes; every mistake is reported at its line.
#include <array>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <set>
#include <string>
#include <vector>

#include "spec/mutant_file.hpp"

namespace lamina::spec {
namespace {

constexpr std::array<MutantKey, 1> kStack = {{{"stack", "ReliableFifo", true}}};

// Parses `text` as the file `name`; the mutant (or nullopt) and the diagnostics printed.
struct Parsed {
  Sources sources;
  Diagnostics diagnostics{sources};
  std::optional<MutantFile> mutant;
};

void parse(Parsed& p, const std::string& name, std::string text) {
  p.mutant = parse_mutant(p.sources, p.sources.add(name, std::move(text)), kStack, p.diagnostics);
}

TEST(MutantFile, MakesEveryChangeOfAMutantOfGeneratedCode) {
  Parsed p;
  parse(p, "two_changes.mutant", R"(# Two changes at once.
stack ReliableFifo

from
  a = 1;
to
  a = 2;
from
  c = 3;
  d = 4;
to

)");
  ASSERT_TRUE(p.mutant) << p.diagnostics.format();
  EXPECT_EQ(p.mutant->name, "two_changes");
  EXPECT_EQ(p.mutant->description, "Two changes at once.");
  EXPECT_EQ((*p.mutant)["stack"].text, "ReliableFifo");
  EXPECT_EQ((*p.mutant)["stack"].at.line, 2u);
  const std::string source = "  a = 1;\n  b = 2;\n  c = 3;\n  d = 4;\n  e = 5;\n";
  const auto edits = locate_changes(*p.mutant, source, "the source", p.diagnostics);
  ASSERT_TRUE(edits) << p.diagnostics.format();
  EXPECT_EQ(apply_edits(source, *edits), "  a = 2;\n  b = 2;\n  e = 5;\n");
}

TEST(MutantFile, NamesTheLineAndColumnOfEveryMistake) {
  Parsed p;
  parse(p, "Bad-Name.mutant", "stack\nlayer Seqno\nstack Reliable Fifo\nto\nfrom\n");
  EXPECT_FALSE(p.mutant);
  const std::string out = p.diagnostics.format();
  EXPECT_THAT(out, ::testing::HasSubstr("Bad-Name.mutant:1:1: error: a mutant's file is called "
                                        "<name>.mutant, <name> in a-z, 0-9 and '_'"));
  EXPECT_THAT(out, ::testing::HasSubstr("Bad-Name.mutant:1:1: error: 'stack' needs a value: "
                                        "stack ReliableFifo"));
  EXPECT_THAT(out, ::testing::HasSubstr("Bad-Name.mutant:2:1: error: expected 'stack "
                                        "ReliableFifo', 'from' or a '#' comment, found 'layer "
                                        "Seqno'"));
  EXPECT_THAT(out, ::testing::HasSubstr("Bad-Name.mutant:3:7: error: a second 'stack' line (the "
                                        "first is line 1)"));
  EXPECT_THAT(out, ::testing::HasSubstr("Bad-Name.mutant:4:1: error: 'to' without a 'from'"));
  EXPECT_THAT(out, ::testing::HasSubstr("Bad-Name.mutant:5:1: error: this 'from' has no 'to'"));
  EXPECT_THAT(out, ::testing::HasSubstr("error: a mutant opens with a '#' comment"));
}

TEST(MutantFile, RefusesAValueThatIsNotAName) {
  Parsed p;
  parse(p, "odd.mutant", "# Odd.\nstack Reliable-Fifo\nfrom\nx\nto\ny\n");
  EXPECT_FALSE(p.mutant);
  EXPECT_THAT(p.diagnostics.format(),
              ::testing::HasSubstr("odd.mutant:2:7: error: 'Reliable-Fifo' is not a name such as "
                                   "ReliableFifo"));
}

TEST(MutantFile, RefusesChangesThatOverlapOrAreNotInTheSourceOnce) {
  Parsed p;
  parse(p, "overlap.mutant",
        "# Overlaps.\nstack S\nfrom\na\nb\nto\nx\nfrom\nb\nc\nto\ny\nfrom\nq\nto\nfrom\nz\nto\n");
  ASSERT_TRUE(p.mutant) << p.diagnostics.format();
  EXPECT_FALSE(locate_changes(*p.mutant, "a\nb\nc\nz\nz\n", "the source", p.diagnostics));
  const std::string out = p.diagnostics.format();
  EXPECT_THAT(out, ::testing::HasSubstr("overlap.mutant:8:1: error: the text after 'from' "
                                        "overlaps that of the change at line 3"));
  EXPECT_THAT(out, ::testing::HasSubstr("overlap.mutant:13:1: error: the text after 'from' is "
                                        "not in the source"));
  EXPECT_THAT(out, ::testing::HasSubstr("overlap.mutant:16:1: error: the text after 'from' "
                                        "occurs 2 times in the source"));
}

// Any source of distinct lines, any set of disjoint runs of them replaced in any order: the file
// that says so parses, and applying it gives the source with exactly those runs replaced.
RC_GTEST_PROP(MutantFile, ApplyingAMutantMakesExactlyItsChanges, ()) {
  const auto count = *rc::gen::inRange<std::size_t>(1, 40);
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < count; ++i)
    lines.push_back(std::string(*rc::gen::inRange<std::size_t>(0, 6), ' ') + "line" +
                    std::to_string(i) + ";");
  // Disjoint runs [begin, end), each with its replacement.
  struct Run {
    std::size_t begin, end;
    std::vector<std::string> to;
  };
  std::vector<Run> runs;
  for (std::size_t i = 0; i < count;) {
    const auto skip = *rc::gen::inRange<std::size_t>(0, 4);
    const auto length = *rc::gen::inRange<std::size_t>(1, 4);
    if (i + skip + length > count) break;
    runs.push_back({i + skip, i + skip + length,
                    *rc::gen::container<std::vector<std::string>>(
                        rc::gen::element<std::string>("x = 1;", "  y(2);", "\tz;"))});
    i += skip + length;
  }
  RC_PRE(!runs.empty());
  const auto order = *rc::gen::unique<std::vector<std::size_t>>(
      runs.size(), rc::gen::inRange<std::size_t>(0, runs.size()));

  std::string text = "# A mutant made at random.\nstack Random\n";
  for (std::size_t r : order) {
    text += "from\n";
    for (std::size_t i = runs[r].begin; i < runs[r].end; ++i) text += lines[i] + "\n";
    text += "to\n";
    for (const std::string& l : runs[r].to) text += l + "\n";
  }
  std::string source;
  std::string expected;
  for (std::size_t i = 0, r = 0; i < count; ++i) {
    source += lines[i] + "\n";
    if (r < runs.size() && i == runs[r].begin)
      for (const std::string& l : runs[r].to) expected += l + "\n";
    if (r < runs.size() && i >= runs[r].begin && i < runs[r].end) {
      if (i + 1 == runs[r].end) ++r;
      continue;
    }
    expected += lines[i] + "\n";
  }
  Parsed p;
  parse(p, "random.mutant", text);
  RC_ASSERT(p.mutant.has_value());
  RC_ASSERT(p.mutant->changes.size() == runs.size());
  const auto edits = locate_changes(*p.mutant, source, "the source", p.diagnostics);
  RC_ASSERT(edits.has_value());
  RC_ASSERT(apply_edits(source, *edits) == expected);
}

} // namespace
} // namespace lamina::spec
