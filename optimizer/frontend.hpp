// The front end: reads the C++ layers of a stack through Clang's AST and lowers each to a
// LayerModel — its header, its state, its CCPs and its handlers in the optimiser's IR.
//
// The layers are parsed once, in one translation unit that includes their headers and
// instantiates every handler with lamina::PortsArchetype, so that the AST of each handler is
// fully resolved: a call `io.down(ev)` is a call of PortsArchetype::down, a helper call names
// the member function it calls. Source locations of the instantiations point into the layers'
// own headers, so diagnostics and the text of untouched code come from what the author wrote.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "optimizer/ir.hpp"

namespace lamina::opt {

// A clang-style diagnostic: "file:line:col: error: message".
struct Diagnostic {
  enum class Level : std::uint8_t { error, warning, note } level = Level::error;
  std::string where; // file:line:col
  std::string message;
  [[nodiscard]] std::string str() const;
};

struct HeaderField {
  std::string name;
  std::string type;         // as C++ names it: "std::uint32_t", "lamina::Retransmit::Kind"
  std::uint32_t offset = 0; // in the header struct
  std::uint32_t size = 0;
  // An unsigned integer of two bytes or more (not a bool, not an enumeration): the compressed
  // header may send it with fewer bytes (runtime/varint.hpp).
  bool unsigned_integer = false;
  // Marked `[[clang::annotate("lamina::bits")]]`: a set of bits (a selective-ack bitmap), not a
  // counter. It is sent as a varint of its own, never as a difference from another field.
  bool bits = false;
  // Marked `[[clang::annotate("lamina::opaque")]]`: a value that names something (an
  // incarnation), neither a counter nor small. It is sent whole, and is no field's base.
  bool opaque = false;
};

// A helper member function of a layer, lowered.
struct Helper {
  struct Param {
    std::string type; // as written
    std::string name;
    bool ports = false; // the handler's Ports: bound by name, not copied
    IntType int_type;   // its integer type, references removed; not known: not an integer
  };
  std::string name;
  std::string result;  // "void", "bool", ...
  IntType result_type; // the integer type it returns; not known: none, or not an integer
  std::vector<Param> params;
  NodeRef body; // Block
};

// A CCP: `return expr;`, with the names of its parameters.
struct Ccp {
  std::string event;  // name of its Event parameter
  std::string header; // name of its Header parameter (ccp_up)
  NodeRef expr;
  std::string where;
};

struct Handler {
  std::string event; // name of its Event parameter
  NodeRef body;      // Block
  std::string where; // of the function's name
};

struct LayerModel {
  std::string name;              // "Frag"
  std::string qualified;         // "lamina::Frag"
  std::string file;              // the header, as the include names it: "components/frag.hpp"
  std::string where;             // of the class name
  std::uint32_t header_size = 0; // 0: NoHeader
  std::vector<HeaderField> header_fields;
  std::vector<std::string> nested_types;           // public member types: Header, Kind, ...
  std::map<std::string, std::string> members;      // data member -> its type, as C++ names it
  std::map<std::string, std::string> defaults;     // data member -> constant default (if any)
  std::map<std::string, IntType> integral_members; // of integer or enumeration type: its type
  // Parameters a node sets at run time, before it starts ([[clang::annotate("lamina::per_node")]]:
  // Rpc's incarnation): never constants of a fused stack.
  std::set<std::string> per_node;
  Ccp ccp_down, ccp_up;
  Handler down, up;
  std::map<std::string, Helper> helpers;
};

struct FrontendOptions {
  std::string source_dir;              // include root: the layer headers are under it
  std::vector<std::string> extra_args; // compiler flags (from -p BUILD_DIR, or defaults)
};

// One layer of a stack to read: its spec name and the header that declares lamina::<name>.
struct LayerSource {
  std::string name;
  std::string header;     // as included: relative to an include directory
  std::string spec_where; // where the stack declaration names it, for diagnostics
};

struct FrontendResult {
  std::vector<LayerModel> layers; // in the order asked, one per distinct layer name
  std::vector<Diagnostic> diagnostics;
  [[nodiscard]] bool ok() const;
};

// Parses the layers' headers and lowers each layer. Errors (a layer that cannot be read at all:
// no class, a CCP that is not `return expr;`) are diagnostics; constructs outside the dialect
// inside a handler are recorded on the IR nodes (Node::problem) for the passes to judge.
FrontendResult read_layers(const std::vector<LayerSource>& layers, const FrontendOptions& options);

} // namespace lamina::opt
