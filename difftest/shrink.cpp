#include "difftest/shrink.hpp"

#include <algorithm>

namespace lamina::difftest {

namespace {

class Shrinker {
public:
  Shrinker(const StillFails& fails, std::chrono::steady_clock::duration budget, ShrinkStats& stats)
      : fails_(fails), deadline_(std::chrono::steady_clock::now() + budget), stats_(stats) {}

  [[nodiscard]] bool out_of_time() const { return std::chrono::steady_clock::now() > deadline_; }

  bool test(const std::vector<TraceEvent>& candidate) {
    ++stats_.tests;
    return fails_(candidate);
  }

  // ddmin: remove ever smaller chunks while the rest still fails.
  bool remove_chunks(std::vector<TraceEvent>& events) {
    bool changed = false;
    std::size_t chunks = 2;
    while (events.size() >= 2 && !out_of_time()) {
      const std::size_t size = (events.size() + chunks - 1) / chunks;
      bool removed = false;
      for (std::size_t start = 0; start < events.size() && !out_of_time(); start += size) {
        std::vector<TraceEvent> rest(events.begin(),
                                     events.begin() + static_cast<std::ptrdiff_t>(start));
        rest.insert(rest.end(),
                    events.begin() +
                        static_cast<std::ptrdiff_t>(std::min(start + size, events.size())),
                    events.end());
        if (test(rest)) {
          events = std::move(rest);
          removed = changed = true;
          chunks = std::max<std::size_t>(chunks - 1, 2);
          break;
        }
      }
      if (removed) continue;
      if (size == 1) break;
      chunks = std::min(chunks * 2, events.size());
    }
    return changed;
  }

  // Smaller messages and undamaged packets, one event at a time.
  bool simplify(std::vector<TraceEvent>& events) {
    bool changed = false;
    for (std::size_t i = 0; i < events.size() && !out_of_time(); ++i) {
      TraceEvent& e = events[i];
      auto attempt = [&](auto change) {
        const TraceEvent before = e;
        change(e);
        if (e == before) return false;
        if (test(events)) return changed = true;
        e = before;
        return false;
      };
      switch (e.kind) {
      case TraceEvent::Kind::Send:
      case TraceEvent::Kind::Cast:
        if (attempt([](TraceEvent& x) { x.size = 0; })) break;
        while (e.size > 1 && attempt([](TraceEvent& x) { x.size /= 2; })) {
        }
        for (int k = 0; k < 16 && e.size > 0 && attempt([](TraceEvent& x) { x.size -= 1; }); ++k) {
        }
        break;
      case TraceEvent::Kind::Arrive:
        attempt([](TraceEvent& x) { x.damage = {}; });
        break;
      case TraceEvent::Kind::Timer:
        break;
      }
    }
    return changed;
  }

private:
  const StillFails& fails_;
  std::chrono::steady_clock::time_point deadline_;
  ShrinkStats& stats_;
};

} // namespace

std::vector<TraceEvent> shrink(std::vector<TraceEvent> events, const StillFails& fails,
                               std::chrono::steady_clock::duration budget, ShrinkStats& stats) {
  Shrinker s(fails, budget, stats);
  bool changed = true;
  while (changed && !s.out_of_time()) {
    changed = s.remove_chunks(events);
    changed = s.simplify(events) || changed;
  }
  stats.minimal = !s.out_of_time();
  return events;
}

} // namespace lamina::difftest
