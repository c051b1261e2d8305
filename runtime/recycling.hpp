// Recycling: an allocator for the nodes of std::map and std::set that a layer fills and empties
// as messages come and go (a table of calls, a reply cache, arrivals out of order), so that once
// warm they take their nodes from a per-thread pool instead of the heap (runtime/pool.hpp). One
// node at a time, of at most 256 bytes, comes from the pool; anything else from ::operator new.
//
//   RecyclingMap<std::uint32_t, Call> calls;   // a std::map, with its nodes recycled
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <new>
#include <set>

#include "runtime/pool.hpp"

namespace lamina {

namespace detail {
inline constexpr std::array<std::uint32_t, 6> kNodeSizes = {32, 64, 96, 128, 192, 256};
struct Nodes;
using NodePool = BlockPool<Nodes, kNodeSizes, 4096>;
} // namespace detail

template <class T>
class Recycling {
public:
  using value_type = T;

  Recycling() = default;
  template <class U>
  explicit(false) Recycling(const Recycling<U>& /*other*/) noexcept {}

  [[nodiscard]] T* allocate(std::size_t n) {
    if constexpr (kPooled) {
      if (n == 1) {
        if (std::byte* b = detail::NodePool::reuse(kClass)) return reinterpret_cast<T*>(b);
        return static_cast<T*>(::operator new(detail::kNodeSizes[kClass]));
      }
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if constexpr (kPooled) {
      if (n == 1) {
        detail::NodePool::give_back(reinterpret_cast<std::byte*>(p), kClass);
        return;
      }
    }
    ::operator delete(p);
  }

  // Every Recycling allocates from the same pools: any frees what another allocated.
  template <class U>
  friend bool operator==(const Recycling& /*a*/, const Recycling<U>& /*b*/) noexcept {
    return true;
  }

private:
  static constexpr std::size_t kClass = detail::NodePool::class_of(sizeof(T));
  static constexpr bool kPooled =
      kClass < detail::NodePool::kClasses && alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__;
};

template <class K, class V>
using RecyclingMap = std::map<K, V, std::less<K>, Recycling<std::pair<const K, V>>>;
template <class K>
using RecyclingSet = std::set<K, std::less<K>, Recycling<K>>;

} // namespace lamina
