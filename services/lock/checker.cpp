#include "services/lock/checker.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace lamina::lock {
namespace {

double ms(Time t) { return std::chrono::duration<double, std::milli>(t).count(); }

} // namespace

Verdict check(const Run& run, const Expect& expect) {
  Verdict v;
  auto report = [&v](std::uint64_t& kind, std::string what) {
    ++kind;
    v.violations.push_back(std::move(what));
  };
  std::vector<const Entry*> granted;
  std::uint64_t asked_out = 0; // grants and tries taken whose requests went out
  std::uint64_t taken_out = 0; // tries taken whose requests went out
  for (const Entry& e : run.entries) {
    if (e.status == Status::granted) {
      granted.push_back(&e);
      v.longest_wait = std::max(v.longest_wait, e.granted - e.asked);
      asked_out += e.at_once ? 0 : 1;
    } else if (e.status == Status::taken && e.tried) {
      ++v.failures;
      ++v.taken;
      asked_out += e.at_once ? 0 : 1;
      taken_out += e.at_once ? 0 : 1;
      // The request in its way: another member's, asked no later than the refusal, granted with
      // the token named or not granted at all.
      const bool found = std::any_of(run.entries.begin(), run.entries.end(), [&](const Entry& f) {
        return f.node == e.ahead.node && f.node != e.node && f.asked <= e.granted &&
               (f.status != Status::granted || f.token == e.ahead);
      });
      if (!found)
        report(v.unfounded, fmt::format("tries: node {}'s try was taken at {:.3f} ms naming the "
                                        "request ({}, {}), which the run does not have",
                                        e.node, ms(e.granted), e.ahead.stamp, e.ahead.node));
    } else {
      ++v.failures;
      if (expect.healthy)
        report(v.late, fmt::format("liveness: node {} asked at {:.3f} ms and was not "
                                   "granted ({})",
                                   e.node, ms(e.asked), to_string(e.status)));
    }
  }
  v.grants = granted.size();
  std::stable_sort(granted.begin(), granted.end(),
                   [](const Entry* a, const Entry* b) { return a->granted < b->granted; });

  // Safety: each grant comes after every earlier holder gave the lock back.
  const Entry* last_out = nullptr; // of the earlier holders, the one that gave it back last
  for (std::size_t i = 0; i < granted.size(); ++i) {
    const Entry& e = *granted[i];
    if (last_out != nullptr && e.granted < last_out->released)
      report(v.unsafe,
             fmt::format(
                 "safety: node {} was granted at {:.3f} ms while node {} held the lock (granted at "
                 "{:.3f} ms, {})",
                 e.node, ms(e.granted), last_out->node, ms(last_out->granted),
                 last_out->released == Time::max()
                     ? std::string("never given back")
                     : fmt::format("given back at {:.3f} ms", ms(last_out->released))));
    if (last_out == nullptr || e.released > last_out->released) last_out = &e;
    // Order: tokens grow with every grant.
    if (i > 0 && !(granted[i - 1]->token < e.token))
      report(v.disordered,
             fmt::format(
                 "order: node {}'s grant at {:.3f} ms has token ({}, {}), not after the previous "
                 "grant's ({}, {}) to node {}",
                 e.node, ms(e.granted), e.token.stamp, e.token.node, granted[i - 1]->token.stamp,
                 granted[i - 1]->token.node, granted[i - 1]->node));
    if (e.token.node != e.node)
      report(v.disordered, fmt::format("order: node {}'s grant at {:.3f} ms names node {}", e.node,
                                       ms(e.granted), e.token.node));
  }

  if (expect.healthy) {
    if (!run.finished)
      report(v.late, fmt::format("liveness: the run did not finish by {:.3f} ms", ms(run.end)));
    for (const Entry& e : run.entries)
      if ((e.status == Status::granted || e.status == Status::taken) &&
          e.granted - e.asked > expect.bound)
        report(
            v.late,
            fmt::format("liveness: node {} waited {:.3f} ms for the lock{} (asked at {:.3f} ms), "
                        "more than {:.3f} ms",
                        e.node, ms(e.granted - e.asked),
                        e.status == Status::taken ? " to be refused" : "", ms(e.asked),
                        ms(expect.bound)));
  }

  if (v.grants > 0) v.messages_per_entry = static_cast<double>(run.messages) / v.grants;
  const std::uint64_t per_entry = messages_per_entry(run.algorithm, run.nodes);
  if (expect.exact_messages && v.failures == v.taken && run.messages != asked_out * per_entry)
    report(
        v.miscounted,
        fmt::format("messages: {} lock messages for {} entries{}, {:.3f} an entry; {} expected "
                    "({}(n-1), n = {})",
                    run.messages, v.grants,
                    v.taken == 0 ? "" : fmt::format(" and {} tries taken after asking", taken_out),
                    v.messages_per_entry, per_entry, run.algorithm == Algorithm::lamport ? 3 : 2,
                    run.nodes));
  return v;
}

} // namespace lamina::lock
