// `lamina rpc bench`: the parent runs each row as two child processes on loopback (this program
// again, with --role), a server and a client pinned as the row says, and prints the table, the
// gain of each technique, and the targets; the client measures and prints one result line.
#include "tools/rpc_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <sched.h>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <vector>

#include "runtime/datagram.hpp"
#include "services/rpc/kv.hpp"
#include "services/rpc/udp_member.hpp"
#include "spec/stack_string.hpp"
#include "tools/child_process.hpp"
#include "tools/rpc_bench_caller.hpp"
#include "tools/tool.hpp"

namespace lamina::tools {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Calls made, one at a time, before the figures: the first call to a server learns its
// incarnation, and the buffers' pools fill.
constexpr std::uint64_t kWarmUp = 200;
// Raw UDP resends nothing: a datagram unanswered this long is counted as lost.
constexpr Duration kUdpGiveUp = 200ms;

SocketAddress loopback(std::uint16_t port) {
  return parse_address(fmt::format("127.0.0.1:{}", port));
}

void pin_to(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0)
    throw std::runtime_error(fmt::format("cannot pin to CPU {}", cpu));
}

// ---------------------------------------------------------------------------------------------
// The callers: raw UDP and Lamina (gRPC's is in rpc_bench_grpc.cpp).

// Datagrams that the server sends back as they came; the first 8 bytes number them.
class UdpCaller final : public Caller {
public:
  explicit UdpCaller(const RpcBenchOptions& o)
      : socket_(loopback(o.port), options(o.spin)), server_(loopback(o.peer_port)),
        payload_(std::max<std::size_t>(o.size, 8)) {}

  void start(Done done) override {
    const std::uint64_t seq = next_++;
    std::memcpy(payload_.data(), &seq, sizeof seq);
    socket_.enqueue(server_,
                    Msg::copy_of(payload_)); // sent as the next poll starts, as UdpNode does
    pending_.emplace(seq, std::pair{std::move(done), Clock::now()});
  }

  void poll(Duration wait) override {
    socket_.flush();
    for (const auto& d : socket_.receive(wait)) {
      std::uint64_t seq = 0;
      if (d.bytes.size() < sizeof seq) continue;
      std::memcpy(&seq, d.bytes.data(), sizeof seq);
      const auto it = pending_.find(seq);
      if (it == pending_.end()) continue;
      Done done = std::move(it->second.first);
      pending_.erase(it);
      done(d.bytes.size() == payload_.size());
    }
    const auto old = Clock::now() - kUdpGiveUp;
    while (!pending_.empty() && pending_.begin()->second.second < old) {
      Done done = std::move(pending_.begin()->second.first);
      pending_.erase(pending_.begin());
      done(false);
    }
  }

private:
  static DatagramSocket::Options options(bool spin) {
    DatagramSocket::Options o;
    o.busy_poll = spin;
    return o;
  }
  DatagramSocket socket_;
  SocketAddress server_;
  std::vector<std::byte> payload_;
  std::uint64_t next_ = 0;
  std::map<std::uint64_t, std::pair<Done, Clock::time_point>> pending_;
};

// "lamina:KIND:STACK" -> {KIND, STACK}.
std::pair<std::string, std::string> lamina_transport(const std::string& transport) {
  const auto colon = transport.find(':', 7);
  if (!transport.starts_with("lamina:") || colon == std::string::npos)
    throw std::invalid_argument("unknown transport " + transport);
  return {transport.substr(7, colon - 7), transport.substr(colon + 1)};
}

rpc::UdpMemberOptions member_options(const RpcBenchOptions& o, PeerId me) {
  const auto [kind, stack] = lamina_transport(o.transport);
  rpc::UdpMemberOptions m;
  m.stack_string = stack;
  m.implementation = kind;
  m.me = me;
  const std::uint16_t server = me == 0 ? o.port : o.peer_port;
  const std::uint16_t client = me == 0 ? o.peer_port : o.port;
  m.peers = {fmt::format("127.0.0.1:{}", server), fmt::format("127.0.0.1:{}", client)};
  m.spin = o.spin;
  m.copies = o.copies == "naive" ? rpc::Copies::naive : rpc::Copies::one;
  return m;
}

// rpc::kv::Echo calls from member 1 to member 0.
class LaminaCaller final : public Caller {
public:
  explicit LaminaCaller(const RpcBenchOptions& o)
      : member_(member_options(o, 1)), payload_(o.size, std::byte{'x'}) {}

  void start(Done done) override {
    const std::size_t size = payload_.size();
    member_.node().call<rpc::kv::Echo>(
        0, {payload_}, member_.udp().now() + 1s,
        [done = std::move(done), size](rpc::Result<rpc::kv::Echo::Response> r) {
          done(r.status == rpc::Status::ok && r.value->data.size() == size);
        });
  }
  void poll(Duration wait) override { member_.poll(wait); }

private:
  rpc::UdpMember member_;
  std::vector<std::byte> payload_;
};

// ---------------------------------------------------------------------------------------------
// The children.

int run_server(const RpcBenchOptions& o) {
  auto ready = [] {
    std::fputs("ready\n", stdout);
    std::fflush(stdout);
  };
  if (o.transport == "grpc") {
    grpc_echo_serve(o.port);
    return 0;
  }
  if (o.transport == "udp") {
    DatagramSocket::Options options;
    options.busy_poll = o.spin;
    DatagramSocket socket(loopback(o.port), options);
    ready();
    for (;;) {
      // Echoed from the buffer the kernel wrote it into, as the Lamina server reads a call: no
      // copy on either side of the floor's server.
      const auto got = socket.receive(100ms);
      for (std::size_t i = 0; i < got.size(); ++i) socket.enqueue(*got[i].from, socket.take(i));
      socket.flush();
    }
  }
  rpc::UdpMember member(member_options(o, 0));
  rpc::kv::Store store(member.node());
  ready();
  for (;;) member.poll(100ms);
}

struct Measured {
  std::vector<double> rtts_us; // sorted
  std::uint64_t ok = 0, failed = 0;
  double seconds = 0;
};

// `n` calls, each started when the one before ended (`outstanding` 1), or `outstanding` at
// once, each that ends starting the next; until `deadline`.
Measured measure(Caller& caller, std::uint64_t n, std::uint32_t outstanding,
                 Clock::time_point deadline) {
  Measured m;
  std::uint64_t started = 0, ended = 0;
  const auto t0 = Clock::now();
  std::function<void()> start_one = [&] {
    const auto at = Clock::now();
    ++started;
    caller.start([&, at](bool ok) {
      ++ended;
      ++(ok ? m.ok : m.failed);
      if (outstanding == 1)
        m.rtts_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - at).count());
      if (started < n && Clock::now() < deadline) start_one();
    });
  };
  for (std::uint32_t i = 0; i < outstanding && started < n; ++i) start_one();
  while (ended < started && Clock::now() < deadline) caller.poll(10ms);
  m.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(m.rtts_us.begin(), m.rtts_us.end());
  return m;
}

std::unique_ptr<Caller> make_caller(const RpcBenchOptions& o, bool one_at_a_time) {
  if (o.transport == "udp") return std::make_unique<UdpCaller>(o);
  if (o.transport == "grpc") return grpc_echo_caller(o.peer_port, o.size, one_at_a_time);
  return std::make_unique<LaminaCaller>(o);
}

int run_client(const RpcBenchOptions& o) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(o.limit_s));
  auto caller = make_caller(o, true);
  const Measured warm = measure(*caller, kWarmUp, 1, deadline);
  const Measured one = measure(*caller, o.calls, 1, deadline);
  if (o.transport == "grpc") caller = make_caller(o, false); // the callback API
  const Measured many = measure(*caller, o.calls, o.outstanding, deadline);
  const auto pct = [&](double p) {
    const auto& v = one.rtts_us;
    return v.empty() ? NAN
                     : v[std::min(v.size() - 1,
                                  static_cast<std::size_t>(p * static_cast<double>(v.size())))];
  };
  ResultLine r;
  r["p50_us"] = fmt::format("{:.2f}", pct(0.50));
  r["p99_us"] = fmt::format("{:.2f}", pct(0.99));
  r["rate_1"] = fmt::format("{:.0f}", static_cast<double>(one.ok) / one.seconds);
  r["rate_n"] = fmt::format("{:.0f}", static_cast<double>(many.ok) / many.seconds);
  r["ok"] = std::to_string(warm.ok + one.ok + many.ok);
  r["failed"] = std::to_string(warm.failed + one.failed + many.failed);
  r["timed_out"] = Clock::now() >= deadline ? "1" : "0";
  print_result(r);
  return 0;
}

int run_child(const RpcBenchOptions& o) {
  try {
    pin_to(o.cpu);
    return o.role == "server" ? run_server(o) : run_client(o);
  } catch (const std::exception& e) {
    std::string why = e.what();
    std::replace(why.begin(), why.end(), ' ', '_');
    print_result({{"error", why}});
    return 3;
  }
}

// ---------------------------------------------------------------------------------------------
// The parent.

struct Row {
  std::string name;      // "Lamina RpcLan fused"
  std::string transport; // the children's --transport
  std::string copies = "one";
  bool spin = false;
  std::string pin;
  std::uint32_t size = 0;
  double p50 = NAN, p99 = NAN, rate_1 = NAN, rate_n = NAN; // the medians of the rounds; NaN: none
  std::vector<double> p50s, p99s, rate_1s, rate_ns;        // each round's
  std::string status; // empty until a round failed: what went wrong
  [[nodiscard]] std::string wait() const { return spin ? "spin" : "block"; }
};

// The CPUs of the server and the client under a pinning.
std::pair<int, int> cpus(const std::string& pin) {
  if (pin == "split") return {0, 1};
  if (pin == "same") return {0, 0};
  return {-1, -1};
}

// One round of a row: its figures are added to the row's, or its status says what failed.
void run_row(const RpcBenchOptions& o, Row& row) {
  const int type = row.transport == "grpc" ? SOCK_STREAM : SOCK_DGRAM;
  const std::uint16_t server_port = free_port(type);
  std::uint16_t client_port = free_port(SOCK_DGRAM);
  if (client_port == server_port) client_port = free_port(SOCK_DGRAM);
  const auto [server_cpu, client_cpu] = cpus(row.pin);
  const auto args = [&](const char* role, std::uint16_t port, std::uint16_t peer, int cpu) {
    std::vector<std::string> a{"lamina",
                               "rpc",
                               "bench",
                               "--role",
                               role,
                               "--transport",
                               row.transport,
                               "--copies",
                               row.copies,
                               "--size",
                               std::to_string(row.size),
                               "--port",
                               std::to_string(port),
                               "--peer-port",
                               std::to_string(peer),
                               "--cpu",
                               std::to_string(cpu),
                               "--calls",
                               std::to_string(o.calls),
                               "--outstanding",
                               std::to_string(o.outstanding),
                               "--limit-s",
                               fmt::format("{}", o.limit_s)};
    if (row.spin) a.emplace_back("--spin");
    return a;
  };
  Child server = spawn(args("server", server_port, client_port, server_cpu));
  if (!wait_for_line(server, "ready", Clock::now() + 10s)) {
    kill_child(server);
    const auto r = result_of(server);
    row.status = r.contains("error") ? "error: " + r.at("error") : "the server did not start";
    return;
  }
  Child client = spawn(args("client", client_port, server_port, client_cpu));
  const auto kill_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(o.limit_s + 10));
  while (!client.done && Clock::now() < kill_at) {
    reap(client, false);
    if (!client.done) drain(client);
    std::this_thread::sleep_for(2ms);
  }
  kill_child(client);
  kill_child(server);
  const auto r = result_of(client);
  if (r.contains("error")) {
    std::string why = r.at("error");
    std::replace(why.begin(), why.end(), '_', ' ');
    row.status = "error: " + why;
    return;
  }
  if (r.empty()) {
    row.status = client.killed ? "killed at the time limit" : "the client printed no result";
    return;
  }
  row.p50s.push_back(field(r, "p50_us"));
  row.p99s.push_back(field(r, "p99_us"));
  row.rate_1s.push_back(field(r, "rate_1"));
  row.rate_ns.push_back(field(r, "rate_n"));
  std::vector<std::string> notes;
  if (field(r, "timed_out") == 1) notes.push_back("timed out");
  if (field(r, "failed") > 0)
    notes.push_back(fmt::format("{} of {} calls failed", field(r, "failed"),
                                field(r, "failed") + field(r, "ok")));
  for (const auto& n : notes) row.status += (row.status.empty() ? "" : "; ") + n;
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string cell(double v, const char* spec) {
  return std::isnan(v) ? "-" : fmt::format(fmt::runtime(spec), v);
}

std::string bytes(std::uint32_t size) {
  return size >= 1024 && size % 1024 == 0 ? fmt::format("{} KiB", size / 1024)
                                          : fmt::format("{} B", size);
}

// A comparison the table draws from two of its rows.
struct Ratio {
  std::string what;
  std::string pin;
  std::uint32_t size = 0;
  double value = NAN;
  double target = NAN; // the ratio must be at most this; NaN: no target, a technique's gain
};

} // namespace

CLI::App* add_rpc_bench_command(CLI::App& rpc, RpcBenchOptions& o) {
  auto* cmd = rpc.add_subcommand(
      "bench", "RPC round trips and calls/s: raw UDP, Lamina's RpcLan and RpcWan (layered and "
               "fused, blocking and spinning, one copy and the naive-copy ablation) and gRPC; "
               "two processes on loopback");
  cmd->add_option("file", o.file, "the spec file declaring RpcLan and RpcWan")
      ->capture_default_str();
  cmd->add_option("--rows", o.rows, "of udp, lan, wan, naive, grpc (default: all)")
      ->check(CLI::IsMember({"udp", "lan", "wan", "naive", "grpc"}))
      ->delimiter(',');
  cmd->add_option("--sizes", o.sizes, "argument bytes")
      ->check(CLI::Range(8u, 60'000u))
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--pin", o.pins,
                  "how the two processes are pinned: split (a CPU each), same (both on one), "
                  "none; spinning rows run only split")
      ->check(CLI::IsMember({"split", "same", "none"}))
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--calls", o.calls, "calls per measurement")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}))
      ->capture_default_str();
  cmd->add_option("--outstanding", o.outstanding, "calls outstanding at once for calls/s")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  cmd->add_option("--rounds", o.rounds,
                  "run every row this many times, taking turns, and report the medians")
      ->check(CLI::Range(1u, 101u))
      ->capture_default_str();
  cmd->add_option("--limit-s", o.limit_s, "time a row may take at most")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--json", o.json, "also write the figures to this file");
  // The children's options.
  cmd->add_option("--role", o.role)->group("")->check(CLI::IsMember({"server", "client"}));
  cmd->add_option("--transport", o.transport)->group("");
  cmd->add_option("--copies", o.copies)->group("")->check(CLI::IsMember({"one", "naive"}));
  cmd->add_flag("--spin", o.spin)->group("");
  cmd->add_option("--size", o.size)->group("");
  cmd->add_option("--port", o.port)->group("");
  cmd->add_option("--peer-port", o.peer_port)->group("");
  cmd->add_option("--cpu", o.cpu)->group("");
  return cmd;
}

int rpc_bench_command(const RpcBenchOptions& o, std::span<char* const> args) {
  if (!o.role.empty()) return run_child(o);
  // A file that cannot be written is said before the run, not after it.
  if (!o.json.empty() && !write_file(o.json, "")) return 2;

  const std::string file = spec_path(o.file);
  std::map<std::string, std::string> stacks; // RpcLan, RpcWan -> stack strings
  try {
    for (const char* name : {"RpcLan", "RpcWan"})
      stacks[name] = spec::load_stack_string(file, name);
  } catch (const spec::StackStringError& e) {
    fmt::print(stderr, "lamina: error: {}\n", e.what());
    return 2;
  }
  const bool split_possible = std::thread::hardware_concurrency() >= 2;

  std::string command = "lamina";
  for (const char* a : args) command += fmt::format(" {}", a);
  fmt::print("{}\nmachine: {}\nstacks:  RpcLan = {}\n         RpcWan = {}\n", command, machine(),
             stacks["RpcLan"], stacks["RpcWan"]);
  fmt::print("each row: a server and a client process on 127.0.0.1; an echo of the argument; "
             "{} warm-up calls, then {} calls one at a time (p50, p99, calls/s 1) and {} with "
             "{} outstanding (calls/s {}); pinning: split = server CPU 0, client CPU 1; same = "
             "both on CPU 0; each figure the median of {} rounds, the rows taking turns\n\n",
             kWarmUp, number(o.calls), number(o.calls), o.outstanding, o.outstanding, o.rounds);
  std::fflush(stdout);

  const auto wanted = [&](const char* r) {
    return o.rows.empty() || std::find(o.rows.begin(), o.rows.end(), r) != o.rows.end();
  };
  std::vector<Row> rows;
  for (const std::uint32_t size : o.sizes) {
    for (const std::string& pin : o.pins) {
      if (pin == "split" && !split_possible) continue;
      for (const bool spin : {false, true}) {
        if (spin && pin != "split") continue; // a spinning process starves one that shares its CPU
        auto add = [&](std::string name, std::string transport, std::string copies = "one") {
          Row r;
          r.name = std::move(name);
          r.transport = std::move(transport);
          r.copies = std::move(copies);
          r.spin = spin;
          r.pin = pin;
          r.size = size;
          rows.push_back(std::move(r));
        };
        if (wanted("udp")) add("raw UDP", "udp");
        for (const char* stack : {"RpcLan", "RpcWan"}) {
          if (!wanted(stack == std::string("RpcLan") ? "lan" : "wan")) continue;
          for (const char* kind : {"static", "fused"})
            add(fmt::format("Lamina {} {}", stack,
                            kind == std::string("static") ? "layered" : kind),
                fmt::format("lamina:{}:{}", kind, stacks[stack]));
        }
        if (wanted("naive"))
          add("Lamina RpcLan fused, naive copies", "lamina:fused:" + stacks["RpcLan"], "naive");
        if (wanted("grpc") && !spin) add("gRPC unary (1.51)", "grpc");
      }
    }
  }
  // Round after round, every row once a round: the machine's drifts fall on every row alike.
  for (std::uint32_t round = 1; round <= o.rounds; ++round) {
    for (Row& row : rows) {
      if (!row.status.empty()) continue; // failed in an earlier round
      run_row(o, row);
      fmt::print(stderr, "rpc bench: round {}: {} {} {} {}: {}\n", round, row.name, row.wait(),
                 row.pin, bytes(row.size), row.status.empty() ? "ok" : row.status);
    }
  }
  for (Row& row : rows) {
    row.p50 = median(row.p50s);
    row.p99 = median(row.p99s);
    row.rate_1 = median(row.rate_1s);
    row.rate_n = median(row.rate_ns);
    if (row.status.empty()) row.status = "ok";
  }

  const char* line = "{:<34} {:<5} {:<5} {:>6} {:>9} {:>9} {:>11} {:>11}  {}\n";
  fmt::print(fmt::runtime(line), "row", "wait", "pin", "arg", "p50 us", "p99 us", "calls/s 1",
             fmt::format("calls/s {}", o.outstanding), "status");
  for (const Row& r : rows) {
    fmt::print(fmt::runtime(line), r.name, r.wait(), r.pin, bytes(r.size), cell(r.p50, "{:.1f}"),
               cell(r.p99, "{:.1f}"), cell(r.rate_1, "{:.0f}"), cell(r.rate_n, "{:.0f}"), r.status);
  }

  // Techniques and targets, from rows of one size and pinning.
  const auto find = [&](const std::string& name, bool spin, const std::string& pin,
                        std::uint32_t size) -> const Row* {
    for (const Row& r : rows)
      if (r.name == name && r.spin == spin && r.pin == pin && r.size == size) return &r;
    return nullptr;
  };
  std::vector<Ratio> ratios;
  const auto ratio = [&](std::string what, const Row* a, const Row* b, double Row::* f,
                         double target = NAN) {
    if (a == nullptr || b == nullptr) return;
    ratios.push_back({std::move(what), a->pin, a->size, a->*f / b->*f, target});
  };
  const std::string lan = "Lamina RpcLan fused";
  for (const std::uint32_t size : o.sizes) {
    for (const std::string& pin : o.pins) {
      const Row* fused_spin = find(lan, true, pin, size);
      const Row* fused_block = find(lan, false, pin, size);
      const Row* grpc = find("gRPC unary (1.51)", false, pin, size);
      ratio("one copy: p50, naive copies / one", find(lan + ", naive copies", true, pin, size),
            fused_spin, &Row::p50);
      ratio("one copy: calls/s 32, one / naive copies", fused_spin,
            find(lan + ", naive copies", true, pin, size), &Row::rate_n);
      ratio("spin: p50, block / spin", fused_block, fused_spin, &Row::p50);
      ratio("LAN profile: p50, WAN / LAN (fused, spin)",
            find("Lamina RpcWan fused", true, pin, size), fused_spin, &Row::p50);
      ratio("LAN profile: calls/s 32, LAN / WAN (fused, spin)", fused_spin,
            find("Lamina RpcWan fused", true, pin, size), &Row::rate_n);
      ratio("fusing: p50, layered / fused (LAN, spin)",
            find("Lamina RpcLan layered", true, pin, size), fused_spin, &Row::p50);
      ratio("target: LAN fused spin p50 / raw UDP spin", fused_spin,
            find("raw UDP", true, pin, size), &Row::p50, 1.15);
      ratio("target: LAN fused block p50 / raw UDP block", fused_block,
            find("raw UDP", false, pin, size), &Row::p50, 1.2);
      ratio("target: LAN fused p50 / gRPC p50", fused_spin != nullptr ? fused_spin : fused_block,
            grpc, &Row::p50, 0.1);
      ratio("target: gRPC calls/s 32 / LAN fused", grpc,
            fused_spin != nullptr ? fused_spin : fused_block, &Row::rate_n, 0.1);
    }
  }
  fmt::print("\n{:<50} {:<5} {:>6} {:>8}  {}\n", "technique or target", "pin", "arg", "ratio", "");
  for (const Ratio& r : ratios) {
    const std::string verdict =
        std::isnan(r.target)
            ? ""
            : (r.value <= r.target ? fmt::format("met (at most {:g})", r.target)
                                   : fmt::format("MISSED (at most {:g})", r.target));
    fmt::print("{:<50} {:<5} {:>6} {:>8}  {}\n", r.what, r.pin, bytes(r.size),
               cell(r.value, "{:.2f}"), verdict);
  }

  if (!o.json.empty()) {
    std::string out = fmt::format("{{\n  \"command\": {},\n  \"machine\": {},\n  \"rows\": [\n",
                                  json_string(command), json_string(machine()));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      out +=
          fmt::format("    {{\"row\": {}, \"wait\": {}, \"pin\": {}, \"argument_bytes\": {}, "
                      "\"p50_us\": {}, \"p99_us\": {}, \"calls_per_s_1\": {}, "
                      "\"calls_per_s_outstanding\": {}, \"status\": {}}}{}\n",
                      json_string(r.name), json_string(r.wait()), json_string(r.pin), r.size,
                      json_number(r.p50), json_number(r.p99), json_number(r.rate_1),
                      json_number(r.rate_n), json_string(r.status), i + 1 < rows.size() ? "," : "");
    }
    out += "  ],\n  \"ratios\": [\n";
    for (std::size_t i = 0; i < ratios.size(); ++i) {
      const Ratio& r = ratios[i];
      out += fmt::format("    {{\"what\": {}, \"pin\": {}, \"argument_bytes\": {}, \"ratio\": {}, "
                         "\"at_most\": {}}}{}\n",
                         json_string(r.what), json_string(r.pin), r.size, json_number(r.value),
                         json_number(r.target), i + 1 < ratios.size() ? "," : "");
    }
    out += "  ]\n}\n";
    if (!write_file(o.json, out)) return 2;
  }
  return 0;
}

} // namespace lamina::tools
