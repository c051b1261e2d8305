#include "tools/ants_command.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <csignal>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "services/ants/network.hpp"
#include "services/ants/udp_node.hpp"
#include "tools/child_process.hpp"
#include "tools/tool.hpp"

namespace lamina::tools {
namespace {

using namespace std::chrono_literals;

double ms(Time t) { return std::chrono::duration<double, std::milli>(t).count(); }

// The active leaves of the tree: the receivers.
std::vector<PeerId> receivers_of(const ants::Topology& t) {
  const auto adj = t.neighbours();
  std::vector<PeerId> out;
  for (PeerId n = 1; n < t.nodes; ++n)
    if (t.active[n] && adj[n].size() == 1) out.push_back(n);
  return out;
}

// Per-link packets of one kind (capsules), counted as the network saw them.
struct LinkCount {
  std::map<std::pair<PeerId, PeerId>, std::uint64_t> capsules; // undirected, lower node first
  std::uint64_t code_packets = 0;
};

void observe(ants::AntsNet& net, LinkCount& count, bool log) {
  net.on_packet([&count, log](const SimNet::PacketRecord& r) {
    if (r.fate == SimNet::Fate::BadDestination || r.bytes.size() < 1 + sizeof(CapsuleHeader))
      return;
    CapsuleHeader h{};
    std::memcpy(&h, r.bytes.data() + 1, sizeof h);
    if (h.kind == CapsuleHeader::Kind::capsule) {
      ++count.capsules[{std::min(r.from, r.to), std::max(r.from, r.to)}];
      return;
    }
    ++count.code_packets;
    if (!log || r.fate != SimNet::Fate::Delivered) return;
    switch (h.kind) {
    case CapsuleHeader::Kind::request:
      fmt::print("  {:>8.3f} ms  {:>2} -> {:<2} asks for code {} (from chunk {})\n", ms(r.time),
                 r.from, r.to, ants::short_hex(h.type), h.chunk);
      break;
    case CapsuleHeader::Kind::chunk:
      fmt::print("  {:>8.3f} ms  {:>2} -> {:<2} chunk {} of code {}: {} of {} bytes\n", ms(r.time),
                 r.from, r.to, h.chunk, ants::short_hex(h.type), r.bytes.size() - 1 - sizeof h,
                 h.total);
      break;
    default:
      fmt::print("  {:>8.3f} ms  {:>2} -> {:<2} does not have code {}\n", ms(r.time), r.from, r.to,
                 ants::short_hex(h.type));
    }
  });
}

int demo(const AntsDemoOptions& o) {
  const ants::Topology topology = ants::Topology::tree(o.nodes, o.fanout, o.passive);
  if (o.source >= o.nodes || !topology.active[o.source])
    throw std::invalid_argument(fmt::format("--source {} is not an active node", o.source));
  const std::vector<PeerId> receivers = receivers_of(topology);
  const ants::Program multicast =
      ants::Program::of("multicast", read_ants_app(o.apps, "multicast"));
  const ants::Program unicast = ants::Program::of("unicast", read_ants_app(o.apps, "unicast"));
  LinkConfig link;
  link.delay =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(o.delay_ms));
  link.loss = o.loss;

  std::string passive;
  for (PeerId n = 0; n < o.nodes; ++n)
    if (!topology.active[n]) passive += fmt::format(" {}", n);
  std::string rcv;
  for (const PeerId r : receivers) rcv += fmt::format(" {}", r);
  fmt::print("ANTS on SimNet: a tree of {} nodes (fan-out {}), passive:{}; links of {} ms, {:.0f}% "
             "lost; seed {}\n",
             o.nodes, o.fanout, passive.empty() ? " none" : passive, o.delay_ms, o.loss * 100,
             o.seed);
  fmt::print("multicast: code {} ({} bytes of Lua); source {}; receivers:{}\n\n",
             ants::short_hex(multicast.type), multicast.code.size(), o.source, rcv);

  // Multicast: the receivers subscribe, then the source sends.
  ants::AntsNet mnet(topology, o.seed, link);
  LinkCount mcount;
  fmt::print("1. Each receiver subscribes; the code goes hop by hop toward the source, loaded on "
             "demand from the previous active node:\n");
  observe(mnet, mcount, true);
  mnet.install(o.source, multicast);
  for (std::size_t i = 0; i < receivers.size(); ++i) {
    mnet.install(receivers[i], multicast);
    mnet.send_at(Time(std::chrono::milliseconds(10 * i)), receivers[i], multicast, o.source,
                 "sdemo", "");
  }
  mnet.net().run_until(Time(1s));
  mcount.capsules.clear();
  const std::uint64_t code_packets = mcount.code_packets;
  fmt::print("\n2. The source sends {} capsules to the group; every active node runs them from its "
             "cache:\n",
             o.messages);
  for (std::uint32_t k = 0; k < o.messages; ++k)
    mnet.send_at(Time(1s + k * 10ms), o.source, multicast, o.source, "ddemo",
                 fmt::format("message {}", k));
  mnet.net().run_until(Time(3s));
  std::map<PeerId, std::uint32_t> got;
  for (const ants::Delivery& d : mnet.deliveries())
    if (d.header == "ddemo") ++got[d.node];
  bool all = true;
  std::string line;
  for (const PeerId r : receivers) {
    line += fmt::format(" {}:{}", r, got[r]);
    all = all && got[r] == o.messages;
  }
  fmt::print("  delivered (receiver:count):{}{}\n", line,
             all ? "" : "  — NOT all delivered (loss with no retransmission: ANTS is datagrams)");
  fmt::print("  code packets after the subscriptions: {} (the code was cached)\n",
             mcount.code_packets - code_packets);

  // Unicast, for comparison: the source sends each receiver its own copy.
  ants::AntsNet unet(topology, o.seed, link);
  LinkCount ucount;
  observe(unet, ucount, false);
  unet.install(o.source, unicast);
  for (std::uint32_t k = 0; k < o.messages; ++k)
    for (const PeerId r : receivers)
      unet.send_at(Time(k * 10ms), o.source, unicast, r, "udemo", fmt::format("message {}", k));
  unet.net().run_until(Time(3s));
  ucount.capsules.clear();
  unet.clear_deliveries();
  // Counted again, now that every node has the code: the capsules alone.
  for (std::uint32_t k = 0; k < o.messages; ++k)
    for (const PeerId r : receivers)
      unet.send_at(Time(3s + k * 10ms), o.source, unicast, r, "udemo",
                   fmt::format("message {}", k));
  unet.net().run_until(Time(6s));

  fmt::print("\n3. Capsules on each link for the {} messages: multicast against one unicast per "
             "receiver\n",
             o.messages);
  fmt::print("  {:<8} {:>9} {:>8}\n", "link", "multicast", "unicast");
  std::uint64_t mt = 0;
  std::uint64_t ut = 0;
  for (const auto& [a, b] : topology.links) {
    const auto key = std::make_pair(std::min(a, b), std::max(a, b));
    const std::uint64_t m = mcount.capsules[key];
    const std::uint64_t u = ucount.capsules[key];
    mt += m;
    ut += u;
    fmt::print("  {:>2} - {:<3} {:>9} {:>8}\n", a, b, m, u);
  }
  fmt::print("  {:<8} {:>9} {:>8}   multicast uses {:.2f}x fewer link messages\n", "total", mt, ut,
             mt == 0 ? 0.0 : static_cast<double>(ut) / static_cast<double>(mt));
  fmt::print("  code distribution for the subscriptions: {} packets, once\n", code_packets);
  return all || o.loss > 0 ? 0 : 1;
}

std::atomic<bool> stop_signal{false};
extern "C" void ants_node_stop(int /*signal*/) { stop_signal.store(true); }

std::vector<std::string> split(const std::string& text, char sep, std::size_t parts) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (out.size() + 1 < parts) {
    const std::size_t at = text.find(sep, from);
    if (at == std::string::npos) break;
    out.push_back(text.substr(from, at - from));
    from = at + 1;
  }
  out.push_back(text.substr(from));
  return out;
}

// One node of a topology over UDP: holds the programs given, sends what it is told to, and
// prints every capsule delivered to it, then a result line of its layers' counters.
int node(const AntsNodeOptions& o) {
  std::ifstream in(o.topology);
  if (!in) throw std::runtime_error(fmt::format("cannot read the topology {}", o.topology));
  std::stringstream text;
  text << in.rdbuf();
  const ants::Topology topology = ants::Topology::parse(text.str(), o.topology);
  std::vector<std::string> peers = o.peers;
  if (peers.empty())
    for (PeerId n = 0; n < topology.nodes; ++n)
      peers.push_back(fmt::format("127.0.0.1:{}", o.port_base + n));
  ants::UdpAntsNode node(topology, o.me, peers);
  if (!o.key.empty()) {
    std::array<std::uint8_t, 32> key{};
    if (o.key.size() != 64) throw std::invalid_argument("--key: 64 hexadecimal digits (32 bytes)");
    for (std::size_t i = 0; i < key.size(); ++i)
      key[i] = static_cast<std::uint8_t>(std::stoul(o.key.substr(2 * i, 2), nullptr, 16));
    node.sandbox().set_seal_key(key);
  }
  std::map<std::string, ants::Program> programs;
  for (const std::string& name : o.apps) {
    programs.emplace(name, ants::Program::of(name, read_ants_app(o.folder, name)));
    node.install(programs.at(name));
  }
  struct Send {
    const ants::Program* program;
    PeerId dst;
    std::string header;
    std::string payload;
  };
  std::vector<Send> sends;
  for (const std::string& s : o.sends) {
    const auto f = split(s, ':', 4);
    if (f.size() != 4)
      throw std::invalid_argument(fmt::format("--send {}: expected APP:DST:HEADER:PAYLOAD", s));
    const auto p = programs.find(f[0]);
    if (p == programs.end())
      throw std::invalid_argument(
          fmt::format("--send {}: this node holds no program {} (give it with --app)", s, f[0]));
    sends.push_back({&p->second, static_cast<PeerId>(std::stoul(f[1])), f[2], f[3]});
  }
  fmt::print("node {} ({}) on {}, {} nodes\n", o.me, node.active() ? "active" : "passive",
             peers[o.me], topology.nodes);
  std::uint32_t delivered = 0;
  node.on_deliver([&](const ants::Delivery& d) {
    ++delivered;
    // A payload "sent at N" (a --send whose payload is @time) says when it left, by the steady
    // clock, which the processes of one machine share (UdpNode's clock starts with the node).
    std::string latency;
    std::int64_t sent = 0;
    if (d.payload.starts_with("sent at ") &&
        std::from_chars(d.payload.data() + 8, d.payload.data() + d.payload.size(), sent).ec ==
            std::errc{})
      latency = fmt::format(
          ", {:.1f} us after it was sent",
          static_cast<double>(std::chrono::steady_clock::now().time_since_epoch().count() - sent) /
              1e3);
    fmt::print("delivered: from {} via {}, header '{}', {} bytes of payload{}\n", d.src, d.from,
               d.header, d.payload.size(), latency);
  });
  std::signal(SIGTERM, ants_node_stop);
  std::signal(SIGINT, ants_node_stop);
  const Time start = node.udp().now();
  const Time end =
      start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o.for_s));
  Time next = start + std::chrono::duration_cast<Duration>(
                          std::chrono::duration<double, std::milli>(o.start_ms));
  const Duration interval = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, std::milli>(o.interval_ms));
  std::uint32_t round = 0;
  while (!stop_signal.load() && node.udp().now() < end && (o.expect == 0 || delivered < o.expect)) {
    if (round < o.repeat && !sends.empty() && node.udp().now() >= next) {
      for (const Send& s : sends)
        node.send(*s.program, s.dst, s.header,
                  s.payload == "@time"
                      ? fmt::format("sent at {}",
                                    std::chrono::steady_clock::now().time_since_epoch().count())
                      : s.payload);
      ++round;
      next += interval;
    }
    node.poll(std::chrono::milliseconds(1));
  }
  ResultLine r{{"me", std::to_string(o.me)},
               {"delivered", std::to_string(delivered)},
               {"forwarded", std::to_string(node.route().forwarded)},
               {"dropped_malformed", std::to_string(node.route().dropped_malformed)},
               {"dropped_ttl", std::to_string(node.route().dropped_ttl)}};
  if (node.active()) {
    const AntsCode& c = node.code();
    const AntsExec& x = node.exec();
    r["hits"] = std::to_string(c.hits);
    r["misses"] = std::to_string(c.misses);
    r["loaded"] = std::to_string(c.loaded);
    r["answered"] = std::to_string(c.answered);
    r["dropped_no_code"] = std::to_string(c.dropped_no_code + c.dropped_hold_timeout);
    r["runs"] = std::to_string(x.runs);
    r["failed"] = std::to_string(x.errors + x.timeouts + x.memory_hits);
    r["held"] = std::to_string(x.held_back); // over the type's share of the processor
  }
  print_result(r);
  return o.expect == 0 || delivered >= o.expect ? 0 : 1;
}

} // namespace

CLI::App* add_ants_command(CLI::App& app, AntsOptions& o) {
  auto* ants = app.add_subcommand(
      "ants", "the ANTS active-network node (stacks/ants/ants.ioa): capsules named by the hash of "
              "their Lua code, loaded on demand, run in a sandbox");
  ants->require_subcommand(1);
  auto* demo = ants->add_subcommand(
      "demo", "multicast over a tree of active and passive nodes on a simulated network: the "
              "code loaded hop by hop, then cached; link messages against unicast");
  demo->add_option("--nodes", o.demo.nodes, "nodes of the tree")
      ->check(CLI::Range(2u, 1024u))
      ->capture_default_str();
  demo->add_option("--fanout", o.demo.fanout, "children of each inner node")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  demo->add_option("--passive", o.demo.passive, "passive nodes")
      ->delimiter(',')
      ->capture_default_str();
  demo->add_option("--source", o.demo.source, "the multicast source")->capture_default_str();
  demo->add_option("--messages", o.demo.messages, "data capsules the source sends")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  demo->add_option("--seed", o.demo.seed, "the simulated network's seed")->capture_default_str();
  demo->add_option("--loss", o.demo.loss, "probability that a link loses a packet")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  demo->add_option("--delay-ms", o.demo.delay_ms, "one-way delay of every link")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  demo->add_option("--apps", o.demo.apps, "the folder of the applications' Lua code")
      ->capture_default_str();
  auto* bench = ants->add_subcommand(
      "bench", "what a node costs: capsules/s through one node, passive and active, static, "
               "dynamic and fused; the honest flow under each attack; demand loading's wait");
  bench->add_option("--capsules", o.bench.capsules, "capsules a round, per row")
      ->check(CLI::Range(std::uint64_t{1000}, std::uint64_t{100'000'000}))
      ->capture_default_str();
  bench->add_option("--rounds", o.bench.rounds, "rounds per row; the median is reported")
      ->check(CLI::Range(1u, 100u))
      ->capture_default_str();
  bench->add_option("--apps", o.bench.apps, "the folder of the applications' Lua code")
      ->capture_default_str();
  bench->add_option("--json", o.bench.json, "also write the table to this file");
  bench->add_option("--count-row", o.bench.count_row)->group("");
  bench->add_option("--count-impl", o.bench.count_impl)->group("");
  bench->add_option("--count", o.bench.count)->group("");
  auto* nd = ants->add_subcommand(
      "node", "one node of a topology over UDP: holds programs, sends capsules, prints what is "
              "delivered to it and a result line of its counters (exit 1 if --expect is not met)");
  nd->add_option("--topology", o.node.topology,
                 "the topology file: 'nodes N', 'link A B', "
                 "'passive A B ...' lines")
      ->required()
      ->check(CLI::ExistingFile);
  nd->add_option("--me", o.node.me, "this node's number")->required();
  nd->add_option("--peers", o.node.peers, "every node's host:port, in node order")->delimiter(',');
  nd->add_option("--port-base", o.node.port_base,
                 "without --peers: node i listens on 127.0.0.1 at this port + i")
      ->capture_default_str();
  nd->add_option("--app", o.node.apps, "a program this node holds (stacks/ants/apps/NAME.lua)");
  nd->add_option("--send", o.node.sends,
                 "APP:DST:HEADER:PAYLOAD, a capsule to send; the payload @time is the time it is "
                 "sent, and the node it is delivered to prints how long it took");
  nd->add_option("--repeat", o.node.repeat, "each send this many times")
      ->check(CLI::Range(1u, 10'000'000u))
      ->capture_default_str();
  nd->add_option("--interval-ms", o.node.interval_ms, "between the sends")
      ->check(CLI::Range(0.0, 60'000.0))
      ->capture_default_str();
  nd->add_option("--start-ms", o.node.start_ms, "before the first send")
      ->check(CLI::Range(0.0, 600'000.0))
      ->capture_default_str();
  nd->add_option("--expect", o.node.expect, "end once this many capsules are delivered here")
      ->capture_default_str();
  nd->add_option("--for-s", o.node.for_s, "end after this long at most")
      ->check(CLI::Range(0.001, 86'400.0))
      ->capture_default_str();
  nd->add_option("--key", o.node.key, "the seal key of node.seal and node.open, 64 hex digits");
  nd->add_option("--apps", o.node.folder, "the folder of the applications' Lua code")
      ->capture_default_str();
  return ants;
}

int ants_command(const CLI::App& ants, const AntsOptions& o, std::span<char* const> args) {
  if (ants.got_subcommand("demo")) return demo(o.demo);
  if (ants.got_subcommand("bench")) return ants_bench(o.bench, args);
  if (ants.got_subcommand("node")) return node(o.node);
  return 2;
}

} // namespace lamina::tools
