// libFuzzer target: any bytes, as a packet arriving at the reliable FIFO stack (static and
// dynamic), must be dropped or delivered without a crash or an out-of-bounds access.
#include <cstddef>
#include <cstdint>

#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/retransmit.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "runtime/registry.hpp"
#include "runtime/stack.hpp"

namespace {

using namespace lamina;

class NullHost final : public Host {
public:
  [[nodiscard]] PeerId me() const override { return 0; }
  [[nodiscard]] std::uint32_t group_size() const override { return 3; }
  [[nodiscard]] Time now() const override { return {}; }
  void transmit(PeerId, Msg) override {}
  void set_timer(Time, std::uint32_t) override {}
  void deliver(Event&) override {}
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static NullHost host;
  static stack<Top, Frag, Seqno, Retransmit, Checksum, Bottom> fixed;
  static auto dynamic = layer_registry().build("Top:Frag(mtu=64):Seqno:Retransmit:Bottom");
  static bool attached = [] {
    fixed.attach(host);
    dynamic->attach(host);
    return true;
  }();
  (void)attached;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  // The first byte picks the sender, so that per-peer state is exercised too.
  const PeerId from = size == 0 ? 1 : 1 + (data[0] & 1);
  fixed.receive(from, Msg::copy_of(bytes));
  dynamic->receive(from, Msg::copy_of(bytes));
  return 0;
}
