#include "tools/lock_diagram.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <set>
#include <tuple>

namespace lamina::tools {
namespace {

double ms(Time t) { return std::chrono::duration<double, std::milli>(t).count(); }

std::string token_text(const lock::Token& t) { return fmt::format("({},{})", t.stamp, t.node); }

} // namespace

LockDiagram::LockDiagram(lock::LockGroup& group, const std::string& file, const std::string& stack)
    : group_(group), stack_(file, stack) {
  const auto layers = parse_stack_string(stack_.decl().stack_string);
  if (layers.size() > 1) layer_ = layers[1].name;
  group_.net().on_packet([this](const SimNet::PacketRecord& p) {
    if (p.fate != SimNet::Fate::Delivered) return;
    const auto h = stack_.packets().header_of(p.bytes, layer_);
    if (!h) return;             // an ack of a layer below
    const auto& f = h->items(); // kind, stamp (, ref)
    arrows_.push_back({p.from, p.to, p.sent, p.time, static_cast<std::uint64_t>(f[0].as_int()),
                       static_cast<std::uint64_t>(f[1].as_int()),
                       f.size() > 2 ? static_cast<std::uint64_t>(f[2].as_int()) : 0});
  });
}

void LockDiagram::granted(const lock::Entry& e) {
  std::string queue;
  for (const lock::Token& t : group_.queue(e.node))
    queue += (queue.empty() ? "" : " ") + token_text(t);
  notes_.push_back({e.node, ms(e.granted), "queue " + queue});
}

viz::Diagram LockDiagram::diagram(const lock::Run& run, std::string title) const {
  viz::Diagram d;
  d.title = std::move(title);
  for (PeerId n = 0; n < run.nodes; ++n) d.processes.push_back(fmt::format("node {}", n));
  const bool lamport = layer_ == "LamportMutex";
  // A message retransmitted below the lock layer arrives once more: drawn once, as it first
  // arrived (the lock layer takes it once).
  std::set<std::tuple<PeerId, PeerId, std::uint64_t, std::uint64_t, std::uint64_t>> drawn;
  for (const Arrow& a : arrows_) {
    if (!drawn.insert({a.from, a.to, a.kind, a.stamp, a.ref}).second) continue;
    const char* kind = a.kind == 0   ? "req"
                       : a.kind == 2 ? "rel"
                       : a.kind == 5 ? "try"
                       : a.kind == 6 ? "taken"
                       : lamport     ? "ack"
                                     : "reply";
    d.messages.push_back(
        {a.from, ms(a.sent), a.to, ms(a.received), fmt::format("{} {}", kind, a.stamp), false});
  }
  for (const lock::Entry& e : run.entries) {
    d.events.push_back({e.node, ms(e.asked), e.tried ? "try" : "ask"});
    if (e.status == lock::Status::taken) d.events.push_back({e.node, ms(e.granted), "taken"});
    if (e.status == lock::Status::granted)
      d.intervals.push_back({e.node, ms(e.granted),
                             ms(e.released == Time::max() ? run.end : e.released),
                             token_text(e.token)});
  }
  d.notes = notes_;
  return d;
}

} // namespace lamina::tools
