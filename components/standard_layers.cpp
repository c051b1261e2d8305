#include "components/standard_layers.hpp"

#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/lamport_clock.hpp"
#include "components/retransmit.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"

namespace lamina {

const Registry& standard_layers() {
  static const Registry registry = [] {
    Registry r;
    r.add<Top>();
    r.add<Bottom>(
        [](LayerArgs& args) {
          Bottom b;
          b.max_packet = static_cast<std::uint32_t>(
              args.get_uint("max_packet", Bottom::kMaxPacket, 2, Bottom::kMaxPacket));
          return b;
        },
        "max_packet: largest packet in bytes, format marker included (default 65507)");
    r.add<Frag>(
        [](LayerArgs& args) {
          Frag f;
          f.mtu = static_cast<std::uint32_t>(args.get_uint("mtu", f.mtu, 1, Bottom::kMaxPacket));
          f.max_message = static_cast<std::uint32_t>(
              args.get_uint("max_message", f.max_message, 1, std::uint64_t{1} << 30));
          return f;
        },
        "mtu: largest fragment payload in bytes (default 1400); max_message: largest message "
        "in bytes (default 64 MiB)");
    r.add<Seqno>(
        [](LayerArgs& args) {
          Seqno s;
          s.window = static_cast<std::uint32_t>(
              args.get_uint("window", s.window, 1, std::uint64_t{1} << 31));
          return s;
        },
        "window: how far ahead of the next expected number a message may be buffered "
        "(default 65536)");
    r.add<Retransmit>(
        [](LayerArgs& args) {
          Retransmit r;
          r.timeout = args.get_duration("timeout", r.timeout, std::chrono::microseconds(1),
                                        std::chrono::minutes(10));
          return r;
        },
        "timeout: resend an unacknowledged message after this long (default 20ms)");
    r.add<Checksum>();
    r.add<LamportClock>();
    return r;
  }();
  return registry;
}

} // namespace lamina
