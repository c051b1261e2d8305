// Source files and diagnostics (spec/source.hpp).
#include "spec/source.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iterator>

namespace lamina::spec {

namespace fs = std::filesystem;

FileId Sources::add(std::string path, std::string text) {
  File file{std::move(path), std::move(text), {0}};
  for (std::size_t i = 0; i < file.text.size(); ++i) {
    if (file.text[i] == '\n') file.line_starts.push_back(static_cast<std::uint32_t>(i + 1));
  }
  files_.push_back(std::move(file));
  return static_cast<FileId>(files_.size() - 1);
}

bool Sources::load(const std::string& path, FileId& id, std::string& error, std::string shown) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    error = fmt::format("cannot read '{}': it is a directory", path);
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = fmt::format("cannot open '{}': {}", path, std::strerror(errno));
    return false;
  }
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    error = fmt::format("cannot read '{}': {}", path, std::strerror(errno));
    return false;
  }
  id = add(shown.empty() ? path : std::move(shown), std::move(text));
  return true;
}

std::string_view Sources::line(FileId f, std::uint32_t line) const {
  if (f >= files_.size()) return {};
  const File& file = files_[f];
  if (line == 0 || line > file.line_starts.size()) return {};
  std::size_t begin = file.line_starts[line - 1];
  std::size_t end = line < file.line_starts.size() ? file.line_starts[line] - 1 : file.text.size();
  std::string_view text(file.text);
  text = text.substr(begin, end - begin);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

void Diagnostics::error(SourceLoc loc, std::string message) {
  if (stopped_) return;
  if (errors_ == max_errors) {
    list_.push_back({Severity::Note, SourceLoc{}, "too many errors, stopping"});
    stopped_ = true;
    return;
  }
  list_.push_back({Severity::Error, loc, std::move(message)});
  ++errors_;
}

void Diagnostics::warning(SourceLoc loc, std::string message) {
  if (stopped_) return;
  list_.push_back({Severity::Warning, loc, std::move(message)});
}

void Diagnostics::note(SourceLoc loc, std::string message) {
  if (stopped_) return;
  list_.push_back({Severity::Note, loc, std::move(message)});
}

namespace {

std::string_view severity_name(Severity s) {
  switch (s) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  }
  return "error";
}

bool same_loc(SourceLoc a, SourceLoc b) {
  return a.file == b.file && a.line == b.line && a.column == b.column;
}

// The line under `text` that puts a caret below byte column `column`: tabs are kept so that
// the caret lines up whatever the tab width, and a UTF-8 character takes one column however
// many bytes it has.
std::string caret_line(std::string_view text, std::uint32_t column) {
  std::size_t before = column > 0 ? column - 1 : 0;
  if (before > text.size()) before = text.size();
  std::string out;
  for (std::size_t i = 0; i < before; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\t') {
      out += '\t';
    } else if ((c & 0xC0) != 0x80) {
      out += ' ';
    }
  }
  out += '^';
  return out;
}

} // namespace

std::string Diagnostics::format() const {
  std::string out;
  const Diagnostic* previous = nullptr;
  for (const Diagnostic& d : list_) {
    if (d.loc.line == 0) {
      out += fmt::format("{}: {}\n", severity_name(d.severity), d.message);
    } else {
      out += fmt::format("{}:{}:{}: {}: {}\n", sources_.path(d.loc.file), d.loc.line, d.loc.column,
                         severity_name(d.severity), d.message);
      // A note at the place of the diagnostic it belongs to does not quote the line again.
      bool quoted =
          d.severity == Severity::Note && previous != nullptr && same_loc(previous->loc, d.loc);
      if (!quoted) {
        std::string_view text = sources_.line(d.loc.file, d.loc.line);
        out += fmt::format("  {}\n  {}\n", text, caret_line(text, d.loc.column));
      }
    }
    previous = &d;
  }
  return out;
}

bool write_if_changed(const std::string& path, const std::string& text, std::string& error,
                      bool* wrote) {
  {
    std::ifstream in(path, std::ios::binary);
    std::string old((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in && old == text) return true;
  }
  if (wrote != nullptr) *wrote = true;
  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string temporary = path + ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    file << text;
    if (!file.flush()) {
      error = fmt::format("cannot write {}", temporary);
      return false;
    }
  }
  fs::rename(temporary, path, ec);
  if (ec) {
    error = fmt::format("cannot write {}: {}", path, ec.message());
    return false;
  }
  return true;
}

bool write_index(const std::string& path, const std::string& text, bool siblings_changed,
                 std::string& error) {
  bool wrote = false;
  if (!write_if_changed(path, text, error, &wrote)) return false;
  if (wrote || !siblings_changed) return true;
  std::error_code ec;
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec);
  if (ec) error = fmt::format("cannot touch {}: {}", path, ec.message());
  return !ec;
}

std::string snake_case(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (std::isupper(c) != 0 && i > 0) {
      const auto before = static_cast<unsigned char>(name[i - 1]);
      const bool after_lower =
          i + 1 < name.size() && std::islower(static_cast<unsigned char>(name[i + 1])) != 0;
      if (std::islower(before) != 0 || std::isdigit(before) != 0 ||
          (std::isupper(before) != 0 && after_lower))
        out += '_';
    }
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

std::string layer_header(std::string_view spec_path) {
  return fs::path(spec_path).replace_extension(".hpp").string();
}

std::string include_name(const std::string& path, const std::vector<std::string>& roots) {
  std::error_code ec;
  const fs::path file = fs::weakly_canonical(path, ec);
  if (ec) return path;
  for (const std::string& root : roots) {
    const fs::path base = fs::weakly_canonical(root, ec);
    if (ec) continue;
    const fs::path relative = file.lexically_relative(base);
    if (!relative.empty() && *relative.begin() != "..") return relative.generic_string();
  }
  return file.generic_string();
}

} // namespace lamina::spec
