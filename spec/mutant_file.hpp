// Mutant files: a few text changes to C++ source, made on purpose so that a checker must catch
// them. Two tools read them, in this one format, with this one parser:
// - lamina-mutate (difftest/mutate.cpp): difftest/mutants/*.mutant change a layer's header;
//   their head has `layer <Class>` and `file <path>`.
// - lamina-opt --registry --mutants (optimizer/lamina_opt.cpp): optimizer/mutants/*.mutant change
//   the fused stack that lamina-opt generates; their head has `stack <Name>`.
//
//   # Seqno numbers the first message to each peer 1 instead of 0.
//   layer Seqno
//   file components/seqno.hpp
//   from
//       ev.msg.push(Header{next_out[ev.peer]++});
//   to
//       ev.msg.push(Header{++next_out[ev.peer]});
//
// - The file is <name>.mutant, <name> in a-z, 0-9 and '_' (it names a C++ namespace).
// - The head: '#' comments, the first of which is the description (one sentence: what is wrong
//   with the mutant); one line `<key> <value>` for each key of the tool's format; blank lines.
// - Then one or more changes: a line `from`, the lines to replace, verbatim with their
//   indentation; a line `to`, the lines to put instead (none, to delete them). A block ends at the
//   next line that is `from` or `to` alone, or at the end of the file; blank lines at its end are
//   dropped. Each `from` text must occur exactly once in the source it changes, and the changes
//   of one mutant must not overlap.
//
// Errors are diagnostics at the line of the mutant file (or of the changed source) they are about.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spec/source.hpp"

namespace lamina::spec {

// A key of a format's head.
struct MutantKey {
  std::string_view name;    // "layer"
  std::string_view example; // "Seqno", shown when the key is missing or empty
  bool identifier = false;  // the value is a C++ identifier (else any text, such as a path)
};

// One change: the `from` text (whole lines, each ending in '\n') and its `to`.
struct MutantChange {
  SourceLoc at; // the `from` line
  std::string from;
  std::string to;
};

struct MutantFile {
  FileId file = 0;
  std::string name; // the stem: "seqno_first_is_one"
  std::string description;
  struct Value {
    std::string text;
    SourceLoc at;
  };
  std::map<std::string, Value, std::less<>> head; // every key of the format
  std::vector<MutantChange> changes;

  [[nodiscard]] const Value& operator[](std::string_view key) const {
    return head.find(key)->second;
  }
};

// Reads the mutant file `file` of `sources` (named by its path there), whose head has exactly
// `keys`; nullopt after an error in `diagnostics`.
std::optional<MutantFile> parse_mutant(const Sources& sources, FileId file,
                                       std::span<const MutantKey> keys, Diagnostics& diagnostics);

// A replacement of text[pos, pos + length) by `text`.
struct TextEdit {
  std::size_t pos = 0;
  std::size_t length = 0;
  std::string text;
  const MutantChange* change = nullptr; // the change it makes, if any
};

// The edits that make the changes of `m` in `source`, in the order of `m.changes`. `what` names
// `source` in messages ("components/seqno.hpp", "the fused stack ReliableFifo"). Every `from`
// text must occur in it exactly once, and no two changes may overlap; nullopt after an error at
// the change.
std::optional<std::vector<TextEdit>> locate_changes(const MutantFile& m, std::string_view source,
                                                    std::string_view what,
                                                    Diagnostics& diagnostics);

// `source` with `edits` made; they must not overlap (they may be in any order; an insertion goes
// before a replacement at the same place).
std::string apply_edits(std::string_view source, std::vector<TextEdit> edits);

} // namespace lamina::spec
