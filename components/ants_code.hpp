// ANTSCODE: the code cache, and code loaded on demand from the previous active node.
//
// Needs AntsRoute below (the capsule header, checked). A capsule whose code is cached goes up
// at once. One whose code is not is held (at most `hold` of them, each at most `hold_time`)
// while the node asks the capsule's prev for the code; prev answers from its cache in chunks of
// `chunk` bytes, or says that it does not have it. The code that arrives is cached only if it
// hashes to its type, in a cache of at most `cache_bytes` bytes that evicts the least recently
// used code; then the capsules held for it go up, in the order they came. A request that goes
// unanswered goes again after `retry`, three times at most; a held capsule whose code does not
// come is dropped, and its sender copes, as a TCP sender copes with a lossy network.
//
// The layer above learns what is cached from packets of kinds `installed` (the code, after the
// header) and `evicted`, sent up from this node to itself. The application gives the node the
// code of the capsules it sends by sending an `installed` packet down: that code is pinned,
// never evicted, so that the origin can always answer for it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>

#include "components/ants_capsule.hpp"
#include "runtime/layer.hpp"
#include "runtime/sha256.hpp"

namespace lamina {

class AntsCode {
public:
  static constexpr std::string_view name = "AntsCode";

  // AntsCode reads the capsule header in place; it adds none of its own.
  using Header = NoHeader;

  // TTL of the code-distribution packets it sends.
  static constexpr std::uint8_t kTtl = 64;
  // Times an unanswered request is sent again.
  static constexpr std::uint8_t kTries = 3;

  struct Cached {
    Msg code;
    std::uint64_t used = 0; // the tick of its latest use
    bool pinned = false;    // given by the application: never evicted
    friend bool operator==(const Cached&, const Cached&) = default;
  };
  struct Held {
    PeerId from = 0; // the link it came on
    Msg capsule;
    Time until{}; // dropped then
    friend bool operator==(const Held&, const Held&) = default;
  };
  struct Load {
    PeerId prev = 0;         // asked for the code
    std::uint16_t next = 0;  // the chunk expected next
    std::uint32_t total = 0; // the code's size, from the first chunk; 0: none yet
    Msg got;                 // chunks 0 .. next - 1
    Time until{};            // asked again then
    std::uint8_t tries = 0;  // times asked again
    friend bool operator==(const Load&, const Load&) = default;
  };

  std::uint32_t cache_bytes = 1U << 20;                // parameter: bytes of code cached
  std::uint32_t hold = 64;                             // parameter: capsules held at most
  Duration hold_time = std::chrono::milliseconds(200); // parameter: a held capsule waits this
  Duration retry = std::chrono::milliseconds(50);      // parameter: a request goes again after
  std::uint16_t chunk = 1024;                          // parameter: bytes of code per chunk
  std::uint32_t code_max = 65536;                      // parameter: the largest code loaded

  std::map<Msg, Cached, ByteOrder> cache; // by type
  std::uint64_t cached_bytes = 0;         // of code in the cache
  std::uint64_t tick = 0;                 // counts uses, to find the least recently used
  std::deque<Held> held;                  // capsules waiting for their code, in order
  std::map<Msg, Load, ByteOrder> loads;   // by type: code being loaded
  Time timer_at{};                        // the earliest timer asked for; 0: none
  std::uint64_t hits = 0;                 // capsules whose code was cached
  std::uint64_t misses = 0;               // capsules whose code was not
  std::uint64_t requested = 0;            // requests sent, again or first
  std::uint64_t answered = 0;             // requests answered with code
  std::uint64_t answered_unknown = 0;     // requests for code this node does not have
  std::uint64_t loaded = 0;               // codes loaded and cached
  std::uint64_t evicted = 0;              // codes evicted
  std::uint64_t dropped_bad_code = 0;     // loads that did not hash to their type, or too big
  std::uint64_t dropped_no_code = 0;      // held capsules whose code could not be had
  std::uint64_t dropped_hold_full = 0;    // capsules that found `hold` others waiting
  std::uint64_t dropped_hold_timeout = 0; // held capsules whose code did not come in time
  std::uint64_t dropped_stray = 0;        // chunks and unknowns that answer no request
  std::uint64_t refused = 0;              // from above: not a capsule, nor good code to pin

  // The common case: a capsule going down, or coming up with its code cached.
  [[nodiscard]] bool ccp_down(const Event& ev) const {
    return ev.type == EventType::Send && ev.msg.size() >= sizeof(CapsuleHeader) &&
           capsule_header(ev.msg.bytes()).kind == CapsuleHeader::Kind::capsule;
  }
  [[nodiscard]] bool ccp_up(const Event& ev, const Header&) const {
    return ev.msg.size() >= sizeof(CapsuleHeader) &&
           capsule_header(ev.msg.bytes()).kind == CapsuleHeader::Kind::capsule &&
           cache.contains(capsule_type(ev.msg.bytes()));
  }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.type != EventType::Send || ev.msg.size() < sizeof(CapsuleHeader)) {
      ++refused;
      return;
    }
    const CapsuleHeader h = capsule_header(ev.msg.bytes());
    if (h.kind == CapsuleHeader::Kind::capsule || h.kind == CapsuleHeader::Kind::route) {
      io.down(ev);
      return;
    }
    const auto t = capsule_type(ev.msg.bytes());
    const auto code = ev.msg.bytes().subspan(sizeof(CapsuleHeader));
    if (h.kind != CapsuleHeader::Kind::installed || code.empty() || code.size() > code_max ||
        !sha256_is(code, t)) {
      ++refused;
      return;
    }
    Msg type = Msg::copy_of(t);
    static_cast<void>(ev.msg.drop_front(sizeof(CapsuleHeader))); // it holds a header
    install(h, std::move(type), std::move(ev.msg), true, io);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    if (ev.msg.size() < sizeof(CapsuleHeader)) return; // AntsRoute passes up whole headers only
    const CapsuleHeader h = capsule_header(ev.msg.bytes());
    const auto t = capsule_type(ev.msg.bytes());
    switch (h.kind) {
    case CapsuleHeader::Kind::capsule: {
      if (cache.contains(t)) {
        ++hits;
        cache.find(t)->second.used = ++tick;
        io.up(ev);
        return;
      }
      ++misses;
      if (held.size() >= hold) {
        ++dropped_hold_full;
        return;
      }
      const bool loading = loads.contains(t);
      Msg type = loading ? Msg{} : Msg::copy_of(t);
      const Time now = io.now();
      held.push_back(Held{ev.peer, std::move(ev.msg), now + hold_time});
      arm(now + hold_time, now, io);
      if (!loading) {
        loads.emplace(std::move(type), Load{h.prev, 0, 0, Msg{}, now + retry, 0});
        send(h, CapsuleHeader::Kind::request, 0, h.prev, 0, {}, io);
        ++requested;
        arm(now + retry, now, io);
      }
      return;
    }
    case CapsuleHeader::Kind::request: {
      const auto it = cache.find(t);
      if (it == cache.end()) {
        ++answered_unknown;
        send(h, CapsuleHeader::Kind::unknown, 0, h.src, 0, {}, io);
        return;
      }
      ++answered;
      const Msg& code = it->second.code;
      const std::size_t size = code.size();
      const std::size_t count = (size + chunk - 1) / chunk;
      for (std::size_t i = h.chunk; i < count; ++i) {
        const std::size_t from = i * chunk;
        send(h, CapsuleHeader::Kind::chunk, static_cast<std::uint16_t>(i), h.src,
             static_cast<std::uint32_t>(size),
             code.bytes().subspan(from, std::min<std::size_t>(chunk, size - from)), io);
      }
      return;
    }
    case CapsuleHeader::Kind::chunk: {
      const auto it = loads.find(t);
      if (it == loads.end() || h.src != it->second.prev || h.chunk != it->second.next ||
          (it->second.total != 0 && h.total != it->second.total)) {
        ++dropped_stray;
        return;
      }
      Load& load = it->second;
      if (h.total > code_max) {
        ++dropped_bad_code;
        Msg type = Msg::copy_of(t);
        loads.erase(it);
        drop_held(type);
        return;
      }
      load.got.append(ev.msg.bytes().subspan(sizeof(CapsuleHeader)));
      ++load.next;
      load.total = h.total;
      load.until = io.now() + retry;
      load.tries = 0;
      if (load.got.size() < load.total) return;
      Msg code = std::move(load.got);
      Msg type = Msg::copy_of(t);
      loads.erase(it);
      if (code.size() != h.total || !sha256_is(code.bytes(), type.bytes())) {
        ++dropped_bad_code;
        drop_held(type);
        return;
      }
      ++loaded;
      install(h, std::move(type), std::move(code), false, io);
      return;
    }
    case CapsuleHeader::Kind::unknown: {
      const auto it = loads.find(t);
      if (it == loads.end() || h.src != it->second.prev) {
        ++dropped_stray;
        return;
      }
      Msg type = Msg::copy_of(t);
      loads.erase(it);
      drop_held(type);
      return;
    }
    default:
      return; // AntsRoute passes up no other kind
    }
  }

  template <class Ports>
  void timer(Event& ev, Ports& io) {
    const Time now = ev.time;
    if (timer_at != Time{} && now >= timer_at) timer_at = Time{};
    std::erase_if(held, [&](const Held& x) {
      if (x.until > now) return false;
      ++dropped_hold_timeout;
      return true;
    });
    for (auto it = loads.begin(); it != loads.end();) {
      Load& load = it->second;
      if (load.until > now) {
        ++it;
      } else if (load.tries < kTries && holds(it->first)) {
        ++load.tries;
        load.until = now + retry;
        CapsuleHeader h{};
        std::memcpy(h.type.data(), it->first.data(), h.type.size());
        send(h, CapsuleHeader::Kind::request, load.next, load.prev, 0, {}, io);
        ++requested;
        ++it;
      } else {
        it = loads.erase(it);
      }
    }
    Time next{};
    for (const Held& x : held)
      if (next == Time{} || x.until < next) next = x.until;
    for (const auto& [type, load] : loads)
      if (next == Time{} || load.until < next) next = load.until;
    if (next != Time{}) arm(next, now, io);
  }

private:
  template <class Ports>
  void arm(Time at, Time now, Ports& io) {
    if (timer_at != Time{} && timer_at <= at) return;
    timer_at = at;
    io.set_timer(at - now);
  }

  // Sends a code-distribution packet about the type in `about` to `to`.
  template <class Ports>
  void send(const CapsuleHeader& about, CapsuleHeader::Kind kind, std::uint16_t number, PeerId to,
            std::uint32_t total, std::span<const std::byte> bytes, Ports& io) {
    CapsuleHeader h{
        CapsuleHeader::kVersion, kind, kTtl, 0, 0, number, about.type, io.me(), to, io.me(), total};
    Msg m = Msg::copy_of(bytes);
    m.push(h);
    Event e = Event::send(to, std::move(m));
    io.down(e);
  }

  // Whether a capsule of `type` is held.
  [[nodiscard]] bool holds(const Msg& type) const {
    for (const Held& x : held)
      if (std::ranges::equal(type.bytes(), capsule_type(x.capsule))) return true;
    return false;
  }

  void drop_held(const Msg& type) {
    std::erase_if(held, [&](const Held& x) {
      if (!std::ranges::equal(type.bytes(), capsule_type(x.capsule))) return false;
      ++dropped_no_code;
      return true;
    });
  }

  // Caches `code`, evicting the least recently used unpinned code to make room; tells the
  // layer above; lets the capsules held for it go up.
  template <class Ports>
  void install(const CapsuleHeader& about, Msg type, Msg code, bool pinned, Ports& io) {
    if (auto it = cache.find(type); it != cache.end()) {
      it->second.pinned = it->second.pinned || pinned;
      return;
    }
    while (cached_bytes + code.size() > cache_bytes) {
      auto victim = cache.end();
      for (auto it = cache.begin(); it != cache.end(); ++it)
        if (!it->second.pinned && (victim == cache.end() || it->second.used < victim->second.used))
          victim = it;
      if (victim == cache.end()) break;
      CapsuleHeader h{};
      std::memcpy(h.type.data(), victim->first.data(), h.type.size());
      cached_bytes -= victim->second.code.size();
      cache.erase(victim);
      ++evicted;
      notify(h, CapsuleHeader::Kind::evicted, Msg::with_size(0), io);
    }
    if (cached_bytes + code.size() > cache_bytes) {
      if (pinned)
        ++refused;
      else
        ++dropped_bad_code;
      drop_held(type);
      return;
    }
    cached_bytes += code.size();
    const Msg& kept =
        cache.emplace(type.share(), Cached{std::move(code), ++tick, pinned}).first->second.code;
    notify(about, CapsuleHeader::Kind::installed, kept.share(), io);
    for (auto it = held.begin(); it != held.end();) {
      if (!std::ranges::equal(type.bytes(), capsule_type(it->capsule))) {
        ++it;
        continue;
      }
      Event e = Event::deliver(it->from, std::move(it->capsule));
      it = held.erase(it);
      io.up(e);
    }
  }

  // Tells the layer above of code installed (with the code) or evicted.
  template <class Ports>
  void notify(const CapsuleHeader& about, CapsuleHeader::Kind kind, Msg code, Ports& io) {
    CapsuleHeader h{CapsuleHeader::kVersion,
                    kind,
                    0,
                    0,
                    0,
                    0,
                    about.type,
                    io.me(),
                    io.me(),
                    io.me(),
                    static_cast<std::uint32_t>(code.size())};
    code.push(h);
    Event e = Event::deliver(io.me(), std::move(code));
    io.up(e);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::AntsCode::Cached, code, used, pinned);
BOOST_HANA_ADAPT_STRUCT(lamina::AntsCode::Held, from, capsule, until);
BOOST_HANA_ADAPT_STRUCT(lamina::AntsCode::Load, prev, next, total, got, until, tries);
BOOST_HANA_ADAPT_STRUCT(lamina::AntsCode, cache_bytes, hold, hold_time, retry, chunk, code_max,
                        cache, cached_bytes, tick, held, loads, timer_at, hits, misses, requested,
                        answered, answered_unknown, loaded, evicted, dropped_bad_code,
                        dropped_no_code, dropped_hold_full, dropped_hold_timeout, dropped_stray,
                        refused);
