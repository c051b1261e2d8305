// The ordered lock service's application side: one lock for the group, over a stack whose top
// protocol layer is LamportMutex or RicartAgrawala (stacks/lock/lock.ioa).
//
//   lock::Lock lock(Algorithm::lamport, [&](Msg m) { /* cast m down the stack */ });
//   lock.acquire(now + 50ms, [&](const lock::Outcome& o) {
//     if (o.status == lock::Status::granted) { store.write(o.token, ...); lock.release(); }
//   });
//   // and every delivery of the stack goes to lock.deliver(from, msg); lock.expire(now) ends an
//   // acquire whose deadline has passed.
//
// A grant comes with a fencing token, the granted request's (Lamport stamp, node). Both
// algorithms grant in the total order of the requests' (stamp, node), so the token grows with
// every grant in the group: a resource that refuses a token older than the newest it has seen
// (FencedRegister) refuses a late write from an earlier holder.
//
// Neither algorithm tolerates a failure: a crashed or cut-off peer holds every request back. An
// acquire then fails at its deadline with `deadline_exceeded`, its request withdrawn (so that it
// holds no one else back), and names the peers that held it back by silence.
//
// try_acquire(deadline, done) asks without queueing behind anyone (std::mutex::try_lock, a
// Redis SET NX, an etcd transaction on an absent key): granted, with a token, if this member's
// request turns out first; `taken` as soon as the member learns of a request before its own —
// the holder's, or one that will be granted first — and then its request is withdrawn. What a
// member learns, and when:
//
// - Lamport's algorithm: from its queue, which holds every peer's request that is not given
//   back. A request queued when the try is made comes before it (the new request's stamp is
//   past every stamp the member has heard), and the holder's request is queued at every member
//   while it holds: the try is `taken` at once, without a message. Otherwise the request goes
//   out as any other; one before it that arrives before the grant makes the member withdraw it
//   (a release to every peer) and answer `taken`. FIFO links deliver a peer's earlier request
//   before its ack of this one, so the answer comes within a round trip: a granted try costs an
//   entry's 3(n-1) messages, a refused one nothing or 3(n-1).
// - Ricart and Agrawala's: a deferred reply tells nothing until the lock is given back — a
//   member cannot tell a peer that defers its request from a slow one. So a try is a request of
//   its own kind that no peer defers: where a peer would (it holds the lock, or waits with a
//   request that comes first), it refuses the try at once, naming its own request, and keeps
//   nothing of it. The member answers `taken` at the first refusal, or when a request before its
//   own arrives, and replies to what it deferred, as a release does. Each peer answers a try
//   once, reply or refusal: 2(n-1) messages, granted or not, within a round trip. Ordinary
//   requests are never refused; their entries still cost 2(n-1).
//
// `taken` means a request was in the way as far as this member knew; it may have been withdrawn
// since (a try refused in its turn, or an acquire given up), so two tries made together may
// both be refused where neither would have waited long — as std::mutex::try_lock may fail
// spuriously. A try never waits behind another member's critical section.
//
// Why it is safe: a try only ever gives up a request that was not granted, by the withdrawal
// the algorithms already have (Lamport's release of a waiting request; Ricart and Agrawala's
// replies to the deferred), so afterwards every peer's state is as if the request had been
// withdrawn, and a refused try holds no one back. A granted try is an ordinary grant: in the
// order of the requests, so the fencing token still grows with every grant. A silent peer stops
// a try as it stops an acquire: at its deadline, naming the silent.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "runtime/event.hpp"

namespace lamina::lock {

enum class Algorithm : std::uint8_t {
  lamport,         // LamportMutex: 3(n-1) messages an entry
  ricart_agrawala, // RicartAgrawala: 2(n-1)
};
// "lamport", "ricart-agrawala"
std::string_view to_string(Algorithm a);
std::optional<Algorithm> algorithm_named(std::string_view name);
// The algorithm's stack in stacks/lock/lock.ioa: "LamportLock", "RicartAgrawalaLock".
std::string_view stack_name(Algorithm a);
// Messages of the lock layer per entry in a group of n, without failures: 3(n-1) or 2(n-1).
std::uint64_t messages_per_entry(Algorithm a, std::uint32_t n);

// A fencing token: the granted request's Lamport stamp and node, ordered as the requests are.
struct Token {
  std::uint64_t stamp = 0;
  PeerId node = 0;
  friend auto operator<=>(const Token&, const Token&) = default;
};

enum class Status : std::uint8_t {
  granted,
  deadline_exceeded, // not granted by the deadline: the request is withdrawn
  busy,              // this member has asked already, or holds the lock
  taken,             // try_acquire: the lock is held, or a request before this one is known
};
std::string_view to_string(Status s);

struct Outcome {
  Status status = Status::granted;
  Token token;                // granted: the fencing token
  std::vector<PeerId> silent; // deadline_exceeded: the peers that held the request back by
                              // silence; empty when others held the lock all along
  Token ahead;                // taken: the request in the way — the holder's, or one that comes
                              // before this one (the earliest this member knew of)
};

class Lock {
public:
  using Cast = std::function<void(Msg)>;
  using Done = std::function<void(const Outcome&)>;

  // `cast` gives a message to the stack, for the group.
  Lock(Algorithm algorithm, Cast cast) : algorithm_(algorithm), cast_(std::move(cast)) {}

  // Asks for the lock, to be granted by `deadline`; `done` gets the outcome, once (at once, as
  // `busy`, if this member has asked already or holds the lock).
  void acquire(Time deadline, Done done);
  // Asks for the lock unless it is taken: `done` gets `granted` as acquire does, or `taken` as
  // soon as this member learns that the lock is held or a request before this one is waiting
  // (the request then withdrawn), or `deadline_exceeded` at `deadline` if silent peers keep it
  // from learning either; `busy` as acquire. `done` may run before try_acquire returns (taken
  // at once, or granted at once when alone).
  void try_acquire(Time deadline, Done done);
  // Gives the lock back; false (and nothing sent) if this member does not hold it.
  bool release();
  // Ends the acquire under way, as `deadline_exceeded`, if `now` has reached its deadline.
  void expire(Time now);

  [[nodiscard]] bool holding() const { return phase_ == Phase::holding; }
  [[nodiscard]] bool waiting() const { return phase_ == Phase::waiting; }
  // The deadline of the acquire under way.
  [[nodiscard]] std::optional<Time> deadline() const {
    return phase_ == Phase::waiting ? std::optional(deadline_) : std::nullopt;
  }
  // The token of the grant held.
  [[nodiscard]] Token token() const { return token_; }

  // The stack delivered `m` from `from`.
  void deliver(PeerId from, const Msg& m);

private:
  enum class Phase : std::uint8_t { idle, waiting, withdrawing, holding };
  void ask(std::uint8_t kind, Time deadline, Done done);
  void send(std::uint8_t kind);

  Algorithm algorithm_;
  Cast cast_;
  Phase phase_ = Phase::idle;
  Time deadline_{};
  Done done_;
  Token token_;
  std::vector<PeerId> silent_; // heard while withdrawing
};

// A register that takes a write only with a token no older than the newest it has taken: a
// holder whose write comes after a later holder's is refused.
class FencedRegister {
public:
  // Writes `value` unless `token` is older than the newest taken; whether it was written.
  bool write(Token token, std::int64_t value);
  [[nodiscard]] std::int64_t value() const { return value_; }
  [[nodiscard]] Token newest() const { return newest_; }
  [[nodiscard]] std::uint64_t written() const { return written_; }
  [[nodiscard]] std::uint64_t refused() const { return refused_; }

private:
  std::int64_t value_ = 0;
  Token newest_;
  std::uint64_t written_ = 0;
  std::uint64_t refused_ = 0;
};

} // namespace lamina::lock
