// The processor share of an ANTS node: how much of the node's code work each code type may take
// while other types are active. The node's runner (lua_runner.hpp) asks it before each run and
// tells it what each run spent, in budget units (sandbox.hpp), so that the share is counted in
// the sandbox's deterministic measure, not in time read from a clock.
//
//   ProcessorShare share({.window = 100ms, .guaranteed_per_s = 40'000'000, .lead = 100'000});
//   if (!share.admit(type, now)) drop_unrun(capsule); // held back: counted by the node
//   else share.spent(type, now, units_the_run_spent, run_ended_well);
//
// The rule. Each type has two measures: the units it spent in a sliding window (10 slots), and a
// running count of the units it spent, which never decays but is never more than one guarantee
// behind the busiest other competing type (it is raised so when a capsule of the type comes), so
// that a type cannot bank what it did not spend. A capsule of type T is held back, unrun, when
// all three hold:
//   - another type competes: one of its capsules came in the window, and its last run did not
//     fail (a failing type is the failure wait's: lua_runner.hpp);
//   - T has spent at least its guarantee in the window (guaranteed_per_s times the window): what
//     any type may take whatever the others do;
//   - T's count is at least `lead` units ahead of every other competing type's: beyond its
//     guarantee a type may take as much as the busiest other, and one budget more.
// So a type alone is never held back (work-conserving when nobody else wants the processor); a
// type under its guarantee is never held back; two busy types share equally, within a budget;
// and a type whose runs are long (a flood within its budget) is held to what the busiest other
// type spent, or to its guarantee, while the other's capsules all run. The counts only grow, so
// the comparison never turns on which slot leaves the window: a flood that spends in bursts stays
// ahead of the honest type it is held to, and never puts it behind. As the window slides a held
// type's window sum falls under its guarantee and its capsules run again. Fair queuing's bound,
// for admission: like start-time fair queuing (Goyal, Vin and Cheng, 1996) and deficit round
// robin (Shreedhar and Varghese, 1995), no busy type gets more than one quantum ahead of another;
// unlike them, the node cannot see its queue, so a type whose capsules come counts as wanting
// more (docs/ants.md says what that costs).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "runtime/event.hpp"
#include "services/ants/soft_store.hpp"

namespace lamina::ants {

struct ShareLimits {
  // The sliding window the units are summed over; zero: no share (every capsule runs).
  Duration window = std::chrono::milliseconds(100);
  // Units a second a type may spend whatever the other types do: about a fifth of a core at the
  // sandbox's 3 to 7 ns a unit (docs/ants.md).
  std::uint64_t guaranteed_per_s = 40'000'000;
  // Beyond its guarantee, how far ahead of the busiest other competing type a type may be: one
  // run's budget (Limits::instructions), so that a single run never decides.
  std::uint64_t lead = 100'000;
};

class ProcessorShare {
public:
  explicit ProcessorShare(ShareLimits limits = {});

  // Whether a capsule of `type` that comes at `now` may run; false: hold it back unrun. Either
  // way the type counts as active, and as competing, from now for a window.
  bool admit(const CodeType& type, Time now);
  // A run of `type`, admitted at `now`, spent `units`; `ok`: it ended well. A run that failed
  // makes its type stop competing until it is admitted again.
  void spent(const CodeType& type, Time now, std::uint64_t units, bool ok);

  // Units `type` spent in the window, as of the last call.
  [[nodiscard]] std::uint64_t used(const CodeType& type) const;
  // The type's running count of units (0 for a type not active).
  [[nodiscard]] std::uint64_t count(const CodeType& type) const;
  // Types with a capsule in the window, and those of them that compete.
  [[nodiscard]] std::size_t active() const { return accounts_.size(); }
  [[nodiscard]] std::size_t competing() const { return competing_; }
  [[nodiscard]] const ShareLimits& limits() const { return limits_; }
  // A type's guarantee: the units it may spend in a window whatever the others do.
  [[nodiscard]] std::uint64_t guaranteed() const { return guaranteed_; }

  static constexpr std::size_t kSlots = 10;

private:
  struct Account {
    std::array<std::uint64_t, kSlots> slots{}; // units spent in each slot of the window
    std::uint64_t sum = 0;                     // of the slots
    std::uint64_t count = 0;                   // units spent, raised to the busiest less a window
    std::int64_t last = 0;                     // the slot of its last capsule
    bool competes = true;
  };

  void advance(Time now); // to now's slot: old slots out, idle types gone, the top two again
  void rank();            // the top two competing accounts by count, from all of them
  void rise(Account* a);  // a's count grew: the top two kept
  Account& account(const CodeType& type);

  ShareLimits limits_;
  std::uint64_t guaranteed_ = 0; // units a window
  std::int64_t slot_ns_ = 0;     // the length of a slot; 0: no share
  std::unordered_map<CodeType, Account, CodeTypeHash> accounts_;
  std::int64_t slot_ = -1; // the current slot; -1 before the first call
  std::size_t competing_ = 0;
  Account* first_ = nullptr;  // the competing account with the largest count
  Account* second_ = nullptr; // and the next
};

} // namespace lamina::ants
