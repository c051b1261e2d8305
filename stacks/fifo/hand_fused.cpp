// Registers the hand-fused ReliableFifo with difftest as "hand-fused", as the program starts.
#include "stacks/fifo/hand_fused.hpp"

#include "runtime/fused_stacks.hpp"
// The fused ReliableFifo that lamina-opt generates from fifo.ioa, in the build directory.
#include "lamina_repository_stacks_fused_fifo_ReliableFifo.hpp"

// The hand-fused stack serves one stack string; if fifo.ioa's ReliableFifo changes, this fails
// the build rather than let the hand-fused row quietly disappear from difftest and bench.
static_assert(lamina::hand::ReliableFifo::stack_string ==
                  lamina::fused::fifo::ReliableFifo::stack_string,
              "stacks/fifo/hand_fused.hpp serves ReliableFifo as fifo.ioa declared it: bring it "
              "up to date with the stack, its parameters and its stack_string");

namespace {

[[maybe_unused]] const bool registered = [] {
  lamina::register_fused<lamina::hand::ReliableFifo>("hand-fused");
  return true;
}();

} // namespace
