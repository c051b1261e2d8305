// The application difftest plays above a stack: what a node's sends carry.
//
// Most stacks carry any bytes, and random ones serve. A stack whose top layer reads what the
// application sends needs an application that speaks its interface, or nearly every send would
// be refused at once and the rest of the layer never run: Rpc's header is its interface, and
// the RPC application makes calls (with increasing ids and budgets of every length), answers
// the calls delivered to it, cancels calls it made, and now and then breaks the interface. The
// lock application (LamportMutex, RicartAgrawala) asks for the group's lock, gives it back once
// granted, withdraws requests that wait, and breaks the interface too.
//
// The application's choices are a function of the trace (each send's `fill`) and of what the
// implementations delivered before (the reference's, which the others matched), so a trace
// replays, and shrinks, to the same messages where the deliveries before them are the same.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "runtime/event.hpp"

namespace lamina::difftest {

class Application {
public:
  virtual ~Application() = default;
  // The message `node` sends to `to` (kAllPeers: the group) in place of the trace's random
  // `payload`; `fill` is the send's seed.
  virtual Msg message(PeerId node, PeerId to, std::uint64_t fill, Msg payload) = 0;
  // The stack at `node` delivered `m` from `from`.
  virtual void delivered(PeerId node, PeerId from, const Msg& m) = 0;
};

// The application for a stack, chosen by the layer just below Top: nullptr where random
// bytes will do.
std::unique_ptr<Application> application_for(std::string_view stack_string);

} // namespace lamina::difftest
