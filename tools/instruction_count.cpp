#include "tools/instruction_count.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace lamina::tools {
namespace {

// Whether this program was built with AddressSanitizer, whose shadow memory valgrind cannot run.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
constexpr bool sanitized = __has_feature(address_sanitizer);
#else
constexpr bool sanitized = false;
#endif

// A child process, its standard output and error read through a pipe.
struct Child {
  pid_t pid = -1;
  int output = -1;
};

// Starts `argv` (found on the PATH); errno says why not, if it cannot.
std::optional<Child> spawn(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int err = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    errno = err;
    return std::nullopt;
  }
  return Child{pid, fds[0]};
}

// Waits for `child` to end: its exit status (-1 if a signal ended it) and all it wrote.
std::pair<int, std::string> finish(const Child& child) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(child.output, buf, sizeof buf);
    if (n > 0)
      out.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR)
      break;
  }
  close(child.output);
  int status = 0;
  while (waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The line of a failed run's output that says most: the program's first (its error), or
// valgrind's last.
std::string telling_line(const std::string& out) {
  std::string said;
  for (std::size_t start = 0; start < out.size();) {
    const std::size_t end = std::min(out.find('\n', start), out.size());
    std::string line = out.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    if (!line.starts_with("==")) return line;
    said = std::move(line);
  }
  return said.empty() ? "no output" : said;
}

// The instructions of a whole run, from callgrind's "Collected : N"; nothing if the run failed.
std::optional<std::uint64_t> collected(const std::pair<int, std::string>& run) {
  const auto at = run.second.find("Collected : ");
  if (run.first != 0 || at == std::string::npos) return std::nullopt;
  return std::strtoull(run.second.c_str() + at + 12, nullptr, 10);
}

} // namespace

InstructionCounter::InstructionCounter(std::uint64_t few, std::uint64_t many)
    : few_(few), many_(many) {
  if (sanitized)
    unavailable_ = "callgrind cannot run a program built with the sanitizers (cmake --preset "
                   "sanitize)";
}

std::string InstructionCounter::self() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

std::vector<std::string>
InstructionCounter::under_callgrind(std::vector<std::string> command_line) {
  std::vector<std::string> argv{"valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"};
  for (std::string& a : command_line) argv.push_back(std::move(a));
  return argv;
}

std::optional<std::string> InstructionCounter::count(const Command& command,
                                                     std::optional<std::uint64_t>& figure) {
  if (unavailable_) return *unavailable_;
  // Both runs at once: they are deterministic, whatever the load.
  std::optional<Child> few = spawn(command(few_));
  if (!few) {
    if (errno == ENOENT) unavailable_ = kNoValgrind;
    return unavailable_ ? *unavailable_
                        : fmt::format("cannot start valgrind: {}", std::strerror(errno));
  }
  std::optional<Child> many = spawn(command(many_));
  const auto few_out = finish(*few);
  if (!many) return fmt::format("cannot start valgrind: {}", std::strerror(errno));
  const auto many_out = finish(*many);
  const auto a = collected(few_out), b = collected(many_out);
  if (!a || !b) {
    const std::string& out = a ? many_out.second : few_out.second;
    return fmt::format("callgrind run failed: {}", telling_line(out));
  }
  figure = *b > *a ? (*b - *a + (many_ - few_) / 2) / (many_ - few_) : 0;
  return std::nullopt;
}

} // namespace lamina::tools
