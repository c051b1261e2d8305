// libFuzzer target: any bytes, as a packet arriving at the fused reliable FIFO stack that
// lamina-opt generated, must be dropped or delivered without a crash or an out-of-bounds access;
// and the fused stack must leave every layer as the static stack does on the same packet, read
// as the layered packet it stands for (canonical()).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "lamina_repository_stacks_fused_fifo_ReliableFifo.hpp"
#include "runtime/stack.hpp"

namespace {

using namespace lamina;
using Fused = lamina::fused::fifo::ReliableFifo;

class NullHost final : public Host {
public:
  [[nodiscard]] PeerId me() const override { return 0; }
  [[nodiscard]] std::uint32_t group_size() const override { return 3; }
  [[nodiscard]] Time now() const override { return {}; }
  void transmit(PeerId, Msg) override {}
  void set_timer(Time, std::uint32_t) override {}
  void deliver(Event&) override { ++delivered; }
  std::uint64_t delivered = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static NullHost fused_host;
  static NullHost layered_host;
  static Fused fused;
  static Fused::Layered& reference = *new Fused::Layered{lamina::Top{},
                                                         [] {
                                                           lamina::Frag f;
                                                           f.mtu = 1400;
                                                           return f;
                                                         }(),
                                                         lamina::Seqno{},
                                                         [] {
                                                           lamina::Retransmit r;
                                                           r.timeout =
                                                               std::chrono::milliseconds(20);
                                                           return r;
                                                         }(),
                                                         lamina::Checksum{},
                                                         lamina::Bottom{}};
  static bool attached = [] {
    fused.attach(fused_host);
    reference.attach(layered_host);
    return true;
  }();
  (void)attached;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const PeerId from = size == 0 ? 1 : 1 + (data[0] & 1);
  fused.receive(from, Msg::copy_of(bytes));
  const std::vector<std::byte> layered = Fused::canonical(bytes);
  reference.receive(from, Msg::copy_of(layered));
  if (fused_host.delivered != layered_host.delivered) std::abort();
  return 0;
}
