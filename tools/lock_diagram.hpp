// A lock run on SimNet drawn as a Lamport space-time diagram (`lamina lock demo --svg`): a line
// per member, the lock layer's messages as arrows labelled with their kind and Lamport stamp,
// each critical section shaded with its fencing token, and at each grant the order of the
// request queue as the holder knew it.
#pragma once

#include <string>
#include <vector>

#include "difftest/difftest.hpp"
#include "services/common/spacetime_svg.hpp"
#include "services/lock/sim_group.hpp"

namespace lamina::tools {

class LockDiagram {
public:
  // Records the lock messages of `group`, whose stack is `stack` of the spec `file`, from now
  // on. Throws std::runtime_error if the spec does not declare the stack.
  LockDiagram(lock::LockGroup& group, const std::string& file, const std::string& stack);

  // Notes, at a grant, the holder's request queue (call it from LockGroup::on_grant).
  void granted(const lock::Entry& e);

  // The diagram of `run`, which the group ran while recorded.
  [[nodiscard]] viz::Diagram diagram(const lock::Run& run, std::string title) const;

private:
  struct Arrow {
    PeerId from, to;
    Time sent, received;
    std::uint64_t kind, stamp, ref; // ref: 0 where the header has none
  };
  lock::LockGroup& group_;
  difftest::LoadedStack stack_;
  std::string layer_; // LamportMutex or RicartAgrawala
  std::vector<Arrow> arrows_;
  std::vector<viz::Diagram::Note> notes_;
};

} // namespace lamina::tools
