// A difftest trace: what happens to a group of nodes running one stack, event by event, in a
// form that runs again (`lamina difftest --replay FILE`) and that a shrinker can cut down.
//
// Events name what they act on by identities that survive the removal of other events as
// well as they can: a packet is "the k-th packet ever put on the link from -> to", a payload is
// its size and the seed of its bytes. An event whose packet or timer does not exist when it is
// replayed (because a shrink removed what made it) does nothing.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/event.hpp"

namespace lamina::difftest {

// Harm done to a packet on its way.
struct Damage {
  enum class Kind : std::uint8_t {
    None,
    Flip,     // the byte at `offset` is XORed with `mask`
    Truncate, // only the first `offset` bytes arrive
  };
  Kind kind = Kind::None;
  std::uint32_t offset = 0;
  std::uint8_t mask = 0;
  friend bool operator==(const Damage&, const Damage&) = default;
};

struct TraceEvent {
  enum class Kind : std::uint8_t {
    Send,   // the application at `node` sends `size` bytes to `peer`
    Cast,   // the application at `node` casts `size` bytes to the group
    Arrive, // packet number `packet` of the link `peer` -> `node` arrives at `node`
    Timer,  // the earliest pending timer number `timer` of `node` that is due fires
  };
  Kind kind = Kind::Send;
  Time at{};                // virtual time; events are in time order
  PeerId node = 0;          // the node that handles the event
  PeerId peer = 0;          // Send: the destination; Arrive: the sender
  std::uint32_t size = 0;   // Send, Cast: payload bytes
  std::uint64_t fill = 0;   // Send, Cast: seed of the payload bytes (see payload())
  std::uint64_t packet = 0; // Arrive: index on the link, 0 for the first packet ever sent on it
  Damage damage;            // Arrive
  std::uint32_t timer = 0;  // Timer: the number the stack asked for (its layer index)
  friend bool operator==(const TraceEvent&, const TraceEvent&) = default;
};

// The payload of a Send or Cast: `size` bytes drawn from `fill`, the same on every platform.
Msg payload(std::uint32_t size, std::uint64_t fill);

// Everything needed to run a trace again.
struct Trace {
  std::string spec_file;                                    // as given on the command line
  std::string stack;                                        // "ReliableFifo"
  std::vector<std::pair<std::string, std::int64_t>> params; // stack parameters set (Time in ns)
  std::vector<std::string> impls;                           // "static", "dynamic", ...
  std::uint32_t nodes = 2;
  std::uint64_t seed = 0; // the seed the trace was generated from (informational)
  std::vector<TraceEvent> events;
  friend bool operator==(const Trace&, const Trace&) = default;
};

// One event as one line: "@1200000 send 0 -> 1 size 137 fill 0x9e3779b9".
std::string to_text(const TraceEvent& e);
// The whole trace in the replay format (see difftest/README.md).
std::string write_trace(const Trace& t);

// A trace file that cannot be read: the message is "file:line:col: error: what".
class TraceError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};
// Reads a trace written by write_trace; `file` names it in error messages.
Trace read_trace(std::string_view text, std::string_view file);

} // namespace lamina::difftest
