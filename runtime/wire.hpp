// Wire: two nodes joined by an in-memory wire that loses nothing. A packet waits on the wire
// until the owner hands it over, so that each node's work can be run, and timed, apart: node 0's
// send, node 1's receive (with the ack it sends back), node 0's receive of the ack. Time stands
// still and timers never fire: with no loss every ack arrives long before a retransmission is
// due. What `lamina bench` measures, and the common path of any stack in isolation.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/host.hpp"
#include "runtime/msg.hpp"

namespace lamina {

class Wire {
public:
  // Attaches the two nodes of a group of two; they must outlive the wire.
  Wire(Endpoint& node0, Endpoint& node1)
      : hosts_{Side(*this, 0), Side(*this, 1)}, ends_{&node0, &node1} {
    for (PeerId n = 0; n < 2; ++n) {
      waiting_[n].reserve(256);
      ends_[n]->attach(hosts_[n]);
    }
  }
  Wire(const Wire&) = delete;
  Wire& operator=(const Wire&) = delete;

  // The two applications, for a stack whose application speaks to it in a protocol of its own
  // (Rpc: calls and answers). By default node 0's sends a bare payload and node 1's counts
  // what it is delivered.
  struct Application {
    std::function<Msg(Msg payload)> message; // what node 0's makes of a payload to send
    // What node 1's does with each message delivered to it, from within the delivery: an RPC
    // server sends the answer to the call.
    std::function<void(Endpoint& node1, const Event& delivered)> answer;

    // What node 0's application sends for a payload of `size` bytes.
    [[nodiscard]] Msg make(std::size_t size) const {
      Msg payload = Msg::with_size(size);
      if (message) return message(std::move(payload));
      return payload;
    }
  };
  void set_application(Application a) { app_ = std::move(a); }
  [[nodiscard]] Msg message(std::size_t size) const { return app_.make(size); }

  // Node 0's application sends `payload` to node 1.
  void send(Msg payload) {
    ++sent_;
    ends_[0]->send(1, std::move(payload));
  }
  // Hands `node` every packet waiting for it; what it transmits in turn waits for the other.
  void deliver_to(PeerId node) {
    std::vector<Msg>& packets = waiting_[node];
    for (Msg& p : packets) ends_[node]->receive(1 - node, arrived(std::move(p)));
    packets.clear();
  }

  // The packet as the receiver gets it: a network never lets the receiver share the sender's
  // buffer. A packet whose buffer the sender still holds a view of (the copy a layer keeps to
  // resend) arrives in a buffer of its own, as the kernel's receive gives one; a packet the
  // sender let go of is handed over as it is, which no one can tell from a copy.
  static Msg arrived(Msg packet) {
    return packet.shared() ? Msg::copy_of(packet.bytes()) : std::move(packet);
  }

  // Runs until the wire is empty.
  void settle() {
    do {
      deliver_to(1);
      deliver_to(0);
    } while (!waiting_[1].empty());
  }
  // One whole message: down node 0, up node 1, and the ack's way back.
  void exchange(std::size_t size) {
    send(message(size));
    settle();
  }

  [[nodiscard]] const std::vector<Msg>& waiting(PeerId node) const { return waiting_[node]; }
  [[nodiscard]] std::uint64_t sent() const { return sent_; }
  // Messages node 1 delivered to its application.
  [[nodiscard]] std::uint64_t delivered() const { return delivered_; }
  // The bytes of the last message delivered; reading them keeps a delivery from being
  // optimised away.
  [[nodiscard]] const std::byte* last_delivered() const { return last_; }

private:
  class Side final : public Host {
  public:
    Side(Wire& w, PeerId me) : w_(&w), me_(me) {}
    [[nodiscard]] PeerId me() const override { return me_; }
    [[nodiscard]] std::uint32_t group_size() const override { return 2; }
    [[nodiscard]] Time now() const override { return {}; }
    void transmit(PeerId to, Msg packet) override {
      (void)to; // in a group of two, always the other node
      w_->waiting_[1 - me_].push_back(std::move(packet));
    }
    void set_timer(Time, std::uint32_t) override {}
    void deliver(Event& ev) override {
      if (me_ != 1) return;
      ++w_->delivered_;
      w_->last_ = ev.msg.data();
      if (w_->app_.answer) w_->app_.answer(*w_->ends_[1], ev);
    }

  private:
    Wire* w_;
    PeerId me_;
  };

  Side hosts_[2];
  Endpoint* ends_[2];
  // Packets on their way to node 0, node 1. A node never transmits to itself, so the list a
  // node is handed does not grow while it is being handed over.
  std::vector<Msg> waiting_[2];
  Application app_;
  std::uint64_t sent_ = 0;
  std::uint64_t delivered_ = 0;
  const std::byte* last_ = nullptr;
};

} // namespace lamina
