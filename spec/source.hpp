// Source files and diagnostics that read like a compiler's:
//
//   stacks/rpc.ioa:12:7: error: unknown layer 'Frg'
//     stack Rpc = Top : Frg : Bottom
//                       ^
//   stacks/rpc.ioa:12:7: note: did you mean 'Frag'?
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lamina::spec {

using FileId = std::uint32_t;

struct SourceLoc {
  FileId file = 0;
  std::uint32_t line = 0;   // 1-based; 0: no location
  std::uint32_t column = 0; // 1-based, in bytes
};

// The text of every file read, so that diagnostics can quote it.
class Sources {
public:
  // Adds a file's text; returns its id.
  FileId add(std::string path, std::string text);
  // Reads a file from disk, named `shown` in diagnostics (`path` if empty); false (and a message
  // in `error`) if it cannot be read.
  bool load(const std::string& path, FileId& id, std::string& error, std::string shown = {});
  [[nodiscard]] const std::string& path(FileId f) const { return files_[f].path; }
  [[nodiscard]] std::string_view text(FileId f) const { return files_[f].text; }
  // The text of line `line` (1-based) without its newline; empty if out of range.
  [[nodiscard]] std::string_view line(FileId f, std::uint32_t line) const;

private:
  struct File {
    std::string path;
    std::string text;
    std::vector<std::uint32_t> line_starts;
  };
  std::vector<File> files_;
};

enum class Severity : std::uint8_t { Error, Warning, Note };

struct Diagnostic {
  Severity severity;
  SourceLoc loc;
  std::string message;
};

// Collects diagnostics; prints them in the order reported, each with its source line and a
// caret under the column.
class Diagnostics {
public:
  explicit Diagnostics(const Sources& sources) : sources_(sources) {}
  void error(SourceLoc loc, std::string message);
  void warning(SourceLoc loc, std::string message);
  // A note belongs to the diagnostic just before it.
  void note(SourceLoc loc, std::string message);

  // After this many errors, one note "too many errors, stopping" is added and every later
  // diagnostic is ignored (stopped() says so; a parser or checker may stop early then).
  static constexpr std::size_t max_errors = 50;

  [[nodiscard]] bool has_errors() const { return errors_ > 0; }
  [[nodiscard]] std::size_t error_count() const { return errors_; }
  [[nodiscard]] bool stopped() const { return stopped_; }
  [[nodiscard]] const std::vector<Diagnostic>& all() const { return list_; }
  // All diagnostics, formatted: "path:line:col: error: message\n  source line\n  ^\n".
  [[nodiscard]] std::string format() const;

private:
  const Sources& sources_;
  std::vector<Diagnostic> list_;
  std::size_t errors_ = 0;
  bool stopped_ = false;
};

// Writes `text` to `path` (through a temporary file, renamed into place) unless the file holds
// it already, so that a generated file's time stamp, and the builds that depend on it, move only
// when its content changes. False, with the reason in `error`, if it cannot be written; `wrote`,
// if given, is set when the file was written.
bool write_if_changed(const std::string& path, const std::string& text, std::string& error,
                      bool* wrote = nullptr);

// Writes the index file `path` of generated files (a .cpp that includes the headers written
// beside it) as write_if_changed does, and gives it a new time stamp also when only `siblings`
// changed. The build knows the index file as the generator's output, and may not know the
// headers: without it, a header's change would reach the files that include it only on the
// build after.
bool write_index(const std::string& path, const std::string& text, bool siblings_changed,
                 std::string& error);

// A name in snake_case, as C++ identifiers and files of a layer are spelled: LamportClock ->
// lamport_clock. An acronym stays one word: UDPBottom -> udp_bottom.
std::string snake_case(std::string_view name);

// A layer is two files: its spec and, beside it with the same stem, its C++ class lamina::<Name>
// (components/lamport_clock.ioa declares LamportClock; components/lamport_clock.hpp defines it).
// The header of the layer declared in `spec_path`.
std::string layer_header(std::string_view spec_path);
// `path` as an #include names it: relative to the first of `roots` that holds it, else absolute.
std::string include_name(const std::string& path, const std::vector<std::string>& roots);

} // namespace lamina::spec
