// The ANTS soft store: the little state a node keeps for capsule code, a namespace per code type.
//
//   SoftStore store({.entries = 256, .bytes = 64 << 10, .max_age_ns = 60'000'000'000});
//   store.put(type, "route-to-7", "3", now_ns, 5'000'000'000); // false: over the type's quota
//   if (auto v = store.get(type, "route-to-7", now_ns)) use(*v);   // nothing once 5 s have gone
//
// "Soft": an entry lives at most its age (never more than max_age_ns) and may be refused. A type
// sees only its own namespace, and a quota per type, in entries and in key + value bytes, keeps
// any one type from filling the node. Expired entries go lazily (on access to the key) and, when
// a put meets the quota, by a sweep of that type's namespace, whose cost the entry quota bounds.
// Time is always the caller's (now_ns): the store never reads a clock, so that a simulated node
// is a pure function of its inputs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lamina::ants {

// The type of a capsule's code: the SHA-256 of the code.
using CodeType = std::array<std::uint8_t, 32>;

// For hash tables of code types. SHA-256 digests are uniform, but a type is named by a capsule
// before its code is checked, so the hash is keyed with a per-process secret: no one can aim
// many types at one bucket.
struct CodeTypeHash {
  std::size_t operator()(const CodeType& t) const;
};

class SoftStore {
public:
  struct Quota {
    std::size_t entries = 256;                // per code type
    std::size_t bytes = 64 << 10;             // per code type, key + value bytes
    std::int64_t max_age_ns = 60'000'000'000; // the longest an entry lives
  };
  struct Usage {
    std::size_t entries = 0;
    std::size_t bytes = 0; // key + value bytes
  };
  static constexpr std::int64_t max_age = std::numeric_limits<std::int64_t>::max();

  SoftStore() : quota_{} {}
  explicit SoftStore(Quota quota) : quota_(quota) {}

  // Stores `value` under `key` for `type`, to live min(age_ns, max_age_ns) from now_ns
  // (replacing the key's entry). False, and nothing changed, when age_ns <= 0 or when the entry
  // would take the type past its quota even after its expired entries are dropped.
  bool put(const CodeType& type, std::string_view key, std::string_view value, std::int64_t now_ns,
           std::int64_t age_ns = max_age);
  // The value under `key`, if there and not expired; the view lasts until the next change to
  // the store.
  std::optional<std::string_view> get(const CodeType& type, std::string_view key,
                                      std::int64_t now_ns);
  // Drops the key's entry; whether there was one (expired or not).
  bool remove(const CodeType& type, std::string_view key);
  // Drops every entry of `type` (its code is gone).
  void drop(const CodeType& type);
  // Drops every expired entry of every type; how many. Its cost is the number of entries.
  std::size_t sweep(std::int64_t now_ns);

  // What a type holds, and what all types hold, expired entries not yet dropped included.
  [[nodiscard]] Usage usage(const CodeType& type) const;
  [[nodiscard]] Usage total() const { return total_; }
  [[nodiscard]] std::size_t types() const { return spaces_.size(); }
  [[nodiscard]] const Quota& quota() const { return quota_; }

private:
  // Heterogeneous lookup: a string_view finds a std::string key without a copy.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Entry {
    std::string value;
    std::int64_t expires_ns = 0; // gone when now_ns >= expires_ns
  };
  struct Space {
    std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> entries;
    Usage usage;
    // No entry expires before this: a full namespace is searched for expired entries only
    // from then on, so that code that keeps putting into a full store costs one comparison a
    // put, not a walk of its entries.
    std::int64_t earliest_ns = std::numeric_limits<std::int64_t>::max();
  };

  void drop_entry(Space& space, decltype(Space::entries)::iterator it);
  void drop_expired(Space& space, std::int64_t now_ns);

  Quota quota_;
  std::unordered_map<CodeType, Space, CodeTypeHash> spaces_;
  Usage total_;
};

} // namespace lamina::ants
