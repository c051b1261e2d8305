#include "difftest/runner.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>

#include "runtime/hex.hpp"

namespace lamina::difftest {

// The world of one node of one implementation: the shared clock, and a record of what the
// node does to it.
class Lockstep::Host final : public lamina::Host {
public:
  Host(PeerId me, std::uint32_t group, const Time& clock, Effects& effects,
       const Implementation& impl)
      : me_(me), group_(group), clock_(clock), effects_(effects), impl_(impl) {}

  [[nodiscard]] PeerId me() const override { return me_; }
  [[nodiscard]] std::uint32_t group_size() const override { return group_; }
  [[nodiscard]] Time now() const override { return clock_; }
  void transmit(PeerId to, Msg packet) override {
    std::optional<std::vector<std::byte>> expanded;
    if (impl_.own_wire_format()) expanded = impl_.canonical(packet);
    effects_.transmits.push_back({me_, to, std::move(packet), std::move(expanded)});
  }
  void set_timer(Time at, std::uint32_t timer) override {
    effects_.timers.push_back({me_, timer, at});
    pending.push_back({at, timer});
  }
  void deliver(Event& ev) override {
    effects_.deliveries.push_back({me_, ev.peer, std::move(ev.msg), ev.lamport});
  }

  // Removes the earliest pending timer `timer` due at or before `now`; false if there is none.
  bool take_timer(std::uint32_t timer, Time now) {
    auto best = pending.end();
    for (auto it = pending.begin(); it != pending.end(); ++it)
      if (it->second == timer && it->first <= now &&
          (best == pending.end() || it->first < best->first))
        best = it;
    if (best == pending.end()) return false;
    pending.erase(best);
    return true;
  }

  std::vector<std::pair<Time, std::uint32_t>> pending; // timers asked for and not yet fired

private:
  PeerId me_;
  std::uint32_t group_;
  const Time& clock_;
  Effects& effects_;
  const Implementation& impl_;
};

Lockstep::Lockstep(std::vector<std::unique_ptr<Implementation>> impls, const PacketDecoder* decoder,
                   std::unique_ptr<Application> app)
    : impls_(std::move(impls)), decoder_(decoder), app_(std::move(app)) {
  if (impls_.size() < 2)
    throw std::invalid_argument("difftest compares at least two implementations");
  nodes_ = impls_.front()->nodes();
  if (nodes_ < 2) throw std::invalid_argument("difftest needs a group of at least two nodes");
  for (const auto& impl : impls_)
    if (impl->nodes() != nodes_ || impl->depth() != impls_.front()->depth())
      throw std::invalid_argument(fmt::format(
          "implementation {} has {} nodes of {} layers, {} has {} of {}", impl->name(),
          impl->nodes(), impl->depth(), impls_.front()->name(), nodes_, impls_.front()->depth()));
  effects_.resize(impls_.size());
  hosts_.resize(impls_.size());
  for (std::size_t i = 0; i < impls_.size(); ++i)
    for (PeerId n = 0; n < nodes_; ++n) {
      hosts_[i].push_back(std::make_unique<Host>(n, nodes_, now_, effects_[i], *impls_[i]));
      impls_[i]->endpoint(n).attach(*hosts_[i].back());
    }
  link_count_.assign(std::size_t{nodes_} * nodes_, 0);
  // A layer's type is the same on every node, for as long as the implementation lives.
  ops_.resize(impls_.size());
  for (std::size_t i = 0; i < impls_.size(); ++i)
    for (std::size_t l = 0; l < impls_[i]->depth(); ++l) {
      const LayerView v = impls_[i]->layer(0, l);
      if (*v.type == typeid(SpecState)) {
        ops_[i].push_back(nullptr);
      } else if (const LayerOps* ops = find_layer_ops(*v.type)) {
        ops_[i].push_back(ops);
      } else {
        throw std::invalid_argument(fmt::format(
            "difftest cannot compare layer {} of implementation {}: its type has no registered "
            "operations; lamina_add_layers() registers them for the layers of its specs",
            v.name, impls_[i]->name()));
      }
    }
}

Lockstep::~Lockstep() = default;

const Effects& Lockstep::effects() const { return effects_.front(); }

void Lockstep::expect_arrivals(const PacketId& p, std::uint32_t count) {
  auto it = packets_.find(key(p));
  if (it == packets_.end()) return;
  if (count == 0)
    packets_.erase(it);
  else
    it->second.arrivals_left = count;
}

void Lockstep::expect_arrivals_of(const std::vector<TraceEvent>& events) {
  replaying_ = true;
  for (const TraceEvent& e : events)
    if (e.kind == TraceEvent::Kind::Arrive) ++expected_[key({e.peer, e.node, e.packet})];
}

std::optional<Divergence> Lockstep::step(const TraceEvent& e, std::size_t index) {
  if (e.node >= nodes_ || (e.kind != TraceEvent::Kind::Cast && e.kind != TraceEvent::Kind::Timer &&
                           (e.peer >= nodes_ || e.peer == e.node)))
    throw std::invalid_argument(
        fmt::format("trace event {} names a node outside the group of {}", to_text(e), nodes_));
  now_ = std::max(now_, e.at);
  for (Effects& fx : effects_) fx.clear();
  new_packets_.clear();

  switch (e.kind) {
  case TraceEvent::Kind::Send:
  case TraceEvent::Kind::Cast: {
    const PeerId to = e.kind == TraceEvent::Kind::Cast ? kAllPeers : e.peer;
    Msg message = payload(e.size, e.fill);
    if (app_) message = app_->message(e.node, to, e.fill, std::move(message));
    // The last implementation takes the message itself, the others copies.
    for (std::size_t i = 0; i + 1 < impls_.size(); ++i)
      impls_[i]->endpoint(e.node).send(to, message.clone());
    impls_.back()->endpoint(e.node).send(to, std::move(message));
    break;
  }
  case TraceEvent::Kind::Arrive: {
    auto it = packets_.find(key({e.peer, e.node, e.packet}));
    if (it == packets_.end()) return std::nullopt; // never sent, or its arrivals are over
    Packet& p = it->second;
    const bool last = --p.arrivals_left == 0;
    for (std::size_t i = 0; i < impls_.size(); ++i) {
      Msg m = last ? std::move(p.copies[i]) : p.copies[i].clone();
      // A damaged compressed packet has no layered counterpart to compare with: an
      // implementation with a wire format of its own gets the layered packet, damaged alike,
      // and its layered path must treat it as the layered stacks do.
      if (e.damage.kind != Damage::Kind::None && impls_[i]->own_wire_format())
        m = Msg::copy_of(impls_[i]->canonical(m));
      if (e.damage.kind == Damage::Kind::Flip && e.damage.offset < m.size())
        m.writable_bytes()[e.damage.offset] ^= std::byte{e.damage.mask};
      else if (e.damage.kind == Damage::Kind::Truncate && e.damage.offset < m.size())
        (void)m.truncate(e.damage.offset);
      impls_[i]->endpoint(e.node).receive(e.peer, std::move(m));
    }
    if (last) packets_.erase(it);
    break;
  }
  case TraceEvent::Kind::Timer: {
    // Pending timers are compared at every step, so they are the same in every implementation.
    if (!hosts_.front()[e.node]->take_timer(e.timer, e.at)) return std::nullopt;
    for (std::size_t i = 0; i < impls_.size(); ++i) {
      if (i > 0) (void)hosts_[i][e.node]->take_timer(e.timer, e.at);
      impls_[i]->endpoint(e.node).expire(e.timer);
    }
    break;
  }
  }
  if (auto d = compare(e, index)) return d;
  if (app_)
    for (const Effects::Delivery& d : effects_.front().deliveries)
      app_->delivered(d.node, d.from, d.msg);
  keep_packets();
  return std::nullopt;
}

void Lockstep::keep_packets() {
  for (std::size_t j = 0; j < effects_.front().transmits.size(); ++j) {
    const Effects::Transmit& t = effects_.front().transmits[j];
    std::vector<PacketId>& ids = receivers_;
    ids.clear();
    for (PeerId to = 0; to < nodes_; ++to)
      if (to != t.from && (t.to == kAllPeers || t.to == to))
        ids.push_back(
            {t.from, to, link_count_[std::size_t{t.from} * nodes_ + to]++, t.canonical().size()});
    for (std::size_t r = 0; r < ids.size(); ++r) {
      std::uint32_t arrivals = 0;
      if (replaying_) {
        auto it = expected_.find(key(ids[r]));
        if (it == expected_.end()) continue; // no event of the trace delivers it
        arrivals = it->second;
        expected_.erase(it);
      }
      Packet p;
      p.arrivals_left = arrivals;
      // The last receiver of a packet takes it; the others (of a cast) take copies.
      const bool last = r + 1 == ids.size();
      for (Effects& fx : effects_)
        p.copies.push_back(last ? std::move(fx.transmits[j].wire) : fx.transmits[j].wire.clone());
      packets_[key(ids[r])] = std::move(p);
      new_packets_.push_back(ids[r]);
    }
  }
}

namespace {

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

std::string hex(std::span<const std::byte> b) { return bytes_text(b, 48); }

// Where two byte strings first differ.
std::string first_difference(std::span<const std::byte> a, std::span<const std::byte> b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return fmt::format("first difference at byte {}", i);
}

} // namespace

std::optional<Divergence> Lockstep::compare(const TraceEvent& e, std::size_t index) {
  const Effects& a = effects_.front();
  for (std::size_t k = 1; k < impls_.size(); ++k) {
    auto diverged = [&](std::string kind, std::string field, std::string left, std::string right) {
      Divergence d;
      d.event = index;
      d.what_ran = e;
      d.node = e.node;
      d.left_impl = impls_.front()->name();
      d.right_impl = impls_[k]->name();
      d.kind = std::move(kind);
      d.field = std::move(field);
      d.left = std::move(left);
      d.right = std::move(right);
      return d;
    };
    const std::optional<std::string> fa = impls_.front()->failure();
    const std::optional<std::string> fb = impls_[k]->failure();
    if (fa || fb) return diverged("failure", "", fa.value_or("running"), fb.value_or("running"));

    const Effects& b = effects_[k];
    // Packets, deliveries and timers are each compared in order; how the three interleave
    // within one event is not observable by the network or the application.
    for (std::size_t j = 0; j < std::max(a.transmits.size(), b.transmits.size()); ++j) {
      const auto show = [](const Effects& fx, std::size_t j) {
        if (j >= fx.transmits.size()) return std::string("(no packet)");
        const auto& t = fx.transmits[j];
        return fmt::format("to {}: {}", t.to == kAllPeers ? "all" : std::to_string(t.to),
                           hex(t.canonical()));
      };
      if (j < a.transmits.size() && j < b.transmits.size() &&
          a.transmits[j].to == b.transmits[j].to &&
          same_bytes(a.transmits[j].canonical(), b.transmits[j].canonical()))
        continue;
      std::string where = fmt::format("packet {} of this event", j);
      if (j < a.transmits.size() && j < b.transmits.size() && decoder_ != nullptr) {
        const auto pa = a.transmits[j].canonical();
        const auto pb = b.transmits[j].canonical();
        const PacketDecoder::Difference diff = decoder_->first_difference(pa, pb);
        Divergence d = diverged("network", where + ", " + diff.field, diff.left, diff.right);
        d.layer = diff.layer;
        d.detail = fmt::format("  packets:\n    {}: {}\n    {}: {}\n", impls_.front()->name(),
                               decoder_->describe(pa), impls_[k]->name(), decoder_->describe(pb));
        return d;
      }
      if (j < a.transmits.size() && j < b.transmits.size())
        where += ", " + first_difference(a.transmits[j].canonical(), b.transmits[j].canonical());
      return diverged("network", where, show(a, j), show(b, j));
    }
    for (std::size_t j = 0; j < std::max(a.deliveries.size(), b.deliveries.size()); ++j) {
      const auto show = [](const Effects& fx, std::size_t j) {
        if (j >= fx.deliveries.size()) return std::string("(no delivery)");
        const auto& m = fx.deliveries[j];
        return fmt::format("from {}, lamport {}: {}", m.from, m.lamport, hex(m.msg.bytes()));
      };
      if (j < a.deliveries.size() && j < b.deliveries.size() &&
          a.deliveries[j].from == b.deliveries[j].from &&
          a.deliveries[j].lamport == b.deliveries[j].lamport &&
          same_bytes(a.deliveries[j].msg.bytes(), b.deliveries[j].msg.bytes()))
        continue;
      return diverged("application delivery", fmt::format("delivery {} of this event", j),
                      show(a, j), show(b, j));
    }
    for (std::size_t j = 0; j < std::max(a.timers.size(), b.timers.size()); ++j) {
      const auto show = [](const Effects& fx, std::size_t j) {
        if (j >= fx.timers.size()) return std::string("(no timer)");
        return fmt::format("timer {} at {} ns", fx.timers[j].timer, fx.timers[j].at.count());
      };
      if (j < a.timers.size() && j < b.timers.size() && a.timers[j].timer == b.timers[j].timer &&
          a.timers[j].at == b.timers[j].at)
        continue;
      return diverged("timer", fmt::format("timer request {} of this event", j), show(a, j),
                      show(b, j));
    }
    comparisons_ += impls_.front()->depth();
    if (auto s = compare_state(e.node, k)) {
      s->event = index;
      s->what_ran = e;
      return s;
    }
  }
  return std::nullopt;
}

std::optional<Divergence> Lockstep::compare_state(PeerId node, std::size_t other) {
  const Implementation& ia = *impls_.front();
  const Implementation& ib = *impls_[other];
  for (std::size_t l = 0; l < ia.depth(); ++l) {
    const LayerView va = ia.layer(node, l);
    const LayerView vb = ib.layer(node, l);
    // A C++ layer's state and operations, or a spec layer's variables.
    struct Side {
      const void* object = nullptr;
      const LayerOps* ops = nullptr;
      const SpecState* values = nullptr;
    };
    const auto side = [](const LayerView& v, const LayerOps* ops) {
      return ops != nullptr ? Side{v.state, ops, nullptr}
                            : Side{nullptr, nullptr, static_cast<const SpecState*>(v.state)};
    };
    const Side a = side(va, ops_.front()[l]);
    const Side b = side(vb, ops_[other][l]);
    std::optional<FieldDiff> diff;
    bool swapped = false; // diff.left describes b
    if (a.object != nullptr && b.object != nullptr) {
      if (a.ops->self == b.ops->self) {
        if (!a.ops->equal(a.object, b.object, memo_))
          diff = a.ops->diff(a.object, b.object).front();
      } else if (a.ops->twin == b.ops->self) {
        if (!a.ops->equal_twin(a.object, b.object, memo_))
          diff = a.ops->diff_twin(a.object, b.object).front();
      } else if (b.ops->twin == a.ops->self) {
        if (!b.ops->equal_twin(b.object, a.object, memo_)) {
          diff = b.ops->diff_twin(b.object, a.object).front();
          swapped = true;
        }
      } else {
        diff = FieldDiff{"(layer type)", "one C++ type", "another, not its mutant"};
      }
    } else if (a.object != nullptr) {
      diff = a.ops->spec_difference(a.object, *b.values);
    } else if (b.object != nullptr) {
      diff = b.ops->spec_difference(b.object, *a.values);
      swapped = true;
    } else {
      const auto& xa = *a.values;
      const auto& xb = *b.values;
      for (std::size_t v = 0; !diff && v < std::max(xa.size(), xb.size()); ++v) {
        if (v < xa.size() && v < xb.size() && xa[v].name == xb[v].name &&
            xa[v].value == xb[v].value)
          continue;
        const auto show = [](const spec::VariableView& x) {
          return spec::to_string(x.value, *x.type);
        };
        diff = FieldDiff{std::string(v < xa.size() ? xa[v].name : xb[v].name),
                         v < xa.size() ? show(xa[v]) : "(none)",
                         v < xb.size() ? show(xb[v]) : "(none)"};
      }
    }
    if (!diff) {
      // Equal: what stays untouched from here on need not be read again -- in the reference
      // once it has been compared with the last of the others.
      if (b.object != nullptr) b.ops->forget_changes(b.object);
      if (a.object != nullptr && other + 1 == impls_.size()) a.ops->forget_changes(a.object);
      continue;
    }
    Divergence d;
    d.kind = "state";
    d.node = node;
    d.layer = std::string(va.name);
    d.field = diff->name;
    d.left_impl = ia.name();
    d.right_impl = ib.name();
    d.left = swapped ? diff->right : diff->left;
    d.right = swapped ? diff->left : diff->right;
    return d;
  }
  return std::nullopt;
}

std::string Divergence::format() const {
  std::string where = fmt::format("node {}", node);
  if (!layer.empty()) where += ", layer " + layer;
  if (!field.empty()) where += kind == "state" ? ", field " + field : ", " + field;
  const std::size_t w = std::max(left_impl.size(), right_impl.size());
  return fmt::format(
      "divergence after event {} ({}): {} differs\n  at {}\n  {:<{}} : {}\n  {:<{}} : {}\n{}",
      event, to_text(what_ran), kind, where, left_impl, w, left, right_impl, w, right, detail);
}

} // namespace lamina::difftest
