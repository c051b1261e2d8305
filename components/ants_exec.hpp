// ANTSEXEC: runs each capsule's code, which routes copies of the capsule on and delivers it to
// the application.
//
// Needs AntsCode below, which passes up only capsules whose code is cached, and tells this
// layer what is cached (packets of kinds `installed` and `evicted`). The code runs behind the
// interface CapsuleRunner: on a node, Lua in a sandbox (services/ants); with no runner given,
// the reference runner below, a tiny deterministic script language, which the spec calls as its
// oracle AntsRun, so that the spec and the class run the same code. A run's actions are applied
// in order: a route sends a copy of the capsule, with the application header and payload the
// code gave, toward a node (prev becomes this node; the copy keeps the capsule's TTL, which
// AntsRoute spends); a delivery hands the capsule, with the header and payload given, to the
// application. A run that ends in an error, out of instructions or out of memory is counted,
// for its type too, and the node goes on.
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
  std::uint64_t runs = 0;                           // capsules run
  std::uint64_t routed = 0;                         // copies routed on
  std::uint64_t delivered = 0;                      // capsules delivered to the application
  std::uint64_t errors = 0;                         // runs ended by an error
  std::uint64_t timeouts = 0;                       // runs ended out of instructions
  std::uint64_t memory_hits = 0;                    // runs ended out of memory
  std::uint64_t dropped_no_code = 0;                // capsules whose code is not known here
  std::uint64_t refused = 0; // from above: not a capsule of known code, nor code to pin

  [[nodiscard]] bool ccp_down(const Event&) const { return false; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return false; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    CapsuleHeader h{};
    if (ev.type != EventType::Send || !ev.msg.peek(h)) {
      ++refused;
      return;
    }
    if (h.kind == CapsuleHeader::Kind::installed) {
      io.down(ev);
      return;
    }
    const auto it = code.find(capsule_type(ev.msg));
    if (h.kind != CapsuleHeader::Kind::capsule || !well_formed(h, ev.msg.size()) ||
        it == code.end()) {
      ++refused;
      return;
    }
    run(h, it->second, ev.msg, io.me(), io);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    CapsuleHeader h{};
    if (!ev.msg.peek(h)) return; // AntsCode passes up whole headers only
    const auto t = capsule_type(ev.msg);
    switch (h.kind) {
    case CapsuleHeader::Kind::installed: {
      Msg body = ev.msg.share();
      static_cast<void>(body.drop_front(sizeof(CapsuleHeader))); // it holds a header
      if (runner) runner->install(t, body);
      code.insert_or_assign(Msg::copy_of(t), std::move(body));
      return;
    }
    case CapsuleHeader::Kind::evicted:
      if (runner) runner->uninstall(t);
      if (auto it = code.find(t); it != code.end()) code.erase(it);
      return;
    case CapsuleHeader::Kind::capsule: {
      const auto it = code.find(t);
      if (it == code.end()) {
        ++dropped_no_code;
        return;
      }
      run(h, it->second, ev.msg, ev.peer, io);
      return;
    }
    default:
      return; // AntsCode passes up no other kind
    }
  }

private:
  template <class Ports>
  class Sink final : public CapsuleSink {
  public:
    Sink(AntsExec& layer, const CapsuleHeader& h, PeerId from, Ports& io)
        : layer_(layer), h_(h), from_(from), io_(io) {}
    bool route(PeerId node, std::span<const std::byte> header,
               std::span<const std::byte> payload) override {
      if (header.size() > 0xFFFF) return false;
      CapsuleHeader c = h_;
      c.app_len = static_cast<std::uint16_t>(header.size());
      c.dst = node;
      c.prev = io_.me();
      Event e = Event::send(node, packet(c, header, payload));
      ++layer_.routed;
      io_.down(e);
      return true;
    }
    bool deliver(std::span<const std::byte> header, std::span<const std::byte> payload) override {
      if (header.size() > 0xFFFF) return false;
      CapsuleHeader c = h_;
      c.app_len = static_cast<std::uint16_t>(header.size());
      Event e = Event::deliver(from_, packet(c, header, payload));
      ++layer_.delivered;
      io_.up(e);
      return true;
    }

  private:
    static Msg packet(const CapsuleHeader& c, std::span<const std::byte> header,
                      std::span<const std::byte> payload) {
      Msg m = Msg::copy_of(header);
      m.append(payload);
      m.push(c);
      return m;
    }
    AntsExec& layer_;
    CapsuleHeader h_;
    PeerId from_;
    Ports& io_;
  };

  template <class Ports>
  void run(const CapsuleHeader& h, const Msg& code_of, const Msg& capsule, PeerId from, Ports& io) {
    ++runs;
    // The capsule and its code stay alive while the code runs, whatever it sends.
    const Msg held = capsule.share();
    const Msg prog = code_of.share();
    Sink<Ports> sink(*this, h, from, io);
    AntsAction::Kind end = AntsAction::route;
    if (runner) {
      end = runner->run(capsule_type(held), prog, held, io.me(), from, io.now(), sink);
    } else {
      for (const AntsAction& a : ants_reference_run(prog.bytes(), held, io.me(), from)) {
        if (a.kind == AntsAction::route)
          sink.route(a.node, a.app.bytes(), a.payload.bytes());
        else if (a.kind == AntsAction::deliver)
          sink.deliver(a.app.bytes(), a.payload.bytes());
        else
          end = static_cast<AntsAction::Kind>(a.kind);
      }
    }
    if (end == AntsAction::route || end == AntsAction::deliver) return;
    const auto t = capsule_type(held);
    auto it = failures.find(t);
    if (it == failures.end()) it = failures.emplace(Msg::copy_of(t), 0).first;
    ++it->second;
    if (end == AntsAction::error)
      ++errors;
    else if (end == AntsAction::timeout)
      ++timeouts;
    else
      ++memory_hits;
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::AntsExec, code, failures, runs, routed, delivered, errors, timeouts,
                        memory_hits, dropped_no_code, refused);
