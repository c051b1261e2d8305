#include "services/rpc/node.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <limits>

namespace lamina::rpc {

std::string_view to_string(Status s) {
  switch (s) {
  case Status::ok:
    return "ok";
  case Status::deadline_exceeded:
    return "deadline exceeded";
  case Status::unknown_method:
    return "unknown method";
  case Status::handler_error:
    return "handler error";
  case Status::unavailable:
    return "unavailable";
  case Status::cancelled:
    return "cancelled";
  case Status::bad_request:
    return "bad request";
  }
  return "unknown status";
}

void Node::cancel(PeerId server, CallId id) {
  if (!pending_.contains({server, id})) return; // ended already
  Msg m = Msg::with_size(0);
  m.push(Rpc::Header{Rpc::Kind::cancel, {}, id, 0, 0, 0, 0});
  send_(server, std::move(m)); // the layer passes `cancelled` straight back up
}

void Node::deliver(PeerId from, Msg m) {
  Rpc::Header h{};
  if (!m.pop(h)) return; // Rpc passes up nothing without its header
  switch (h.kind) {
  case Rpc::Kind::call: {
    ++stats_.served;
    std::uint16_t method = 0;
    if (m.size() < sizeof method) {
      answer(from, h.id, answer_error(Status::bad_request, "a call without a method number"));
      return;
    }
    std::memcpy(&method, m.data(), sizeof method);
    if (const auto it = methods_.find(method); it != methods_.end()) {
      answer(from, h.id, it->second(m.bytes().subspan(sizeof method)));
    } else if (const auto later = handed_over_.find(method); later != handed_over_.end()) {
      later->second(from, h.id, std::move(m));
    } else {
      answer(from, h.id, answer_error(Status::unknown_method, fmt::format("no method {}", method)));
    }
    return;
  }
  case Rpc::Kind::answer: {
    if (m.empty()) {
      ++stats_.bad_answers;
      finish(from, h.id, Status::bad_request, Msg{});
      return;
    }
    const auto code = static_cast<std::uint8_t>(m.data()[0]);
    if (code > static_cast<std::uint8_t>(Status::bad_request)) {
      ++stats_.bad_answers;
      finish(from, h.id, Status::bad_request, Msg{});
      return;
    }
    finish(from, h.id, static_cast<Status>(code), std::move(m));
    return;
  }
  case Rpc::Kind::expired:
    finish(from, h.id, Status::deadline_exceeded, Msg{});
    return;
  case Rpc::Kind::cancelled:
    finish(from, h.id, Status::cancelled, Msg{});
    return;
  case Rpc::Kind::unavailable:
    finish(from, h.id, Status::unavailable, Msg{});
    return;
  case Rpc::Kind::cancel:
    ++stats_.cancels_heard;
    return; // handlers here have run already
  default:
    return;
  }
}

std::uint32_t Node::budget(Time deadline) const {
  const Time now = now_();
  if (deadline <= now) return 0;
  const auto us = std::chrono::ceil<std::chrono::microseconds>(deadline - now).count();
  return static_cast<std::uint32_t>(
      std::min<std::int64_t>(us, std::numeric_limits<std::uint32_t>::max()));
}

void Node::answer(PeerId to, CallId id, Msg answer) {
  answer.push(Rpc::Header{Rpc::Kind::answer, {}, id, 0, 0, 0, 0});
  send_(to, std::move(answer));
}

Msg Node::answer_error(Status status, std::string_view error) {
  Msg m = marshal(std::string_view(error), 1);
  m.writable_data()[0] = std::byte{static_cast<std::uint8_t>(status)};
  return m;
}

void Node::finish(PeerId server, CallId id, Status status, Msg answer) {
  const auto it = pending_.find({server, id});
  if (it == pending_.end()) return;
  // Out of the table before it runs: what ends it may make or end other calls.
  auto ended = pending_.extract(it);
  ++stats_.results;
  if (copies_ == Copies::naive && !answer.empty()) answer = Msg::copy_of(answer.bytes());
  ended.mapped()(status, std::move(answer));
}

} // namespace lamina::rpc
