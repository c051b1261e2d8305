#include "services/ants/network.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <fmt/format.h>
#include <sstream>
#include <stdexcept>

namespace lamina::ants {

Topology Topology::tree(std::uint32_t nodes, std::uint32_t fanout,
                        const std::vector<PeerId>& passive) {
  Topology t;
  t.nodes = nodes;
  t.active.assign(nodes, true);
  for (PeerId n = 1; n < nodes; ++n) t.links.emplace_back((n - 1) / fanout, n);
  for (const PeerId p : passive)
    if (p < nodes) t.active[p] = false;
  return t;
}

namespace {

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

} // namespace

Topology Topology::parse(std::string_view text, std::string_view where) {
  Topology t;
  bool sized = false;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    line = line.substr(0, std::min(line.find('#'), line.size()));
    const std::vector<std::string_view> w = words(line);
    if (w.empty()) continue;
    const auto fail = [&](const std::string& what) {
      throw std::invalid_argument(fmt::format("{}:{}: {}", where, number, what));
    };
    const auto node = [&](std::string_view s) {
      PeerId v = 0;
      const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc{} || p != s.data() + s.size())
        fail(fmt::format("'{}' is not a node number", s));
      if (sized && v >= t.nodes)
        fail(fmt::format("node {} does not exist: there are {} nodes", v, t.nodes));
      return v;
    };
    if (w[0] == "nodes") {
      if (sized) fail("'nodes' given twice");
      if (w.size() != 2) fail("'nodes' takes one number");
      const PeerId n = node(w[1]);
      if (n == 0 || n > 4096) fail(fmt::format("{} nodes: a network has 1 to 4096", n));
      t.nodes = n;
      t.active.assign(n, true);
      sized = true;
    } else if (!sized) {
      fail(fmt::format("'{}' before 'nodes N'", w[0]));
    } else if (w[0] == "link") {
      if (w.size() != 3) fail("'link' takes two nodes");
      const PeerId a = node(w[1]);
      const PeerId b = node(w[2]);
      if (a == b) fail(fmt::format("a link from node {} to itself", a));
      t.links.emplace_back(a, b);
    } else if (w[0] == "passive") {
      if (w.size() < 2) fail("'passive' takes one node or more");
      for (std::size_t i = 1; i < w.size(); ++i) t.active[node(w[i])] = false;
    } else {
      fail(fmt::format("unknown statement '{}': expected nodes, link or passive", w[0]));
    }
  }
  if (!sized) throw std::invalid_argument(fmt::format("{}: no 'nodes N' line", where));
  return t;
}

std::string Topology::to_text() const {
  std::string out = fmt::format("nodes {}\n", nodes);
  for (const auto& [a, b] : links) out += fmt::format("link {} {}\n", a, b);
  std::string passive;
  for (PeerId n = 0; n < nodes; ++n)
    if (!active[n]) passive += fmt::format(" {}", n);
  if (!passive.empty()) out += "passive" + passive + "\n";
  return out;
}

std::vector<std::vector<PeerId>> Topology::neighbours() const {
  std::vector<std::vector<PeerId>> adj(nodes);
  for (const auto& [a, b] : links) {
    adj[a].push_back(b);
    adj[b].push_back(a);
  }
  for (auto& v : adj) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
  return adj;
}

std::vector<std::vector<PeerId>> Topology::next_hops() const {
  const auto adj = neighbours();
  std::vector<std::vector<PeerId>> hops(nodes, std::vector<PeerId>(nodes));
  // A breadth-first search from each destination gives every node its distance to it; the
  // next hop is the lowest-numbered neighbour one step closer.
  for (PeerId to = 0; to < nodes; ++to) {
    std::vector<std::uint32_t> dist(nodes, UINT32_MAX);
    std::deque<PeerId> queue{to};
    dist[to] = 0;
    while (!queue.empty()) {
      const PeerId n = queue.front();
      queue.pop_front();
      for (const PeerId m : adj[n])
        if (dist[m] == UINT32_MAX) {
          dist[m] = dist[n] + 1;
          queue.push_back(m);
        }
    }
    for (PeerId from = 0; from < nodes; ++from) {
      hops[from][to] = from;
      if (from == to || dist[from] == UINT32_MAX) continue;
      for (const PeerId m : adj[from])
        if (dist[m] + 1 == dist[from]) {
          hops[from][to] = m;
          break;
        }
    }
  }
  return hops;
}

Program Program::of(std::string name, std::string code) {
  Program p{std::move(name), std::move(code), {}};
  p.type = sha256(std::as_bytes(std::span(p.code)));
  return p;
}

Msg make_capsule(const Sha256& type, PeerId src, PeerId dst, std::uint8_t ttl,
                 std::string_view header, std::string_view payload) {
  Msg m = Msg::copy_of(std::as_bytes(std::span(header)));
  m.append(std::as_bytes(std::span(payload)));
  CapsuleHeader h{};
  h.version = CapsuleHeader::kVersion;
  h.kind = CapsuleHeader::Kind::capsule;
  h.ttl = ttl;
  h.app_len = static_cast<std::uint16_t>(header.size());
  h.type = type;
  h.src = h.prev = src;
  h.dst = dst;
  m.push(h);
  return m;
}

struct AntsNet::Node {
  std::unique_ptr<ActiveStack> active;
  std::unique_ptr<PassiveStack> passive;
  std::unique_ptr<Sandbox> sandbox;
  std::unique_ptr<LuaRunner> runner;
  Endpoint& endpoint() {
    return active ? static_cast<Endpoint&>(*active) : static_cast<Endpoint&>(*passive);
  }
  AntsRoute& route() { return active ? active->get<AntsRoute>() : passive->get<AntsRoute>(); }
};

AntsNet::AntsNet(Topology topology, std::uint64_t seed, LinkConfig link, Limits limits)
    : topology_(std::move(topology)), net_(seed, topology_.nodes, link) {
  const auto hops = topology_.next_hops();
  for (PeerId n = 0; n < topology_.nodes; ++n) {
    auto node = std::make_unique<Node>();
    if (topology_.active[n]) {
      node->active = std::make_unique<ActiveStack>();
      node->sandbox = std::make_unique<Sandbox>(limits);
      AntsRoute& r = node->active->get<AntsRoute>();
      node->runner = std::make_unique<LuaRunner>(
          *node->sandbox,
          LuaRunner::NodeInfo{[&r](PeerId to) { return r.next_hop(to); },
                              [this, n] { return static_cast<std::uint32_t>(net_.queued(n)); }});
      node->active->get<AntsExec>().runner = Oracle<CapsuleRunner>(node->runner.get());
    } else {
      node->passive = std::make_unique<PassiveStack>();
      node->passive->get<AntsRoute>().active = false;
    }
    AntsRoute& r = node->route();
    for (PeerId to = 0; to < topology_.nodes; ++to)
      if (to != n) r.set_route(to, hops[n][to]);
    nodes_.push_back(std::move(node));
  }
  for (PeerId n = 0; n < topology_.nodes; ++n) net_.attach(n, nodes_[n]->endpoint());
  net_.on_deliver([this](PeerId n, Event& ev) {
    if (auto d = delivery_of(n, net_.now(), ev)) deliveries_.push_back(std::move(*d));
  });
  net_.on_packet([this](const SimNet::PacketRecord& r) {
    // Each packet once, when its fate is decided; all but these were put on the link.
    if (r.fate == SimNet::Fate::BadDestination) return;
    ++link_packets_[{r.from, r.to}];
    // Bottom's marker, then the capsule header: its kind is byte 1.
    if (r.bytes.size() > 2) {
      const auto kind = static_cast<std::uint8_t>(r.bytes[2]);
      if (kind < kinds_.size()) ++kinds_[kind];
    }
    if (observer_) observer_(r);
  });
}

AntsNet::~AntsNet() = default;

void AntsNet::install(PeerId node, const Program& program) {
  if (!topology_.active.at(node))
    throw std::invalid_argument(fmt::format("node {} is passive", node));
  net_.send(node, node, make_install(program, node));
}

std::optional<Delivery> delivery_of(PeerId node, Time at, const Event& ev) {
  CapsuleHeader h{};
  if (!ev.msg.peek(h)) return std::nullopt;
  const auto rest = ev.msg.bytes().subspan(sizeof(CapsuleHeader));
  const auto app = rest.first(std::min<std::size_t>(h.app_len, rest.size()));
  const auto body = rest.subspan(app.size());
  return Delivery{node,
                  at,
                  h.src,
                  ev.peer,
                  std::string(reinterpret_cast<const char*>(app.data()), app.size()),
                  std::string(reinterpret_cast<const char*>(body.data()), body.size())};
}

Msg make_install(const Program& program, PeerId node) {
  Msg m = Msg::copy_of(std::as_bytes(std::span(program.code)));
  CapsuleHeader h{};
  h.version = CapsuleHeader::kVersion;
  h.kind = CapsuleHeader::Kind::installed;
  h.type = program.type;
  h.src = h.dst = h.prev = node;
  h.total = static_cast<std::uint32_t>(program.code.size());
  m.push(h);
  return m;
}

void AntsNet::send(PeerId node, const Program& program, PeerId dst, std::string_view header,
                   std::string_view payload, std::uint8_t ttl) {
  net_.send(node, dst, make_capsule(program.type, node, dst, ttl, header, payload));
}

void AntsNet::send_at(Time at, PeerId node, const Program& program, PeerId dst, std::string header,
                      std::string payload, std::uint8_t ttl) {
  net_.at(at, [this, node, &program, dst, header = std::move(header), payload = std::move(payload),
               ttl] { send(node, program, dst, header, payload, ttl); });
}

void AntsNet::inject(PeerId from, PeerId to, Msg packet) {
  // As Bottom would put it on the wire: its marker first.
  packet.push(Bottom::Header{Bottom::Format::layered});
  nodes_.at(to)->endpoint().receive(from, std::move(packet));
}

std::uint64_t AntsNet::packets() const {
  std::uint64_t total = 0;
  for (const auto& [link, n] : link_packets_) total += n;
  return total;
}

AntsRoute& AntsNet::route(PeerId n) { return nodes_.at(n)->route(); }
AntsCode& AntsNet::code(PeerId n) { return nodes_.at(n)->active->get<AntsCode>(); }
AntsExec& AntsNet::exec(PeerId n) { return nodes_.at(n)->active->get<AntsExec>(); }
Sandbox& AntsNet::sandbox(PeerId n) { return *nodes_.at(n)->sandbox; }

} // namespace lamina::ants
