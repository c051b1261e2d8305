// Marshalling of RPC requests and responses: Boost.Hana structs, written straight into the
// buffer that goes down the stack, and read back in place from the buffer that came up.
//
// A value is laid out member by member, little-endian, with no padding:
// - an integer or enum: its bytes (bool: one byte, 0 or 1);
// - a string (std::string, or std::string_view) or bytes (std::span<const std::byte>): a u32
//   length, then the bytes;
// - a std::vector<T>: a u32 count, then the elements;
// - a Hana struct: its members in order.
// A struct whose string members are std::string_view and bytes members spans is read without a
// copy: its members point into the received buffer, valid while that Msg lives. Writing
// copies the argument bytes once, into the send buffer, behind the headroom the layers below
// push their headers into.
#pragma once

#include <boost/hana/accessors.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runtime/msg.hpp"

namespace lamina::rpc {

namespace detail {
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

template <class T>
constexpr bool is_string = std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>;
template <class T>
constexpr bool is_bytes = std::is_same_v<T, std::span<const std::byte>>;
template <class T>
constexpr bool is_scalar = std::is_integral_v<T> || std::is_enum_v<T>;
} // namespace detail

// Bytes `v` takes on the wire.
template <class T>
std::size_t wire_size(const T& v) {
  if constexpr (detail::is_scalar<T>) {
    return sizeof(T);
  } else if constexpr (detail::is_string<T> || detail::is_bytes<T>) {
    return sizeof(std::uint32_t) + v.size();
  } else if constexpr (detail::is_vector<T>::value) {
    std::size_t n = sizeof(std::uint32_t);
    for (const auto& e : v) n += wire_size(e);
    return n;
  } else {
    std::size_t n = 0;
    boost::hana::for_each(boost::hana::accessors<T>(),
                          [&](auto pair) { n += wire_size(boost::hana::second(pair)(v)); });
    return n;
  }
}

// Writes `v` at `out`, which has wire_size(v) bytes; returns the byte after it.
template <class T>
std::byte* write(std::byte* out, const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    *out = std::byte{v ? std::uint8_t{1} : std::uint8_t{0}};
    return out + 1;
  } else if constexpr (detail::is_scalar<T>) {
    std::memcpy(out, &v, sizeof(T));
    return out + sizeof(T);
  } else if constexpr (detail::is_string<T> || detail::is_bytes<T>) {
    const auto n = static_cast<std::uint32_t>(v.size());
    out = write(out, n);
    if (n != 0) std::memcpy(out, v.data(), n);
    return out + n;
  } else if constexpr (detail::is_vector<T>::value) {
    out = write(out, static_cast<std::uint32_t>(v.size()));
    for (const auto& e : v) out = write(out, e);
    return out;
  } else {
    boost::hana::for_each(boost::hana::accessors<T>(),
                          [&](auto pair) { out = write(out, boost::hana::second(pair)(v)); });
    return out;
  }
}

// `v` marshalled into a new message with `prefix` bytes before it, left for the caller to fill
// (the method id or the status); the layers' headers go into its headroom.
template <class T>
Msg marshal(const T& v, std::size_t prefix = 0) {
  Msg m = Msg::with_size(prefix + wire_size(v));
  write(m.writable_data() + prefix, v);
  return m;
}

// As marshal, the way a naive stub does it: into a temporary, then copied into the message.
// Only for the ablation that measures what marshal saves (rpc::Copies::naive).
template <class T>
Msg marshal_via_temporary(const T& v, std::size_t prefix = 0) {
  std::vector<std::byte> temporary(wire_size(v));
  write(temporary.data(), v);
  Msg m = Msg::with_size(prefix + temporary.size());
  if (!temporary.empty())
    std::memcpy(m.writable_data() + prefix, temporary.data(), temporary.size());
  return m;
}

// Reads values from a received buffer; the first malformed value stops it and says why.
class Reader {
public:
  explicit Reader(std::span<const std::byte> in) : in_(in) {}

  // Reads `v`; false (and error() says why) if the bytes left do not hold one.
  template <class T>
  bool read(T& v) {
    if (error_ != nullptr) return false;
    if constexpr (std::is_same_v<T, bool>) {
      std::uint8_t b = 0;
      if (!read(b)) return false;
      if (b > 1) return fail("a bool that is neither 0 nor 1");
      v = b == 1;
    } else if constexpr (detail::is_scalar<T>) {
      if (in_.size() < sizeof(T)) return fail("truncated: a number runs past the end");
      std::memcpy(&v, in_.data(), sizeof(T));
      in_ = in_.subspan(sizeof(T));
    } else if constexpr (detail::is_string<T> || detail::is_bytes<T>) {
      std::uint32_t n = 0;
      if (!read(n)) return false;
      if (in_.size() < n) return fail("truncated: a string or bytes run past the end");
      const std::span<const std::byte> bytes = in_.first(n);
      if constexpr (detail::is_bytes<T>)
        v = bytes;
      else
        v = T(reinterpret_cast<const char*>(bytes.data()), n);
      in_ = in_.subspan(n);
    } else if constexpr (detail::is_vector<T>::value) {
      std::uint32_t n = 0;
      if (!read(n)) return false;
      // Every element takes a byte at least: a count beyond the bytes left is a lie, refused
      // before anything is allocated for it.
      if (n > in_.size()) return fail("truncated: a list longer than the bytes left");
      v.clear();
      v.resize(n);
      for (auto& e : v)
        if (!read(e)) return false;
    } else {
      boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
        if (error_ == nullptr) (void)read(boost::hana::second(pair)(v));
      });
    }
    return error_ == nullptr;
  }

  [[nodiscard]] std::size_t left() const { return in_.size(); }
  [[nodiscard]] const char* error() const { return error_; }

private:
  bool fail(const char* why) {
    error_ = why;
    return false;
  }
  std::span<const std::byte> in_;
  const char* error_ = nullptr;
};

// A T read from the whole of `in`, or nullopt with the reason in `*why` (trailing bytes are an
// error too: a request of another shape).
template <class T>
std::optional<T> unmarshal(std::span<const std::byte> in, const char** why = nullptr) {
  Reader r(in);
  T v{};
  const char* error = nullptr;
  if (!r.read(v))
    error = r.error();
  else if (r.left() != 0)
    error = "trailing bytes after the value";
  if (error == nullptr) return v;
  if (why != nullptr) *why = error;
  return std::nullopt;
}

} // namespace lamina::rpc
