// BlockPool: blocks of memory of a few fixed sizes, kept for reuse by the thread that frees
// them. Msg's buffers come from one, and the nodes of the maps and sets that a layer changes on
// every message (Recycling, runtime/recycling.hpp) from another: once warm, the common path
// touches no allocator.
//
// A freed block goes on its size's list in the freeing thread, which may not be the thread that
// took it: every block comes from ::operator new, so any thread may keep it, reuse it or free it.
// A list holds at most `kKeep` blocks; beyond that they are freed. When a thread ends, its lists
// are freed, and blocks freed after that (by thread_local or static objects destroyed later) go
// straight back to ::operator delete.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

namespace lamina {

// kSizes: the block sizes, ascending. Tag: one pool per type, so that two pools with the same
// sizes keep their lists apart.
template <class Tag, const auto& kSizes, std::uint32_t kKeep>
class BlockPool {
public:
  static constexpr std::size_t kClasses = kSizes.size();

  // The index of the smallest size that holds `size` bytes; kClasses if none does.
  [[nodiscard]] static constexpr std::size_t class_of(std::size_t size) {
    std::size_t cls = 0;
    while (cls < kClasses && kSizes[cls] < size) ++cls;
    return cls;
  }

  // A kept block of class `cls` (< kClasses), or nullptr if the thread keeps none.
  [[nodiscard]] static std::byte* reuse(std::size_t cls) {
    FreeList& list = state.lists[cls];
    if (list.head == nullptr) return nullptr;
    std::byte* b = list.head;
    std::memcpy(static_cast<void*>(&list.head), b, sizeof(std::byte*));
    --list.count;
    return b;
  }

  // Takes back block `b` of class `cls` (< kClasses; the block has kSizes[cls] bytes).
  static void give_back(std::byte* b, std::size_t cls) {
    FreeList& list = state.lists[cls];
    if (list.count < state.keep) {
      push(list, b);
      return;
    }
    keep_or_free(b, cls);
  }

private:
  // Each list runs through its blocks: the address of the next is in a block's first bytes.
  struct FreeList {
    std::byte* head = nullptr;
    std::uint32_t count = 0;
  };
  // Constant-initialised, so that reaching it checks nothing. `keep` is 0 until the thread first
  // gives a block back (then its Reaper is made), and again once the Reaper has run.
  struct State {
    std::array<FreeList, kClasses> lists{};
    std::uint32_t keep = 0;
    bool ended = false;
  };
  static constinit inline thread_local State state{};

  // Frees the thread's kept blocks when it ends.
  struct Reaper {
    Reaper() = default;
    Reaper(const Reaper&) = delete;
    Reaper& operator=(const Reaper&) = delete;
    ~Reaper() {
      state.keep = 0;
      state.ended = true;
      for (std::size_t cls = 0; cls < kClasses; ++cls)
        while (std::byte* b = reuse(cls)) ::operator delete(b);
    }
  };

  static void push(FreeList& list, std::byte* b) {
    std::memcpy(b, static_cast<const void*>(&list.head), sizeof(std::byte*));
    list.head = b;
    ++list.count;
  }

  // The slow path of give_back(): the thread's first block (its Reaper is made then), a full
  // list, or a thread that has ended.
  [[gnu::noinline, gnu::cold]] static void keep_or_free(std::byte* b, std::size_t cls) {
    if (state.keep == 0 && !state.ended) {
      thread_local Reaper reaper;
      state.keep = kKeep;
      push(state.lists[cls], b);
      return;
    }
    ::operator delete(b);
  }
};

} // namespace lamina
