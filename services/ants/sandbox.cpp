#include "services/ants/sandbox.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <lua.hpp>
#include <sodium.h>
#include <stdexcept>
#include <vector>

#include "runtime/sha256.hpp"

// Lua is C: an error is a longjmp, which skips C++ destructors. So no C++ object with a
// destructor lives across a call that may raise (every lua_push* that allocates, luaL_check*,
// luaL_error), and no C++ exception leaves a function Lua calls: each call into the node or the
// store is wrapped, and a failure is raised as a Lua error once the C++ scope is closed.

namespace lamina::ants {

namespace {

constexpr int hook_every = 128;            // instructions between count hooks
constexpr std::int64_t call_cost = 8;      // budget units a function call (Lua or C) spends
constexpr std::size_t bytes_per_unit = 64; // allocated bytes per budget unit
constexpr std::int64_t object_cost = 8;    // budget units a new object spends (malloc, GC)
constexpr std::int64_t store_cost = 8;     // budget units a call into the soft store spends
constexpr double steps_per_unit = 4;       // estimated pattern-matching steps per budget unit

const char* const budget_message = "instruction budget spent";

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::span<const std::byte> bytes_of(const char* s, std::size_t n) {
  return {reinterpret_cast<const std::byte*>(s), n};
}

} // namespace

struct Sandbox::Type {
  CodeType code_type{};
  std::string code;
  Limits limits;
  SoftStore* store = nullptr;
  const std::optional<std::array<std::uint8_t, 32>>* seal_key = nullptr;
  lua_State* L = nullptr;

  // The allocator's account.
  std::size_t used = 0;
  std::uint64_t refusals = 0;
  // This run's.
  std::int64_t budget = 0;
  bool budget_spent = false;
  bool out_of_memory = false;   // a memory error happened (Lua's, or one this file raised)
  std::int64_t deadline_ns = 0; // wall-clock guard: set at the run's first count hook
  NodeServices* node = nullptr;
  bool running = false, doomed = false;

  int call = LUA_NOREF; // call_handler's closure, in the registry
  TypeCounters counters;

  ~Type() {
    if (L) lua_close(L);
  }
  void arm() {
    budget = static_cast<std::int64_t>(std::min<std::uint64_t>(limits.instructions, INT64_MAX));
    budget_spent = false;
    out_of_memory = false;
    deadline_ns = 0;
  }
  // Budget units spent since arm(), at most the budget (a run that ends spent overdraws it).
  std::uint64_t spent() const {
    const auto full =
        static_cast<std::int64_t>(std::min<std::uint64_t>(limits.instructions, INT64_MAX));
    return budget <= 0 ? static_cast<std::uint64_t>(full)
                       : static_cast<std::uint64_t>(full - budget);
  }
  Outcome outcome(int status) const {
    if (status == LUA_OK) return Outcome::ok;
    if (status == LUA_ERRMEM || out_of_memory) return Outcome::out_of_memory;
    if (budget_spent) return Outcome::out_of_instructions;
    return Outcome::runtime_error;
  }
};

namespace {

using Type = Sandbox::Type;

Type* type_of(lua_State* L) { return *static_cast<Type**>(lua_getextraspace(L)); }

// ---- allocation: a cap per type, and allocation spends budget ----------------------------

void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* t = static_cast<Type*>(ud);
  const std::size_t old = ptr ? osize : 0; // without ptr, osize is the kind of object
  if (nsize == 0) {
    std::free(ptr);
    t->used -= old;
    return nullptr;
  }
  if (nsize > old) {
    if (nsize - old > t->limits.memory_bytes - t->used) {
      t->refusals += 1; // Lua collects garbage and asks again, or raises a memory error
      return nullptr;
    }
    t->budget -= static_cast<std::int64_t>((nsize - old) / bytes_per_unit);
    if (!ptr) t->budget -= object_cost;
  }
  void* p = std::realloc(ptr, nsize);
  if (p) t->used = t->used - old + nsize;
  return p;
}

// ---- the budget ---------------------------------------------------------------------------

void hook(lua_State* L, lua_Debug* ar);

// Ends the run. From here on every instruction and call raises again (the hook at count 1), so
// that nothing after a pcall that caught the error gets anywhere.
[[noreturn]] void spend(lua_State* L, Type* t, const char* message) {
  t->budget_spent = true;
  lua_sethook(L, hook, LUA_MASKCOUNT | LUA_MASKCALL, 1);
  luaL_error(L, "%s", message);
  std::abort(); // not reached: luaL_error does not return
}

void hook(lua_State* L, lua_Debug* ar) {
  Type* t = type_of(L);
  if (t->budget_spent) spend(L, t, budget_message);
  if (ar->event == LUA_HOOKCOUNT) {
    t->budget -= hook_every;
    if (t->limits.wall_ns > 0) {
      const std::int64_t now = monotonic_ns();
      if (t->deadline_ns == 0)
        t->deadline_ns = now + t->limits.wall_ns;
      else if (now > t->deadline_ns)
        spend(L, t, "the run's wall-clock guard expired");
    }
  } else {
    t->budget -= call_cost;
  }
  if (t->budget < 0) spend(L, t, budget_message);
}

// Work done inside a C function, paid for before it is done.
void charge(lua_State* L, double units) {
  Type* t = type_of(L);
  if (!(units < static_cast<double>(t->budget))) spend(L, t, budget_message);
  t->budget -= static_cast<std::int64_t>(units);
}

// Calls upvalue 1 with this function's arguments and returns what it returns.
int forward(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// ---- the base library ---------------------------------------------------------------------

// pcall and xpcall that cannot catch the end of a run: a spent budget or a memory error goes on
// up to the sandbox.
int rethrow_if_final(lua_State* L, int status) {
  Type* t = type_of(L);
  if (status == LUA_ERRMEM) t->out_of_memory = true;
  if (status != LUA_OK && (t->budget_spent || t->out_of_memory)) return lua_error(L);
  return 0;
}

int safe_pcall(lua_State* L) {
  luaL_checkany(L, 1);
  const int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  rethrow_if_final(L, status);
  luaL_checkstack(L, 1, nullptr);
  lua_pushboolean(L, status == LUA_OK);
  lua_insert(L, 1);
  return lua_gettop(L);
}

// The message handler of xpcall, when the budget is spent: an error raised by the hook calls
// the handler from inside the hook, where hooks are off, so the code's handler is not called.
int guarded_handler(lua_State* L) {
  Type* t = type_of(L);
  if (t->budget_spent || t->out_of_memory) return 1; // the error as it is
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

int safe_xpcall(lua_State* L) {
  const int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, guarded_handler, 1);
  lua_replace(L, 2);
  // (f, handler, args...) -> (handler, f, args...)
  lua_pushvalue(L, 1);
  lua_copy(L, 2, 1);
  lua_replace(L, 2);
  const int status = lua_pcall(L, n - 2, LUA_MULTRET, 1);
  rethrow_if_final(L, status);
  lua_pushboolean(L, status == LUA_OK);
  lua_replace(L, 1);
  return lua_gettop(L);
}

// setmetatable without __gc: a finalizer would run Lua code whenever the collector ran, outside
// any run's budget (even in lua_close).
int safe_setmetatable(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const int kind = lua_type(L, 2);
  luaL_argexpected(L, kind == LUA_TNIL || kind == LUA_TTABLE, 2, "nil or table");
  if (kind == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL) return luaL_error(L, "__gc metamethods are not allowed");
    lua_pop(L, 1);
  }
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
    return luaL_error(L, "cannot change a protected metatable");
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

// Only "count": collecting costs time in proportion to the heap and is no instruction.
int safe_collectgarbage(lua_State* L) {
  const char* what = luaL_optstring(L, 1, "count");
  if (std::strcmp(what, "count") != 0)
    return luaL_error(L, "collectgarbage: only \"count\" is allowed");
  lua_pushnumber(L, static_cast<lua_Number>(type_of(L)->used) / 1024);
  return 1;
}

// ---- the string library -------------------------------------------------------------------

enum class PatternUse : lua_Integer { find, match, gmatch, gsub };

// The end of the set that starts at p[i] == '[', as Lua's matcher reads it.
std::size_t set_end(std::string_view p, std::size_t i) {
  std::size_t j = i + 1;
  if (j < p.size() && p[j] == '^') ++j;
  do {
    if (j >= p.size()) return p.size(); // malformed: the matcher raises
    if (p[j++] == '%' && j < p.size()) ++j;
  } while (j < p.size() && p[j] != ']');
  return j + 1;
}

// Whether Lua's matcher may take byte c for the class letter l (%a, %d, ...), as lstrlib does.
bool class_matches(unsigned char c, char l) {
  bool yes = false;
  switch (std::tolower(static_cast<unsigned char>(l))) {
  case 'a':
    yes = std::isalpha(c);
    break;
  case 'c':
    yes = std::iscntrl(c);
    break;
  case 'd':
    yes = std::isdigit(c);
    break;
  case 'g':
    yes = std::isgraph(c);
    break;
  case 'l':
    yes = std::islower(c);
    break;
  case 'p':
    yes = std::ispunct(c);
    break;
  case 's':
    yes = std::isspace(c);
    break;
  case 'u':
    yes = std::isupper(c);
    break;
  case 'w':
    yes = std::isalnum(c);
    break;
  case 'x':
    yes = std::isxdigit(c);
    break;
  default:
    return static_cast<unsigned char>(l) == c; // an escaped character
  }
  return std::isupper(static_cast<unsigned char>(l)) ? !yes : yes;
}

// One item of a pattern, as Lua's matcher steps through them.
struct PatternItem {
  enum Kind : std::uint8_t { single, zero_width, scan, end } kind = single;
  std::size_t from = 0, to = 0; // single: the class, p[from, to)
  char quantifier = 0;          // single: * + - ? or 0
};

bool single_matches(std::string_view p, const PatternItem& item, unsigned char c) {
  switch (p[item.from]) {
  case '.':
    return true;
  case '%':
    return item.from + 1 < p.size() && class_matches(c, p[item.from + 1]);
  case '[': {
    const std::size_t close = item.to - 1; // the ']'
    std::size_t i = item.from + 1;
    const bool negated = i < close && p[i] == '^';
    if (negated) ++i;
    for (; i < close; ++i) {
      if (p[i] == '%' && i + 1 < close) {
        if (class_matches(c, p[++i])) return !negated;
      } else if (i + 2 < close && p[i + 1] == '-') {
        if (static_cast<unsigned char>(p[i]) <= c && c <= static_cast<unsigned char>(p[i + 2]))
          return !negated;
        i += 2;
      } else if (static_cast<unsigned char>(p[i]) == c) {
        return !negated;
      }
    }
    return negated;
  }
  default:
    return static_cast<unsigned char>(p[item.from]) == c;
  }
}

std::vector<PatternItem> items_of(std::string_view p, std::size_t i) {
  std::vector<PatternItem> items;
  while (i < p.size()) {
    const char c = p[i];
    PatternItem item;
    if (c == '(' || c == ')') {
      item.kind = PatternItem::zero_width, ++i;
    } else if (c == '$' && i + 1 == p.size()) {
      item.kind = PatternItem::end, ++i;
    } else if (c == '%' && i + 1 < p.size() && p[i + 1] == 'b') {
      item.kind = PatternItem::scan, i += 4;
    } else if (c == '%' && i + 1 < p.size() && p[i + 1] == 'f') {
      item.kind = PatternItem::zero_width;
      i = i + 2 < p.size() && p[i + 2] == '[' ? set_end(p, i + 2) : i + 2;
    } else if (c == '%' && i + 1 < p.size() && p[i + 1] >= '0' && p[i + 1] <= '9') {
      item.kind = PatternItem::scan, i += 2;
    } else {
      item.from = i;
      i = c == '%' ? std::min(i + 2, p.size()) : c == '[' ? set_end(p, i) : i + 1;
      item.to = i;
      if (i < p.size() && (p[i] == '*' || p[i] == '+' || p[i] == '-' || p[i] == '?'))
        item.quantifier = p[i++];
    }
    items.push_back(item);
  }
  return items;
}

// An upper bound on the steps of Lua's backtracking matcher for pattern p on subject s, by the
// subject's own bytes: W_j(x), the work of the pattern from item j at subject position x, is 1
// plus, for a single class, W_{j+1}(x + 1) if it takes s[x]; for a * or - quantifier, the run r
// of bytes it takes plus the sum of W_{j+1} over x .. x + r (every length is tried); for %b and
// back references, a scan to the end and the worst continuation. Each run of a class ends where
// the run from x + 1 ends, so the sums come from the right without subtraction (no
// cancellation in doubles). The total is over every start from `first` (that one alone when
// anchored). Lua stops at the first match: stopping is not counted, so this is an upper bound.
double pattern_steps(std::string_view s, std::size_t first, std::string_view p,
                     bool anchored_allowed, bool plain) {
  const auto n = s.size();
  if (plain) return (static_cast<double>(n) + 1) * (static_cast<double>(p.size()) + 1);
  const bool anchored = anchored_allowed && !p.empty() && p[0] == '^';
  const std::vector<PatternItem> items = items_of(p, anchored ? 1 : 0);
  constexpr double ceiling = 1e250; // keeps sums finite
  std::vector<double> next(n + 2, 1), cur(n + 2, 0);
  for (auto item = items.rbegin(); item != items.rend(); ++item) {
    switch (item->kind) {
    case PatternItem::zero_width:
      for (std::size_t x = 0; x <= n; ++x) cur[x] = 1 + next[x];
      break;
    case PatternItem::end:
      std::fill(cur.begin(), cur.end(), 1.0);
      break;
    case PatternItem::scan: {
      double worst = 0;
      for (std::size_t x = n + 1; x-- > 0;) {
        worst = std::max(worst, next[x]);
        cur[x] = std::min(ceiling, 1 + static_cast<double>(n - x) + worst);
      }
      break;
    }
    case PatternItem::single: {
      const char q = item->quantifier;
      double run = 0, sum = next[n]; // of the run from x + 1: its length, and next over it
      cur[n] = 1 + next[n];          // at the end no class takes a byte
      for (std::size_t x = n; x-- > 0;) {
        const bool takes = single_matches(p, *item, static_cast<unsigned char>(s[x]));
        const double after = takes ? next[x + 1] : 0;
        double w = 1;
        if (q == 0)
          w += after;
        else if (q == '?')
          w += next[x] + after;
        else {
          const double run_here = takes ? run + 1 : 0;
          const double sum_here = next[x] + (takes ? sum : 0); // next over x .. x + run_here
          w += run_here + (q == '+' ? (takes ? sum : 0) : sum_here);
          run = run_here, sum = std::min(ceiling, sum_here);
        }
        cur[x] = std::min(ceiling, w);
      }
      if (q == '*' || q == '-' || q == '?') cur[n] = 1 + next[n];
      break;
    }
    }
    std::swap(cur, next);
  }
  if (anchored) return next[first];
  double total = 0;
  for (std::size_t x = first; x <= n; ++x) total = std::min(ceiling, total + next[x]);
  return total;
}

// find, match, gmatch, gsub: the matcher's worst case is charged before it starts, so that a
// pattern that could backtrack past the budget is refused at once (it cannot be interrupted).
int bounded_pattern(lua_State* L) {
  std::size_t ns = 0, np = 0;
  luaL_checklstring(L, 1, &ns);
  const char* p = luaL_checklstring(L, 2, &np);
  const auto use = static_cast<PatternUse>(lua_tointeger(L, lua_upvalueindex(2)));
  const bool plain = use == PatternUse::find && lua_toboolean(L, 4);
  const char* s = lua_tostring(L, 1);
  // Where matching starts: init (argument 3) as lstrlib reads it; gsub starts at the start.
  std::size_t first = 0;
  if (use != PatternUse::gsub) {
    const lua_Integer init = luaL_optinteger(L, 3, 1);
    const auto len = static_cast<lua_Integer>(ns);
    const lua_Integer at = init > 0 ? init : init == 0 || init < -len ? 1 : len + init + 1;
    first = static_cast<std::size_t>(std::min(at - 1, len));
  }
  // The bound walks the subject once per item: that is paid for first.
  charge(L, static_cast<double>(ns + 1) * static_cast<double>(np + 1) / steps_per_unit);
  double steps = 0;
  bool bounded = true;
  try {
    steps = pattern_steps({s, ns}, first, {p, np}, use != PatternUse::gmatch, plain);
  } catch (...) {
    bounded = false; // no memory for the bound: no match
  }
  if (!bounded) return luaL_error(L, "pattern: no memory to bound the match");
  charge(L, steps / steps_per_unit);
  return forward(L);
}

// string.rep without its two ways to stall: a result over the memory cap is refused before it is
// built, and an empty result takes no loop (Lua's loops n times even for "").
int bounded_rep(lua_State* L) {
  std::size_t l = 0, lsep = 0;
  const char* s = luaL_checklstring(L, 1, &l);
  const lua_Integer n = luaL_checkinteger(L, 2);
  const char* sep = luaL_optlstring(L, 3, "", &lsep);
  if (n <= 0 || l + lsep == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  Type* t = type_of(L);
  const double total = static_cast<double>(n) * static_cast<double>(l) +
                       static_cast<double>(n - 1) * static_cast<double>(lsep);
  if (total > static_cast<double>(t->limits.memory_bytes)) {
    t->out_of_memory = true;
    return luaL_error(L, "string.rep: the result would pass the memory cap");
  }
  const auto size = static_cast<std::size_t>(total);
  luaL_Buffer b;
  char* out = luaL_buffinitsize(L, &b, size);
  // One copy of s (and sep), then the result so far doubled: log2(n) copies, not n.
  std::memcpy(out, s, l);
  std::size_t done = l;
  if (n > 1 && lsep > 0) {
    std::memcpy(out + done, sep, lsep);
    done += lsep;
  }
  while (done < size) {
    const std::size_t take = std::min(done, size - done);
    std::memcpy(out + done, out, take);
    done += take;
  }
  luaL_pushresultsize(&b, size);
  return 1;
}

// ---- the table library --------------------------------------------------------------------

// The table functions loop in C over ranges the caller names (table.move(t, 1, 1e15, 1) walks
// 1e15 nils) or that __len reports, so: plain tables only, and every element is paid for.
void plain_table(lua_State* L, int arg) {
  luaL_checktype(L, arg, LUA_TTABLE);
  if (lua_getmetatable(L, arg))
    luaL_error(L, "bad argument #%d: the table functions take tables without metatables", arg);
}

double span_of(lua_Integer first, lua_Integer last) {
  return last < first ? 0 : static_cast<double>(last) - static_cast<double>(first) + 1;
}

int bounded_insert(lua_State* L) {
  plain_table(L, 1);
  double cost = 1;
  if (lua_gettop(L) >= 3) {
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, 1));
    cost += span_of(luaL_checkinteger(L, 2), n);
  }
  charge(L, cost);
  return forward(L);
}

int bounded_remove(lua_State* L) {
  plain_table(L, 1);
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, 1));
  charge(L, 1 + (lua_isnoneornil(L, 2) ? 0 : span_of(luaL_checkinteger(L, 2), n)));
  return forward(L);
}

int bounded_move(lua_State* L) {
  plain_table(L, 1);
  if (!lua_isnoneornil(L, 5)) plain_table(L, 5);
  charge(L, 1 + span_of(luaL_checkinteger(L, 2), luaL_checkinteger(L, 3)));
  return forward(L);
}

// concat (t, sep, i, j) and unpack (t, i, j): `first` is the argument i's index.
double range_cost(lua_State* L, int first) {
  plain_table(L, 1);
  const lua_Integer i = luaL_optinteger(L, first, 1);
  const lua_Integer j = lua_isnoneornil(L, first + 1) ? static_cast<lua_Integer>(lua_rawlen(L, 1))
                                                      : luaL_checkinteger(L, first + 1);
  return 1 + span_of(i, j);
}

int bounded_concat(lua_State* L) {
  charge(L, range_cost(L, 3));
  return forward(L);
}

int bounded_unpack(lua_State* L) {
  charge(L, range_cost(L, 2));
  return forward(L);
}

int bounded_sort(lua_State* L) {
  plain_table(L, 1);
  const auto n = static_cast<double>(lua_rawlen(L, 1));
  charge(L, 1 + n * std::log2(n + 1)); // a comparison function's calls pay for themselves
  return forward(L);
}

// ---- node ---------------------------------------------------------------------------------

NodeServices& node_of(lua_State* L, Type* t) {
  if (!t->node) luaL_error(L, "node: there is no capsule outside a run (at the top level)");
  return *t->node;
}

// Runs f, a call into C++; false if it threw.
template <class F>
bool guarded(F&& f) {
  try {
    f();
    return true;
  } catch (...) {
    return false;
  }
}

int failed(lua_State* L, const char* what) {
  return luaL_error(L, "node.%s: the node failed", what);
}

std::uint32_t check_address(lua_State* L, int arg) {
  const lua_Integer n = luaL_checkinteger(L, arg);
  luaL_argcheck(L, n >= 0 && n <= 0xFFFFFFFF, arg, "not a node address");
  return static_cast<std::uint32_t>(n);
}

int node_get_address(lua_State* L) {
  NodeServices& node = node_of(L, type_of(L));
  std::uint32_t a = 0;
  if (!guarded([&] { a = node.address(); })) return failed(L, "getAddress");
  lua_pushinteger(L, a);
  return 1;
}

int node_get_channel(lua_State* L) {
  NodeServices& node = node_of(L, type_of(L));
  std::uint32_t a = 0;
  if (!guarded([&] { a = node.channel(); })) return failed(L, "getChannel");
  lua_pushinteger(L, a);
  return 1;
}

int node_time(lua_State* L) {
  NodeServices& node = node_of(L, type_of(L));
  std::int64_t ns = 0;
  if (!guarded([&] { ns = node.now_ns(); })) return failed(L, "time");
  lua_pushnumber(L, static_cast<lua_Number>(ns) / 1e6); // milliseconds, as ANTS
  return 1;
}

int node_next_hop(lua_State* L) {
  NodeServices& node = node_of(L, type_of(L));
  const std::uint32_t to = check_address(L, 1);
  std::uint32_t hop = 0;
  if (!guarded([&] { hop = node.next_hop(to); })) return failed(L, "nextHop");
  lua_pushinteger(L, hop);
  return 1;
}

int node_queue_length(lua_State* L) {
  NodeServices& node = node_of(L, type_of(L));
  std::uint32_t n = 0;
  if (!guarded([&] { n = node.queue_length(); })) return failed(L, "queueLength");
  lua_pushinteger(L, n);
  return 1;
}

int node_route_for_node(lua_State* L) {
  NodeServices& node = node_of(L, type_of(L));
  const std::uint32_t to = check_address(L, 1);
  std::size_t nh = 0, np = 0;
  const char* h = luaL_checklstring(L, 2, &nh);
  const char* p = luaL_checklstring(L, 3, &np);
  bool sent = false;
  if (!guarded([&] { sent = node.route_for_node(to, bytes_of(h, nh), bytes_of(p, np)); }))
    return failed(L, "routeForNode");
  lua_pushboolean(L, sent);
  return 1;
}

int node_deliver_to_app(lua_State* L) {
  NodeServices& node = node_of(L, type_of(L));
  std::size_t nh = 0, np = 0;
  const char* h = luaL_checklstring(L, 1, &nh);
  const char* p = luaL_checklstring(L, 2, &np);
  if (!guarded([&] { node.deliver_to_app(bytes_of(h, nh), bytes_of(p, np)); }))
    return failed(L, "deliverToApp");
  return 0;
}

int node_put(lua_State* L) {
  Type* t = type_of(L);
  NodeServices& node = node_of(L, t);
  std::size_t nk = 0, nv = 0;
  const char* k = luaL_checklstring(L, 1, &nk);
  const char* v = luaL_checklstring(L, 2, &nv);
  charge(L, static_cast<double>(store_cost + (nk + nv) / bytes_per_unit));
  std::int64_t age_ns = SoftStore::max_age;
  if (!lua_isnoneornil(L, 3)) {
    const lua_Number ms = luaL_checknumber(L, 3);
    // NaN and ages of no time are refused by the store; ages past int64 are the longest.
    age_ns = !(ms > 0) ? 0 : ms * 1e6 >= 9.2e18 ? SoftStore::max_age : std::int64_t(ms * 1e6);
  }
  bool stored = false;
  if (!guarded(
          [&] { stored = t->store->put(t->code_type, {k, nk}, {v, nv}, node.now_ns(), age_ns); }))
    stored = false; // the node is out of memory: a refusal, as the store's own
  lua_pushboolean(L, stored);
  return 1;
}

int node_get(lua_State* L) {
  Type* t = type_of(L);
  NodeServices& node = node_of(L, t);
  std::size_t nk = 0;
  const char* k = luaL_checklstring(L, 1, &nk);
  charge(L, static_cast<double>(store_cost + nk / bytes_per_unit));
  std::optional<std::string_view> v;
  if (!guarded([&] { v = t->store->get(t->code_type, {k, nk}, node.now_ns()); }))
    return failed(L, "get");
  if (v)
    lua_pushlstring(L, v->data(), v->size());
  else
    lua_pushnil(L);
  return 1;
}

int node_remove(lua_State* L) {
  Type* t = type_of(L);
  node_of(L, t);
  std::size_t nk = 0;
  const char* k = luaL_checklstring(L, 1, &nk);
  charge(L, static_cast<double>(store_cost + nk / bytes_per_unit));
  bool removed = false;
  if (!guarded([&] { removed = t->store->remove(t->code_type, {k, nk}); }))
    return failed(L, "remove");
  lua_pushboolean(L, removed);
  return 1;
}

const std::uint8_t* seal_key_of(lua_State* L, const char* what) {
  Type* t = type_of(L);
  if (!t->seal_key || !*t->seal_key) luaL_error(L, "node.%s: the node has no key", what);
  return (*t->seal_key)->data();
}

// crypto_secretbox: a random nonce, then the box (the MAC and the ciphertext).
int node_seal(lua_State* L) {
  std::size_t n = 0;
  const auto* m = reinterpret_cast<const unsigned char*>(luaL_checklstring(L, 1, &n));
  const std::uint8_t* key = seal_key_of(L, "seal");
  const std::size_t size = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
  luaL_Buffer b;
  auto* out = reinterpret_cast<unsigned char*>(luaL_buffinitsize(L, &b, size));
  randombytes_buf(out, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, m, n, out, key);
  luaL_pushresultsize(&b, size);
  return 1;
}

int node_open(lua_State* L) {
  std::size_t n = 0;
  const auto* c = reinterpret_cast<const unsigned char*>(luaL_checklstring(L, 1, &n));
  const std::uint8_t* key = seal_key_of(L, "open");
  if (n < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    lua_pushnil(L);
    return 1;
  }
  const std::size_t size = n - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
  luaL_Buffer b;
  auto* out = reinterpret_cast<unsigned char*>(luaL_buffinitsize(L, &b, size));
  if (crypto_secretbox_open_easy(out, c + crypto_secretbox_NONCEBYTES,
                                 n - crypto_secretbox_NONCEBYTES, c, key) != 0) {
    lua_pushnil(L); // forged, tampered with, or sealed under another key
    return 1;
  }
  luaL_pushresultsize(&b, size);
  return 1;
}

// ---- the environment ----------------------------------------------------------------------

void set_nil(lua_State* L, const char* name) {
  lua_pushnil(L);
  lua_setfield(L, -2, name);
}

// table[name] = f, with the table's old table[name] as f's upvalue 1.
void wrap(lua_State* L, const char* name, lua_CFunction f) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, -2, name);
}

void wrap_pattern(lua_State* L, const char* name, PatternUse use) {
  lua_getfield(L, -1, name);
  lua_pushinteger(L, static_cast<lua_Integer>(use));
  lua_pushcclosure(L, bounded_pattern, 2);
  lua_setfield(L, -2, name);
}

// The global table of a type's state: what is safe of base, table, string, math and utf8, and
// `node`. Run protected (it allocates).
int open_environment(lua_State* L) {
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
  lua_settop(L, 0);

  lua_pushglobaltable(L);
  for (const char* name : {"dofile", "loadfile", "load", "loadstring", "print", "warn", "require"})
    set_nil(L, name);
  lua_pushcfunction(L, safe_pcall);
  lua_setfield(L, -2, "pcall");
  lua_pushcfunction(L, safe_xpcall);
  lua_setfield(L, -2, "xpcall");
  lua_pushcfunction(L, safe_setmetatable);
  lua_setfield(L, -2, "setmetatable");
  lua_pushcfunction(L, safe_collectgarbage);
  lua_setfield(L, -2, "collectgarbage");

  // The string table is also the strings' metatable's __index: ("").dump reads it there.
  lua_getfield(L, -1, LUA_STRLIBNAME);
  set_nil(L, "dump");
  wrap_pattern(L, "find", PatternUse::find);
  wrap_pattern(L, "match", PatternUse::match);
  wrap_pattern(L, "gmatch", PatternUse::gmatch);
  wrap_pattern(L, "gsub", PatternUse::gsub);
  lua_pushcfunction(L, bounded_rep);
  lua_setfield(L, -2, "rep");
  lua_pop(L, 1);
  // getmetatable("") is false: the metatable cannot be read, or changed, from Lua.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);

  lua_getfield(L, -1, LUA_TABLIBNAME);
  wrap(L, "insert", bounded_insert);
  wrap(L, "remove", bounded_remove);
  wrap(L, "move", bounded_move);
  wrap(L, "concat", bounded_concat);
  wrap(L, "unpack", bounded_unpack);
  wrap(L, "sort", bounded_sort);
  lua_pop(L, 1);

  static const luaL_Reg node[] = {
      {"getAddress", node_get_address},
      {"getChannel", node_get_channel},
      {"time", node_time},
      {"nextHop", node_next_hop},
      {"queueLength", node_queue_length},
      {"routeForNode", node_route_for_node},
      {"deliverToApp", node_deliver_to_app},
      {"put", node_put},
      {"get", node_get},
      {"remove", node_remove},
      {"seal", node_seal},
      {"open", node_open},
      {nullptr, nullptr},
  };
  luaL_newlib(L, node);
  lua_setfield(L, -2, "node");
  lua_pop(L, 1);
  return 0;
}

// call_handler's upvalues: the handler, the capsule table, then the table's keys, in the order
// of capsule_keys.
constexpr int up_handler = 1, up_capsule = 2, up_src = 3, up_dst = 4, up_prev = 5, up_ttl = 6,
              up_header = 7, up_payload = 8;
constexpr std::array<const char*, 6> capsule_keys{"src", "dst", "prev", "ttl", "header", "payload"};
static_assert(up_src + capsule_keys.size() - 1 == up_payload);

int call_handler(lua_State* L);

// Keeps call_handler in the registry as a closure over the handler (on top), a capsule table
// and the table's keys, made strings once here rather than on every run. Run protected.
int keep_handler(lua_State* L) {
  Type* t = type_of(L);
  lua_createtable(L, 0, static_cast<int>(capsule_keys.size()));
  for (const char* key : capsule_keys) lua_pushstring(L, key);
  lua_pushcclosure(L, call_handler, up_payload);
  t->call = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

void set_field(lua_State* L, int key, lua_Integer value) {
  lua_pushvalue(L, lua_upvalueindex(key));
  lua_pushinteger(L, value);
  lua_rawset(L, -3);
}

void set_field(lua_State* L, int key, std::span<const std::byte> value) {
  lua_pushvalue(L, lua_upvalueindex(key));
  lua_pushlstring(L, reinterpret_cast<const char*>(value.data()), value.size());
  lua_rawset(L, -3);
}

// handler(capsule), the capsule's table filled in. Run protected (it allocates).
int call_handler(lua_State* L) {
  const auto& c = *static_cast<const CapsuleView*>(lua_touserdata(L, 1));
  lua_pushvalue(L, lua_upvalueindex(up_handler));
  lua_pushvalue(L, lua_upvalueindex(up_capsule));
  // rawset: the code may have given its capsule table a metatable.
  set_field(L, up_src, c.src);
  set_field(L, up_dst, c.dst);
  set_field(L, up_prev, c.prev);
  set_field(L, up_ttl, c.ttl);
  set_field(L, up_header, c.header);
  set_field(L, up_payload, c.payload);
  lua_call(L, 1, 0);
  return 0;
}

// The error on top of the stack, without running any of the code's metamethods.
std::string message_of(lua_State* L) {
  if (lua_type(L, -1) == LUA_TSTRING) {
    std::size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    return std::string(s, n);
  }
  return fmt::format("(error object is a {} value)", luaL_typename(L, -1));
}

void tell(std::string* why, std::string text) {
  if (why) *why = std::move(text);
}

} // namespace

CodeType code_type_of(std::span<const std::byte> code) { return sha256(code); }

std::string short_hex(const CodeType& type) {
  std::string s;
  for (std::size_t i = 0; i < 8; ++i) s += fmt::format("{:02x}", type[i]);
  return s;
}

std::string_view to_string(Outcome o) {
  switch (o) {
  case Outcome::ok:
    return "ok";
  case Outcome::no_code:
    return "no code";
  case Outcome::compile_error:
    return "compile error";
  case Outcome::runtime_error:
    return "runtime error";
  case Outcome::out_of_instructions:
    return "out of instructions";
  case Outcome::out_of_memory:
    return "out of memory";
  }
  return "?";
}

Sandbox::Sandbox(Limits limits)
    : limits_(limits),
      store_(SoftStore::Quota{limits.store_entries, limits.store_bytes, limits.store_max_age_ns}) {
  if (!sodium_ready()) throw std::runtime_error("libsodium failed to initialise");
}

Sandbox::~Sandbox() {
  if (seal_key_) sodium_memzero(seal_key_->data(), seal_key_->size());
}

void Sandbox::set_seal_key(std::span<const std::uint8_t, 32> key) {
  seal_key_.emplace();
  std::copy(key.begin(), key.end(), seal_key_->begin());
}

Outcome Sandbox::open(Type& t, std::string* why) {
  t.limits = limits_;
  t.store = &store_;
  t.seal_key = &seal_key_;
  t.L = lua_newstate(allocate, &t);
  if (!t.L) {
    tell(why, "no memory for a state");
    return Outcome::out_of_memory;
  }
  lua_State* L = t.L;
  *static_cast<Type**>(lua_getextraspace(L)) = &t;
  t.arm();
  lua_pushcfunction(L, open_environment);
  if (const int status = lua_pcall(L, 0, 0, 0); status != LUA_OK) {
    tell(why, "environment: " + message_of(L));
    return status == LUA_ERRMEM ? Outcome::out_of_memory : Outcome::runtime_error;
  }
  return Outcome::ok;
}

void Sandbox::prepare() {
  if (spare_) return;
  auto t = std::make_unique<Type>();
  if (open(*t, nullptr) == Outcome::ok) spare_ = std::move(t);
}

namespace {

// The node of warm_up()'s run: it answers and does nothing.
class IdleNode final : public NodeServices {
public:
  [[nodiscard]] std::uint32_t address() const override { return 0; }
  [[nodiscard]] std::uint32_t channel() const override { return 0; }
  [[nodiscard]] std::int64_t now_ns() const override { return 0; }
  [[nodiscard]] std::uint32_t next_hop(std::uint32_t node) const override { return node; }
  [[nodiscard]] std::uint32_t queue_length() const override { return 0; }
  bool route_for_node(std::uint32_t, std::span<const std::byte>,
                      std::span<const std::byte>) override {
    return true;
  }
  void deliver_to_app(std::span<const std::byte>, std::span<const std::byte>) override {}
};

} // namespace

void Sandbox::warm_up() {
  // What most capsule code does: read the capsule, ask the node, send it on or deliver it.
  static constexpr std::string_view code =
      "return function(c)\n"
      "  if c.dst == node.getAddress() then node.deliverToApp(c.header, c.payload)\n"
      "  else node.routeForNode(node.nextHop(c.dst), c.header, c.payload) end\n"
      "end\n";
  const auto bytes = std::as_bytes(std::span(code));
  const CodeType type = code_type_of(bytes);
  if (types_.contains(type)) return; // installed for real: nothing to drop afterwards
  if (install(type, bytes) == Outcome::ok) {
    static constexpr std::string_view payload = "warm up";
    CapsuleView capsule;
    capsule.dst = 1;
    capsule.ttl = 1;
    capsule.payload = std::as_bytes(std::span(payload));
    IdleNode node;
    static_cast<void>(run(type, capsule, node));
  }
  types_.erase(type);
  last_run_units_ = 0;
}

Outcome Sandbox::build(Type& t, std::string* why) {
  if (t.code.size() > limits_.code_bytes) {
    tell(why,
         fmt::format("code of {} bytes; at most {} accepted", t.code.size(), limits_.code_bytes));
    return Outcome::compile_error;
  }
  // Binary chunks are refused by mode "t" below too; this says so plainly.
  if (!t.code.empty() && t.code[0] == LUA_SIGNATURE[0]) {
    tell(why, "binary chunks are refused");
    return Outcome::compile_error;
  }
  if (!t.L)
    if (const Outcome o = open(t, why); o != Outcome::ok) return o;
  lua_State* L = t.L;
  const std::string name = "=" + short_hex(t.code_type);
  if (const int status = luaL_loadbufferx(L, t.code.data(), t.code.size(), name.c_str(), "t");
      status != LUA_OK) {
    tell(why, message_of(L));
    return status == LUA_ERRMEM ? Outcome::out_of_memory : Outcome::compile_error;
  }
  // The top level runs on a budget of its own, like a run.
  t.arm();
  lua_sethook(L, hook, LUA_MASKCOUNT | LUA_MASKCALL, hook_every);
  const int status = lua_pcall(L, 0, 1, 0);
  if (const Outcome o = t.outcome(status); o != Outcome::ok) {
    tell(why, message_of(L));
    return o == Outcome::runtime_error ? Outcome::compile_error : o;
  }
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    tell(why, fmt::format("the code returned a {}, not a function (the capsule's handler)",
                          luaL_typename(L, -1)));
    return Outcome::compile_error;
  }
  lua_pushcfunction(L, keep_handler);
  lua_insert(L, -2);
  if (const int s = lua_pcall(L, 1, 0, 0); s != LUA_OK) {
    tell(why, message_of(L));
    return Outcome::out_of_memory;
  }
  lua_settop(L, 0);
  return Outcome::ok;
}

Outcome Sandbox::install(const CodeType& type, std::span<const std::byte> code, std::string* why) {
  auto it = types_.find(type);
  if (it != types_.end() && it->second->running) {
    tell(why, "the type is running");
    return Outcome::compile_error;
  }
  auto fresh = spare_ ? std::move(spare_) : std::make_unique<Type>();
  fresh->code_type = type;
  fresh->code.assign(reinterpret_cast<const char*>(code.data()), code.size());
  const Outcome o = build(*fresh, why);
  if (o != Outcome::ok) return o;
  if (it != types_.end()) {
    fresh->counters = it->second->counters;
    it->second = std::move(fresh);
  } else {
    types_.emplace(type, std::move(fresh));
  }
  return Outcome::ok;
}

void Sandbox::uninstall(const CodeType& type) {
  auto it = types_.find(type);
  if (it == types_.end()) return;
  if (it->second->running)
    it->second->doomed = true; // run() erases it when the run ends
  else
    types_.erase(it);
}

bool Sandbox::installed(const CodeType& type) const {
  auto it = types_.find(type);
  return it != types_.end() && !it->second->doomed;
}

const TypeCounters& Sandbox::counters(const CodeType& type) const {
  static const TypeCounters none;
  auto it = types_.find(type);
  return it == types_.end() ? none : it->second->counters;
}

std::size_t Sandbox::memory_used(const CodeType& type) const {
  auto it = types_.find(type);
  return it == types_.end() ? 0 : it->second->used;
}

Outcome Sandbox::rebuild(const CodeType& type) {
  auto it = types_.find(type);
  auto fresh = std::make_unique<Type>();
  fresh->code_type = type;
  fresh->code = std::move(it->second->code);
  fresh->counters = it->second->counters;
  fresh->counters.rebuilds += 1;
  it->second.reset(); // the old state's memory first
  const Outcome o = build(*fresh, nullptr);
  if (o == Outcome::ok)
    it->second = std::move(fresh);
  else
    types_.erase(it);
  return o;
}

Outcome Sandbox::run(const CodeType& type, const CapsuleView& capsule, NodeServices& node,
                     std::string* why) {
  last_run_units_ = 0;
  auto it = types_.find(type);
  if (it == types_.end() || it->second->doomed) {
    tell(why, fmt::format("no code for type {}", short_hex(type)));
    return Outcome::no_code;
  }
  Type& t = *it->second;
  if (t.running) {
    tell(why, "a run of the type is under way (the node called back into it)");
    return Outcome::runtime_error;
  }
  lua_State* L = t.L;
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, t.call);
  lua_pushlightuserdata(L, const_cast<CapsuleView*>(&capsule));
  t.arm();
  lua_sethook(L, hook, LUA_MASKCOUNT | LUA_MASKCALL, hook_every);
  t.node = &node;
  t.running = true;
  const int status = lua_pcall(L, 1, 0, 0);
  t.running = false;
  t.node = nullptr;
  const Outcome o = t.outcome(status);
  t.counters.runs += 1;
  last_run_units_ = t.spent();
  t.counters.units += last_run_units_;
  if (o != Outcome::ok && why) *why = message_of(L);
  lua_settop(L, 0);
  // The node may have installed types meanwhile: `it` may be stale, `t` is not.
  if (t.doomed) {
    types_.erase(type);
    return o;
  }
  switch (o) {
  case Outcome::runtime_error:
    t.counters.errors += 1;
    break;
  case Outcome::out_of_instructions:
    t.counters.timeouts += 1;
    break;
  case Outcome::out_of_memory:
    t.counters.memory_hits += 1;
    // What the code kept (globals) may hold the state near its cap, so that every later run
    // would fail: then the state starts again from its code.
    lua_gc(L, LUA_GCCOLLECT);
    if (t.used > limits_.memory_bytes / 2) rebuild(type);
    break;
  default:
    break;
  }
  return o;
}

} // namespace lamina::ants
