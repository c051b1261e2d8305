// The checker of a recorded lock run (sim_group.hpp's Run), in the simulator's global time:
//
// - safety: no two holders overlap;
// - order: grants follow the total order of the requests, so fencing tokens only grow;
// - liveness (on a healthy network): every acquire is granted, and every try granted or
//   `taken`, within `bound` of its asking, and the run finished;
// - tries: a try `taken` names a request in its way that the run has — another member's, made
//   no later than the refusal, and if that request was granted, with the token it names;
// - messages: with nothing failed but tries `taken`, the lock layers sent exactly 3(n-1)
//   (Lamport) or 2(n-1) (Ricart-Agrawala) messages for each grant and each try `taken` after
//   its request went out (a try `taken` at once sends none).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "services/lock/sim_group.hpp"

namespace lamina::lock {

struct Expect {
  bool healthy = true;                       // check liveness
  Duration bound = std::chrono::seconds(10); // longest wait for a grant, when healthy
  bool exact_messages = true;                // check messages per entry (when none failed)
};

struct Verdict {
  std::vector<std::string> violations; // what, where and when; empty: the run passes
  // The violations by kind.
  std::uint64_t unsafe = 0;     // two holders at once
  std::uint64_t disordered = 0; // a grant out of the requests' order
  std::uint64_t late = 0;       // liveness: not granted, too late, or the run not finished
  std::uint64_t unfounded = 0;  // a try taken, naming no request of the run in its way
  std::uint64_t miscounted = 0; // messages per entry not as the algorithm says
  std::uint64_t grants = 0;
  std::uint64_t failures = 0;    // acquires and tries not granted (tries taken too)
  std::uint64_t taken = 0;       // tries taken
  Duration longest_wait{};       // from asking to the grant
  double messages_per_entry = 0; // lock-layer messages per grant
  [[nodiscard]] bool ok() const { return violations.empty(); }
};

Verdict check(const Run& run, const Expect& expect = {});

} // namespace lamina::lock
