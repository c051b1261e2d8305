// The ANTS node's sandbox: it runs capsule code, Lua 5.4 named by its SHA-256, the way Redis
// and HAProxy run scripts — in a state of its own per code type, with what could reach the host
// removed, and with quotas that end a run rather than the node.
//
//   Sandbox box;
//   std::string why;
//   if (code_type_of(code) == capsule_type && box.install(capsule_type, code, &why) == Outcome::ok)
//     box.run(capsule_type, capsule, node_services, &why);   // any outcome: the node goes on
//
// The code is a chunk that returns the capsule's handler; the handler gets the capsule as a
// table {src, dst, prev, ttl, header, payload} (one table per type, reused: copy what you keep)
// and a global `node` with what ANTS gives capsule code (getAddress, getChannel, time, nextHop,
// queueLength, routeForNode, deliverToApp, put, get, remove, seal, open).
//
// What is contained, and how:
// - No host access: no io, os, debug, package/require, load/loadstring/dofile/loadfile,
//   string.dump, print, warn, coroutine, and collectgarbage only as collectgarbage("count").
//   Source only: install compiles in mode "t". The string metatable is locked (__metatable).
// - Time: an instruction budget per run (count hook), which function calls (8 each), the work of
//   pattern matching (its worst case, estimated and charged before it starts), of the table
//   functions (per element), allocation (8 a new object, 1 per 64 bytes) and the soft store's
//   calls (8, 1 per 64 bytes of key and value) also spend, so that a unit costs about the same
//   time whatever the code does (3 to 10 ns here; docs/ants.md); a spent budget cannot be
//   caught by pcall. A wall-clock guard per run is the last resort for single instructions whose
//   cost grows with the data (comparing two long strings).
// - Memory: one allocator per type with a cap; a hit ends the run (not catchable either), and the
//   type's state is rebuilt from its code if garbage collection cannot bring it under half the
//   cap. No __gc finalizers (setmetatable refuses them): no code runs outside a run.
// - Deep recursion ends on Lua's own stack and C-stack limits, or on the memory cap.
// - Store: the soft store's quotas (soft_store.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "services/ants/share.hpp"
#include "services/ants/soft_store.hpp"

struct lua_State;

namespace lamina::ants {

// libsodium's crypto_hash_sha256 of the code.
CodeType code_type_of(std::span<const std::byte> code);
// The first 8 bytes as hex, for messages.
std::string short_hex(const CodeType& type);

struct CapsuleView { // the capsule as its code sees it
  std::uint32_t src = 0, dst = 0, prev = 0;
  std::uint8_t ttl = 0;
  std::span<const std::byte> header; // the application header
  std::span<const std::byte> payload;
};

// What the node does for capsule code (implemented by the node; the sandbox calls it).
class NodeServices {
public:
  virtual ~NodeServices() = default;
  virtual std::uint32_t address() const = 0; // getAddress
  // getChannel: the neighbour the capsule came from (own address at the origin)
  virtual std::uint32_t channel() const = 0;
  virtual std::int64_t now_ns() const = 0; // time
  // By the routing table; own address if none.
  virtual std::uint32_t next_hop(std::uint32_t node) const = 0;
  // Packets waiting to leave this node (for congestion control).
  virtual std::uint32_t queue_length() const = 0;
  // Sends a copy of the capsule, with this application header and payload, toward `node`;
  // false when the node has no route or the copy's TTL would be spent.
  virtual bool route_for_node(std::uint32_t node, std::span<const std::byte> header,
                              std::span<const std::byte> payload) = 0;
  virtual void deliver_to_app(std::span<const std::byte> header,
                              std::span<const std::byte> payload) = 0;
};

struct Limits {
  std::uint64_t instructions = 100'000; // per run (install's top level included)
  std::size_t memory_bytes = 1 << 20;   // per code type
  std::size_t code_bytes = 64 << 10;    // largest code accepted
  // soft store, per code type:
  std::size_t store_entries = 256;
  std::size_t store_bytes = 64 << 10;
  std::int64_t store_max_age_ns = 60'000'000'000;
  // Wall-clock guard per run, read every 128 instructions; 0: none. Far above what the budget
  // allows honest code, so that it never decides a run a simulation depends on.
  std::int64_t wall_ns = 20'000'000;
  // The processor share among code types, which the node's runner keeps (share.hpp).
  ShareLimits share;
};

enum class Outcome : std::uint8_t {
  ok,
  no_code,
  compile_error,
  runtime_error,
  out_of_instructions,
  out_of_memory
};
std::string_view to_string(Outcome o);

// Per code type; each run that ends badly counts in exactly one of errors (runtime_error),
// timeouts (out_of_instructions) and memory_hits (out_of_memory).
struct TypeCounters {
  std::uint64_t runs = 0, errors = 0, timeouts = 0, memory_hits = 0;
  std::uint64_t rebuilds = 0; // states rebuilt from their code after a memory hit
  std::uint64_t units = 0;    // budget units the type's runs spent, all told
};

class Sandbox {
public:
  explicit Sandbox(Limits limits = {});
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Compiles `code` (Lua 5.4 source text; binary chunks refused) in a fresh restricted state for
  // `type` and runs its top level, which must return a function: the capsule's handler. Returns
  // ok or compile_error / out_of_instructions / out_of_memory, with the message in `*why` if
  // given. A failed install leaves an earlier install of the type in place. Does NOT check the
  // hash (the caller does).
  Outcome install(const CodeType& type, std::span<const std::byte> code,
                  std::string* why = nullptr);
  // Makes a state ready for the next install: created and its restricted environment opened
  // (about 0.1 ms warm, 0.4 ms the first time in a process), so that an install, which a
  // demand load waits for, has only the code to compile. Does nothing if one is ready. A node
  // calls it when it is about to wait for packets.
  void prepare();
  // Compiles and runs a built-in handler once, under a type of its own that is then dropped:
  // the first compile and run in a process are slower than later ones (code, the allocator's
  // memory and libsodium not yet touched; about 0.1 ms more in a node here), and a node calls this
  // at start so that its first demand load does not pay for them. No type is left installed, and
  // the store is not touched.
  void warm_up();
  void uninstall(const CodeType& type); // from within the type's own run: once the run ends
  bool installed(const CodeType& type) const;
  [[nodiscard]] std::size_t types() const { return types_.size(); } // installed (or doomed)
  // Runs the handler of `type` on the capsule. An error, a spent budget or a memory cap hit ends
  // the run, is counted for the type, and the sandbox goes on working for every type. A run of
  // a type from within a run of the same type (the node calling back) is a runtime_error.
  Outcome run(const CodeType& type, const CapsuleView& capsule, NodeServices& node,
              std::string* why = nullptr);
  // Budget units the last run spent (instructions counted by the hook, calls, allocation, the
  // work of the library functions charged), at most the budget: what the run cost the node in
  // the sandbox's own deterministic measure. 0 before any run, and for a run that did not start.
  [[nodiscard]] std::uint64_t last_run_units() const { return last_run_units_; }
  // Zeros for a type not installed.
  const TypeCounters& counters(const CodeType& type) const;
  // Bytes the type's state holds now.
  std::size_t memory_used(const CodeType& type) const;

  // PIP: the node holds the key; capsule code calls node.seal / node.open and never sees it.
  void set_seal_key(std::span<const std::uint8_t, 32> key); // crypto_secretbox key
  SoftStore& store() { return store_; } // shared by all types, namespaced by type
  const Limits& limits() const { return limits_; }

  struct Type; // a code type's state, its accounts and counters (sandbox.cpp)

private:
  Outcome open(Type& t, std::string* why);  // t's state created, its environment opened
  Outcome build(Type& t, std::string* why); // t.code compiled in t's state (opened if need be)
  Outcome rebuild(const CodeType& type);    // after a memory hit

  Limits limits_;
  SoftStore store_;
  std::optional<std::array<std::uint8_t, 32>> seal_key_;
  std::unordered_map<CodeType, std::unique_ptr<Type>, CodeTypeHash> types_;
  std::unique_ptr<Type> spare_; // opened, no code yet: the next install's (prepare())
  std::uint64_t last_run_units_ = 0;
};

} // namespace lamina::ants
