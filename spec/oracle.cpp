// The process-wide registry of oracle implementations (spec/oracle.hpp).
#include "spec/oracle.hpp"

#include <map>
#include <mutex>
#include <utility>

namespace lamina::spec {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, OracleFn, std::less<>> functions; // entries never move
};

// Built on first use, so that registrars in static objects of any file may run first.
Registry& registry() {
  static Registry r;
  return r;
}

} // namespace

void register_oracle(std::string name, OracleFn fn) {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  r.functions.insert_or_assign(std::move(name), std::move(fn));
}

const OracleFn* find_oracle(std::string_view name) {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  auto it = r.functions.find(name);
  return it == r.functions.end() ? nullptr : &it->second;
}

} // namespace lamina::spec
