// The built-in service of `lamina rpc`: an echo method and a key-value store (get, put,
// delete), served by an rpc::Node.
#pragma once

#include <boost/hana/define_struct.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "services/rpc/node.hpp"

namespace lamina::rpc::kv {

struct Echo {
  static constexpr std::uint16_t id = 1;
  static constexpr std::string_view name = "echo";
  struct Request {
    BOOST_HANA_DEFINE_STRUCT(Request, (std::span<const std::byte>, data));
  };
  using Response = Request;
};

struct Get {
  static constexpr std::uint16_t id = 2;
  static constexpr std::string_view name = "get";
  struct Request {
    BOOST_HANA_DEFINE_STRUCT(Request, (std::string_view, key));
  };
  struct Response {
    BOOST_HANA_DEFINE_STRUCT(Response, (bool, found), (std::string_view, value));
  };
};

struct Put {
  static constexpr std::uint16_t id = 3;
  static constexpr std::string_view name = "put";
  struct Request {
    BOOST_HANA_DEFINE_STRUCT(Request, (std::string_view, key), (std::string_view, value));
  };
  struct Response {
    BOOST_HANA_DEFINE_STRUCT(Response, (bool, replaced));
  };
};

struct Delete {
  static constexpr std::uint16_t id = 4;
  static constexpr std::string_view name = "delete";
  struct Request {
    BOOST_HANA_DEFINE_STRUCT(Request, (std::string_view, key));
  };
  struct Response {
    BOOST_HANA_DEFINE_STRUCT(Response, (bool, found));
  };
};

// The store, serving the four methods on `node`. Keys are at most 1 KiB: a longer one is the
// handler error the demo and the tests look for.
class Store {
public:
  static constexpr std::size_t kMaxKey = 1024;

  explicit Store(Node& node);

  [[nodiscard]] const std::map<std::string, std::string, std::less<>>& data() const {
    return data_;
  }
  // Handler runs, per method name.
  [[nodiscard]] const std::map<std::string_view, std::uint64_t>& runs() const { return runs_; }
  // Puts that found their key there already.
  [[nodiscard]] std::uint64_t overwrites() const { return overwrites_; }

private:
  std::map<std::string, std::string, std::less<>> data_;
  std::map<std::string_view, std::uint64_t> runs_;
  std::uint64_t overwrites_ = 0;
};

} // namespace lamina::rpc::kv
