// A stack declared in a spec, as the stack string the runtime's registry builds the C++ stack
// from: `stack S(mtu: u32 := 1400) = Top : Frag(mtu = mtu) : Bottom` gives
// "Top:Frag(mtu=1400):Bottom". This is how the dynamic composition reads its stacks from
// .ioa files.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include "spec/program.hpp"

namespace lamina::spec {

class StackStringError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Stack `name` of `program`, its parameters at their defaults except those in `overrides`
// (integers; Time parameters in nanoseconds). Throws StackStringError for an unknown stack or
// parameter, or a layer argument that is not a constant expression of the parameters.
std::string stack_string(const Program& program, std::string_view name,
                         const std::map<std::string, std::int64_t, std::less<>>& overrides = {});

// The same for stack `name` of the spec file `file`, which is loaded and checked. Throws
// StackStringError with the file's diagnostics, or naming the file and the unknown stack (and
// those it declares) or parameter.
std::string
load_stack_string(const std::string& file, std::string_view name,
                  const std::map<std::string, std::int64_t, std::less<>>& overrides = {});

} // namespace lamina::spec
