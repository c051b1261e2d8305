// Must not compile: Seqno needs a reliable channel below it and nothing below provides one.
#include "components/bottom.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "runtime/stack.hpp"

lamina::stack<lamina::Top, lamina::Seqno, lamina::Bottom> unreliable;
