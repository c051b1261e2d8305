// The RPC service's application side: marshalling, and typed calls between rpc::Nodes on
// SimNet — results, statuses, deadlines, cancelling, and at most one run per call.
#include <boost/hana/define_struct.hpp>
#include <chrono>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <string>
#include <vector>

#include "services/rpc/kv.hpp"
#include "services/rpc/marshal.hpp"
#include "services/rpc/sim_group.hpp"

namespace lamina::rpc {
namespace {

using namespace std::chrono_literals;

struct Inner {
  BOOST_HANA_DEFINE_STRUCT(Inner, (std::uint16_t, a), (std::string, b));
  friend bool operator==(const Inner&, const Inner&) = default;
};
enum class Colour : std::uint8_t { red, green };
struct Everything {
  BOOST_HANA_DEFINE_STRUCT(Everything, (std::uint8_t, u8), (std::uint32_t, u32),
                           (std::int64_t, i64), (bool, flag), (Colour, colour), (std::string, text),
                           (std::vector<std::uint16_t>, list), (std::vector<Inner>, inners));
  friend bool operator==(const Everything&, const Everything&) = default;
};

Everything arbitrary_everything() {
  Everything e;
  e.u8 = *rc::gen::arbitrary<std::uint8_t>();
  e.u32 = *rc::gen::arbitrary<std::uint32_t>();
  e.i64 = *rc::gen::arbitrary<std::int64_t>();
  e.flag = *rc::gen::arbitrary<bool>();
  e.colour = *rc::gen::element(Colour::red, Colour::green);
  e.text = *rc::gen::arbitrary<std::string>();
  e.list = *rc::gen::arbitrary<std::vector<std::uint16_t>>();
  const auto n = *rc::gen::inRange(0, 4);
  for (int i = 0; i < n; ++i)
    e.inners.push_back({*rc::gen::arbitrary<std::uint16_t>(), *rc::gen::arbitrary<std::string>()});
  return e;
}

RC_GTEST_PROP(Marshal, ReadsBackWhatItWrote, ()) {
  const Everything e = arbitrary_everything();
  const Msg m = marshal(e);
  RC_ASSERT(m.size() == wire_size(e));
  const auto back = unmarshal<Everything>(m.bytes());
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == e);
}

// Every cut of a value, and every byte more, is refused with a reason, never read past.
RC_GTEST_PROP(Marshal, RefusesEveryTruncationAndTrailingBytes, ()) {
  const Everything e = arbitrary_everything();
  const Msg m = marshal(e);
  const auto cut = *rc::gen::inRange<std::size_t>(0, m.size());
  const char* why = nullptr;
  RC_ASSERT(!unmarshal<Everything>(m.bytes().first(cut), &why).has_value());
  RC_ASSERT(why != nullptr);
  std::vector<std::byte> longer(m.bytes().begin(), m.bytes().end());
  longer.push_back(std::byte{0});
  RC_ASSERT(!unmarshal<Everything>(longer, &why).has_value());
  RC_ASSERT(std::string_view(why) == "trailing bytes after the value");
}

TEST(Marshal, RefusesABoolThatIsNeither0Nor1AndAListLongerThanItsBytes) {
  const char* why = nullptr;
  const std::byte two[] = {std::byte{2}};
  struct B {
    BOOST_HANA_DEFINE_STRUCT(B, (bool, b));
  };
  EXPECT_FALSE(unmarshal<B>(two, &why).has_value());
  EXPECT_STREQ(why, "a bool that is neither 0 nor 1");
  // A count of 2^32 - 1 elements in 4 bytes: refused before anything is allocated.
  const std::byte huge[] = {std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}};
  EXPECT_FALSE(unmarshal<std::vector<std::uint64_t>>(huge, &why).has_value());
  EXPECT_STREQ(why, "truncated: a list longer than the bytes left");
}

// Strings and bytes of a request are read as views of the received buffer, not copied.
TEST(Marshal, ReadsStringViewsInPlace) {
  const kv::Put::Request put{"key", "value"};
  const Msg m = marshal(put);
  const auto back = unmarshal<kv::Put::Request>(m.bytes());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->key, "key");
  EXPECT_EQ(back->value, "value");
  EXPECT_EQ(static_cast<const void*>(back->value.data()),
            static_cast<const void*>(m.data() + m.size() - 5));
}

// A method the server of these tests does not have.
struct Nope {
  static constexpr std::uint16_t id = 99;
  static constexpr std::string_view name = "nope";
  using Request = kv::Get::Request;
  using Response = kv::Get::Response;
};
// The number of kv::Get with a request of another shape.
struct NotAGet {
  static constexpr std::uint16_t id = kv::Get::id;
  static constexpr std::string_view name = "get";
  struct Request {
    BOOST_HANA_DEFINE_STRUCT(Request, (std::uint8_t, x));
  };
  using Response = kv::Get::Response;
};
// Bytes in, their count out.
struct Sink {
  static constexpr std::uint16_t id = 50;
  static constexpr std::string_view name = "sink";
  struct Request {
    BOOST_HANA_DEFINE_STRUCT(Request, (std::span<const std::byte>, data));
  };
  struct Response {
    BOOST_HANA_DEFINE_STRUCT(Response, (std::uint32_t, size));
  };
};

constexpr const char* kLan = "Top:Rpc(resend=5ms):Bottom";

// Runs the group until `done` or 10 s of virtual time.
template <class Done>
void run_until(SimGroup& g, Done done) {
  while (!done() && g.net().now() < Time(10s) && g.net().step()) {
  }
}

TEST(RpcNode, CallsTheKeyValueStore) {
  SimGroup g(1, 2, kLan);
  kv::Store store(g.node(0));
  Node& client = g.node(1);
  const Time deadline = g.net().now() + 100ms;
  std::vector<std::string> log;
  client.call<kv::Put>(0, {"colour", "blue"}, deadline, [&](Result<kv::Put::Response> r) {
    ASSERT_TRUE(r) << to_string(r.status) << ": " << r.error;
    log.push_back(r.value->replaced ? "replaced" : "added");
  });
  client.call<kv::Get>(0, {"colour"}, deadline, [&](Result<kv::Get::Response> r) {
    ASSERT_TRUE(r);
    log.push_back(std::string(r.value->value)); // a view of the answer, which r holds
  });
  client.call<kv::Delete>(0, {"colour"}, deadline, [&](Result<kv::Delete::Response> r) {
    ASSERT_TRUE(r);
    log.push_back(r.value->found ? "deleted" : "absent");
  });
  run_until(g, [&] { return log.size() == 3; });
  EXPECT_EQ(log, (std::vector<std::string>{"added", "blue", "deleted"}));
  EXPECT_TRUE(store.data().empty());
  EXPECT_EQ(client.outstanding(), 0u);
}

TEST(RpcNode, SaysWhatWentWrong) {
  SimGroup g(2, 2, kLan);
  kv::Store store(g.node(0));
  Node& client = g.node(1);
  const Time deadline = g.net().now() + 100ms;
  std::vector<std::pair<Status, std::string>> got;
  auto record = [&](auto r) { got.emplace_back(r.status, r.error); };
  client.call<Nope>(0, {"k"}, deadline, record); // a method the server does not have
  // A handler that fails.
  const std::string long_key(kv::Store::kMaxKey + 1, 'k');
  client.call<kv::Get>(0, {long_key}, deadline, record);
  client.call<NotAGet>(0, {7}, deadline, record); // a request that does not read as a get
  run_until(g, [&] { return got.size() == 3; });
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::pair(Status::unknown_method, std::string("no method 99")));
  EXPECT_EQ(got[1],
            std::pair(Status::handler_error, std::string("a key of 1025 bytes; at most 1024")));
  EXPECT_EQ(got[2].first, Status::bad_request);
  EXPECT_EQ(got[2].second, "truncated: a number runs past the end");
}

TEST(RpcNode, EndsACallAtItsDeadlineOrWhenCancelled) {
  SimGroup g(3, 2, kLan);
  kv::Store store(g.node(0));
  Node& client = g.node(1);
  // A first call, answered: the client learns the server's incarnation.
  bool echoed = false;
  client.call<kv::Echo>(0, {}, Time(10ms), [&](auto r) { echoed = r.status == Status::ok; });
  run_until(g, [&] { return echoed; });
  ASSERT_TRUE(echoed);
  g.net().set_link(0, 1, LinkConfig{.loss = 1.0}); // from now on, no answer comes back
  const Time t0 = g.net().now();
  std::vector<std::pair<Status, Duration>> got;
  auto record = [&](auto r) { got.emplace_back(r.status, g.net().now() - t0); };
  client.call<kv::Put>(0, {"a", "1"}, t0 + 30ms, record);
  const CallId second = client.call<kv::Put>(0, {"b", "2"}, t0 + 60ms, record);
  g.net().at(t0 + 10ms, [&] { client.cancel(0, second); });
  run_until(g, [&] { return got.size() == 2; });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::pair(Status::cancelled, Duration(10ms)));
  EXPECT_EQ(got[1], std::pair(Status::deadline_exceeded, Duration(30ms)));
  g.net().run_until(t0 + 100ms);
  EXPECT_EQ(got.size(), 2u) << "no second result";
  // Resent every 5 ms, never answered: each put ran once, however often it came.
  EXPECT_EQ(store.runs().at("put"), 2u);
  EXPECT_GT(g.stack(0).find<Rpc>()->replayed, 1u);
}

// One copy: the client marshals the arguments into the one buffer that goes down its stack and
// over the (lossless) network, and the server's handler reads them in place in that buffer —
// the packet that arrived — with no buffer taken between the call and the handler.
TEST(RpcNode, WritesTheArgumentsOnceAndTheHandlerReadsThemInPlace) {
  SimGroup g(5, 2, kLan);
  const std::byte* seen = nullptr;
  std::uint64_t buffers_before_handler = 0;
  std::uint64_t buffers_at_call = 0;
  g.node(0).serve<Sink>([&](const Sink::Request& req, Sink::Response& resp, std::string&) {
    seen = req.data.data();
    buffers_before_handler = pool_stats().acquired - buffers_at_call;
    resp.size = static_cast<std::uint32_t>(req.data.size());
    return Status::ok;
  });
  // Warm up: the first call learns the server's incarnation (a refusal and a resend).
  bool done = false;
  g.node(1).call<Sink>(0, {}, Time(1s), [&](auto) { done = true; });
  run_until(g, [&] { return done; });
  std::span<const std::byte> arrived;
  g.net().on_packet([&](const SimNet::PacketRecord& p) {
    if (p.to == 0 && p.fate == SimNet::Fate::Delivered) arrived = p.bytes;
  });
  const std::vector<std::byte> args(4096, std::byte{7});
  done = false;
  buffers_at_call = pool_stats().acquired;
  g.node(1).call<Sink>(0, {args}, g.net().now() + 1s,
                       [&](auto r) { done = r.value->size == 4096; });
  run_until(g, [&] { return done; });
  ASSERT_TRUE(done);
  EXPECT_EQ(buffers_before_handler, 1u) << "the one buffer the client marshalled into";
  ASSERT_NE(seen, nullptr);
  EXPECT_GE(seen, arrived.data());
  EXPECT_LE(seen + args.size(), arrived.data() + arrived.size()) << "read in the packet";
}

// On a network that loses and duplicates a fifth of its packets, every put runs once.
TEST(RpcNode, RunsEveryCallOnceOnALossyNetwork) {
  SimGroup g(4, 4, kLan,
             LinkConfig{.delay = 300us, .jitter = 500us, .loss = 0.2, .duplicate = 0.2});
  kv::Store store(g.node(0));
  std::uint64_t ok = 0;
  std::uint64_t results = 0;
  std::vector<std::string> keys;
  for (PeerId c = 1; c < 4; ++c)
    for (int i = 0; i < 100; ++i) keys.push_back(fmt::format("client {} key {}", c, i));
  for (std::size_t i = 0; i < keys.size(); ++i)
    g.node(static_cast<PeerId>(1 + i / 100))
        .call<kv::Put>(0, {keys[i], "v"}, Time(1s), [&](Result<kv::Put::Response> r) {
          ++results;
          ok += r.status == Status::ok && !r.value->replaced;
        });
  run_until(g, [&] { return results == keys.size(); });
  EXPECT_EQ(results, keys.size());
  EXPECT_EQ(ok, keys.size());
  EXPECT_EQ(store.runs().at("put"), keys.size()); // each once, though many came twice
  EXPECT_EQ(store.data().size(), keys.size());
}

} // namespace
} // namespace lamina::rpc
