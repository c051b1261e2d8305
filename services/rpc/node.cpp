#include "services/rpc/node.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <limits>
#include <vector>

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
    std::string error;
    Msg answer;
    if (m.size() < sizeof method) {
      answer = answer_error(Status::bad_request, "a call without a method number");
    } else {
      std::memcpy(&method, m.data(), sizeof method);
      const auto it = methods_.find(method);
      std::span<const std::byte> args = m.bytes().subspan(sizeof method);
      std::vector<std::byte> copied; // Copies::naive: the handler reads a copy
      if (copies_ == Copies::naive) {
        copied.assign(args.begin(), args.end());
        args = copied;
      }
      answer = it == methods_.end()
                   ? answer_error(Status::unknown_method, fmt::format("no method {}", method))
                   : it->second(args, error);
    }
    answer.push(Rpc::Header{Rpc::Kind::answer, {}, h.id, 0, 0, 0, 0});
    send_(from, std::move(answer));
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

Msg Node::answer_error(Status status, const std::string& error) {
  Msg m = marshal(std::string_view(error), 1);
  m.writable_data()[0] = std::byte{static_cast<std::uint8_t>(status)};
  return m;
}

void Node::finish(PeerId server, CallId id, Status status, Msg answer) {
  const auto it = pending_.find({server, id});
  if (it == pending_.end()) return;
  Done done = std::move(it->second);
  pending_.erase(it);
  ++stats_.results;
  if (copies_ == Copies::naive && !answer.empty()) answer = Msg::copy_of(answer.bytes());
  done(status, std::move(answer));
}

} // namespace lamina::rpc
