// Conformance of a C++ layer to its spec: both are driven with the same random events, and
// after every step their CCPs, what they emitted (in order, bytes and all) and their state
// (spec variables matched to C++ fields by name) must agree.
//
// Three members of a group each run the C++ layer and its spec side by side. The packets the
// members send down travel to one another through a pool from which the driver picks at
// random — so they arrive late, out of order, twice or never — and now and then arrive
// truncated, with a flipped byte, or as garbage. Applications send and cast messages of
// sizes around the interesting boundaries, and timers fire at random times.
#pragma once

#include <boost/hana/accessors.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <chrono>
#include <deque>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "difftest/application.hpp"
#include "difftest/spec_values.hpp"
#include "runtime/layer.hpp"
#include "spec/sim.hpp"

namespace lamina::test {

using difftest::state_difference;

// ------------------------------------------------------------------------- the driver

struct ConformanceOptions {
  std::uint64_t seed = 1;
  std::size_t steps = 10'000;
  std::uint32_t group = 3;
  std::size_t max_payload = 4000;
  std::vector<std::pair<std::string, spec::Value>> args; // layer parameters, both sides
  // Makes the application for a layer whose header is its interface (Rpc): it shapes what the
  // members send and hears what they deliver. Unset: random bytes.
  std::function<std::unique_ptr<difftest::Application>()> application;
};

// What one member's C++ layer emitted, in the form the simulator reports.
template <class L>
class RecordingPorts {
public:
  RecordingPorts(std::vector<spec::LayerOutput>& out, PeerId me, std::uint32_t group, Time now)
      : out_(out), me_(me), group_(group), now_(now) {}
  void down(Event& ev) { record(spec::Port::Down, ev); }
  void up(Event& ev) { record(spec::Port::Up, ev); }
  [[nodiscard]] Time now() const { return now_; }
  [[nodiscard]] PeerId me() const { return me_; }
  [[nodiscard]] std::uint32_t group_size() const { return group_; }
  void set_timer(Duration d) {
    spec::LayerOutput o;
    o.kind = spec::LayerOutput::Kind::Timer;
    o.delay = d;
    out_.push_back(std::move(o));
  }

private:
  void record(spec::Port port, const Event& ev) {
    spec::LayerOutput o;
    o.port = port;
    o.event = ev.type == EventType::Cast   ? spec::EventKind::Cast
              : ev.type == EventType::Send ? spec::EventKind::Send
                                           : spec::EventKind::Deliver;
    o.peer = ev.type == EventType::Cast ? kAllPeers : ev.peer;
    o.msg.assign(ev.msg.bytes().begin(), ev.msg.bytes().end());
    o.lamport = ev.lamport;
    out_.push_back(std::move(o));
  }
  std::vector<spec::LayerOutput>& out_;
  PeerId me_;
  std::uint32_t group_;
  Time now_;
};

// Runs the C++ layers that `make()` builds and the spec layer `spec_name` of `program` side by
// side; returns a description of the first disagreement (with the steps that led to it), or
// nullopt.
template <class Make, class L = std::invoke_result_t<Make>>
std::optional<std::string> check_conformance(const spec::Program& program,
                                             std::string_view spec_name, Make make,
                                             const ConformanceOptions& o) {
  struct Member {
    L cpp;
    spec::LayerSim spec;
    Time clock{};
  };
  struct Packet {
    PeerId from, to;
    std::vector<std::byte> bytes;
  };
  std::vector<Member> members;
  for (PeerId i = 0; i < o.group; ++i)
    members.push_back({make(), spec::LayerSim(program, spec_name, o.args, i, o.group), {}});

  const std::unique_ptr<difftest::Application> app = o.application ? o.application() : nullptr;
  std::mt19937_64 rng(o.seed);
  auto below = [&](std::uint64_t n) { return n == 0 ? 0 : rng() % n; };
  std::deque<Packet> pool;
  std::deque<std::string> recent; // the last steps, for the report
  const std::size_t mtu_like = 1400;
  const std::size_t sizes[] = {
      0, 1, 15, 16, mtu_like - 1, mtu_like, mtu_like + 1, 2 * mtu_like + 3};

  auto payload = [&]() {
    const std::size_t n = below(3) == 0 ? sizes[below(std::size(sizes))] : below(o.max_payload + 1);
    std::vector<std::byte> b(std::min(n, o.max_payload));
    for (auto& x : b) x = std::byte(rng());
    return b;
  };
  auto report = [&](std::size_t step, const std::string& what) {
    std::string steps;
    for (const auto& s : recent) steps += "  " + s + "\n";
    return fmt::format("seed {}, step {}: {}\nlast steps, oldest first:\n{}", o.seed, step, what,
                       steps);
  };

  for (std::size_t step = 0; step < o.steps; ++step) {
    const PeerId at = static_cast<PeerId>(below(o.group));
    PeerId actor = at; // the member that handles this step's event
    Member& m = members[at];
    std::vector<spec::LayerOutput> cpp_out, spec_out;
    RecordingPorts<L> io(cpp_out, at, o.group, m.clock);
    const std::uint64_t lamport = below(4) == 0 ? rng() % 1000 : 0;
    const std::uint64_t dice = below(100);
    std::string what;
    bool cpp_ccp = false;
    spec::CcpResult spec_ccp;
    // A packet from `from` arrives at member `to`, on both sides.
    auto deliver = [&](PeerId to, PeerId from, const std::vector<std::byte>& bytes) {
      Member& dest = members[to];
      RecordingPorts<L> ports(cpp_out, to, o.group, dest.clock);
      Event ev = Event::deliver(from, Msg::copy_of(bytes));
      ev.time = dest.clock;
      ev.lamport = lamport;
      typename L::Header h{};
      if constexpr (std::is_empty_v<typename L::Header>)
        cpp_ccp = ccp_up_at(dest.cpp, ev, h, ports);
      else
        cpp_ccp = ev.msg.peek(h) && ccp_up_at(dest.cpp, ev, h, ports);
      spec_ccp = dest.spec.ccp(spec::Port::Up, spec::EventKind::Deliver, from, bytes);
      dest.cpp.up(ev, ports);
      spec_out = dest.spec.up_deliver(from, bytes, lamport, dest.clock);
    };

    // With nothing on the way, the application sends or casts: a layer that sends only what
    // the application casts (the lock's) starts there.
    if (dice < 30 || (dice >= 35 && dice < 75 && pool.empty())) { // the application sends
      PeerId to = static_cast<PeerId>(below(o.group - 1));
      if (to >= at) ++to;
      auto bytes = payload();
      if (app) {
        const Msg shaped = app->message(at, to, rng(), Msg::copy_of(bytes));
        bytes.assign(shaped.bytes().begin(), shaped.bytes().end());
      }
      Event ev = Event::send(to, Msg::copy_of(bytes));
      ev.time = m.clock;
      ev.lamport = lamport;
      what = fmt::format("member {}: down.send(to {}, {} bytes)", at, to, bytes.size());
      cpp_ccp = ccp_down_at(m.cpp, ev, io);
      spec_ccp = m.spec.ccp(spec::Port::Down, spec::EventKind::Send, to, bytes);
      m.cpp.down(ev, io);
      spec_out = m.spec.down_send(to, bytes, lamport, m.clock);
    } else if (dice < 35) { // the application casts
      auto bytes = payload();
      if (app) {
        const Msg shaped = app->message(at, kAllPeers, rng(), Msg::copy_of(bytes));
        bytes.assign(shaped.bytes().begin(), shaped.bytes().end());
      }
      Event ev = Event::cast(Msg::copy_of(bytes));
      ev.time = m.clock;
      ev.lamport = lamport;
      what = fmt::format("member {}: down.cast({} bytes)", at, bytes.size());
      cpp_ccp = ccp_down_at(m.cpp, ev, io);
      spec_ccp = m.spec.ccp(spec::Port::Down, spec::EventKind::Cast, 0, bytes);
      m.cpp.down(ev, io);
      spec_out = m.spec.down_cast(bytes, lamport, m.clock);
    } else if (dice < 85) { // a packet arrives, perhaps damaged
      std::vector<std::byte> bytes;
      PeerId from = 0;
      std::string damage;
      if (!pool.empty() && below(20) != 0) {
        const std::size_t i = below(pool.size());
        Packet p = pool[i];
        if (below(8) != 0)
          pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(i)); // else: a duplicate later
        // Deliver to its destination; the member picked above stands aside.
        from = p.from;
        bytes = std::move(p.bytes);
        const std::uint64_t harm = below(40);
        if (harm == 0 && !bytes.empty()) {
          bytes.resize(below(bytes.size()));
          damage = ", truncated";
        } else if (harm == 1 && !bytes.empty()) {
          bytes[below(bytes.size())] ^= std::byte(1 + below(255));
          damage = ", a byte flipped";
        }
        actor = p.to;
        what = fmt::format("member {}: up.deliver(from {}, {} bytes{})", p.to, from, bytes.size(),
                           damage);
        deliver(p.to, from, bytes);
      } else { // garbage from a random member
        from = static_cast<PeerId>(below(o.group));
        bytes.resize(below(40));
        for (auto& x : bytes) x = std::byte(rng());
        what =
            fmt::format("member {}: up.deliver(from {}, {} random bytes)", at, from, bytes.size());
        deliver(at, from, bytes);
      }
    } else { // time passes and a timer fires
      m.clock += Duration(static_cast<Duration::rep>(below(30'000'000)));
      what = fmt::format("member {}: timer at {} ns", at, m.clock.count());
      if constexpr (has_timer<L>) {
        Event ev = Event::timer(m.clock);
        m.cpp.timer(ev, io);
      }
      spec_out = m.spec.timer(m.clock);
      spec_ccp.declared = false;
    }
    recent.push_back(what);
    if (recent.size() > 12) recent.pop_front();

    for (const auto& member : members)
      if (member.spec.failure())
        return report(step, "the spec failed: " + member.spec.failure()->message);
    if (spec_ccp.declared && spec_ccp.holds != cpp_ccp)
      return report(step, fmt::format("CCP: C++ {} but spec {}", cpp_ccp, spec_ccp.holds));
    if (cpp_out != spec_out) {
      std::string lines;
      for (std::size_t i = 0; i < std::max(cpp_out.size(), spec_out.size()); ++i)
        lines += fmt::format("    #{}: C++  {}\n        spec {}\n", i,
                             i < cpp_out.size() ? cpp_out[i].to_string() : "(nothing)",
                             i < spec_out.size() ? spec_out[i].to_string() : "(nothing)");
      return report(step, "outputs differ:\n" + lines);
    }
    // Only the member that handled the event can have changed.
    if (auto d = state_difference(members[actor].cpp, members[actor].spec.state()))
      return report(step, fmt::format("member {}: field '{}': C++ {} but spec {}", actor, d->name,
                                      d->left, d->right));

    // What went up reached the application; what went down is on its way to the other members.
    for (const spec::LayerOutput& out : cpp_out) {
      if (app && out.kind == spec::LayerOutput::Kind::Event && out.port == spec::Port::Up)
        app->delivered(actor, out.peer, Msg::copy_of(out.msg));
      if (out.kind != spec::LayerOutput::Kind::Event || out.port != spec::Port::Down) continue;
      for (PeerId to = 0; to < o.group; ++to)
        if (to != actor && (out.peer == kAllPeers || out.peer == to))
          pool.push_back({actor, to, out.msg});
    }
    if (pool.size() > 200) pool.pop_front();
  }
  return std::nullopt;
}

} // namespace lamina::test
