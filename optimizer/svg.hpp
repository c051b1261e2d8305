// lamina-opt --svg: a picture of what the collapse found. The stack's layers as boxes, top to
// bottom; beside them each direction's bypass, an arrow over the layers it runs, with the guard's
// terms and the work the delay pass put off at the layer they come from; under them the header
// on the common path, layered (every layer's header, Bottom's first, as on the wire) and
// compressed (the marker and the fields the bypass sends), to scale, with byte counts.
#pragma once

#include <string>

#include "optimizer/collapse.hpp"

namespace lamina::opt {

// A complete SVG 1.1 document (UTF-8, root <svg> in the SVG namespace). `title` heads it
// ("stack ReliableFifo of stacks/fifo/fifo.ioa"), `stack_string` under it; all text escaped.
[[nodiscard]] std::string stack_svg(const Explanation& e, const std::string& title,
                                    const std::string& stack_string);

} // namespace lamina::opt
