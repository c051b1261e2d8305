// The Lua sandbox as AntsExec's CapsuleRunner: how an active node runs capsule code.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "components/ants_exec.hpp"
#include "services/ants/sandbox.hpp"

namespace lamina::ants {

// A type whose run ended badly (an error, a spent instruction budget, the memory cap) waits
// before it runs again: 1 ms after one failure, twice as long after each further failure in a
// row, at most 1 s; its capsules that come meanwhile are dropped as failures without running. A
// run that ends well clears the wait. So code that always fails costs the node one budget a
// wait, whatever rate its capsules come at, and the other types keep the processor.
//
// Code that does not fail is held to its share of the processor (share.hpp, with the sandbox's
// Limits::share): every run's budget units are counted for its type, and a capsule of a type
// over its share while other types compete is held back unrun (AntsAction::held, which AntsExec
// counts per type). Both are the runner's, outside the spec, which models the runner as its
// oracle AntsRun.
class LuaRunner final : public CapsuleRunner {
public:
  // What the node knows that capsule code may ask besides the capsule: the next hop toward a
  // node by its routing table (itself when it has none), and how many packets wait to leave.
  struct NodeInfo {
    std::function<PeerId(PeerId)> next_hop;
    std::function<std::uint32_t()> queue_length;
  };

  LuaRunner(Sandbox& sandbox, NodeInfo info)
      : sandbox_(sandbox), info_(std::move(info)), share_(sandbox.limits().share) {}

  // Compiles the code; code that does not compile fails every run of its type, counted.
  void install(std::span<const std::byte> type, const Msg& code) override;
  void uninstall(std::span<const std::byte> type) override;
  AntsActions run(std::span<const std::byte> type, const Msg& code, const Msg& capsule, PeerId me,
                  PeerId from, Time now) override;

  [[nodiscard]] Sandbox& sandbox() { return sandbox_; }
  [[nodiscard]] const ProcessorShare& share() const { return share_; }
  // Capsules dropped unrun because their type was waiting after a failure.
  [[nodiscard]] std::uint64_t suspended() const { return suspended_; }

  static constexpr Duration kFirstWait = std::chrono::milliseconds(1);
  static constexpr Duration kLongestWait = std::chrono::seconds(1);

private:
  struct Penalty {
    Time until{};
    Duration wait{};
  };
  Sandbox& sandbox_;
  NodeInfo info_;
  ProcessorShare share_;
  std::map<CodeType, Penalty> penalties_; // types that failed last time they ran
  std::uint64_t suspended_ = 0;
};

// The type of a capsule, as the sandbox names it.
CodeType code_type(std::span<const std::byte> type);

} // namespace lamina::ants
