// How an ANTS node runs capsule code (components/ants_exec.hpp): the interface CapsuleRunner,
// which the spec models as its oracle AntsRun, and the reference runner that the spec and the
// C++ stacks share in difftest.
#pragma once

#include <algorithm>
#include <array>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <optional>
#include <span>

#include "components/ants_capsule.hpp"
#include "runtime/event.hpp"
#include "runtime/layer.hpp"

namespace lamina {

// What a capsule's code did, in order: route a copy toward `node` (kind 0), deliver (1); or
// end in an error (2), out of instructions (3) or out of memory (4), always last. Or the runner
// did not run it (5, held, alone): its type was over its share of the node's processor. A route
// or a delivery carries the copy's application header and payload, one after the other in
// `body`.
struct AntsAction {
  enum Kind : std::uint8_t { route = 0, deliver = 1, error = 2, timeout = 3, memory = 4, held = 5 };
  std::uint8_t kind = route;
  PeerId node = 0;
  std::uint16_t app_len = 0; // bytes of `body` that are the application header
  Msg body;                  // the application header, then the payload

  // A route or a delivery; none (nullopt) if the application header is over 65535 bytes.
  static std::optional<AntsAction> copy(std::uint8_t kind, PeerId node,
                                        std::span<const std::byte> app,
                                        std::span<const std::byte> payload) {
    if (app.size() > 0xFFFF) return std::nullopt;
    Msg body = Msg::copy_of(app);
    body.append(payload);
    return AntsAction{kind, node, static_cast<std::uint16_t>(app.size()), std::move(body)};
  }
  [[nodiscard]] std::span<const std::byte> app() const { return body.bytes().first(app_len); }
  [[nodiscard]] std::span<const std::byte> payload() const { return body.bytes().subspan(app_len); }
  friend bool operator==(const AntsAction&, const AntsAction&) = default;
};

// What a run did, in order. Nearly every run does one or two things: they are held in place, so
// that a run allocates nothing to say what it did.
using AntsActions = boost::container::small_vector<AntsAction, 2>;

// Runs capsule code: what the spec calls the oracle AntsRun.
class CapsuleRunner {
public:
  virtual ~CapsuleRunner() = default;
  virtual void install(std::span<const std::byte> type, const Msg& code) = 0;
  virtual void uninstall(std::span<const std::byte> type) = 0;
  // Runs the code of `type` on `capsule` (header included), arrived from `from`: what it did,
  // in order (a run that ends badly ends with an action of kind error, timeout or memory).
  virtual AntsActions run(std::span<const std::byte> type, const Msg& code, const Msg& capsule,
                          PeerId me, PeerId from, Time now) = 0;
};

// The reference runner: code is a script of one-byte instructions, at most the first 16 run.
// Of a byte b, b & 7 is the operation and b >> 3 its argument a:
//   0  route toward the capsule's dst          1  route toward node a
//   2  deliver to the application              3  route toward the capsule's src
//   4  end in an error   5  end out of instructions   6  end out of memory
//   7  append this node and `from` (their low bytes) to the application header
// except that 6 with a > 0 as the first instruction is a capsule held back unrun, as a node's
// runner holds back the capsules of a type over its share. A route or delivery carries the
// application header and payload as they are at that point.
inline AntsActions ants_reference_run(std::span<const std::byte> code, const Msg& capsule,
                                      PeerId me, PeerId from) {
  CapsuleHeader h{};
  AntsActions out;
  if (!capsule.peek(h)) return out;
  const auto rest = capsule.bytes().subspan(sizeof(CapsuleHeader));
  Msg header = Msg::copy_of(rest.first(std::min<std::size_t>(h.app_len, rest.size())));
  const std::span<const std::byte> payload = rest.subspan(header.size());
  const auto act = [&](std::uint8_t kind, PeerId node) {
    if (kind > AntsAction::deliver) {
      out.push_back(AntsAction{kind, 0, 0, Msg{}});
    } else if (auto a = AntsAction::copy(kind, node, header.bytes(), payload)) {
      out.push_back(std::move(*a));
    }
  };
  for (std::size_t i = 0; i < std::min<std::size_t>(code.size(), 16); ++i) {
    const auto b = static_cast<std::uint8_t>(code[i]);
    const PeerId arg = b >> 3;
    switch (b & 7) {
    case 0:
      act(AntsAction::route, h.dst);
      break;
    case 1:
      act(AntsAction::route, arg);
      break;
    case 2:
      act(AntsAction::deliver, 0);
      break;
    case 3:
      act(AntsAction::route, h.src);
      break;
    case 4:
      act(AntsAction::error, 0);
      return out;
    case 5:
      act(AntsAction::timeout, 0);
      return out;
    case 6:
      act(i == 0 && arg > 0 ? AntsAction::held : AntsAction::memory, 0);
      return out;
    default: {
      const std::array<std::byte, 2> path{static_cast<std::byte>(me), static_cast<std::byte>(from)};
      header.append(path);
    }
    }
  }
  return out;
}

// What a capsule's code does: run by `runner`, or with none, by the reference runner.
inline AntsActions ants_run(Oracle<CapsuleRunner>& runner, const Msg& code, const Msg& capsule,
                            PeerId me, PeerId from, Time now) {
  if (runner) return runner->run(capsule_type(capsule), code, capsule, me, from, now);
  return ants_reference_run(code.bytes(), capsule, me, from);
}

} // namespace lamina
