// Instructions per unit of work, counted by callgrind, for the benchmarks' tables (`lamina
// bench`, `lamina ants bench`): a command that does n units of work (this program again, in a
// hidden mode) is run under callgrind for few units and for many; the difference in
// instructions divided by the difference in units, so that start-up and warm-up cancel out.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lamina::tools {

class InstructionCounter {
public:
  InstructionCounter(std::uint64_t few, std::uint64_t many);

  // The command line (argv, found on the PATH) that does `units` units of work and exits 0.
  using Command = std::function<std::vector<std::string>(std::uint64_t units)>;

  // Fills `figure` with the instructions per unit of `command`, or returns why not.
  std::optional<std::string> count(const Command& command, std::optional<std::uint64_t>& figure);

  // This program's own path, to run it again under callgrind.
  static std::string self();
  // The arguments that run `command_line` under callgrind, its output thrown away.
  static std::vector<std::string> under_callgrind(std::vector<std::string> command_line);

  static constexpr const char* kNoValgrind = "valgrind is not installed (apt-get install valgrind)";
  // Why no instructions can be counted at all, if so.
  [[nodiscard]] const std::optional<std::string>& unavailable() const { return unavailable_; }
  [[nodiscard]] std::uint64_t few() const { return few_; }
  [[nodiscard]] std::uint64_t many() const { return many_; }

private:
  std::uint64_t few_, many_;
  std::optional<std::string> unavailable_;
};

} // namespace lamina::tools
