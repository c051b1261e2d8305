// ANTSEXEC: runs each capsule's code, which routes copies of the capsule on and delivers it to
// the application.
//
// Needs AntsCode below, which passes up only capsules whose code is cached, and tells this
// layer what is cached (packets of kinds `installed` and `evicted`). The code runs behind the
// interface CapsuleRunner: on a node, Lua in a sandbox (services/ants); with no runner given,
// the reference runner of ants_runner.hpp, a tiny deterministic script language, which the spec
// calls as its oracle AntsRun, so that the spec and the class run the same code. What a run did
// is applied in order once it has ended: a route sends a copy of the capsule, with the application
// header and payload the code gave, toward a node (prev becomes this node; the copy keeps the
// capsule's TTL, which AntsRoute spends); a delivery hands the capsule, with the header and payload
// given, to the application. A run that ends in an error, out of instructions or out of memory is
// counted, for its type too, and the node goes on; so is a capsule the runner held back unrun,
// its type over its share of the node's processor (services/ants/lua_runner.hpp).
//
// The application sends a capsule from this node (its origin) by sending it down: its code runs
// here first, as if it had arrived from this node. It gives the node that code first, by
// sending down a packet of kind `installed` (AntsCode pins it).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "components/ants_capsule.hpp"
#include "components/ants_runner.hpp"
#include "runtime/layer.hpp"

namespace lamina {

class AntsExec {
public:
  static constexpr std::string_view name = "AntsExec";

  // AntsExec reads the capsule header in place and writes that of the copies it makes.
  using Header = NoHeader;

  Oracle<CapsuleRunner> runner; // the code's engine; empty: ants_reference_run

  std::map<Msg, Msg, ByteOrder> code;               // the code cached below, by type
  std::map<Msg, std::uint64_t, ByteOrder> failures; // by type: runs ended by an error or a cap
  std::map<Msg, std::uint64_t, ByteOrder> held;     // by type: capsules the runner held back
  std::uint64_t runs = 0;                           // capsules given to the runner
  std::uint64_t routed = 0;                         // copies routed on
  std::uint64_t delivered = 0;                      // capsules delivered to the application
  std::uint64_t errors = 0;                         // runs ended by an error
  std::uint64_t timeouts = 0;                       // runs ended out of instructions
  std::uint64_t memory_hits = 0;                    // runs ended out of memory
  std::uint64_t held_back = 0; // capsules the runner held back unrun: their type over its share
  std::uint64_t dropped_no_code = 0; // capsules whose code is not known here
  std::uint64_t refused = 0;         // from above: not a capsule of known code, nor code to pin

  // The common case: a capsule whose code is cached, run. Going down, it comes from the
  // application (well formed); coming up, AntsCode below has checked it.
  [[nodiscard]] bool ccp_down(const Event& ev) const {
    return ev.type == EventType::Send && well_formed(ev.msg.bytes()) &&
           capsule_header(ev.msg.bytes()).kind == CapsuleHeader::Kind::capsule &&
           code.contains(capsule_type(ev.msg.bytes()));
  }
  [[nodiscard]] bool ccp_up(const Event& ev, const Header&) const {
    return ev.msg.size() >= sizeof(CapsuleHeader) &&
           capsule_header(ev.msg.bytes()).kind == CapsuleHeader::Kind::capsule &&
           code.contains(capsule_type(ev.msg.bytes()));
  }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.type != EventType::Send || ev.msg.size() < sizeof(CapsuleHeader)) {
      ++refused;
      return;
    }
    const CapsuleHeader h = capsule_header(ev.msg.bytes());
    if (h.kind == CapsuleHeader::Kind::installed || h.kind == CapsuleHeader::Kind::route) {
      io.down(ev);
      return;
    }
    const auto t = capsule_type(ev.msg.bytes());
    if (!well_formed(ev.msg.bytes()) || h.kind != CapsuleHeader::Kind::capsule ||
        !code.contains(t)) {
      ++refused;
      return;
    }
    run(h, code.find(t)->second, ev.msg, io.me(), io);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    if (ev.msg.size() < sizeof(CapsuleHeader)) return; // AntsCode passes up whole headers only
    const CapsuleHeader h = capsule_header(ev.msg.bytes());
    const auto t = capsule_type(ev.msg.bytes());
    switch (h.kind) {
    case CapsuleHeader::Kind::installed:
      if (ev.msg.size() > sizeof(CapsuleHeader)) {
        Msg body = ev.msg.share();
        static_cast<void>(body.drop_front(sizeof(CapsuleHeader))); // it holds a header
        if (runner) runner->install(t, body);
        code.insert_or_assign(Msg::copy_of(t), std::move(body));
        return;
      }
      [[fallthrough]]; // code of no bytes is no code: as if evicted
    case CapsuleHeader::Kind::evicted:
      if (runner) runner->uninstall(t);
      if (auto it = code.find(t); it != code.end()) code.erase(it);
      return;
    case CapsuleHeader::Kind::capsule:
      if (!code.contains(t)) {
        ++dropped_no_code;
        return;
      }
      run(h, code.find(t)->second, ev.msg, ev.peer, io);
      return;
    default:
      return; // AntsCode passes up no other kind
    }
  }

private:
  // Runs the code of `capsule`, which came from `from`, and applies what it did: a route sends
  // a copy toward its node (prev becomes this node), a delivery hands one to the application.
  template <class Ports>
  void run(const CapsuleHeader& h, const Msg& code_of, const Msg& capsule, PeerId from, Ports& io) {
    ++runs;
    AntsActions actions = ants_run(runner, code_of, capsule, io.me(), from, io.now());
    for (AntsAction& a : actions) {
      if (a.kind == AntsAction::route) {
        Event e = Event::send(a.node, copy_of(h, a.node, io.me(), a));
        ++routed;
        io.down(e);
      } else if (a.kind == AntsAction::deliver) {
        Event e = Event::deliver(from, copy_of(h, h.dst, h.prev, a));
        ++delivered;
        io.up(e);
      } else if (a.kind == AntsAction::held) {
        count(held, capsule_type(capsule));
        ++held_back;
      } else {
        failed(capsule_type(capsule), a.kind);
      }
    }
  }

  // A copy of the capsule `h` toward `dst`, with the application header and payload of `a`.
  static Msg copy_of(const CapsuleHeader& h, PeerId dst, PeerId prev, AntsAction& a) {
    Msg m = std::move(a.body);
    m.push(CapsuleHeader{CapsuleHeader::kVersion, CapsuleHeader::Kind::capsule, h.ttl, 0, a.app_len,
                         0, h.type, h.src, dst, prev, 0});
    return m;
  }

  // One more for `type` in `by_type`.
  static void count(std::map<Msg, std::uint64_t, ByteOrder>& by_type,
                    std::span<const std::byte> type) {
    auto it = by_type.find(type);
    if (it == by_type.end()) it = by_type.emplace(Msg::copy_of(type), 0).first;
    ++it->second;
  }

  // Counts a run of `type` that ended in `end`: an error, out of instructions or memory.
  void failed(std::span<const std::byte> type, std::uint8_t end) {
    count(failures, type);
    if (end == AntsAction::error)
      ++errors;
    else if (end == AntsAction::timeout)
      ++timeouts;
    else
      ++memory_hits;
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::AntsExec, code, failures, held, runs, routed, delivered, errors,
                        timeouts, memory_hits, held_back, dropped_no_code, refused);
