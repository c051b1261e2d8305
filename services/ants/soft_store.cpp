#include "services/ants/soft_store.hpp"

#include <cstring>
#include <random>

namespace lamina::ants {

std::size_t CodeTypeHash::operator()(const CodeType& t) const {
  static const std::uint64_t secret = [] {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) | rd();
  }();
  std::uint64_t a = 0, b = 0;
  std::memcpy(&a, t.data(), 8);
  std::memcpy(&b, t.data() + 8, 8);
  // Two rounds of a multiply-xorshift mix over 16 bytes of the digest and the secret.
  std::uint64_t h = (a ^ secret) * 0x9E3779B97F4A7C15ULL;
  h = (h ^ (h >> 29) ^ b) * 0xBF58476D1CE4E5B9ULL;
  return static_cast<std::size_t>(h ^ (h >> 32));
}

void SoftStore::drop_entry(Space& space, decltype(Space::entries)::iterator it) {
  const std::size_t bytes = it->first.size() + it->second.value.size();
  space.usage.entries -= 1;
  space.usage.bytes -= bytes;
  total_.entries -= 1;
  total_.bytes -= bytes;
  space.entries.erase(it);
}

void SoftStore::drop_expired(Space& space, std::int64_t now_ns) {
  if (now_ns < space.earliest_ns) return;
  space.earliest_ns = std::numeric_limits<std::int64_t>::max();
  for (auto it = space.entries.begin(); it != space.entries.end();) {
    auto next = std::next(it);
    if (now_ns >= it->second.expires_ns)
      drop_entry(space, it);
    else
      space.earliest_ns = std::min(space.earliest_ns, it->second.expires_ns);
    it = next;
  }
}

bool SoftStore::put(const CodeType& type, std::string_view key, std::string_view value,
                    std::int64_t now_ns, std::int64_t age_ns) {
  if (age_ns <= 0) return false;
  const std::size_t bytes = key.size() + value.size();
  if (bytes > quota_.bytes || quota_.entries == 0) return false;
  const std::int64_t age = std::min(age_ns, quota_.max_age_ns);
  const std::int64_t expires =
      now_ns > std::numeric_limits<std::int64_t>::max() - age ? max_age : now_ns + age;

  Space& space = spaces_[type];
  auto it = space.entries.find(key);
  // What the namespace would hold with the new entry in place of the old one.
  auto fits = [&] {
    std::size_t entries = space.usage.entries, held = space.usage.bytes;
    if (it != space.entries.end()) {
      entries -= 1;
      held -= it->first.size() + it->second.value.size();
    }
    return entries + 1 <= quota_.entries && held + bytes <= quota_.bytes;
  };
  if (!fits()) {
    drop_expired(space, now_ns);
    it = space.entries.find(key);
    if (!fits()) {
      if (space.entries.empty()) spaces_.erase(type);
      return false;
    }
  }
  space.earliest_ns = std::min(space.earliest_ns, expires);
  if (it == space.entries.end()) {
    space.entries.emplace(std::string(key), Entry{std::string(value), expires});
    space.usage.entries += 1;
    total_.entries += 1;
  } else {
    const std::size_t old = it->first.size() + it->second.value.size();
    it->second.value.assign(value);
    it->second.expires_ns = expires;
    space.usage.bytes -= old;
    total_.bytes -= old;
  }
  space.usage.bytes += bytes;
  total_.bytes += bytes;
  return true;
}

std::optional<std::string_view> SoftStore::get(const CodeType& type, std::string_view key,
                                               std::int64_t now_ns) {
  auto s = spaces_.find(type);
  if (s == spaces_.end()) return std::nullopt;
  auto it = s->second.entries.find(key);
  if (it == s->second.entries.end()) return std::nullopt;
  if (now_ns >= it->second.expires_ns) {
    drop_entry(s->second, it);
    if (s->second.entries.empty()) spaces_.erase(s);
    return std::nullopt;
  }
  return std::string_view(it->second.value);
}

bool SoftStore::remove(const CodeType& type, std::string_view key) {
  auto s = spaces_.find(type);
  if (s == spaces_.end()) return false;
  auto it = s->second.entries.find(key);
  if (it == s->second.entries.end()) return false;
  drop_entry(s->second, it);
  if (s->second.entries.empty()) spaces_.erase(s);
  return true;
}

void SoftStore::drop(const CodeType& type) {
  auto s = spaces_.find(type);
  if (s == spaces_.end()) return;
  total_.entries -= s->second.usage.entries;
  total_.bytes -= s->second.usage.bytes;
  spaces_.erase(s);
}

std::size_t SoftStore::sweep(std::int64_t now_ns) {
  const std::size_t before = total_.entries;
  for (auto s = spaces_.begin(); s != spaces_.end();) {
    drop_expired(s->second, now_ns);
    s = s->second.entries.empty() ? spaces_.erase(s) : std::next(s);
  }
  return before - total_.entries;
}

SoftStore::Usage SoftStore::usage(const CodeType& type) const {
  auto s = spaces_.find(type);
  return s == spaces_.end() ? Usage{} : s->second.usage;
}

} // namespace lamina::ants
