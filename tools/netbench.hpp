// `lamina netbench`: Lamina on a real wire, against the transports it would replace. Two
// processes on loopback (this program started again with a hidden --role) run, row after
// row, raw UDP (DatagramSocket, the ceiling), TCP, ENet's reliable channel, ZeroMQ PAIR and a
// Lamina stack over UdpNode: a one-way stream of messages of each size and a 64-byte
// ping-pong, blocking and busy-polling; one table, optionally JSON.
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lamina::tools {

struct NetbenchOptions {
  std::string stack; // the Lamina rows' stack string (lamina fills in FlowFifo)
  std::vector<std::string> impls{"dynamic"}; // Lamina implementations (make_implementation)
  std::vector<std::string> rows;             // empty: udp, tcp, enet, zmq, lamina
  std::uint64_t messages = 1'000'000;
  std::vector<std::uint32_t> sizes{64, 1024, 16384};
  std::uint64_t pings = 20'000;
  std::vector<double> drops{0};
  double limit_s = 60;      // per row
  std::uint32_t rounds = 1; // runs of each row, the rows taking turns; the median is reported
  bool quick = false;
  std::string json; // where to write the figures, or empty
  // Hidden: one side of one row, in a child process.
  std::string role; // "sender" or "receiver"
  std::string transport;
  std::string workload; // "stream" or "ping"
  bool busy = false;
  std::uint16_t port = 0;
  std::uint16_t peer_port = 0;
};

// Of the figures of a row's rounds (NaN where a round did not run), the index of the median of
// those that ran, the lower middle one for an even count; nullopt when none ran.
inline std::optional<std::size_t> median_index(std::span<const double> figures) {
  std::vector<std::size_t> ran(figures.size());
  std::iota(ran.begin(), ran.end(), std::size_t{0});
  std::erase_if(ran, [&](std::size_t i) { return std::isnan(figures[i]); });
  if (ran.empty()) return std::nullopt;
  std::stable_sort(ran.begin(), ran.end(),
                   [&](std::size_t a, std::size_t b) { return figures[a] < figures[b]; });
  return ran[(ran.size() - 1) / 2];
}

// Declares the subcommand and its options on `app`.
CLI::App* add_netbench_command(CLI::App& app, NetbenchOptions& options);
// Runs the table (or, with a role, one side of one row). 0 when every row ran (timed-out rows
// included: they say so), 2 when the run cannot start. `args` is the command line after the
// program's name, printed above the table.
int netbench_command(const NetbenchOptions& options, std::span<char* const> args);

} // namespace lamina::tools
