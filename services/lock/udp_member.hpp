// A lock member on a real UDP socket: one member of a group whose addresses every member knows,
// running a stack of stacks/lock/lock.ioa (its dynamic, static or fused build) with a
// lock::Lock on top. `lamina lock node` and `lamina lock bench` are made of these.
//
// Single-threaded: the owner calls poll() or run_until(), and every call of lock() happens on
// the same thread. What the lock sends is queued and goes to the kernel when the next poll
// starts (or at flush()), so that what one step of the lock sends leaves in one system call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/implementation.hpp"
#include "runtime/udp.hpp"
#include "services/lock/lock.hpp"

namespace lamina::lock {

struct UdpMemberOptions {
  std::string stack_string;              // a stack with LamportMutex or RicartAgrawala under Top
  std::string implementation = "static"; // make_implementation's kind: dynamic, static, fused
  PeerId me = 0;
  std::vector<std::string> peers; // every member's "host:port", in member order
  bool spin = false; // wait by busy-polling the socket instead of sleeping in the kernel
};

class UdpMember {
public:
  // Builds the stack and binds the socket. Throws std::runtime_error (std::invalid_argument,
  // std::system_error) with a message for the user: a bad stack string, a stack without a lock
  // layer under Top, an implementation that does not exist, a bad address, a port in use.
  explicit UdpMember(const UdpMemberOptions& options);
  UdpMember(const UdpMember&) = delete;
  UdpMember& operator=(const UdpMember&) = delete;
  ~UdpMember();

  [[nodiscard]] Lock& lock() { return *lock_; }
  [[nodiscard]] UdpNode& udp() { return *udp_; }
  // Which layer is under Top, and so what the lock sends.
  [[nodiscard]] Algorithm algorithm() const { return algorithm_; }
  // Messages this member's lock layer has sent, a cast counted once a peer (the layer's `sent`).
  [[nodiscard]] std::uint64_t lock_messages() const;
  [[nodiscard]] Time now() const { return udp_->now(); }

  // Waits up to `wait` (less if the acquire under way reaches its deadline sooner) for
  // datagrams and timers, and handles them; then ends the acquire whose deadline has passed.
  std::size_t poll(Duration wait);
  // Hands what the lock has queued to the kernel now, rather than at the next poll.
  void flush() { udp_->flush(); }
  // Polls until `done()` holds or `limit` has passed; whether it held.
  bool run_until(const std::function<bool()>& done, Duration limit);

private:
  std::unique_ptr<Implementation> stack_;
  const void* layer_ = nullptr; // the lock layer of member `me`, LamportMutex or RicartAgrawala
  Algorithm algorithm_ = Algorithm::lamport;
  std::unique_ptr<UdpNode> udp_;
  std::unique_ptr<Lock> lock_;
};

} // namespace lamina::lock
