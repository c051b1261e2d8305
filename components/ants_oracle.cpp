// The oracle AntsRun of components/ants_exec.ioa, for the spec simulator: the reference runner
// of components/ants_exec.hpp, which AntsExec uses when no runner is given, so that the spec
// and the C++ stacks run the same capsule code in difftest and `lamina sim`.
#include <span>
#include <vector>

#include "components/ants_exec.hpp"
#include "spec/oracle.hpp"
#include "spec/value.hpp"

namespace lamina {
namespace {

// AntsRun(code: Msg, capsule: Msg, me: Peer, from: Peer): Seq[AntsAction]
spec::Value ants_run(std::span<const spec::Value> args) {
  const Msg capsule = Msg::copy_of(args[1].bytes());
  std::vector<spec::Value> actions;
  for (const AntsAction& a :
       ants_reference_run(args[0].bytes(), capsule, static_cast<PeerId>(args[2].as_int()),
                          static_cast<PeerId>(args[3].as_int())))
    actions.push_back(
        spec::Value::record({spec::Value::integer(a.kind), spec::Value::integer(a.node),
                             spec::Value::msg(a.app()), spec::Value::msg(a.payload())}));
  return spec::Value::seq(std::move(actions));
}

const spec::OracleRegistrar registrar("AntsRun", ants_run);

} // namespace
} // namespace lamina
