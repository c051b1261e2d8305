// The random traces of difftest: an application that sends and casts messages of random sizes
// (often around the fragmentation boundaries), and a network in the manner of SimNet — delay,
// jitter that reorders, loss, duplication, and now and then a damaged packet — with the timers
// the stack asks for firing when due. A trace is a function of its seed and of what the stack
// does; events come in time order.
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <random>
#include <vector>

#include "difftest/runner.hpp"
#include "difftest/trace.hpp"

namespace lamina::difftest {

struct NetworkOptions {
  Duration delay = std::chrono::milliseconds(1);  // one-way delay of every packet
  Duration jitter = std::chrono::milliseconds(2); // plus up to this much more: reorders packets
  double loss = 0.1;                              // a packet never arrives
  double duplicate = 0.05;                        // a packet arrives twice
  // An arrival is damaged (a flipped byte, or cut short). Unset: 1% for a stack with a layer
  // that provides integrity, else none — a stack without one relies on the transport's
  // checksum (UDP's), and a damaged packet would only fill it with garbage.
  std::optional<double> corrupt;
  Duration send_gap = std::chrono::microseconds(1000); // mean time between application sends
  double cast = 0.1;                                   // of application sends: casts to the group
  std::uint32_t mtu = 1400;                            // sizes cluster around multiples of it
};

class TraceGenerator {
public:
  TraceGenerator(std::uint64_t seed, std::uint32_t nodes, const NetworkOptions& options);

  // The next event, in time order.
  TraceEvent next();
  // Learns what the reference implementation did with the event just run: the packets it put
  // on the network (each given its fate; the runner is told how many arrivals to keep it for)
  // and the timers it set.
  void observe(Lockstep& run);

private:
  struct Scheduled {
    TraceEvent event;
    std::uint64_t seq;
    friend bool operator>(const Scheduled& a, const Scheduled& b) {
      return a.event.at != b.event.at ? a.event.at > b.event.at : a.seq > b.seq;
    }
  };

  void schedule(const TraceEvent& e);
  void schedule_application(Time after);
  [[nodiscard]] double uniform(); // [0, 1)
  [[nodiscard]] std::uint64_t below(std::uint64_t n);
  [[nodiscard]] std::uint32_t message_size();

  std::mt19937_64 rng_;
  std::uint32_t nodes_;
  NetworkOptions o_;
  Time now_{};
  std::uint64_t seq_ = 0;
  std::priority_queue<Scheduled, std::vector<Scheduled>, std::greater<>> queue_;
};

} // namespace lamina::difftest
