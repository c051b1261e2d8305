// PeerTable: a table by peer id that grows on first write, entries never touched reading as T{}.
// Its size is kept beside the entries (one load on every access, not a division), so copies,
// moves and assignments must carry it along with them.
#include <cstdint>
#include <gtest/gtest.h>
#include <map>
#include <rapidcheck/gtest.h>
#include <utility>
#include <vector>

#include "runtime/layer.hpp"

namespace lamina {
namespace {

// What a table should hold: the entries written, and its size (one past the highest peer
// written).
template <class T>
struct Model {
  std::map<PeerId, T> entries;
  std::size_t size = 0;
};

template <class T>
T read(const Model<T>& model, PeerId p) {
  const auto it = model.entries.find(p);
  return it == model.entries.end() ? T{} : it->second;
}

// Also called on moved-from tables, which must read as new.
// NOLINTBEGIN(clang-analyzer-cplusplus.Move)
template <class T>
void agrees(const PeerTable<T>& table, const Model<T>& model) {
  RC_ASSERT(table.size() == model.size);
  RC_ASSERT(static_cast<std::size_t>(std::distance(table.begin(), table.end())) == model.size);
  for (PeerId p = 0; p < model.size + 3; ++p) {
    const T expected = read(model, p);
    RC_ASSERT(table.get(p) == expected);
    RC_ASSERT((table.find(p) != nullptr) == (p < model.size));
    if (table.find(p) != nullptr) RC_ASSERT(*table.find(p) == expected);
  }
}
// NOLINTEND(clang-analyzer-cplusplus.Move)

// Random writes, copies, moves and assignments, on two tables and their models.
template <class T>
void behaves_as_its_model(const rc::Gen<T>& values) {
  PeerTable<T> a;
  PeerTable<T> b;
  Model<T> ma;
  Model<T> mb;
  const auto steps = *rc::gen::inRange(0, 60);
  for (int i = 0; i < steps; ++i) {
    switch (*rc::gen::inRange(0, 6)) {
    case 0: { // a write
      const PeerId p = *rc::gen::inRange<PeerId>(0, 20);
      const T v = *values;
      a[p] = v;
      ma.entries[p] = v;
      ma.size = std::max<std::size_t>(ma.size, p + 1);
      break;
    }
    case 1: {                  // a copy made
      const PeerTable<T> c(a); // NOLINT(performance-unnecessary-copy-initialization): tested
      agrees(c, ma);
      break;
    }
    case 2: { // a move: the moved-from table reads as new
      PeerTable<T> c(std::move(a));
      agrees(c, ma);
      agrees(a, Model<T>{}); // NOLINT(bugprone-use-after-move): it is what is tested
      a = std::move(c);
      break;
    }
    case 3: // copy assignment
      b = a;
      mb = ma;
      break;
    case 4: // move assignment
      b = std::move(a);
      mb = std::exchange(ma, Model<T>{});
      agrees(a, ma); // NOLINT(bugprone-use-after-move): it is what is tested
      break;
    default:
      std::swap(a, b);
      std::swap(ma, mb);
      break;
    }
    agrees(a, ma);
    agrees(b, mb);
    // Equal as tables when every peer reads the same, written or not.
    bool same = true;
    for (PeerId p = 0; p < 20; ++p) same = same && read(ma, p) == read(mb, p);
    RC_ASSERT((a == b) == same);
  }
}

RC_GTEST_PROP(PeerTable, BehavesAsAMapThatReadsUntouchedPeersAsNew, ()) {
  behaves_as_its_model<std::uint32_t>(rc::gen::arbitrary<std::uint32_t>());
}

RC_GTEST_PROP(PeerTable, BehavesAsAMapWhenItsEntriesAreContainers, ()) {
  behaves_as_its_model<std::map<std::uint32_t, std::uint32_t>>(
      rc::gen::container<std::map<std::uint32_t, std::uint32_t>>(
          rc::gen::inRange<std::uint32_t>(0, 4), rc::gen::arbitrary<std::uint32_t>()));
}

} // namespace
} // namespace lamina
