// `lamina lock node` and `lamina lock bench`: the ordered lock service over UDP.
//
// node: one member of a group on UDP sockets (services/lock/udp_member.hpp) that acquires the
// lock a number of times and prints each grant's latency and a tally; one process a member.
// bench: groups of such processes on loopback (this program again, `lock node` children),
// Lamport's algorithm and Ricart and Agrawala's, layered and fused, with one member contending
// and with all; a raw UDP ping-pong as the floor (the children of `lamina rpc bench`); and a
// three-member etcd cluster's lock API as what a user would pick instead.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lamina::tools {

struct LockNodeOptions {
  std::string file = "stacks/lock/lock.ioa"; // where LamportLock and RicartAgrawalaLock are
  std::uint32_t me = 0;
  std::vector<std::string> peers; // every member's host:port, in member order
  std::string algorithm = "lamport";
  std::string impl = "static";
  std::string wait = "block";
  std::uint32_t entries = 100;
  double hold_us = 0;
  double patience_ms = 1000;
  double linger_s = 2;
  double limit_s = 60;   // for the entries, and again for the lingering at most
  bool quiet = false;    // no line per grant
  bool try_only = false; // try_acquire, not acquire: a try that finds the lock taken is refused
  int cpu = -1;          // pin to this CPU; -1: do not
  // Hidden, for the bench: print "ready" once bound, and start on SIGUSR1.
  bool wait_go = false;
};

struct LockBenchOptions {
  std::string file = "stacks/lock/lock.ioa";
  std::vector<std::string> rows; // of udp, uncontended, contended, etcd; empty: all
  std::vector<std::uint32_t> nodes{3, 5};
  std::vector<std::string> impls{"static", "fused"};
  std::vector<std::string> waits{"spin", "block"};
  std::uint32_t entries = 2000;     // per contending member
  std::uint32_t etcd_entries = 500; // per etcd client
  std::uint32_t rounds = 3;
  double limit_s = 30; // per row
  std::string json;
  std::string etcd = "etcd"; // the etcd server program
  // Hidden: an etcd client child.
  std::string role;
  std::string endpoint; // host:port of an etcd member's client URL
  std::string lock_name = "lamina-bench";
  int cpu = -1;
};

struct LockUdpOptions {
  LockNodeOptions node;
  LockBenchOptions bench;
};

// Declares `node` and `bench` under `lock`.
void add_lock_udp_commands(CLI::App& lock, LockUdpOptions& o);
// Runs the subcommand of `lock` given, if it is one of those; -1 if it is not.
int lock_udp_command(const CLI::App& lock, const LockUdpOptions& o, std::span<char* const> args);

} // namespace lamina::tools
