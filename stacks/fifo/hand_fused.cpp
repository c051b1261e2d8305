// Registers the hand-fused ReliableFifo with difftest as "hand-fused", as the program starts.
#include "stacks/fifo/hand_fused.hpp"

#include "difftest/fused_stacks.hpp"

namespace {

[[maybe_unused]] const bool registered = [] {
  lamina::difftest::register_fused<lamina::hand::ReliableFifo>("hand-fused");
  return true;
}();

} // namespace
