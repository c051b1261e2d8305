#include "tools/child_process.hpp"

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>

#include "runtime/datagram.hpp"

namespace lamina::tools {

Child spawn(const std::vector<std::string>& args) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    ::dup2(p[1], STDOUT_FILENO);
    ::execv("/proc/self/exe", argv.data());
    std::_Exit(127);
  }
  ::close(p[1]);
  ::fcntl(p[0], F_SETFL, O_NONBLOCK);
  Child c;
  c.pid = pid;
  c.out = p[0];
  return c;
}

void drain(Child& c) {
  char buffer[4096];
  for (ssize_t n; (n = ::read(c.out, buffer, sizeof buffer)) > 0;)
    c.text.append(buffer, static_cast<std::size_t>(n));
}

void reap(Child& c, bool block) {
  if (c.done) return;
  rusage usage{};
  int status = 0;
  if (::wait4(c.pid, &status, block ? 0 : WNOHANG, &usage) == c.pid) {
    c.done = true;
    c.status = status;
    c.max_rss_kib = usage.ru_maxrss;
    drain(c);
    ::close(c.out);
  }
}

void kill_child(Child& c) {
  if (c.done) return;
  ::kill(c.pid, SIGKILL);
  c.killed = true;
  reap(c, true);
}

bool wait_for_line(Child& c, const std::string& line, std::chrono::steady_clock::time_point until) {
  while (std::chrono::steady_clock::now() < until) {
    drain(c);
    if (c.text.find(line + "\n") != std::string::npos) return true;
    reap(c, false);
    if (c.done) return false;
    pollfd p{c.out, POLLIN, 0};
    ::poll(&p, 1, 10);
  }
  return false;
}

void wait_for_both(Child& a, Child& b, std::chrono::steady_clock::time_point kill_at) {
  while (!(a.done && b.done) && std::chrono::steady_clock::now() < kill_at) {
    for (Child* c : {&a, &b}) {
      reap(*c, false);
      if (!c->done) drain(*c);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill_child(a);
  kill_child(b);
}

void print_result(const ResultLine& r) {
  std::string line = "result";
  for (const auto& [k, v] : r) line += fmt::format(" {}={}", k, v);
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

ResultLine result_of(const Child& c) {
  ResultLine r;
  const auto at = c.text.find("result ");
  if (at == std::string::npos) return r;
  std::string line = c.text.substr(at + 7, c.text.find('\n', at) - at - 7);
  for (std::size_t i = 0; i < line.size();) {
    const auto space = std::min(line.find(' ', i), line.size());
    const auto item = line.substr(i, space - i);
    const auto eq = item.find('=');
    if (eq != std::string::npos) r[item.substr(0, eq)] = item.substr(eq + 1);
    i = space + 1;
  }
  return r;
}

double field(const ResultLine& r, const std::string& k) {
  const auto it = r.find(k);
  if (it == r.end() || it->second == "na") return NAN;
  return std::strtod(it->second.c_str(), nullptr);
}

std::uint16_t free_port(int type) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  SocketAddress a = parse_address("127.0.0.1:0");
  if (fd < 0 || ::bind(fd, a.get(), a.length) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw std::system_error(err, std::generic_category(), "no free port on 127.0.0.1");
  }
  a.length = sizeof a.storage;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length);
  ::close(fd);
  return a.port();
}

std::string machine() {
  std::string model = "unknown CPU";
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("model name")) continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) model = line.substr(line.find_first_not_of(" \t", colon + 1));
    break;
  }
  utsname u{};
  ::uname(&u);
  return fmt::format("{}, {} cores; {} {}", model, std::thread::hardware_concurrency(), u.sysname,
                     u.release);
}

std::string number(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string json_number(double v) { return std::isnan(v) ? "null" : fmt::format("{:.6g}", v); }

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  if (file) return true;
  fmt::print(stderr, "lamina: error: cannot write {}\n", path);
  return false;
}

} // namespace lamina::tools
