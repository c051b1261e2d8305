// What the two-process benchmarks (`lamina netbench`, `lamina rpc bench`) share: children that
// are this program again, run with a hidden --role; their one "result" line of key=value pairs;
// free loopback ports; the machine's description; and the table's and JSON's formatting.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace lamina::tools {

using ResultLine = std::map<std::string, std::string>;

// A child process and what it printed on its standard output.
struct Child {
  pid_t pid = -1;
  int out = -1;
  std::string text;
  bool done = false;
  bool killed = false;
  long max_rss_kib = 0;
  int status = 0;
};

// Runs this program (/proc/self/exe) with `args` (args[0] is its name), its standard output
// read through a pipe. Throws std::system_error if it cannot start.
Child spawn(const std::vector<std::string>& args);
// Reads what the child has printed so far.
void drain(Child& c);
// Notes the child's exit, waiting for it if `block`.
void reap(Child& c, bool block);
// Kills the child unless it has exited, and reaps it.
void kill_child(Child& c);
// Waits until the child has printed `line` or exited, or `until`; whether it printed it.
bool wait_for_line(Child& c, const std::string& line, std::chrono::steady_clock::time_point until);
// Reaps both children as they exit, or kills them at `kill_at`.
void wait_for_both(Child& a, Child& b, std::chrono::steady_clock::time_point kill_at);

// A child's side: "result k=v k=v ..." on one line (values without spaces), flushed.
void print_result(const ResultLine& r);
// The pairs of the child's "result" line; empty if it printed none.
ResultLine result_of(const Child& c);
// The number under `k`, or NaN if there is none ("na").
double field(const ResultLine& r, const std::string& k);

// A port on 127.0.0.1 free a moment ago, of socket type `type` (SOCK_DGRAM, SOCK_STREAM).
std::uint16_t free_port(int type);
// "CPU model, N cores; Linux 6.x".
std::string machine();
// 1234567 -> "1,234,567".
std::string number(std::uint64_t v);
std::string json_string(const std::string& s);
// A number, or null for NaN.
std::string json_number(double v);
// Writes `text` to the file `path`; false, after saying so on stderr, if it cannot.
bool write_file(const std::string& path, const std::string& text);

} // namespace lamina::tools
