// The collapse: the layers' folded common-case bodies chained into one bypass per direction,
// behind one guard, with one compressed header; and the C++ header that defines the fused stack.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "optimizer/frontend.hpp"
#include "optimizer/ir.hpp"

namespace lamina::opt {

// One layer of the stack being fused.
struct StackLayer {
  const LayerModel* model = nullptr;
  std::string var;                       // its name in the generated code: "frag"
  std::map<std::string, NodeRef> params; // parameter members, as constants
};

struct StackInput {
  std::string spec_file;    // as given on the command line
  std::string stack;        // "ReliableFifo"
  std::string stack_string; // "Top:Frag(mtu=1400):...:Bottom"
  std::string class_name;   // "ReliableFifo"
  std::string name_space = "lamina::fused";
  std::vector<StackLayer> layers;
  // The delay pass: work the transmit or the delivery does not need runs after it.
  bool delay = true;
  // Counters in the compressed header as varints (runtime/varint.hpp); off: every field whole.
  bool varints = true;
};

// What the collapse found, for --explain, --svg and the tests.
struct Explanation {
  // Something said of one layer of the stack (an index into `layers`).
  struct AtLayer {
    std::size_t layer = 0;
    std::string text;
  };
  struct Direction {
    bool collapsed = false;
    std::vector<std::size_t> bypass;  // the layers on the bypass, in the order it runs them
    std::vector<std::string> why_not; // "Frag::down: it calls a virtual function (at ...)"
    std::string guard;                // C++ text of the guard
    std::vector<AtLayer> guard_terms; // its terms, each at the layer whose CCP it is
    std::vector<std::string>
        layered_exits; // "Retransmit::up sends an ack down: layered code of Checksum, Bottom"
    // The layer whose common path passes the message on no further, if any.
    std::optional<std::size_t> ends_at;
    // What the delay pass put off until after the transmit or delivery: {Top, "++top.sent"}
    std::vector<AtLayer> delayed;
  };
  // A layer of the stack, top first, and its layered header.
  struct Layer {
    std::string name;              // "Frag"
    std::uint32_t header_size = 0; // bytes; 0: no header
    std::vector<HeaderField> header_fields;
  };
  // A header field on the bypass: sent in the compressed header, or constant there.
  struct BypassField {
    std::size_t layer = 0;
    std::string name;           // "seq"
    std::uint32_t size = 0;     // bytes: its header's; sent, the most it takes
    std::string value;          // constant on the bypass, so not sent: its value; sent: empty
    std::uint32_t min_size = 0; // sent: the fewest bytes it takes
    std::string coding;         // sent: "" (whole), "a varint", "a varint of its difference ..."
  };
  std::vector<Layer> layers;
  // The bypass covers the layers from `first` down (0: the whole stack). Above them the layered
  // code runs, and what layer first - 1 passes down enters the bypass; `above` says why.
  std::size_t first = 0;
  std::vector<std::string> above;
  Direction down, up;
  bool compressed = false;
  bool layered_wire = false; // no header but the bottom layer's constant one: nothing to compress
  std::uint32_t layered_header_bytes = 0;        // of the layers on the bypass
  std::uint32_t compressed_header_bytes = 0;     // at the most (varints at their longest)
  std::uint32_t compressed_header_min_bytes = 0; // at the fewest
  std::vector<BypassField> constant_fields;      // Frag.index = 0
  std::vector<BypassField> packed_fields; // in the compressed header's order, after the marker
  std::vector<std::string> params;        // "Frag.mtu = 1400u"
  // Operations left as written because their value is undefined in C++:
  // "`a * b` at frag.hpp:40:12: signed overflow in int: 65536 * 65536"
  std::vector<std::string> not_folded;
  std::size_t code_lines = 0;
  std::size_t code_bytes = 0;
};

struct Generated {
  std::string code; // the header
  Explanation explain;
  std::vector<Diagnostic> diagnostics; // warnings: what stays on the layered path, and why
  // The lowest layer (greatest index) at which the send bypass could not go on, if any.
  std::optional<std::size_t> stuck;
  // Likewise for the receive bypass: the layer at which it could not go on up.
  std::optional<std::size_t> up_stuck;
};

// Generates the fused stack. Throws nothing: what cannot be collapsed is reported and left to
// the layered code.
Generated generate(const StackInput& input);

// Each pass's output for one layer of the stack, for --print-after and the pass tests:
// pass is "lower", "inline", "params" or "fold"; direction "down" or "up".
std::string print_after(const StackInput& input, const std::string& pass, const std::string& layer,
                        const std::string& direction);

} // namespace lamina::opt
