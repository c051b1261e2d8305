// Must not compile: a class without handlers is not a Layer.
#include "components/bottom.hpp"
#include "runtime/stack.hpp"

struct Plain {
  int x = 0;
};
lamina::stack<Plain, lamina::Bottom> broken;
