#include "difftest/application.hpp"

#include <iterator>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "components/lamport_mutex.hpp"
#include "components/ricart_agrawala.hpp"
#include "components/rpc.hpp"
#include "runtime/registry.hpp"

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
// kinds are the same). A node asks for the lock when it has none, gives it back once it holds
// it, now and then withdraws a request that waits, and now and then breaks the interface: a
// second request, a release of nothing, another kind, random bytes, a send to one peer.
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
      h.kind = Kind::request;
      phase = Phase::waiting;
    } else if (phase == Phase::waiting && choice < 70) { // a second request, refused
      h.kind = Kind::request;
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
  }

private:
  enum class Phase : std::uint8_t { idle, waiting, holding }; // as the application knows it
  std::map<PeerId, Phase> phases_;
};

} // namespace

std::unique_ptr<Application> application_for(std::string_view stack_string) {
  const std::vector<LayerSpec> layers = parse_stack_string(stack_string);
  if (layers.size() < 2) return nullptr;
  if (layers[1].name == Rpc::name) return std::make_unique<RpcApplication>();
  if (layers[1].name == LamportMutex::name)
    return std::make_unique<LockApplication<LamportMutex>>();
  if (layers[1].name == RicartAgrawala::name)
    return std::make_unique<LockApplication<RicartAgrawala>>();
  return nullptr;
}

} // namespace lamina::difftest
