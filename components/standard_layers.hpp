// The layers Lamina ships, registered by name for stacks built at run time.
#pragma once

#include "runtime/registry.hpp"

namespace lamina {

// A registry holding every layer in components/.
const Registry& standard_layers();

} // namespace lamina
