#include "services/ants/share.hpp"

#include <algorithm>
#include <utility>

namespace lamina::ants {

ProcessorShare::ProcessorShare(ShareLimits limits)
    : limits_(limits),
      guaranteed_(static_cast<std::uint64_t>(static_cast<double>(limits.guaranteed_per_s) *
                                             std::chrono::duration<double>(limits.window).count())),
      slot_ns_(limits.window.count() / static_cast<std::int64_t>(kSlots)) {}

void ProcessorShare::rank() {
  first_ = second_ = nullptr;
  for (auto& [type, a] : accounts_) {
    if (!a.competes) continue;
    if (!first_ || a.count > first_->count) {
      second_ = first_;
      first_ = &a;
    } else if (!second_ || a.count > second_->count) {
      second_ = &a;
    }
  }
}

void ProcessorShare::rise(Account* a) {
  if (a == first_) return;
  if (a == second_) {
    if (a->count > first_->count) std::swap(first_, second_);
    return;
  }
  if (!first_) {
    first_ = a;
  } else if (!second_ || a->count > second_->count) {
    second_ = a;
    if (second_->count > first_->count) std::swap(first_, second_);
  }
}

void ProcessorShare::advance(Time now) {
  const std::int64_t slot = std::max<std::int64_t>(now.count(), 0) / slot_ns_;
  if (slot <= slot_) return; // the same slot (or a clock that went back: kept)
  constexpr auto slots = static_cast<std::int64_t>(kSlots);
  const std::int64_t gone = std::min(slot - slot_, slots);
  for (auto it = accounts_.begin(); it != accounts_.end();) {
    Account& a = it->second;
    if (slot - a.last >= slots) { // no capsule for a window
      if (a.competes) --competing_;
      it = accounts_.erase(it);
      continue;
    }
    for (std::int64_t k = 1; k <= gone; ++k) {
      std::uint64_t& units = a.slots[static_cast<std::size_t>((slot_ + k) % slots)];
      a.sum -= units;
      units = 0;
    }
    ++it;
  }
  slot_ = slot;
  rank();
}

ProcessorShare::Account& ProcessorShare::account(const CodeType& type) {
  auto [it, made] = accounts_.try_emplace(type);
  Account& a = it->second;
  a.last = slot_;
  if (made) {
    ++competing_;
    rise(&a);
  } else if (!a.competes) {
    a.competes = true;
    ++competing_;
    rise(&a);
  }
  return a;
}

bool ProcessorShare::admit(const CodeType& type, Time now) {
  if (slot_ns_ <= 0) return true;
  advance(now);
  Account& a = account(type);
  const Account* other = first_ == &a ? second_ : first_;
  const std::uint64_t busiest = other ? other->count : 0;
  if (busiest > guaranteed_ && a.count < busiest - guaranteed_) { // no banking
    a.count = busiest - guaranteed_;
    rise(&a);
  }
  if (competing_ < 2 || a.sum < guaranteed_) return true;
  return a.count < busiest + limits_.lead;
}

void ProcessorShare::spent(const CodeType& type, Time now, std::uint64_t units, bool ok) {
  if (slot_ns_ <= 0) return;
  advance(now);
  Account& a = account(type);
  a.slots[static_cast<std::size_t>(slot_ % static_cast<std::int64_t>(kSlots))] += units;
  a.sum += units;
  a.count += units;
  if (ok) {
    rise(&a);
  } else {
    a.competes = false;
    --competing_;
    if (&a == first_ || &a == second_) rank();
  }
}

std::uint64_t ProcessorShare::used(const CodeType& type) const {
  auto it = accounts_.find(type);
  return it == accounts_.end() ? 0 : it->second.sum;
}

std::uint64_t ProcessorShare::count(const CodeType& type) const {
  auto it = accounts_.find(type);
  return it == accounts_.end() ? 0 : it->second.count;
}

} // namespace lamina::ants
