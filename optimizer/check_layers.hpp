// The layer check: a C++ layer against its spec, at build time (`lamina-opt --check-layers`).
//
// A layer is two files side by side: `foo.ioa` declares `layer Foo`, `foo.hpp` defines
// `lamina::Foo`. For every layer a spec file itself declares (not those of files it imports), the
// check parses the headers beside the spec files in one Clang translation unit and compares:
//
//   1. the class exists, and its `name` is the spec's name;
//   2. `provides`, `needs_below` (absent: none) and `place` (absent: anywhere), evaluated by
//      Clang, are the spec's `provides`, `needs` and `at top|bottom`;
//   3. each parameter is a public data member of that name and type, whose default member
//      initializer evaluates to the spec's default;
//   4. the spec's header is the class's `Header`: the same fields, in the same order, of the
//      same types, at the same offsets (a byte array that the spec does not name is padding);
//      no spec header is `using Header = NoHeader` (or a struct without fields). A C++ layer
//      has one `Header`, so a spec layer with several headers is an error: give it one header
//      with a kind field, as Retransmit's `Data { kind: u8, id: u32 }`;
//   5. each state variable is a data member of that name and type;
//   6. every data member is a parameter or state variable of the spec, and named in the
//      class's BOOST_HANA_ADAPT_STRUCT, through which conformance and difftest see the state.
//
// The types correspond as follows, matched on Clang's types, not their spelling:
//
//   u8 .. u64, i8 .. i64, Peer   an integer of that width and signedness (in a header, also an
//                                enumeration on one)
//   Bool                         bool
//   Time                         lamina::Duration (a parameter), lamina::Time (state); in a
//                                header, an i64
//   Msg                          lamina::Msg
//   Map[Peer, T]                 lamina::PeerTable<T>
//   Map[K, V]                    std::map<K, V>
//   Set[T]                       std::set<T>
//   Seq[T]                       std::vector<T>, std::deque<T>, std::list<T>, or Boost.Container's
//                                vector, small_vector, static_vector or devector of T
//   a record                     a struct with the same fields (by name), of these types
//   an enumeration               an enum with the same enumerators, in order
#pragma once

#include <string>
#include <vector>

namespace lamina::opt {

struct CheckLayersOptions {
  std::vector<std::string> specs;        // the spec files whose layers to check
  std::string source_dir;                // include root; empty: found above the first spec
  std::vector<std::string> include_dirs; // more include roots (-I)
};

struct CheckLayersResult {
  bool ok = false;
  std::string errors; // clang-style: every error followed by a note on the other side
};

CheckLayersResult check_layers(const CheckLayersOptions& options);

} // namespace lamina::opt
