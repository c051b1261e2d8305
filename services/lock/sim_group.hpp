// A group of lock members on SimNet, and a workload that makes them contend: each member asks
// for the lock (acquire, or try_acquire), holds it a while if granted, gives it back, and again,
// and the run is recorded for the checker (checker.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/implementation.hpp"
#include "runtime/simnet.hpp"
#include "services/lock/lock.hpp"

namespace lamina::lock {

struct Workload {
  std::uint32_t entries = 10;                    // acquires per member
  Duration think = std::chrono::milliseconds(5); // between entries: uniform in [0, 2 think]
  Duration hold = std::chrono::milliseconds(1);  // in the critical section: [0, 2 hold]
  Duration patience = std::chrono::seconds(10);  // an acquire's deadline, from its asking
  double tries = 0; // the share of asks made with try_acquire, drawn per ask
};

// One acquire or try: granted, held and given back, or failed.
struct Entry {
  PeerId node = 0;
  Status status = Status::granted;
  Time asked{};
  Time granted{};               // granted: when; otherwise when it failed
  Time released = Time::max();  // granted: when the lock was given back; max: never
  Token token{};                // granted
  std::vector<PeerId> silent{}; // deadline_exceeded: as the Outcome said
  bool tried = false;           // made with try_acquire
  Token ahead{};                // taken: as the Outcome said
  bool at_once = false;         // decided within the call that asked: no lock message sent
};

// What a run did, for the checker.
struct Run {
  Algorithm algorithm = Algorithm::lamport;
  std::uint32_t nodes = 0;
  std::vector<Entry> entries; // in the order they ended (granted or failed)
  std::uint64_t messages = 0; // sent by the lock layers, a cast counted once a peer
  std::uint64_t packets = 0;  // put on SimNet's links by every layer
  bool finished = false;      // every member made all its acquires and is idle
  Time end{};
};

class LockGroup {
public:
  // `nodes` members running `stack_string` (a stack of stacks/lock/lock.ioa for `algorithm`)
  // built as `impl` (make_implementation's kind), on a SimNet of `seed` whose links are `link`.
  // Throws StackError or std::runtime_error for a bad stack string or build.
  LockGroup(Algorithm algorithm, std::string_view stack_string, std::uint32_t nodes,
            std::uint64_t seed, LinkConfig link = {}, std::string_view impl = "dynamic");

  [[nodiscard]] SimNet& net() { return net_; }
  [[nodiscard]] Lock& lock(PeerId n) { return *locks_[n]; }
  [[nodiscard]] std::uint32_t size() const { return static_cast<std::uint32_t>(locks_.size()); }
  // Messages the lock layers have sent, a cast counted once a peer.
  [[nodiscard]] std::uint64_t lock_messages() const;
  // The requests member `n` knows of and has not seen withdrawn or given back, in the order
  // they will be granted: its own and, for Lamport's algorithm, its queue; for Ricart and
  // Agrawala's, the requests whose replies it defers.
  [[nodiscard]] std::vector<Token> queue(PeerId n) const;

  // Runs `w` from now until every member is done and the network is quiet, or until `limit`.
  Run run(const Workload& w, Time limit);
  // Called with each grant of a run as it happens, before the holder gives the lock back.
  void on_grant(std::function<void(const Entry&)> f) { on_grant_ = std::move(f); }

private:
  void ask(PeerId n, const Workload& w);

  Algorithm algorithm_;
  SimNet net_;
  std::unique_ptr<Implementation> impl_;
  std::vector<std::unique_ptr<Lock>> locks_;
  std::uint64_t seed_;
  // The run under way.
  Run run_;
  std::vector<std::uint32_t> asked_; // acquires made, per member
  std::optional<PeerId> asking_;     // the member inside acquire or try_acquire, now
  std::function<void(const Entry&)> on_grant_;
};

} // namespace lamina::lock
