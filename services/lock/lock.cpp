#include "services/lock/lock.hpp"

#include <cstring>
#include <utility>

#include "components/lamport_mutex.hpp"
#include "components/ricart_agrawala.hpp"

namespace lamina::lock {

// The two layers' headers start alike: the kind (a byte, the same numbers in both), then the
// stamp at offset 8.
static_assert(offsetof(LamportMutex::Header, stamp) == offsetof(RicartAgrawala::Header, stamp));
static_assert(static_cast<int>(LamportMutex::Kind::granted) ==
                  static_cast<int>(RicartAgrawala::Kind::granted) &&
              static_cast<int>(LamportMutex::Kind::silent) ==
                  static_cast<int>(RicartAgrawala::Kind::silent) &&
              static_cast<int>(LamportMutex::Kind::request) ==
                  static_cast<int>(RicartAgrawala::Kind::request) &&
              static_cast<int>(LamportMutex::Kind::release) ==
                  static_cast<int>(RicartAgrawala::Kind::release) &&
              static_cast<int>(LamportMutex::Kind::try_request) ==
                  static_cast<int>(RicartAgrawala::Kind::try_request) &&
              static_cast<int>(LamportMutex::Kind::taken) ==
                  static_cast<int>(RicartAgrawala::Kind::taken));

std::string_view to_string(Algorithm a) {
  return a == Algorithm::lamport ? "lamport" : "ricart-agrawala";
}

std::optional<Algorithm> algorithm_named(std::string_view name) {
  if (name == "lamport") return Algorithm::lamport;
  if (name == "ricart-agrawala") return Algorithm::ricart_agrawala;
  return std::nullopt;
}

std::string_view stack_name(Algorithm a) {
  return a == Algorithm::lamport ? "LamportLock" : "RicartAgrawalaLock";
}

std::uint64_t messages_per_entry(Algorithm a, std::uint32_t n) {
  return (a == Algorithm::lamport ? 3U : 2U) * std::uint64_t{n - 1};
}

std::string_view to_string(Status s) {
  switch (s) {
  case Status::granted:
    return "granted";
  case Status::deadline_exceeded:
    return "deadline exceeded";
  case Status::busy:
    return "busy";
  case Status::taken:
    return "taken";
  }
  return "?";
}

void Lock::acquire(Time deadline, Done done) {
  ask(static_cast<std::uint8_t>(LamportMutex::Kind::request), deadline, std::move(done));
}

void Lock::try_acquire(Time deadline, Done done) {
  ask(static_cast<std::uint8_t>(LamportMutex::Kind::try_request), deadline, std::move(done));
}

void Lock::ask(std::uint8_t kind, Time deadline, Done done) {
  if (phase_ != Phase::idle) {
    done(Outcome{Status::busy, {}, {}, {}});
    return;
  }
  phase_ = Phase::waiting;
  deadline_ = deadline;
  done_ = std::move(done);
  send(kind); // granted at once when alone; a try may be taken at once
}

bool Lock::release() {
  if (phase_ != Phase::holding) return false;
  phase_ = Phase::idle;
  send(static_cast<std::uint8_t>(LamportMutex::Kind::release));
  return true;
}

void Lock::expire(Time now) {
  if (phase_ != Phase::waiting || now < deadline_) return;
  // The layer names the silent peers as it withdraws the request.
  phase_ = Phase::withdrawing;
  silent_.clear();
  send(static_cast<std::uint8_t>(LamportMutex::Kind::release));
  phase_ = Phase::idle;
  Done done = std::exchange(done_, nullptr);
  done(Outcome{Status::deadline_exceeded, {}, std::exchange(silent_, {}), {}});
}

void Lock::deliver(PeerId from, const Msg& m) {
  LamportMutex::Header h{}; // the prefix both layers' headers share
  if (!m.peek(h)) return;
  if (h.kind == LamportMutex::Kind::granted && phase_ == Phase::waiting) {
    phase_ = Phase::holding;
    token_ = Token{h.stamp, from};
    Done done = std::exchange(done_, nullptr);
    done(Outcome{Status::granted, token_, {}, {}});
  } else if (h.kind == LamportMutex::Kind::taken && phase_ == Phase::waiting) {
    // The layer has withdrawn the request already.
    phase_ = Phase::idle;
    Done done = std::exchange(done_, nullptr);
    done(Outcome{Status::taken, {}, {}, Token{h.stamp, from}});
  } else if (h.kind == LamportMutex::Kind::silent && phase_ == Phase::withdrawing) {
    silent_.push_back(from);
  }
}

void Lock::send(std::uint8_t kind) {
  Msg m;
  if (algorithm_ == Algorithm::lamport)
    m.push(LamportMutex::Header{static_cast<LamportMutex::Kind>(kind), {}, 0});
  else
    m.push(RicartAgrawala::Header{static_cast<RicartAgrawala::Kind>(kind), {}, 0, 0});
  cast_(std::move(m));
}

bool FencedRegister::write(Token token, std::int64_t value) {
  if (token < newest_) {
    ++refused_;
    return false;
  }
  newest_ = token;
  value_ = value;
  ++written_;
  return true;
}

} // namespace lamina::lock
