#include "runtime/workload.hpp"

#include <cstring>
#include <fmt/format.h>
#include <optional>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace lamina {
namespace {

struct Tag {
  std::uint32_t sender;
  std::uint32_t length;
  std::uint64_t index;
};
static_assert(sizeof(Tag) == kTagBytes);

std::byte filler(const Tag& t, std::size_t i) {
  return static_cast<std::byte>(std::uint64_t{t.sender} * 131 + t.index * 7 + i);
}

Msg make_payload(const Tag& t) {
  Msg m = Msg::with_size(t.length);
  std::byte* bytes = m.writable_data();
  std::memcpy(bytes, &t, sizeof t);
  for (std::size_t i = sizeof t; i < t.length; ++i) bytes[i] = filler(t, i);
  return m;
}

bool payload_intact(const Msg& m, PeerId from, Tag& t) {
  if (m.size() < sizeof t) return false;
  std::memcpy(&t, m.data(), sizeof t);
  if (t.sender != from || t.length != m.size()) return false;
  for (std::size_t i = sizeof t; i < t.length; ++i)
    if (m.data()[i] != filler(t, i)) return false;
  return true;
}

// What one receiver expects from one sender, and what it has had.
struct Channel {
  std::unordered_map<std::uint64_t, std::size_t> position; // message number -> place in send order
  std::size_t sent = 0;
  std::optional<std::size_t> last; // place of the latest delivery
  std::unordered_set<std::uint64_t> seen;
};

} // namespace

std::string WorkloadReport::summary() const {
  return fmt::format(
      "messages: {} sent, {} delivered in order, {} missing, {} duplicated, {} out of order, "
      "{} corrupt\nnetwork:  {}\nquiet at {:.3f} s of virtual time{}",
      sent, delivered, missing, duplicated, out_of_order, corrupt, net.summary(),
      std::chrono::duration<double>(finished).count(), idle ? "" : " (limit reached: NOT quiet)");
}

WorkloadReport run_workload(const Workload& w, const std::vector<Endpoint*>& stacks) {
  if (stacks.size() != w.nodes || w.nodes < 2)
    throw std::invalid_argument("run_workload: need one stack per node and at least two nodes");
  if (w.max_size < kTagBytes)
    throw std::invalid_argument(
        fmt::format("run_workload: max_size must be at least {}", kTagBytes));

  SimNet net(w.seed, w.nodes, w.link);
  std::vector<Channel> channels(static_cast<std::size_t>(w.nodes) * w.nodes); // [from * n + to]
  auto channel = [&](PeerId from, PeerId to) -> Channel& { return channels[from * w.nodes + to]; };
  WorkloadReport report;

  net.on_deliver([&](PeerId node, Event& ev) {
    Tag t{};
    if (ev.peer >= w.nodes || !payload_intact(ev.msg, ev.peer, t)) {
      ++report.corrupt;
      return;
    }
    Channel& c = channel(ev.peer, node);
    const auto place = c.position.find(t.index);
    if (place == c.position.end()) {
      ++report.corrupt; // intact, but never sent to this node
    } else if (!c.seen.insert(t.index).second) {
      ++report.duplicated;
    } else if (c.last && place->second < *c.last) {
      ++report.out_of_order;
    } else {
      ++report.delivered;
      c.last = place->second;
    }
  });
  for (PeerId i = 0; i < w.nodes; ++i) net.attach(i, *stacks[i]);

  // Decide every send up front, from a generator of the workload's own, so that the plan
  // does not depend on what the network draws.
  std::mt19937_64 plan(w.seed ^ 0x9E3779B97F4A7C15ull);
  auto below = [&](std::uint64_t n) { return n == 0 ? 0 : plan() % n; };
  const auto gap_range = static_cast<std::uint64_t>(2 * w.spacing.count() + 1);
  for (PeerId from = 0; from < w.nodes; ++from) {
    Time at{};
    for (std::uint64_t index = 0; index < w.messages_per_node; ++index) {
      at += Duration(below(gap_range));
      const bool cast = static_cast<double>(plan() >> 11) * 0x1.0p-53 < w.cast_share;
      PeerId to = static_cast<PeerId>(below(w.nodes - 1));
      if (to >= from) ++to;
      const Tag tag{from, static_cast<std::uint32_t>(kTagBytes + below(w.max_size - kTagBytes + 1)),
                    index};
      for (PeerId r = 0; r < w.nodes; ++r) {
        if (r == from || (!cast && r != to)) continue;
        Channel& c = channel(from, r);
        c.position.emplace(index, c.sent++);
        ++report.sent;
      }
      net.at(at, [&net, from, to = cast ? kAllPeers : to, tag] {
        net.send(from, to, make_payload(tag));
      });
    }
  }

  report.idle = net.run_until_idle(Time(w.limit));
  report.finished = net.now();
  report.net = net.counters();
  std::uint64_t seen = 0;
  for (const Channel& c : channels) seen += c.seen.size();
  report.missing = report.sent - std::min(report.sent, seen);
  return report;
}

} // namespace lamina
