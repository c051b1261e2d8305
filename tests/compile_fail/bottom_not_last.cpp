// Must not compile: Bottom is not the last layer.
#include "components/bottom.hpp"
#include "components/retransmit.hpp"
#include "components/top.hpp"
#include "runtime/stack.hpp"

lamina::stack<lamina::Top, lamina::Bottom, lamina::Retransmit> upside_down;
