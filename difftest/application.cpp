#include "difftest/application.hpp"

#include <iterator>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "components/ants_exec.hpp"
#include "components/ants_route.hpp"
#include "components/lamport_mutex.hpp"
#include "components/ricart_agrawala.hpp"
#include "components/rpc.hpp"
#include "runtime/registry.hpp"
#include "runtime/sha256.hpp"

namespace lamina::difftest {
namespace {

// SplitMix64: the bits of one seed spread over another, so that the application's choices do
// not follow the payload's bytes, which the same seed draws.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Calls, answers and cancels in Rpc's header (components/rpc.hpp).
class RpcApplication final : public Application {
public:
  Msg message(PeerId node, PeerId to, std::uint64_t fill, Msg payload) override {
    if (to == kAllPeers) return payload; // Rpc refuses a cast: kept as it is
    std::uint64_t bits = mix(fill);
    auto take = [&](std::uint64_t n) {
      const std::uint64_t v = bits % n;
      bits /= n;
      return v;
    };
    Pair& pair = pairs_[{node, to}];
    const std::uint64_t choice = take(100);
    Rpc::Header h{};
    if (choice < 25 && !pair.to_answer.empty()) { // answer a call this node was given
      const auto at = static_cast<std::ptrdiff_t>(take(pair.to_answer.size()));
      h.kind = Rpc::Kind::answer;
      h.id = pair.to_answer[static_cast<std::size_t>(at)];
      pair.to_answer.erase(pair.to_answer.begin() + at);
    } else if (choice < 33 && !pair.unfinished.empty()) { // cancel a call it made
      auto it = pair.unfinished.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(take(pair.unfinished.size())));
      h.kind = Rpc::Kind::cancel;
      h.id = *it;
    } else if (choice < 38) { // break the interface: an old id, or a kind it does not take
      h.kind = take(2) == 0 ? Rpc::Kind::call : static_cast<Rpc::Kind>(3 + take(253));
      h.id = pair.next_id == 0 ? 0 : pair.next_id - 1;
      h.budget = 1000;
    } else if (choice < 40) { // random bytes
      return payload;
    } else { // a call: ids increase, now and then skipping some
      h.kind = Rpc::Kind::call;
      h.id = pair.next_id;
      pair.next_id += 1 + static_cast<std::uint32_t>(take(4) == 0);
      // Budgets from none (expired at once) through a few ms (expiring on the way, or before a
      // resend) to seconds (outliving the trace's losses).
      const std::uint64_t length = take(8);
      h.budget = length == 0   ? 0
                 : length <= 2 ? static_cast<std::uint32_t>(1 + take(5000))
                 : length <= 6 ? static_cast<std::uint32_t>(5000 + take(100'000))
                               : static_cast<std::uint32_t>(1'000'000 + take(2'000'000));
      pair.unfinished.insert(h.id);
    }
    payload.push(h);
    return payload;
  }

  void delivered(PeerId node, PeerId from, const Msg& m) override {
    Rpc::Header h{};
    if (!m.peek(h)) return;
    Pair& pair = pairs_[{node, from}];
    switch (h.kind) {
    case Rpc::Kind::call:
      pair.to_answer.push_back(h.id);
      break;
    case Rpc::Kind::answer:
    case Rpc::Kind::expired:
    case Rpc::Kind::cancelled:
    case Rpc::Kind::unavailable:
      pair.unfinished.erase(h.id);
      break;
    default:
      break; // a cancel of a call running here: it is answered all the same
    }
  }

private:
  // What one node knows of one peer, as client and as server.
  struct Pair {
    std::uint32_t next_id = 0;            // of its next call there
    std::set<std::uint32_t> unfinished;   // its calls there without an outcome
    std::vector<std::uint32_t> to_answer; // calls from there given to it, unanswered
  };
  std::map<std::pair<PeerId, PeerId>, Pair> pairs_;
};

// Requests and releases of the group's lock in LamportMutex's or RicartAgrawala's header (their
// kinds are the same). A node asks for the lock when it has none (a third of the time with a
// try, which may come back taken), gives it back once it holds it, now and then withdraws a
// request that waits, and now and then breaks the interface: a second request, a release of
// nothing, another kind, random bytes, a send to one peer.
template <class Mutex>
class LockApplication final : public Application {
  using Kind = typename Mutex::Kind;

public:
  Msg message(PeerId node, PeerId to, std::uint64_t fill, Msg payload) override {
    if (to != kAllPeers) return payload; // the lock takes casts alone: refused as it is
    std::uint64_t bits = mix(fill);
    auto take = [&](std::uint64_t n) {
      const std::uint64_t v = bits % n;
      bits /= n;
      return v;
    };
    Phase& phase = phases_[node];
    const std::uint64_t choice = take(100);
    typename Mutex::Header h{};
    if (choice < 8) { // break the interface: another kind, or random bytes
      if (take(3) == 0) return payload;
      h.kind = static_cast<Kind>(take(256));
    } else if (phase == Phase::idle) {
      h.kind = choice < 40 ? Kind::try_request : Kind::request;
      phase = Phase::waiting;
    } else if (phase == Phase::waiting && choice < 70) { // a second request, refused
      h.kind = choice < 20 ? Kind::try_request : Kind::request;
    } else { // holding, or waiting and giving up
      h.kind = Kind::release;
      phase = Phase::idle;
    }
    payload.push(h);
    return payload;
  }

  void delivered(PeerId node, PeerId /*from*/, const Msg& m) override {
    typename Mutex::Header h{};
    if (m.peek(h) && h.kind == Kind::granted) phases_[node] = Phase::holding;
    if (m.peek(h) && h.kind == Kind::taken) phases_[node] = Phase::idle;
  }

private:
  enum class Phase : std::uint8_t { idle, waiting, holding }; // as the application knows it
  std::map<PeerId, Phase> phases_;
};

// Capsules and code in the ANTS header (components/ants_route.hpp), for a stack whose top
// layer is AntsExec (an active node) or AntsRoute (a passive one). The capsules run programs
// of the reference runner (components/ants_exec.hpp): forwarding, delivering, recording the
// path, failing in each way, held back unrun, and one long enough to travel in several chunks. An
// active node now and then pins one of them (the node then sends capsules of it, and its peers load
// it on demand); capsules carry small TTLs, so that some run out; now and then the node's
// application sets a route (so that capsules go by other nodes, which forward them on arrival),
// and now and then the interface breaks: a capsule of code the node does not have, another kind,
// or random bytes.
class AntsApplication final : public Application {
public:
  explicit AntsApplication(bool active) : active_(active) {
    const auto program = [&](std::initializer_list<std::uint8_t> ops, std::size_t size) {
      // At least 400 bytes, so that most damage to a chunk falls on the code it carries.
      Msg code = Msg::with_size(std::max({size, ops.size(), std::size_t{400}}));
      std::byte* out = code.writable_data();
      std::size_t i = 0;
      for (const std::uint8_t op : ops) out[i++] = static_cast<std::byte>(op);
      for (; i < code.size(); ++i) out[i] = static_cast<std::byte>(7); // beyond 16: not run
      programs_.push_back(std::move(code));
    };
    program({0}, 1);             // forward toward dst
    program({2, 0}, 2);          // deliver here, and forward
    program({7, 0, 2}, 3);       // record the path, forward, deliver
    program({1 << 3 | 1, 2}, 2); // route toward node 1, deliver
    program({3, 4}, 2);          // back toward src, then fail
    program({5}, 1);             // out of instructions
    program({2, 6}, 2);          // deliver, then out of memory
    program({1 << 3 | 6}, 1);    // held back unrun, as a node holds a type over its share
    program({2, 0}, 2500);       // deliver and forward: three chunks of code
    program({1 << 3 | 1, 2 << 3 | 1, 0 << 3 | 1, 2}, 4); // a flood: on to 1, 2 and 0, deliver
  }

  Msg message(PeerId node, PeerId to, std::uint64_t fill, Msg payload) override {
    std::uint64_t bits = mix(fill);
    auto take = [&](std::uint64_t n) {
      const std::uint64_t v = bits % n;
      bits /= n;
      return v;
    };
    const std::uint64_t choice = take(100);
    if (choice < 4) return payload; // random bytes
    if (choice < 10) {              // a route: toward a node of the group or beyond, via one
      CapsuleHeader r{};
      r.version = CapsuleHeader::kVersion;
      r.kind = CapsuleHeader::Kind::route;
      r.dst = static_cast<PeerId>(take(4));
      r.prev = static_cast<PeerId>(take(4));
      Msg m = Msg::with_size(0);
      m.push(r);
      return m;
    }
    // Capsules come in flows: half the time, of the program this node sent last.
    std::size_t& last = last_[node];
    if (take(2) == 0) last = take(programs_.size());
    const Msg& code = programs_[last];
    CapsuleHeader h{};
    h.version = CapsuleHeader::kVersion;
    h.kind = CapsuleHeader::Kind::capsule;
    const Sha256 type = sha256(code.bytes());
    std::copy(type.begin(), type.end(), h.type.begin());
    h.src = h.prev = node;
    h.dst = to == kAllPeers ? static_cast<PeerId>(take(4)) : to;
    h.ttl = static_cast<std::uint8_t>(take(6));
    if (active_ && choice < 20) { // pin the code: the node's capsules of it can run
      h.kind = CapsuleHeader::Kind::installed;
      h.total = static_cast<std::uint32_t>(code.size());
      Msg m = code.clone();
      m.push(h);
      return m;
    }
    if (choice < 8) h.kind = static_cast<CapsuleHeader::Kind>(take(8));
    h.app_len = static_cast<std::uint16_t>(std::min<std::uint64_t>(take(5), payload.size()));
    payload.push(h);
    return payload;
  }

  void delivered(PeerId, PeerId, const Msg&) override {}

private:
  bool active_;
  std::vector<Msg> programs_;
  std::map<PeerId, std::size_t> last_; // the program each node sent last
};

} // namespace

std::unique_ptr<Application> application_for(std::string_view stack_string) {
  const std::vector<LayerSpec> layers = parse_stack_string(stack_string);
  if (layers.size() < 2) return nullptr;
  if (layers[1].name == Rpc::name) return std::make_unique<RpcApplication>();
  if (layers[1].name == AntsExec::name) return std::make_unique<AntsApplication>(true);
  if (layers[1].name == AntsRoute::name) return std::make_unique<AntsApplication>(false);
  if (layers[1].name == LamportMutex::name)
    return std::make_unique<LockApplication<LamportMutex>>();
  if (layers[1].name == RicartAgrawala::name)
    return std::make_unique<LockApplication<RicartAgrawala>>();
  return nullptr;
}

} // namespace lamina::difftest
