// An RPC node on a real UDP socket: one member of a group whose addresses every member knows,
// running a stack of stacks/rpc/rpc.ioa (its dynamic, static or fused build) with an rpc::Node
// on top. `lamina rpc serve`, `lamina rpc call` and `lamina rpc bench` are made of these.
//
// One thread polls the member (the loop thread), and every call of node() happens on it. What a
// call or an answer sends is queued and goes to the kernel when the next poll starts, so that
// a burst of calls goes out in few system calls. Other threads reach the member through
// post(), call() and the workers of serve_on_workers(), which hand their work to the loop
// thread and wake it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "components/rpc.hpp"
#include "runtime/implementation.hpp"
#include "runtime/udp.hpp"
#include "services/rpc/node.hpp"

namespace lamina::rpc {

struct UdpMemberOptions {
  std::string stack_string;              // a stack with Rpc under Top
  std::string implementation = "static"; // make_implementation's kind: dynamic, static, fused
  PeerId me = 0;
  std::vector<std::string> peers; // every member's "host:port", in member order
  // This run's incarnation: greater after every restart of the member, so that a call that may
  // have run before the restart never runs again. 0: incarnation_from_clock(), and the member,
  // destroyed, waits until the clock has passed it (at most 0.1 s), so that the next run of the
  // same member, one after the other, gets a greater one.
  std::uint32_t incarnation = 0;
  bool spin = false; // wait by busy-polling the socket instead of sleeping in the kernel
  Copies copies = Copies::one;
  // Threads that run the handlers given to serve_on_workers (0: none may be given).
  std::uint32_t workers = 0;
};

// An incarnation that grows from one start of a process to the next: the tenths of a second
// since 2026-01-01 by the system clock (a u32 lasts until 2039). A member that crashes and
// starts again within 0.1 s, or a clock set back, would reuse one: pass incarnations of your own
// (from a counter on disk) where that can happen.
std::uint32_t incarnation_from_clock();
// When the tenth of a second of `incarnation` ends by the system clock.
std::chrono::system_clock::time_point incarnation_end(std::uint32_t incarnation);

class UdpMember {
public:
  // Builds the stack and binds the socket. Throws std::runtime_error (std::invalid_argument,
  // std::system_error) with a message for the user: a bad stack string, a stack without Rpc
  // under Top, an implementation that does not exist, a bad address, a port in use.
  explicit UdpMember(const UdpMemberOptions& options);
  UdpMember(const UdpMember&) = delete;
  UdpMember& operator=(const UdpMember&) = delete;
  ~UdpMember();

  [[nodiscard]] Node& node() { return *node_; }
  [[nodiscard]] UdpNode& udp() { return *udp_; }
  [[nodiscard]] const Rpc& rpc() const { return *rpc_; }

  // Waits up to `wait` for datagrams, timers and posted work, and handles them (UdpNode::poll,
  // then what was posted). The loop thread's call.
  std::size_t poll(Duration wait);

  // Runs `task` on the loop thread at its next poll, and wakes it. Any thread.
  void post(std::function<void()> task);

  // Calls `M` at `server`, from any thread: the request is marshalled here, on the calling
  // thread, and the call is made on the loop thread, where `done` runs. Calls from several
  // threads are outstanding together.
  template <Method M>
  void call(PeerId server, const typename M::Request& request, Time deadline, Node::Done<M> done) {
    auto m = std::make_shared<Msg>(Node::request_message<M>(request, copies_));
    post([this, server, m, deadline, done = std::move(done)]() mutable {
      node_->call_message<M>(server, std::move(*m), deadline, std::move(done));
    });
  }

  // The handler of `M`, run on a worker thread rather than on the loop (a handler that takes
  // long would hold up every other call). Needs UdpMemberOptions::workers > 0.
  template <Method M>
  void serve_on_workers(Node::Handler<M> handler) {
    if (workers_.empty()) throw std::logic_error("serve_on_workers: the member has no workers");
    auto shared = std::make_shared<const Node::Handler<M>>(std::move(handler));
    node_->serve_later(
        M::id, [this, handler = std::move(shared)](PeerId from, CallId id, Msg call) {
          // The call's buffer goes to another thread: none of its views may stay here.
          auto m = std::make_shared<Msg>(call.shared() ? call.clone() : std::move(call));
          hand_to_worker([this, handler, from, id, m] {
            auto answer = std::make_shared<Msg>(
                Node::run<M>(*handler, m->bytes().subspan(sizeof(std::uint16_t)), copies_));
            *m = Msg{}; // released on this thread, which took it alone
            post([this, from, id, answer] { node_->answer(from, id, std::move(*answer)); });
          });
        });
  }
  // Polls until `done()` holds or `limit` has passed; whether it held.
  bool run_until(const std::function<bool()>& done, Duration limit);

private:
  void hand_to_worker(std::function<void()> task);
  void work(); // a worker thread's loop

  std::chrono::system_clock::time_point hold_until_{}; // see UdpMemberOptions::incarnation
  Copies copies_;
  std::unique_ptr<Implementation> stack_;
  Rpc* rpc_ = nullptr;
  std::unique_ptr<UdpNode> udp_;
  std::unique_ptr<Node> node_;
  // Posted to the loop thread.
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  std::atomic<bool> any_posted_{false};        // posted_ is not empty
  std::vector<std::function<void()>> running_; // the posted tasks a poll runs, swapped out
  // The workers and their tasks.
  std::mutex work_mutex_;
  std::condition_variable work_ready_;
  std::deque<std::function<void()>> work_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

} // namespace lamina::rpc
