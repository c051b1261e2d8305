// The RPC service's application side: typed methods, and a node that is a client of the other
// members and a server to them, over a stack whose top protocol layer is Rpc (stacks/rpc).
//
// A method is declared once, as a C++ type: its number, its name, and its request and response
// as Boost.Hana structs (marshal.hpp says what their members may be). C++ types rather than a
// declaration in the spec file, because the request and response are what the application's
// code reads and writes: declared in C++ they are checked by the compiler at every call and in
// every handler, with nothing generated in between.
//
//   struct Put {
//     static constexpr std::uint16_t id = 2;
//     static constexpr std::string_view name = "put";
//     struct Request { BOOST_HANA_DEFINE_STRUCT(Request, (std::string_view, key),
//                                               (std::string_view, value)); };
//     struct Response { BOOST_HANA_DEFINE_STRUCT(Response, (bool, replaced)); };
//   };
//
//   node.call<Put>(server, {"k", "v"}, deadline, [](rpc::Result<Put::Response> r) { ... });
//   node.serve<Put>([&](const Put::Request& req, Put::Response& resp, std::string& error) {
//     ...; return rpc::Status::ok; });
//
// On the wire, behind Rpc's header: a call is the method's number (u16) and the request; an
// answer is a status (u8) and the response, or, for another status, a message (a string).
// The request is marshalled straight into the buffer that goes down the stack, and read in
// place from the one that comes up: its string_view members point into it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "components/rpc.hpp"
#include "runtime/recycling.hpp"
#include "services/rpc/marshal.hpp"

namespace lamina::rpc {

enum class Status : std::uint8_t {
  ok = 0,
  deadline_exceeded = 1, // no answer by the deadline (the call may or may not have run)
  unknown_method = 2,    // the server has no handler for the method
  handler_error = 3,     // the handler failed; the message says why
  unavailable = 4,       // the server refused the call unrun (busy), or restarted since
  cancelled = 5,         // the client cancelled the call
  bad_request = 6,       // the server could not read the request
};
std::string_view to_string(Status s);

// How arguments and results cross between the application and the stack.
enum class Copies : std::uint8_t {
  // Marshalled straight into the buffer that goes down the stack, and read in place, as views,
  // from the one that came up: the argument bytes are written once before the transport.
  one,
  // Only for the ablation in `lamina rpc bench`: what a naive stub does. Marshalled into a
  // temporary and copied into the send buffer; copied out of the received buffer before the
  // handler or the caller reads it. Three writes of the argument bytes instead of one.
  naive,
};

template <class M>
concept Method = requires {
  { M::id } -> std::convertible_to<std::uint16_t>;
  { M::name } -> std::convertible_to<std::string_view>;
  typename M::Request;
  typename M::Response;
};

// What a call came to: the status and, if ok, the response, whose views point into `answer`.
template <class Response>
struct Result {
  Status status = Status::ok;
  std::optional<Response> value; // when ok
  std::string error;             // otherwise, why
  Msg answer;                    // the packet the value was read from
  explicit operator bool() const { return status == Status::ok; }
};

using CallId = std::uint32_t;

class Node {
public:
  using Send = std::function<void(PeerId to, Msg m)>;
  using Clock = std::function<Time()>;

  // `send` gives a message to the stack; `now` reads the stack's clock.
  Node(Send send, Clock now, Copies copies = Copies::one)
      : send_(std::move(send)), now_(std::move(now)), copies_(copies) {}

  template <Method M>
  using Handler =
      std::function<Status(const typename M::Request&, typename M::Response&, std::string& error)>;
  template <Method M>
  using Done = std::function<void(Result<typename M::Response>)>;

  // Calls `M` at `server`, to be done by `deadline`; `done` gets the result, once.
  template <Method M>
  CallId call(PeerId server, const typename M::Request& request, Time deadline, Done<M> done) {
    return call_message<M>(server, request_message<M>(request, copies_), deadline, std::move(done));
  }

  // A call's message: the method's number and the request, marshalled into the buffer that
  // will go down the stack. Touches no Node: another thread may make it (UdpMember::call).
  template <Method M>
  static Msg request_message(const typename M::Request& request, Copies copies = Copies::one) {
    Msg m = copies == Copies::one ? marshal(request, sizeof(std::uint16_t))
                                  : marshal_via_temporary(request, sizeof(std::uint16_t));
    const std::uint16_t method = M::id;
    std::memcpy(m.writable_data(), &method, sizeof method);
    return m;
  }

  // As call, with the message request_message made. (`done` is moved into the table, through
  // try_emplace's forwarding reference, which clang-tidy takes for a const use.)
  template <Method M>
  CallId call_message(PeerId server, Msg m, Time deadline,
                      Done<M> done) { // NOLINT(performance-unnecessary-value-param)
    const CallId id = next_id_[server]++;
    pending_.try_emplace(std::pair{server, id}, std::in_place_type<M>, std::move(done));
    m.push(Rpc::Header{Rpc::Kind::call, {}, id, 0, 0, 0, budget(deadline)});
    ++stats_.calls;
    send_(server, std::move(m));
    return id;
  }

  // Gives up on a call: its result is `cancelled`, now, and the server is told.
  void cancel(PeerId server, CallId id);

  // The handler of `M`, run inline as the call arrives: fills the response and returns ok, or
  // returns another status and says why in `error`. It runs at most once per call.
  template <Method M>
  void serve(Handler<M> handler) {
    methods_[M::id] = [handler = std::move(handler),
                       copies = copies_](std::span<const std::byte> args) {
      return run<M>(handler, args, copies);
    };
  }

  // Calls of method `method` are handed to `hand_over` with their message (the method's number
  // and the arguments) instead of being run inline; answer() answers them, later. For handlers
  // that take long (UdpMember::serve_on_workers runs them on a worker pool).
  using HandOver = std::function<void(PeerId from, CallId id, Msg call)>;
  void serve_later(std::uint16_t method, HandOver hand_over) {
    handed_over_[method] = std::move(hand_over);
  }
  // The answer to a call handed over (run<M> makes it).
  void answer(PeerId to, CallId id, Msg answer);

  // What `handler` answers to the arguments `args` of a call of M: the status and the response
  // or the error message, marshalled. Touches no Node: a worker thread may run it.
  template <Method M>
  static Msg run(const Handler<M>& handler, std::span<const std::byte> args, Copies copies) {
    std::vector<std::byte> copied; // Copies::naive: the handler reads a copy
    if (copies == Copies::naive) {
      copied.assign(args.begin(), args.end());
      args = copied;
    }
    std::string error;
    const char* why = nullptr;
    const auto request = unmarshal<typename M::Request>(args, &why);
    if (!request) return answer_error(Status::bad_request, why);
    typename M::Response response{};
    const Status status = handler(*request, response, error);
    if (status != Status::ok) return answer_error(status, error);
    Msg m = copies == Copies::one ? marshal(response, 1) : marshal_via_temporary(response, 1);
    m.writable_data()[0] = std::byte{static_cast<std::uint8_t>(Status::ok)};
    return m;
  }

  // What the stack passed up from `from`.
  void deliver(PeerId from, Msg m);

  struct Stats {
    std::uint64_t calls = 0;         // made
    std::uint64_t results = 0;       // of them, ended (any status)
    std::uint64_t served = 0;        // calls given to a handler here
    std::uint64_t bad_answers = 0;   // answers too short for a status
    std::uint64_t cancels_heard = 0; // of calls running here (handlers here run inline)
  };
  [[nodiscard]] const Stats& stats() const { return stats_; }
  [[nodiscard]] std::size_t outstanding() const { return pending_.size(); }

private:
  // What ends a call: its Done<M>, held in place whatever M (every Done<M> is a std::function of
  // the same size), and how to read the answer as M's response. Held in place, not as a
  // std::function of its own, which would allocate for every call.
  class Ended {
  public:
    template <Method M>
    Ended(std::in_place_type_t<M> /*method*/, Done<M>&& done)
        : run_(&run<M>), destroy_(&destroy<M>) {
      static_assert(sizeof(Done<M>) <= sizeof(storage_) && alignof(Done<M>) <= alignof(Storage));
      ::new (static_cast<void*>(storage_)) Done<M>(std::move(done));
    }
    Ended(const Ended&) = delete;
    Ended& operator=(const Ended&) = delete;
    ~Ended() { destroy_(storage_); }
    void operator()(Status status, Msg answer) { run_(storage_, status, std::move(answer)); }

  private:
    using Storage = std::function<void()>;
    template <Method M>
    static Done<M>& done(std::byte* storage) {
      return *std::launder(reinterpret_cast<Done<M>*>(storage));
    }
    template <Method M>
    static void run(std::byte* storage, Status status, Msg answer) {
      done<M>(storage)(read_result<typename M::Response>(status, std::move(answer)));
    }
    template <Method M>
    static void destroy(std::byte* storage) {
      std::destroy_at(&done<M>(storage));
    }

    void (*run_)(std::byte*, Status, Msg);
    void (*destroy_)(std::byte*);
    alignas(Storage) std::byte storage_[sizeof(Storage)];
  };
  using Inline = std::function<Msg(std::span<const std::byte> args)>;

  // µs left until `deadline`, rounded up; 0 once it has passed (the layer ends the call at once).
  std::uint32_t budget(Time deadline) const;

  static Msg answer_error(Status status, std::string_view error);
  void finish(PeerId server, CallId id, Status status, Msg answer);

  template <class Response>
  static Result<Response> read_result(Status status, Msg answer) {
    Result<Response> r;
    r.status = status;
    if (status == Status::ok) {
      const char* why = nullptr;
      r.value = unmarshal<Response>(answer.bytes().subspan(1), &why);
      if (!r.value) {
        r.status = Status::bad_request;
        r.error = std::string("the answer does not read as the response: ") + why;
      }
    } else if (!answer.empty()) {
      std::string_view message;
      Reader reader(answer.bytes().subspan(1));
      if (reader.read(message)) r.error = message;
    }
    r.answer = std::move(answer);
    return r;
  }

  Send send_;
  Clock now_;
  Copies copies_;
  std::map<PeerId, CallId> next_id_;
  RecyclingMap<std::pair<PeerId, CallId>, Ended> pending_;
  std::unordered_map<std::uint16_t, Inline> methods_;
  std::unordered_map<std::uint16_t, HandOver> handed_over_;
  Stats stats_;
};

} // namespace lamina::rpc
