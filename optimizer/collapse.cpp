#include "optimizer/collapse.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <set>

#include "optimizer/effects.hpp"
#include "optimizer/passes.hpp"
#include "runtime/varint.hpp"

namespace lamina::opt {

namespace {

// Whether `n` uses an event's message other than by its header: its size, its bytes, or itself.
bool uses_message(const Node& n) {
  return n.kind == Kind::MsgSize || n.kind == Kind::MsgBytes || n.kind == Kind::MsgData ||
         n.kind == Kind::MsgRef;
}

// Whether `s` is the event's hand-on to the layer below (down) or above.
bool hands_on(const NodeRef& s, bool down) {
  return s->kind == Kind::ExprStmt && s->kids[0]->kind == Kind::Neighbour &&
         s->kids[0]->text == (down ? "down" : "up") && s->kids[0]->kids[0]->kind == Kind::Local &&
         s->kids[0]->kids[0]->name == "ev";
}

bool mentions_word(const std::string& text, const std::string& word) {
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    auto ident = [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_';
    };
    const bool before =
        at > 0 && (ident(text[at - 1]) || text[at - 1] == ':' || text[at - 1] == '.');
    const bool after = at + word.size() < text.size() && ident(text[at + word.size()]);
    if (!before && !after) return true;
  }
  return false;
}

bool mentions_local(const NodeRef& n, const std::string& name) {
  if (!n) return false;
  if ((n->kind == Kind::Local || n->kind == Kind::Pop) && n->name == name) return true;
  if (n->kind == Kind::Text && mentions_word(n->text, name)) return true;
  for (const auto& k : n->kids)
    if (mentions_local(k, name)) return true;
  return false;
}

// Whether statement k of `body` declares a header variable that only a pop (gone from the
// bypass) would have filled.
bool unused_header_variable(const NodeRef& body, std::size_t k) {
  const NodeRef& s = body->kids[k];
  if (s->kind != Kind::Decl || !s->init_braced) return false;
  for (std::size_t j = k + 1; j < body->kids.size(); ++j) {
    const NodeRef& t = body->kids[j];
    const bool its_pop =
        t->kind == Kind::ExprStmt && t->kids[0]->kind == Kind::Pop && t->kids[0]->name == s->name;
    if (!its_pop && mentions_local(t, s->name)) return false;
  }
  return true;
}

// Whether `n` hands the event's message on, or changes it by its header.
bool moves_message(const NodeRef& n) {
  if (!n) return false;
  if (n->kind == Kind::Neighbour && n->kids[0]->kind == Kind::Local && n->kids[0]->name == "ev")
    return true;
  if ((n->kind == Kind::Push || n->kind == Kind::Pop || n->kind == Kind::DropHeader) &&
      n->event == "ev")
    return true;
  return std::any_of(n->kids.begin(), n->kids.end(), moves_message);
}

bool mentions_any(const NodeRef& n, const std::set<std::string>& names) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& name) { return mentions_local(n, name); });
}

// `body` with each block among its statements that pushes, pops or hands on the message (an
// inlined helper: Window's transmit()) put in its place, statement by statement, where it
// returns from nothing and no other statement names what it declares: the collapse follows
// the message through a handler's statements, not into blocks.
NodeRef flatten_message_blocks(const NodeRef& body) {
  if (!body || body->kind != Kind::Block) return body;
  std::vector<NodeRef> out;
  for (std::size_t k = 0; k < body->kids.size(); ++k) {
    const NodeRef& s = body->kids[k];
    bool splice = s->kind == Kind::Block && moves_message(s) && !has_return(s);
    if (splice) {
      std::set<std::string> names;
      declared_in(s, names);
      for (std::size_t j = 0; j < body->kids.size() && splice; ++j)
        splice = j == k || !mentions_any(body->kids[j], names);
    }
    if (!splice) {
      out.push_back(s);
      continue;
    }
    const NodeRef inner = flatten_message_blocks(s);
    out.insert(out.end(), inner->kids.begin(), inner->kids.end());
  }
  auto b = body->copy();
  b->kids = std::move(out);
  return b;
}

// The per-layer pipeline: lower (done by the front end), inline, params, fold.
struct Prepared {
  NodeRef lowered, inlined, params, folded;
  NodeRef ccp; // bound, parameters substituted
};

// The prefixes of the variables the generated code declares per layer, before the layer's var.
constexpr std::string_view kKept = "kept_";          // a value read from the message, kept
constexpr std::string_view kLater = "later_";        // a delayed statement's lambda
constexpr std::string_view kCovered = "covered_by_"; // the header bytes a layer's view covers
constexpr std::string_view kApp = "app_";            // the application's header a CCP reads

// Whether the generated stack uses `name` for its own: a layer's variable (`frag`), a variable
// of the generated functions that their code reads after a layer's (`f`, `sent_packet`,
// `kept_retransmit`, ...), or a member (`host_`). A layer's local of such a name would hide it in
// the blocks of the layers below. (`from`, `to`, `packet` and `payload` are read before them.)
bool reserved_name(const StackInput& in, const std::string& name) {
  static const std::set<std::string> fixed = {"ev", "f", "sent_packet"};
  if (fixed.count(name) != 0 || name.ends_with('_') || name.starts_with(kKept) ||
      name.starts_with(kLater) || name.starts_with(kCovered) || name.starts_with(kApp))
    return true;
  return std::any_of(in.layers.begin(), in.layers.end(),
                     [&](const StackLayer& l) { return l.var == name; });
}

Prepared prepare(const StackInput& in, const StackLayer& l, bool down, const FoldContext& base) {
  const LayerModel& m = *l.model;
  const Handler& h = down ? m.down : m.up;
  Prepared p;
  p.lowered = h.body;
  if (h.event != "ev") p.lowered = rename_local(p.lowered, h.event, local("ev"));
  // After inlining, so that the helpers' locals are renamed too.
  p.inlined = rename_reserved_locals(inline_helpers(p.lowered, m), [&](const std::string& name) {
    return reserved_name(in, name);
  });
  p.params = substitute_params(p.inlined, l.params);
  p.ccp =
      substitute_params(inline_helpers(bind_ccp(down ? m.ccp_down : m.ccp_up, "ev"), m), l.params);
  FoldContext ctx = base;
  ctx.assume = p.ccp;
  ctx.header_size = m.header_size;
  ctx.app_header_pops = down && !m.ccp_down.header.empty();
  for (const HeaderField& f : m.header_fields) ctx.header_fields.push_back(f.name);
  p.folded = flatten_message_blocks(fold(p.params, ctx));
  return p;
}

class Generator {
public:
  // The bypass covers the layers from `first` down; above them the layered code runs, and what
  // layer first - 1 passes down enters the bypass.
  Generator(const StackInput& in, std::size_t first) : in_(in), first_(first) {}

  Generated run();

private:
  struct Field {
    std::size_t layer;
    const HeaderField* field;
    NodeRef value;           // a constant, or Local("f.<var>_<field>")
    bool from_bytes = false; // computed from the message's bytes (a checksum): it looks random
  };

  [[nodiscard]] std::size_t depth() const { return in_.layers.size(); }
  const LayerModel& model(std::size_t i) const { return *in_.layers[i].model; }
  [[nodiscard]] std::string var_of(std::size_t i, const std::string& field) const {
    return fmt::format("f.{}_{}", in_.layers[i].var, field);
  }

  void problem(Explanation::Direction& d, const std::string& who, const NodeRef& n,
               const std::string& why) {
    const std::string where = n && !n->where.empty() ? n->where : model(current_layer_).where;
    d.why_not.push_back(fmt::format("{}: {}", who, why));
    if (&d == down_explained_)
      down_stuck_ = std::max(down_stuck_.value_or(current_layer_), current_layer_);
    if (&d == up_explained_)
      up_stuck_ = std::max(up_stuck_.value_or(current_layer_), current_layer_);
    diags_.push_back(
        {Diagnostic::Level::warning, where,
         fmt::format("lamina-opt cannot collapse {}: {}; it stays on the layered path", who, why)});
    d.collapsed = false;
  }

  // Pushes, as code, the layered headers of `layers` (in the order they are pushed) with the
  // values the fields have: one push, which checks for room once. Nothing for no layers.
  [[nodiscard]] std::string push_layered(const std::vector<std::size_t>& layers,
                                         const std::string& msg) const {
    return layers.empty() ? std::string{} : fmt::format("{}.push({});\n", msg, header_list(layers));
  }
  // The headers of `layers` with their fields' values, as arguments of Msg::push.
  [[nodiscard]] std::string header_list(const std::vector<std::size_t>& layers) const {
    std::string headers;
    for (const std::size_t i : layers) {
      std::string values;
      for (const Field& f : fields_)
        if (f.layer == i) values += (values.empty() ? "" : ", ") + print_expr(f.value, {});
      headers += fmt::format("{}{}::Header{{{}}}", headers.empty() ? "" : ", ", model(i).qualified,
                             values);
    }
    return headers;
  }

  // How the compressed header sends a field: whole; an unsigned integer as a varint (a counter
  // is small); or as the varint of its difference from the packed field `base`, of its width
  // (runtime/varint.hpp).
  struct Packed {
    Field field;
    enum class Coding : std::uint8_t { whole, varint, difference } coding = Coding::whole;
    std::size_t base = 0;
  };
  // The steps of run(), each passing what it found to the next: analysis (the guard of each
  // direction, and the code of the bypass), layout (the compressed header), emission.
  struct Layout {
    std::vector<Packed> packed; // the fields the compressed header carries, in order
    std::uint32_t min_size = 1; // the marker, then the packed fields, at their fewest bytes
    std::uint32_t max_size = 1; // and at their most
  };
  struct UpBypass {
    std::string code;
    std::string guard;                  // the CCPs that read only header fields and state
    std::string integrity_guard;        // those that read the message's bytes (a CRC): first
    std::string before;                 // what the guards need computed first
    std::int64_t guard_physical = 0;    // layered bytes on the message when the guards run
    std::size_t guard_materialised = 0; // and how many layers' headers are on it
  };
  std::string analyse_down(Explanation::Direction& d);
  [[nodiscard]] Layout layout(bool wire, Explanation& ex) const;
  UpBypass analyse_up(const std::optional<std::vector<Field>>& wire, Explanation& ex);
  // Layer i's part of the receive guard, printed; none if it holds on the bypass anyway, or if
  // the layer cannot be collapsed (then d says why). `reads_bytes`: it reads the message's bytes.
  std::optional<std::string> up_guard_part(std::size_t i, Explanation::Direction& d,
                                           std::string& before, bool& reads_bytes);
  [[nodiscard]] std::string emit_head(const Layout& lay, const Explanation& ex) const;
  [[nodiscard]] std::string emit_send(const Explanation& ex, const std::string& down_code) const;
  // Beneath a layered part: the function that what it passes down enters.
  [[nodiscard]] std::string emit_bypass_down(const Explanation& ex,
                                             const std::string& down_code) const;
  // The guard and the code of the send bypass, or the layered code where there is none.
  [[nodiscard]] std::string down_bypass(const Explanation& ex, const std::string& down_code) const;
  // Whether the delay pass put anything off: then every entry point runs it first.
  static bool delays(const Explanation& ex) {
    return !ex.down.delayed.empty() || !ex.up.delayed.empty();
  }
  std::string emit_receive(const UpBypass& up, const std::optional<std::vector<Field>>& wire,
                           const Explanation& ex);
  std::string emit_compressed_receive(const UpBypass& up);
  [[nodiscard]] std::string emit_codec(const Layout& lay) const;

  // The code of layer i on the bypass, and of the layers it hands the message to: below it
  // (down), above it (up). One step per statement of the layer's folded handler.
  std::string chain(std::size_t i, bool down, Explanation::Direction& d);
  // What chain() has made of layer i so far.
  struct LayerCode {
    std::size_t i = 0;
    bool down = true;
    std::string who; // "Frag::down", for diagnostics
    NodeRef body;    // its folded handler
    std::int64_t front = 0;
    std::string code; // with the code of the layers it hands the message to
    std::string own;  // its own code only
    bool passed = false;
    bool early_return = false;
    bool took_app_header = false;
    bool took_header = false; // up: its header is off the message (popped, or dropped after a peek)
    // The latest Later in the layer's block: where its text is in `code`, its name and body, and
    // the statement after the run it holds. A later run of the block may join it (delay()).
    struct PutOff {
      std::size_t at = 0, size = 0;
      std::string name, body;
      std::size_t next = 0;
    };
    std::optional<PutOff> put_off;
  };
  enum class Step : std::uint8_t { not_mine, done, failed };
  // Down: layer i's term of the send guard, added to `parts` (none if its CCP always holds);
  // false, with the problem said, if the send bypass cannot go on at it.
  bool down_guard_part(std::size_t i, Explanation::Direction& d, std::int64_t& app_taken,
                       std::vector<Explanation::AtLayer>& parts, bool& ccp_false);
  // Down: the pop of the application's header, which the guard read (`ccp_down(ev, h)`).
  Step take_app_header(LayerCode& c, const NodeRef& s, Explanation::Direction& d);
  // Down: a push of the layer's header becomes writes of the fields' values (a constant is not
  // written at all).
  Step push_header(LayerCode& c, const NodeRef& s, Explanation::Direction& d);
  // Up: a pop of the layer's header drops it if it is on the message, and fills the header
  // variable from the fields' values if the code reads it.
  Step pop_header(LayerCode& c, std::size_t k, Explanation::Direction& d);
  // The hand-on of the message: the next layer's code, or the transmit or the delivery.
  void hand_on(LayerCode& c, const NodeRef& s, Explanation::Direction& d);
  // Up: the layer passes the message up with its header on, which the layers above read as
  // theirs; the bypass puts it in front of the payload from its fields.
  void keep_header_on(LayerCode& c, const NodeRef& s, Explanation::Direction& d);
  // Up, the message sent back down (AntsRoute forwards a capsule for another node): the bypass
  // ends there, and the layered code of the layers below takes the message down.
  void turn(LayerCode& c, const NodeRef& s, Explanation::Direction& d);
  std::string transmit();

  // Rewrites what the bypass does differently from the layer: neighbours, the host, the message.
  NodeRef rewrite(const NodeRef& s, std::size_t i, bool down, std::int64_t front,
                  Explanation::Direction& d, const std::string& who, std::string& before);
  // Reports, once, why the code cannot be collapsed.
  using Fail = std::function<void(const NodeRef&, const std::string&)>;
  // One node of rewrite(), its kids already rewritten.
  NodeRef rewrite_node(NodeRef x, std::size_t i, std::int64_t front, Explanation::Direction& d,
                       const std::string& who, const Fail& fail);
  // Makes the physical message hold at least `need` layered bytes in front of the payload.
  std::string materialise_down(std::int64_t need);
  std::string materialise_up(std::int64_t need);
  // `s` (layer i's, at `front`) with each read of the message's bytes that reaches behind
  // layered headers not on the message made in two pieces, when it is the one argument of a
  // function that takes them so (crc32c): those headers laid out in a buffer of their own,
  // declared in `before`, then the message where it lies. Pushing them onto the message instead
  // copies it, going up, when its buffer is shared, as a packet of a bundled datagram's is; going
  // down, the compressed header then drops them again before the transmit. `s` as it was if any
  // such read is not such an argument, or if they do not all start at the front of one header:
  // rewrite() then pushes them.
  NodeRef read_split(const NodeRef& s, std::size_t i, bool down, std::int64_t front,
                     std::string& before);
  // Down: the layers of pushed_ whose headers make up the first `bytes` layered bytes in front of
  // the payload, in the order they were pushed; nullopt if no such run does exactly.
  [[nodiscard]] std::optional<std::vector<std::size_t>> pushed_within(std::int64_t bytes) const;

  // A copy of the message that a piece of put-off work makes, `name`, rebuilt after the transmit
  // from the packet sent: its payload, with the layered headers of `headers` in front.
  std::string rebuilt_copy(const std::string& name, const std::vector<std::size_t>& headers);

  // The delay pass, Ensemble's "delay non-critical processing": statements of layer i's code on
  // the bypass, before the layer hands the message on, run instead when the layer's block ends,
  // after the transmit or the delivery (or earlier, should the host call the stack again from
  // within them: FusedStack::Later), if it commutes with all that runs in between. What it reads
  // of the message is computed first (a share of it, its size).
  // Statements k, k+1, ... that run in order may be put off together. How many were put off
  // (0: none); nullopt if the layer cannot be collapsed.
  std::optional<std::size_t> delay(LayerCode& c, std::size_t k, Explanation::Direction& d);
  // Puts `work`, the run k .. end - 1 of delay(), into layer c's block as a Later, after
  // `declare` (the generator's own names, which the work uses).
  void place_later(LayerCode& c, std::size_t k, std::size_t end, const std::string& declare,
                   std::string work);
  EffectsContext effects_context(std::size_t i, const NodeRef& body);
  // Whether every layer below i hands the message on down its common path, to the transmit.
  [[nodiscard]] bool reaches_transmit(std::size_t i) const {
    for (std::size_t j = i + 1; j < depth(); ++j)
      if (std::none_of(down_[j].folded->kids.begin(), down_[j].folded->kids.end(),
                       [](const NodeRef& s) { return hands_on(s, true); }))
        return false;
    return true;
  }
  // `base`, or `base_2`, `base_3`, ... if the function already has it.
  std::string fresh_name(const std::string& base) {
    const std::size_t n = ++delayed_names_[base];
    return n == 1 ? base : fmt::format("{}_{}", base, n);
  }
  // What the layered code does when layer i hands an event on, down or up: every handler it may
  // reach, and the transmit or delivery beyond the stack.
  Effects handed_on(std::size_t i, bool down);
  // What runs on the bypass after layer i hands the message on, down or up.
  Effects beyond(std::size_t i, bool down);
  // `n` with its largest pure subexpressions that read the message, and nothing `n` declares,
  // replaced by locals; those are in `kept`, to be computed where `n` stood.
  NodeRef hoist(const NodeRef& n, const std::set<std::string>& declared, std::size_t i,
                std::vector<std::pair<std::string, NodeRef>>& kept);

  // One statement of layer i's own code on the bypass, rewritten, appended to `code` (with what
  // it needs first) and to `own`; false if the layer cannot be collapsed.
  bool layer_statement(const NodeRef& s, std::size_t i, bool down, std::int64_t front,
                       Explanation::Direction& d, const std::string& who, std::string& code,
                       std::string& own, bool& early_return) {
    if (has_return(s)) early_return = true;
    std::string before;
    const NodeRef r = rewrite(s, i, down, front, d, who, before);
    if (!r) return false;
    const std::string text = print_stmt(r, PrintContext{in_.layers[i].var}, 0);
    code += before + text;
    own += text;
    return true;
  }

  // Layer i's common path passes the message on no further (AntsExec runs a capsule and sends
  // copies of it): the bypass ends in it, and the layers beyond it are not on it.
  void ends_here(Explanation::Direction& d, std::size_t i) {
    d.bypass.push_back(i);
    d.ends_at = i;
  }

  // The values of the header fields on the wire, when packets keep the layered format: every
  // layer but the bottom one has no header, and the bottom one pushes a constant header on its
  // common path (Bottom's marker). Compressing would save nothing, so the receive bypass takes
  // packets as they come. None (nullopt) otherwise.
  [[nodiscard]] std::optional<std::vector<Field>> layered_wire() const {
    const std::size_t b = depth() - 1;
    for (std::size_t i = first_; i < b; ++i)
      if (model(i).header_size != 0) return std::nullopt;
    for (const NodeRef& s : down_[b].folded->kids) {
      if (s->kind != Kind::Push || s->event != "ev") continue;
      std::vector<Field> out;
      for (std::size_t j = 0; j < s->kids.size() && j < model(b).header_fields.size(); ++j) {
        if (s->kids[j]->kind != Kind::Constant) return std::nullopt;
        out.push_back({b, &model(b).header_fields[j], s->kids[j]});
      }
      return out;
    }
    return std::nullopt;
  }

  // The parts of a guard (each a layer's CCP, printed) of the layers on the bypass: those above
  // the layer where the message ends, going down; below it, going up. Each part kept goes into
  // d.guard_terms too, once (going down, a part two layers share is kept at the first).
  static std::string guard_of(const std::vector<Explanation::AtLayer>& parts, bool down,
                              Explanation::Direction& d) {
    const std::optional<std::size_t> end = d.ends_at;
    std::vector<std::string> kept;
    for (const Explanation::AtLayer& p : parts) {
      if (end && (down ? p.layer > *end : p.layer < *end)) continue;
      if (down && std::find(kept.begin(), kept.end(), p.text) != kept.end()) continue;
      kept.push_back(p.text);
      d.guard_terms.push_back(p);
    }
    if (down) std::sort(kept.begin(), kept.end());
    std::string g;
    for (const auto& p : kept) g += (g.empty() ? "" : down ? " && " : " &&\n      ") + p;
    return g;
  }

  // A bypass's names for the layered stack's layers: `auto& frag = layered_.layer<1>();`.
  [[nodiscard]] std::string layer_references() const {
    std::string out;
    for (std::size_t i = 0; i < depth(); ++i)
      out += fmt::format("    [[maybe_unused]] auto& {} = layered_.layer<{}>();\n",
                         in_.layers[i].var, i);
    return out;
  }

  // Layer i's block: the aliases of its member types that its own code uses, and its code (in a
  // lambda if it returns early, so that a return leaves only this layer's code).
  std::string chunk(std::size_t i, std::string code, const std::string& own, bool early_return) {
    // A layer with no code of its own on the bypass (only its header's fields and the layers it
    // hands on to: nothing declared) leaves only its name. In a block of its own, which would open
    // with the next layer's block, clang-format takes the two for a braced list and misplaces
    // every brace after them.
    if (own.empty() && !early_return) return fmt::format("// {}\n{}", model(i).name, code);
    if (early_return) code = fmt::format("[&]() {} {{\n{}}}();\n", kInlineLambda, code);
    return fmt::format("{{ // {}\n{}{}}}\n", model(i).name, aliases(i, own), code);
  }

  std::string aliases(std::size_t i, const std::string& code) {
    std::string out;
    for (const std::string& t : model(i).nested_types)
      if (mentions_word(code, t))
        out += fmt::format("using {} = {}::{};\n", t, model(i).qualified, t);
    return out;
  }

  // Layered bytes in front of the payload as layer i receives an event going down (as it hands
  // one on going up): the headers of the layers on the bypass above it (and its own).
  [[nodiscard]] std::int64_t front_down(std::size_t i) const {
    std::int64_t f = 0;
    for (std::size_t j = first_; j < i; ++j) f += model(j).header_size;
    return f;
  }
  [[nodiscard]] std::int64_t front_up(std::size_t i) const { return front_down(i + 1); }

  // The layered code from layer i on, for an event the bypass gives way on. Beneath a layered
  // part, through this stack (stack::enter_down(ev, outer)), so that what that part's lowest
  // layer hands on enters the bypass.
  [[nodiscard]] std::string enter_layered(std::size_t i, bool down) const {
    return fmt::format("layered_.enter_{}<{}>(ev{});\n", down ? "down" : "up", i,
                       first_ > 0 ? ", *this" : "");
  }

  const StackInput& in_;
  const std::size_t first_;
  // The layer whose code the analysis is in, and the lowest layer of the stack (the greatest
  // index) at which the send bypass could not go on.
  std::size_t current_layer_ = 0;
  std::optional<std::size_t> down_stuck_, up_stuck_;
  const Explanation::Direction* down_explained_ = nullptr;
  const Explanation::Direction* up_explained_ = nullptr;
  std::vector<Prepared> down_, up_;
  std::set<std::string> not_folded_; // what fold left alone because C++ leaves it undefined
  std::vector<Field> fields_;        // every field of every header the down bypass pushes
  std::vector<std::size_t> pushed_;  // down: layers whose header is pushed, in order
  std::size_t materialised_ = 0;     // down: how many of pushed_ are on the message
  std::size_t up_materialised_ = 0;  // up: layers first_..n-1 whose header is on the message
  std::int64_t physical_ = 0;        // layered bytes physically in front of the payload
  std::int64_t kept_on_ = 0;         // up: of them, the header a layer passes up (keep_header_on)
  bool compress_ = false;
  std::vector<Diagnostic> diags_;
  // The locals the delay pass declared in the function being generated, by name (fresh_name()).
  std::map<std::string, std::size_t> delayed_names_;
  // Down: how many pieces of put-off work rebuild a copy of the message from the packet sent
  // (sent_packet).
  std::size_t rebuilt_copies_ = 0;
  std::map<std::pair<std::size_t, bool>, Effects> handed_on_;
  // Down: declarations of the application's headers that the guard reads (app_<layer>).
  std::string app_headers_;
};

// bytes().subspan(k) with k known: the bytes k further on.
NodeRef fold_subspans(const NodeRef& s) {
  return transform(s, [&](NodeRef x) -> NodeRef {
    if (x->kind == Kind::Subspan && x->kids[0]->kind == Kind::MsgBytes && x->kids[0]->value &&
        x->kids[1]->kind == Kind::Constant && x->kids[1]->value) {
      auto b = x->kids[0]->copy();
      b->value = *b->value + *x->kids[1]->value;
      return b;
    }
    return x;
  });
}

NodeRef Generator::rewrite(const NodeRef& s, std::size_t i, bool down, std::int64_t front,
                           Explanation::Direction& d, const std::string& who, std::string& before) {
  bool failed = false;
  const Fail fail = [&](const NodeRef& n, const std::string& why) {
    if (!failed) problem(d, who, n, why);
    failed = true;
  };
  NodeRef r = fold_subspans(s);
  // The message must be laid out as the layer expects wherever it reads its bytes.
  std::int64_t need = -1;
  std::function<void(const NodeRef&)> scan = [&](const NodeRef& x) {
    if (!x) return;
    if ((x->kind == Kind::MsgBytes || x->kind == Kind::MsgData || x->kind == Kind::MsgRef) &&
        x->event == "ev") {
      if (!x->value) return fail(x, "it reads the message where its position is not known");
      need = std::max(need, front - static_cast<std::int64_t>(*x->value));
    }
    for (const auto& k : x->kids) scan(k);
  };
  scan(r);
  // Changing the message other than by its header defeats the bookkeeping of its layout.
  std::function<void(const NodeRef&)> writes_msg = [&](const NodeRef& x) {
    if (!x) return;
    // A call that may change what it is given, given the message (std::move(ev.msg), a
    // non-const member function of it).
    if (x->kind == Kind::Text && !x->pure)
      for (const auto& k : x->kids)
        if (k && k->kind == Kind::MsgRef && k->event == "ev")
          fail(x, "it changes the message other than by pushing or popping its header");
    for (const auto& k : x->kids) writes_msg(k);
  };
  writes_msg(r);
  if (need >= 0) before += down ? materialise_down(need) : materialise_up(need);
  r = transform(r, [&](NodeRef x) { return rewrite_node(std::move(x), i, front, d, who, fail); });
  return failed ? nullptr : r;
}

NodeRef Generator::rewrite_node(NodeRef x, std::size_t i, std::int64_t front,
                                Explanation::Direction& d, const std::string& who,
                                const Fail& fail) {
  if (!x->problem.empty()) fail(x, x->problem);
  // The message of another event (one the layer makes, or takes from a queue of its own) is
  // laid out as the layer sees it: it stays as written.
  if (uses_message(*x) && x->event != "ev") return x;
  switch (x->kind) {
  case Kind::Neighbour: {
    const bool main = x->kids[0]->kind == Kind::Local && x->kids[0]->name == "ev";
    if (main) {
      fail(x, "it passes the message on only on some of its common paths");
      return x;
    }
    d.layered_exits.push_back(fmt::format("{} passes `{}` {}: the layered code of the layers {} it",
                                          who, print_expr(x->kids[0], {}), x->text,
                                          x->text == "down" ? "below" : "above"));
    return text(fmt::format("{}leave_{}<{}>($0)", first_ > 0 ? "" : "layered_.", x->text, i),
                {x->kids[0]}, false);
  }
  case Kind::Ports:
    if (x->text == "now") return text("host_->now()", {}, true);
    if (x->text == "me") return text("me_", {}, true); // host_reads()
    if (x->text == "group_size") return text("group_size_", {}, true);
    if (x->text == "set_timer")
      return text(fmt::format("host_->set_timer(host_->now() + $0, {})", i), {x->kids[0]}, false);
    fail(x, fmt::format("it calls io.{}, which lamina-opt does not know", x->text));
    return x;
  case Kind::MsgSize: {
    const std::optional<Wide> at = x->value;
    if (!at) {
      fail(x, "it reads the message's size where its position is not known");
      return x;
    }
    const Wide k = front - *at - physical_;
    auto size = Node::make(Kind::MsgSize); // as the bypass holds the message
    size->type = x->type;
    if (k == 0) return size;
    auto n = Node::make(Kind::Binary);
    n->text = k > 0 ? "+" : "-";
    n->type = x->type;
    n->kids = {size, integer(k > 0 ? k : -k, x->type)};
    return n;
  }
  case Kind::MsgBytes: {
    const auto skip = static_cast<std::int64_t>(physical_ - (front - x->value.value_or(0)));
    if (skip == 0) return text("ev.msg.bytes()", {}, true);
    return text(fmt::format("ev.msg.bytes().subspan({})", skip), {}, true);
  }
  case Kind::MsgData: {
    // Written in place only past every layered header in front of the payload: the compressed
    // header's fields hold those headers on the bypass, and would not see the write.
    if (front != x->value.value_or(-1)) {
      fail(x, "it writes the message's bytes in place where headers of the layers above are");
      return x;
    }
    if (physical_ == 0) return text("ev.msg.writable_data()", {}, false);
    return text(fmt::format("(ev.msg.writable_data() + {})", physical_), {}, false);
  }
  case Kind::MsgRef:
    if (physical_ != front - x->value.value_or(0))
      fail(x, "it uses the message where its layout is not the layered one");
    return text("ev.msg", {}, true);
  case Kind::Push:
  case Kind::Pop:
  case Kind::DropHeader:
    if (x->event == "ev") fail(x, "it pushes or pops its header on only some of its common paths");
    return x;
  case Kind::Call:
    fail(x, fmt::format("it calls `{}`, which lamina-opt could not inline", x->name));
    return x;
  default:
    return x;
  }
}

std::string Generator::materialise_down(std::int64_t need) {
  std::vector<std::size_t> layers;
  while (physical_ < need && materialised_ < pushed_.size()) {
    const std::size_t l = pushed_[materialised_++];
    layers.push_back(l);
    physical_ += model(l).header_size;
  }
  return push_layered(layers, "ev.msg");
}

std::optional<std::vector<std::size_t>> Generator::pushed_within(std::int64_t bytes) const {
  std::vector<std::size_t> layers;
  std::int64_t held = 0;
  for (std::size_t k = 0; k < pushed_.size() && held < bytes; ++k) {
    layers.push_back(pushed_[k]);
    held += model(pushed_[k]).header_size;
  }
  if (held != bytes) return std::nullopt;
  return layers;
}

NodeRef Generator::read_split(const NodeRef& s, std::size_t i, bool down, std::int64_t front,
                              std::string& before) {
  const NodeRef r = fold_subspans(s);
  // The layered bytes in front of the payload that a read of the message covers, if more than
  // those on it.
  const auto beyond = [&](const Node& x) -> std::optional<std::int64_t> {
    if ((x.kind != Kind::MsgBytes && x.kind != Kind::MsgRef) || x.event != "ev" || !x.value)
      return std::nullopt;
    const std::int64_t reach = front - static_cast<std::int64_t>(*x.value);
    return reach > physical_ ? std::optional(reach) : std::nullopt;
  };
  // Every such read must start where one header does, the same for all (Checksum's CRC covers
  // every header above its own): then the buffer is exactly the headers in front of it.
  std::optional<std::int64_t> need;
  bool split = true;
  std::function<void(const NodeRef&, const Node*)> scan = [&](const NodeRef& x, const Node* of) {
    if (!x) return;
    if (const auto reach = beyond(*x)) {
      split = split && x->kind == Kind::MsgBytes && of != nullptr && of->split_bytes &&
              need.value_or(*reach) == *reach;
      need = reach;
    }
    for (const auto& k : x->kids) scan(k, x.get());
  };
  scan(r, nullptr);
  if (!need || !split) return s;
  // The headers not on the message, outermost last, as a push lays them out.
  std::vector<std::size_t> layers;
  std::int64_t held = physical_;
  const auto take = [&](std::size_t l) {
    if (held >= *need || model(l).header_size == 0) return;
    layers.push_back(l);
    held += model(l).header_size;
  };
  if (down)
    for (std::size_t k = materialised_; k < pushed_.size(); ++k) take(pushed_[k]);
  else
    for (std::size_t l = up_materialised_; l < depth(); ++l) take(l);
  if (held != *need) return s; // not where a header starts: rewrite() pushes them
  const std::string name = fmt::format("{}{}", kCovered, in_.layers[i].var);
  before += fmt::format("const auto {} = lamina::header_bytes({});\n", name, header_list(layers));
  const std::string split_read = fmt::format("lamina::SplitBytes{{{}, ev.msg.bytes()}}", name);
  return transform(r,
                   [&](const NodeRef& x) { return beyond(*x) ? text(split_read, {}, true) : x; });
}

std::string Generator::materialise_up(std::int64_t need) {
  std::vector<std::size_t> layers;
  while (physical_ < need && up_materialised_ < depth()) {
    const std::size_t l = up_materialised_++;
    if (model(l).header_size == 0) continue;
    layers.push_back(l);
    physical_ += model(l).header_size;
  }
  return push_layered(layers, "ev.msg");
}

bool changes_something(const NodeRef& n) {
  return n && (!n->pure || std::any_of(n->kids.begin(), n->kids.end(), changes_something));
}

bool reads_message(const NodeRef& n) {
  if (!n) return false;
  if (uses_message(*n) && n->event == "ev") return true;
  return std::any_of(n->kids.begin(), n->kids.end(), reads_message);
}

// The declaration of local `name` in `body`; null if there is none.
NodeRef declaration(const NodeRef& body, const std::string& name) {
  if (!body) return nullptr;
  if (body->kind == Kind::Decl && body->name == name) return body;
  for (const NodeRef& k : body->kids)
    if (NodeRef d = declaration(k, name)) return d;
  return nullptr;
}

// Whether `v`, in `body`, is computed from the message's bytes, itself or through the locals it
// reads (a checksum, a MAC): a value that looks random, which a varint would only lengthen.
bool from_bytes(const NodeRef& v, const NodeRef& body, int depth) {
  if (!v || depth > 16) return false;
  if (v->kind == Kind::MsgBytes) return true;
  if (v->kind == Kind::Local && v->name != "ev")
    if (const NodeRef d = declaration(body, v->name); d && !d->kids.empty())
      if (from_bytes(d->kids[0], body, depth + 1)) return true;
  return std::any_of(v->kids.begin(), v->kids.end(),
                     [&](const NodeRef& k) { return from_bytes(k, body, depth + 1); });
}

// A statement's first line, for --explain.
std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  line.erase(0, line.find_first_not_of(' '));
  return line.size() > 72 ? line.substr(0, 69) + "..." : line;
}

EffectsContext Generator::effects_context(std::size_t i, const NodeRef& body) {
  EffectsContext ctx;
  ctx.model = &model(i);
  ctx.layer = i;
  ctx.neighbour = [this, i](const NodeRef& n, Effects& e) {
    e.merge(handed_on(i, n->text == "down"));
  };
  find_aliases(body, ctx);
  return ctx;
}

Effects Generator::handed_on(std::size_t i, bool down) {
  if (auto it = handed_on_.find({i, down}); it != handed_on_.end()) return it->second;
  Effects out;
  std::set<std::pair<std::size_t, bool>> seen;
  std::function<void(std::size_t, bool)> pass = [&](std::size_t from, bool to_down) {
    if (to_down && from + 1 == depth()) {
      out.emits.insert("network");
      return;
    }
    if (!to_down && from == 0) {
      out.emits.insert("deliver");
      return;
    }
    const std::size_t l = to_down ? from + 1 : from - 1;
    if (!seen.insert({l, to_down}).second) return;
    const Handler& h = to_down ? model(l).down : model(l).up;
    NodeRef body = h.event == "ev" ? h.body : rename_local(h.body, h.event, local("ev"));
    body = inline_helpers(body, model(l));
    EffectsContext ctx;
    ctx.model = &model(l);
    ctx.layer = l;
    ctx.neighbour = [](const NodeRef&, Effects&) {}; // followed below
    find_aliases(body, ctx);
    Effects e = effects_of(body, ctx);
    for (const char* own : {"ev", "ev.msg"}) { // the event it was handed is its own
      e.reads.erase(own);
      e.writes.erase(own);
    }
    out.merge(e);
    std::function<void(const NodeRef&)> follow = [&](const NodeRef& x) {
      if (!x) return;
      if (x->kind == Kind::Neighbour) pass(l, x->text == "down");
      for (const auto& k : x->kids) follow(k);
    };
    follow(body);
  };
  pass(i, down);
  handed_on_[{i, down}] = out;
  return out;
}

Effects Generator::beyond(std::size_t i, bool down) {
  Effects out;
  if (down) {
    for (std::size_t j = i + 1; j < depth(); ++j)
      out.merge(effects_of(down_[j].folded, effects_context(j, down_[j].folded)));
    out.reads.insert("ev.msg"); // the transmit, which takes the message
    out.writes.insert("ev.msg");
    out.emits.insert("network");
  } else {
    for (std::size_t j = first_; j < i; ++j)
      out.merge(effects_of(up_[j].folded, effects_context(j, up_[j].folded)));
    out.reads.insert({"ev", "ev.msg"}); // the delivery, or the layered code above the bypass
    out.emits.insert("deliver");
    if (first_ > 0) out.merge(handed_on(first_, false));
  }
  return out;
}

NodeRef Generator::hoist(const NodeRef& n, const std::set<std::string>& declared, std::size_t i,
                         std::vector<std::pair<std::string, NodeRef>>& kept) {
  if (!n) return n;
  const bool value = n->kind == Kind::Text || n->kind == Kind::Field
                         ? n->message_value || n->type.known()
                         : n->kind == Kind::Binary || n->kind == Kind::Unary ||
                               n->kind == Kind::Convert || n->kind == Kind::MsgSize;
  if (value && n->pure && reads_message(n) && !mentions_any(n, declared)) {
    std::string name = fresh_name(fmt::format("{}{}", kKept, in_.layers[i].var));
    kept.emplace_back(name, n);
    return n->message_value ? text("std::move($0)", {local(name)}, true) : local(name);
  }
  auto c = n->copy();
  for (auto& k : c->kids) k = hoist(k, declared, i, kept);
  return c;
}

// The helper whose inlined body the statement `s` is, if it is one.
std::string inlined_call(const NodeRef& s) {
  if (s->kind == Kind::Inlined || (s->kind == Kind::Block && !s->name.empty())) return s->name;
  if ((s->kind == Kind::ExprStmt || s->kind == Kind::Block) && s->kids.size() == 1)
    return inlined_call(s->kids[0]);
  return {};
}

// Whether putting `s` off saves more than it costs (a Later: a few stores and a call): it calls
// something, loops, sets a timer or sends. A counter's increment is not worth it, nor is a
// table entry's: a lookup costs less than the Later (Window's count of messages sent, put off,
// cost FlowFifo 28 instructions a message more than in place).
bool worth_delaying(const NodeRef& s) {
  if (!s) return false;
  switch (s->kind) {
  case Kind::Call:
  case Kind::Inlined:
  case Kind::Neighbour:
  case Kind::Ports:
    return true;
  case Kind::Text:
    if (!s->name.empty()) return true;
    break;
  default:
    break;
  }
  return std::any_of(s->kids.begin(), s->kids.end(), worth_delaying);
}

// Whether `n` is a new message with the bytes of the event's (ev.msg.share(), ev.msg.clone()).
bool copies_the_message(const NodeRef& n) {
  return n->message_value && n->kids.size() == 1 && n->kids[0]->kind == Kind::MsgRef &&
         n->kids[0]->event == "ev";
}

// Whether the delay pass may move statement `s` at all: it changes something, is in the dialect,
// declares nothing that what follows uses, leaves the message's header alone, and always runs
// to its end.
bool may_delay(const NodeRef& s) {
  return changes_something(s) && s->problem.empty() && s->kind != Kind::Decl &&
         s->kind != Kind::Push && !has_return(s) && !moves_message(s);
}

std::string Generator::rebuilt_copy(const std::string& name,
                                    const std::vector<std::size_t>& headers) {
  ++rebuilt_copies_;
  // A packet that is never compressed holds those headers already, in front of the payload:
  // the copy keeps them, and shares the buffer whole.
  std::int64_t held = 0;
  if (!compress_)
    for (const std::size_t l : headers) held += model(l).header_size;
  const std::int64_t more = held - physical_;
  return fmt::format("Msg {0} = {{sent_packet}};\n(void){0}.drop_front({0}.size() - {1});\n", name,
                     more == 0  ? name + "_bytes"
                     : more > 0 ? fmt::format("({}_bytes + {})", name, more)
                                : fmt::format("({}_bytes - {})", name, -more)) +
         (compress_ ? push_layered(headers, name) : std::string{});
}

std::optional<std::size_t> Generator::delay(LayerCode& c, std::size_t k,
                                            Explanation::Direction& d) {
  if (!in_.delay) return 0;
  const NodeRef& body = c.body;
  const std::size_t i = c.i;
  const bool down = c.down;
  const std::int64_t front = c.front;
  const std::string& who = c.who;
  std::size_t end = k; // the statements that may move: k .. end - 1
  while (end < body->kids.size() && may_delay(body->kids[end])) ++end;
  if (end == k) return 0;
  const EffectsContext ctx = effects_context(i, body);
  const Effects after = beyond(i, down);
  // The longest run from k that commutes with all that follows it, and is worth a Later.
  for (; end > k; --end) {
    if (std::none_of(body->kids.begin() + static_cast<std::ptrdiff_t>(k),
                     body->kids.begin() + static_cast<std::ptrdiff_t>(end), worth_delaying))
      break;
    Effects moved, past = after;
    for (std::size_t j = end; j < body->kids.size(); ++j)
      past.merge(effects_of(body->kids[j], ctx));
    std::vector<std::pair<std::string, NodeRef>> kept;
    std::vector<NodeRef> later;
    const auto names = delayed_names_;
    for (std::size_t j = k; j < end; ++j) {
      std::set<std::string> declared;
      declared_in(body->kids[j], declared);
      later.push_back(hoist(body->kids[j], declared, i, kept));
      moved.merge(effects_of(later.back(), ctx));
    }
    if (conflict(moved, past)) {
      delayed_names_ = names;
      continue;
    }
    const PrintContext print{in_.layers[i].var};
    std::string before, first, text;
    std::string rebuilt; // in the Later, before its statements
    for (const auto& [name, value] : kept) {
      std::optional<std::vector<std::size_t>> headers; // of a copy rebuilt after the transmit
      if (down && copies_the_message(value) && reaches_transmit(i) &&
          value->kids[0]->problem.empty())
        if (const std::optional<Wide> at = value->kids[0]->value)
          headers = pushed_within(static_cast<std::int64_t>(front - *at));
      if (headers) {
        // The copy is made after the transmit, of the packet sent: its payload, with the layered
        // headers the message had here, pushed then (none is pushed onto the message here).
        // Made here, it would share the buffer that the headers below are then written into,
        // and the transmit would wait for a copy of the payload.
        first += fmt::format("const std::size_t {}_bytes = ev.msg.size();\n", name);
        rebuilt += rebuilt_copy(name, *headers);
        continue;
      }
      const NodeRef r = rewrite(value, i, down, front, d, who, before);
      if (!r) return std::nullopt;
      first += fmt::format("auto {} = {};\n", name, print_expr(r, print));
    }
    for (const NodeRef& s : later) {
      const NodeRef r = rewrite(s, i, down, front, d, who, before);
      if (!r) return std::nullopt;
      const std::string printed = print_stmt(r, print, 0);
      text += printed;
      d.delayed.push_back({i, inlined_call(s).empty()
                                  ? first_line(printed)
                                  : fmt::format("{}() (inlined)", inlined_call(s))});
    }
    place_later(c, k, end, before + first, rebuilt + text);
    c.own += first;
    c.own += rebuilt;
    c.own += text;
    return end - k;
  }
  return 0;
}

void Generator::place_later(LayerCode& c, std::size_t k, std::size_t end,
                            const std::string& declare, std::string work) {
  const NodeRef& body = c.body;
  // One Later for the layer's block where two would run one after the other: this run's work,
  // then the earlier run's, in the order in which two Laters run (newest first). Only if no
  // statement of the layer declared a name since, which could change what a name in the
  // earlier one means (`declare` holds only the generator's own names).
  std::string name;
  if (c.put_off && std::none_of(body->kids.begin() + static_cast<std::ptrdiff_t>(c.put_off->next),
                                body->kids.begin() + static_cast<std::ptrdiff_t>(k),
                                [](const NodeRef& x) { return x->kind == Kind::Decl; })) {
    c.code.erase(c.put_off->at, c.put_off->size);
    work += c.put_off->body;
    name = c.put_off->name;
  } else {
    name = fresh_name(fmt::format("{}{}", kLater, in_.layers[c.i].var));
  }
  c.code += declare;
  const std::string put_off =
      fmt::format("auto {} = later([&]() {} {{\n{}}});\n", name, kInlineLambda, work);
  c.put_off = LayerCode::PutOff{c.code.size(), put_off.size(), name, std::move(work), end};
  c.code += put_off;
}

std::string Generator::chain(std::size_t i, bool down, Explanation::Direction& d) {
  if (down && i == depth()) return transmit();
  struct InLayer { // current_layer_ is i until chain() returns
    std::size_t& at;
    std::size_t was;
    ~InLayer() { at = was; }
  } in_layer{current_layer_, current_layer_};
  current_layer_ = i;
  LayerCode c;
  c.i = i;
  c.down = down;
  c.who = model(i).name + (down ? "::down" : "::up");
  c.body = down ? down_[i].folded : up_[i].folded;
  c.front = down ? front_down(i) : front_up(i);
  const NodeRef& body = c.body;
  // Where the message turns, what the delay pass would move past it is the layered code below
  // (not the layers above and the delivery, which it checks against): nothing is put off.
  const bool turns = !down && std::any_of(body->kids.begin(), body->kids.end(),
                                          [](const NodeRef& s) { return hands_on(s, true); });
  for (std::size_t k = 0; k < body->kids.size(); ++k) {
    const NodeRef& s = body->kids[k];
    Step header = down ? take_app_header(c, s, d) : Step::not_mine;
    if (header == Step::not_mine) header = down ? push_header(c, s, d) : pop_header(c, k, d);
    if (header == Step::failed) return c.code;
    if (header == Step::done) continue;
    if (hands_on(s, down)) {
      hand_on(c, s, d);
      continue;
    }
    if (!down && hands_on(s, true)) {
      turn(c, s, d);
      continue;
    }
    if (s->kind == Kind::Return && k + 1 == body->kids.size()) continue;
    if (!down && unused_header_variable(body, k)) continue;
    if (!c.passed && !turns) {
      const std::optional<std::size_t> later = delay(c, k, d);
      if (!later) return c.code;
      if (*later > 0) {
        k += *later - 1;
        continue;
      }
    }
    if (!layer_statement(s, i, down, c.front, d, c.who, c.code, c.own, c.early_return))
      return c.code;
  }
  if (!c.passed) ends_here(d, i);
  return chunk(i, c.code, c.own, c.early_return);
}

Generator::Step Generator::take_app_header(LayerCode& c, const NodeRef& s,
                                           Explanation::Direction& d) {
  if (s->kind != Kind::ExprStmt || s->kids[0]->kind != Kind::Pop || s->kids[0]->event != "ev" ||
      model(c.i).ccp_down.header.empty())
    return Step::not_mine;
  const NodeRef& op = s->kids[0];
  // Folded as a pop that succeeds only where the guard read the header: at the layer's entry,
  // with nothing of the layers above in front of it.
  if (!op->own_header || op->peek || op->position != 0 || c.took_app_header || c.front != 0) {
    problem(d, c.who, op, "it takes a header off the message other than the application's");
    return Step::failed;
  }
  c.code += fmt::format("(void)ev.msg.pop({});\n", op->name);
  c.front += model(c.i).header_size; // the layer's view now starts past it
  c.took_app_header = true;
  return Step::done;
}

Generator::Step Generator::push_header(LayerCode& c, const NodeRef& s, Explanation::Direction& d) {
  if (s->kind != Kind::Push || s->event != "ev") return Step::not_mine;
  const LayerModel& m = model(c.i);
  if (c.passed) problem(d, c.who, s, "it pushes its header after passing the message on");
  for (std::size_t j = 0; j < s->kids.size() && j < m.header_fields.size(); ++j) {
    const HeaderField& hf = m.header_fields[j];
    std::string before;
    NodeRef v = rewrite(read_split(s->kids[j], c.i, true, c.front, before), c.i, true, c.front, d,
                        c.who, before);
    if (!v) return Step::failed;
    c.code += before;
    if (v->kind == Kind::Constant) {
      fields_.push_back({c.i, &hf, v});
    } else {
      c.code += fmt::format("{} = {};\n", var_of(c.i, hf.name),
                            print_expr(v, PrintContext{in_.layers[c.i].var}));
      fields_.push_back({c.i, &hf, local(var_of(c.i, hf.name)), from_bytes(s->kids[j], c.body, 0)});
    }
  }
  pushed_.push_back(c.i);
  return Step::done;
}

Generator::Step Generator::pop_header(LayerCode& c, std::size_t k, Explanation::Direction& d) {
  const NodeRef& s = c.body->kids[k];
  if (s->kind != Kind::ExprStmt ||
      (s->kids[0]->kind != Kind::Pop && s->kids[0]->kind != Kind::DropHeader) ||
      s->kids[0]->event != "ev")
    return Step::not_mine;
  const NodeRef& op = s->kids[0];
  const LayerModel& m = model(c.i);
  if (!op->position) {
    problem(d, c.who, op, "it pops its header where the message's layout is not known");
    return Step::failed;
  }
  if (op->kind == Kind::DropHeader || !op->peek) {
    c.took_header = true;
    // The header is on the message only if it was materialised: then it is in front.
    const auto size = op->kind == Kind::DropHeader
                          ? static_cast<std::int64_t>(op->value.value_or(0))
                          : std::int64_t{m.header_size};
    if (physical_ > 0 && physical_ == c.front - op->position.value_or(-1)) {
      c.code += fmt::format("(void)ev.msg.drop_front({});\n", size);
      physical_ -= size;
      up_materialised_ = c.i;
    }
  }
  if (op->kind == Kind::Pop) {
    bool used = false;
    for (std::size_t j = k + 1; j < c.body->kids.size() && !used; ++j)
      used = mentions_local(c.body->kids[j], op->name);
    if (used) {
      std::string values;
      for (const Field& f : fields_)
        if (f.layer == c.i) values += (values.empty() ? "" : ", ") + print_expr(f.value, {});
      c.code += fmt::format("{} = {}::Header{{{}}};\n", op->name, m.qualified, values);
    }
  }
  return Step::done;
}

void Generator::hand_on(LayerCode& c, const NodeRef& s, Explanation::Direction& d) {
  const LayerModel& m = model(c.i);
  if (c.down && m.header_size != 0 &&
      std::find(pushed_.begin(), pushed_.end(), c.i) == pushed_.end())
    problem(d, c.who, s, "it passes the message on without pushing its header");
  if (!c.down && m.header_size != 0 && !c.took_header) keep_header_on(c, s, d);
  c.passed = true;
  d.bypass.push_back(c.i);
  if (c.down) {
    c.code += chain(c.i + 1, true, d);
  } else if (c.i > first_) {
    c.code += chain(c.i - 1, false, d);
  } else {
    if (physical_ != kept_on_)
      problem(d, c.who, s,
              first_ > 0 ? fmt::format("the message still holds headers when it reaches {}",
                                       model(first_ - 1).name)
                         : "the message still holds headers when it reaches the application");
    c.code += first_ > 0 ? fmt::format("leave_up<{}>(ev);\n", first_) : "host_->deliver(ev);\n";
  }
}

// Rpc's up passes an answer to the application with its header on, for the application to read.
// The layered message the layers above get then starts with that header, where none of them has
// a header of its own (else they would take those bytes for theirs, and the compressed header
// would hold theirs apart): the bypass holds the header as fields, and pushes it back.
void Generator::keep_header_on(LayerCode& c, const NodeRef& s, Explanation::Direction& d) {
  const std::int64_t size = model(c.i).header_size;
  for (std::size_t j = first_; j < c.i; ++j)
    if (model(j).header_size != 0)
      return problem(d, c.who, s->kids[0],
                     fmt::format("it passes the message up with its header still on, under {}, "
                                 "which has a header of its own",
                                 model(j).name));
  c.code += materialise_up(size);
  if (physical_ != size)
    return problem(d, c.who, s->kids[0],
                   "it passes the message up with its header still on, where the message's "
                   "layout is not the layered one");
  kept_on_ = size;
}

void Generator::turn(LayerCode& c, const NodeRef& s, Explanation::Direction& d) {
  // The layered code below takes the message as the layer holds it: the layered headers of the
  // layers above in front of the payload, nothing of its own or of the layers below.
  if (model(c.i).header_size != 0 || physical_ != front_down(c.i))
    problem(d, c.who, s, "it sends the message back down where its layout is not the layered one");
  c.passed = true;
  ends_here(d, c.i);
  d.layered_exits.push_back(fmt::format(
      "{} passes `ev` back down: the layered code of the layers below it, to the transmit", c.who));
  c.code += fmt::format("{}leave_down<{}>(ev);\n", first_ > 0 ? "" : "layered_.", c.i);
}

std::string Generator::transmit() {
  const std::string to = "ev.type == EventType::Cast ? kAllPeers : ev.peer";
  std::string code;
  if (compress_) {
    const std::int64_t saved_physical = physical_;
    const std::size_t saved = materialised_;
    code += fmt::format("if (compresses_to({})) {{\n", to);
    if (physical_ > 0) code += fmt::format("(void)ev.msg.drop_front({});\n", physical_);
    code += "pack(ev.msg, f);\n} else {\n";
    code += materialise_down(1 << 30);
    code += "}\n";
    physical_ = saved_physical;
    materialised_ = saved;
  } else {
    code += materialise_down(1 << 30);
  }
  if (rebuilt_copies_ > 0) code += "sent_packet = ev.msg.share();\n";
  code += fmt::format("host_->transmit({}, std::move(ev.msg));\n", to);
  return code;
}

Generated Generator::run() {
  Generated out;
  Explanation& ex = out.explain;
  FoldContext base;
  base.not_folded = &not_folded_;
  ex.first = first_;
  for (const StackLayer& l : in_.layers) {
    down_.push_back(prepare(in_, l, true, base));
    ex.layers.push_back({l.model->name, l.model->header_size, l.model->header_fields});
    if (down_.size() > first_) ex.layered_header_bytes += l.model->header_size;
    for (const auto& [name, value] : l.params)
      ex.params.push_back(fmt::format("{}.{} = {}", l.model->name, name, print_expr(value, {})));
  }
  const std::optional<std::vector<Field>> wire = layered_wire();
  ex.layered_wire = wire.has_value();

  // Analysis, down: the guard, and what the bypass pushes.
  std::string down_code = analyse_down(ex.down);
  const std::optional<std::size_t> down_ends = ex.down.ends_at;
  // Layout: the compressed header.
  const Layout lay = layout(wire.has_value(), ex);
  // Analysis, up: for packets in the compressed format, or, on a layered wire, as they come.
  UpBypass up;
  if (wire || (ex.down.collapsed && !down_ends)) up = analyse_up(wire, ex);
  if (!wire && !ex.down.collapsed)
    ex.up.why_not.push_back(
        "the send bypass is not collapsed, so no packet arrives in the compressed format");
  if (!wire && ex.down.collapsed && down_ends)
    ex.up.why_not.push_back(
        fmt::format("the send bypass ends at {}, so no packet leaves in the compressed format",
                    model(*down_ends).name));
  compress_ = !wire && ex.down.collapsed && !down_ends && ex.up.collapsed;
  ex.compressed = compress_;
  ex.compressed_header_bytes = compress_ ? lay.max_size : ex.layered_header_bytes;
  ex.compressed_header_min_bytes = compress_ ? lay.min_size : ex.layered_header_bytes;
  if (compress_) {
    // The down bypass again, now that it may compress.
    fields_.clear();
    pushed_.clear();
    materialised_ = 0;
    physical_ = 0;
    ex.down.bypass.clear();
    ex.down.layered_exits.clear();
    ex.down.delayed.clear();
    delayed_names_.clear();
    rebuilt_copies_ = 0;
    down_code = chain(first_, true, ex.down);
  }
  // The packet sent, for the copies rebuilt from it: the one copy may take it.
  const std::string sent = rebuilt_copies_ == 1 ? "std::move(sent_packet)" : "sent_packet.share()";
  for (auto at = down_code.find("{sent_packet}"); at != std::string::npos;
       at = down_code.find("{sent_packet}", at))
    down_code.replace(at, 13, sent);

  // Emission.
  const std::string c = emit_head(lay, ex) + emit_send(ex, down_code) + emit_receive(up, wire, ex) +
                        emit_codec(lay) + emit_bypass_down(ex, down_code) +
                        fmt::format("}};\n\n}} // namespace {}\n", in_.name_space);
  out.code = c;
  ex.code_bytes = c.size();
  ex.code_lines = static_cast<std::size_t>(std::count(c.begin(), c.end(), '\n'));
  out.diagnostics = diags_;
  out.stuck = down_stuck_;
  out.up_stuck = up_stuck_;
  ex.not_folded.assign(not_folded_.begin(), not_folded_.end());
  return out;
}

std::string Generator::analyse_down(Explanation::Direction& d) {
  d.collapsed = true;
  // The guard is printed per layer (members are qualified by each layer's variable).
  std::vector<Explanation::AtLayer> parts;
  down_explained_ = &d;
  // The guard runs before the application's header is taken off: below the layer that takes
  // it, the message is that much longer than the bypass will hold it.
  std::int64_t app_taken = 0;
  bool ccp_false = false;
  for (std::size_t i = first_; i < depth(); ++i)
    if (!down_guard_part(i, d, app_taken, parts, ccp_false)) break;
  delayed_names_.clear();
  rebuilt_copies_ = 0;
  // A CCP that is false says it all: the layer's code would only repeat it.
  std::string code = ccp_false ? std::string{} : chain(first_, true, d);
  d.guard = guard_of(parts, true, d);
  if (d.guard.empty()) d.guard = "true";
  return code;
}

bool Generator::down_guard_part(std::size_t i, Explanation::Direction& d, std::int64_t& app_taken,
                                std::vector<Explanation::AtLayer>& parts, bool& ccp_false) {
  current_layer_ = i;
  const std::string who = model(i).name + "::ccp_down";
  NodeRef c = down_[i].ccp->deep_copy();
  set_positions(c, 0);
  if (app_taken != 0 &&
      (contains(c, Kind::MsgBytes) || contains(c, Kind::MsgData) || contains(c, Kind::MsgRef))) {
    problem(d, who, c,
            "its CCP reads the message's bytes under a layer that takes the application's "
            "header off");
    return false;
  }
  const bool app_header = !model(i).ccp_down.header.empty();
  if (auto v = decide_under(c, nullptr); v && !*v) {
    problem(d, who, c, "its CCP is false: no path of it is common");
    ccp_false = true;
    return false;
  } else if (v && !app_header) {
    return true;
  }
  const std::string app = std::string(kApp) + in_.layers[i].var;
  if (app_header) {
    // The application's header, read where it is: nothing of the layers above is in front.
    if (front_down(i) != 0) {
      problem(d, who, c, "its CCP reads the application's header under layers that push headers");
      return false;
    }
    c = rename_local(c, "$hdr", local(app));
    app_headers_ += fmt::format("    {}::Header {}{{}};\n", model(i).qualified, app);
  }
  std::string before; // nothing is materialised for the guard going down
  NodeRef r = rewrite(c, i, true, front_down(i) - app_taken, d, who, before);
  if (!r) return false;
  if (app_header) app_taken += model(i).header_size;
  const std::string part = print_expr(simplify(r), {in_.layers[i].var});
  parts.push_back({i, app_header ? fmt::format("ev.msg.peek({}) && {}", app, part) : part});
  return true;
}

Generator::Layout Generator::layout(bool wire, Explanation& ex) const {
  // The fields the down bypass pushes that are not constants.
  Layout lay;
  if (wire) return lay;
  for (const Field& f : fields_) {
    if (f.value->kind == Kind::Constant) {
      ex.constant_fields.push_back(
          {f.layer, f.field->name, f.field->size, print_expr(f.value, {}), 0, {}});
      continue;
    }
    Packed p{f};
    if (in_.varints && f.field->unsigned_integer && !f.from_bytes && !f.field->opaque) {
      // The first counter of its width whole, as a varint; each one after it as its difference
      // from the one before (counters of one packet tend to move together). A set of bits is
      // a varint of its own, and no counter's base.
      p.coding = Packed::Coding::varint;
      for (std::size_t k = lay.packed.size(); k-- > 0 && !f.field->bits;) {
        const Packed& b = lay.packed[k];
        if (b.coding != Packed::Coding::whole && !b.field.field->bits &&
            b.field.field->size == f.field->size) {
          p.coding = Packed::Coding::difference;
          p.base = k;
          break;
        }
      }
    }
    lay.packed.push_back(p);
  }
  for (const Packed& p : lay.packed) {
    const Field& f = p.field;
    const bool whole = p.coding == Packed::Coding::whole;
    const auto most =
        static_cast<std::uint32_t>(whole ? f.field->size : varint::max_bytes(f.field->size));
    const std::uint32_t fewest = whole ? f.field->size : 1;
    lay.min_size += fewest;
    lay.max_size += most;
    std::string coding;
    if (p.coding == Packed::Coding::varint) coding = "a varint";
    if (p.coding == Packed::Coding::difference) {
      const Field& b = lay.packed[p.base].field;
      coding =
          fmt::format("a varint of its difference from {}.{}", model(b.layer).name, b.field->name);
    }
    ex.packed_fields.push_back({f.layer, f.field->name, most, {}, fewest, coding});
  }
  return lay;
}

Generator::UpBypass Generator::analyse_up(const std::optional<std::vector<Field>>& wire,
                                          Explanation& ex) {
  Explanation::Direction& d = ex.up;
  up_explained_ = &d;
  UpBypass up;
  d.collapsed = true;
  physical_ = 0;
  kept_on_ = 0;
  up_materialised_ = first_;
  if (wire) {
    // Every layered header is on the packet, in front of the payload.
    fields_ = *wire;
    physical_ = ex.layered_header_bytes;
    up_materialised_ = depth();
  }
  for (std::size_t i = 0; i < depth(); ++i) {
    FoldContext ctx;
    ctx.not_folded = &not_folded_;
    ctx.pops_succeed = true;
    for (const Field& f : fields_)
      if (f.layer == i) ctx.header_values[f.field->name] = f.value;
    up_.push_back(prepare(in_, in_.layers[i], false, ctx));
  }
  // Guard parts, each printed with its layer's variable.
  std::vector<Explanation::AtLayer> cheap, reading;
  for (std::size_t n = 0; n < depth() - first_; ++n) {
    const std::size_t i = depth() - 1 - n;
    current_layer_ = i;
    bool reads_bytes = false;
    const std::optional<std::string> part = up_guard_part(i, d, up.before, reads_bytes);
    if (!d.collapsed) break;
    if (part) (reads_bytes ? reading : cheap).push_back({i, *part});
  }
  up.guard_physical = physical_;
  up.guard_materialised = up_materialised_;
  delayed_names_.clear();
  if (d.collapsed) up.code = chain(depth() - 1, false, d);
  up.integrity_guard = guard_of(reading, false, d);
  up.guard = guard_of(cheap, false, d);
  if (up.guard.empty()) up.guard = "true";
  d.guard = up.integrity_guard.empty() ? up.guard : up.integrity_guard + " &&\n      " + up.guard;
  return up;
}

std::optional<std::string> Generator::up_guard_part(std::size_t i, Explanation::Direction& d,
                                                    std::string& before, bool& reads_bytes) {
  NodeRef c = up_[i].ccp->deep_copy();
  c = transform(c, [&](NodeRef x) -> NodeRef {
    if (x->kind == Kind::Field && x->kids[0]->kind == Kind::Local && x->kids[0]->name == "$hdr")
      for (const Field& f : fields_)
        if (f.layer == i && f.field->name == x->name) return f.value->deep_copy();
    return x;
  });
  set_positions(c, 0);
  // A packet on the bypass holds every layered header: the layered message at layer i is at
  // least as long as the headers from layer i up.
  const std::int64_t front = front_up(i);
  c = transform(c, [&](NodeRef x) -> NodeRef {
    if (x->kind == Kind::Binary && (x->text == ">=" || x->text == "<") &&
        x->kids[0]->kind == Kind::MsgSize && x->kids[0]->value &&
        x->kids[1]->kind == Kind::Constant && x->kids[1]->value &&
        *x->kids[1]->value <= front - *x->kids[0]->value)
      return boolean(x->text == ">=");
    return x;
  });
  c = simplify(c);
  if (auto v = decide_under(c, nullptr); v) {
    if (!*v) problem(d, model(i).name + "::ccp_up", c, "its CCP is false: no path of it is common");
    return std::nullopt;
  }
  if (mentions_local(c, "$hdr")) {
    problem(d, model(i).name + "::ccp_up", c,
            "its CCP reads a header field that the down bypass does not push");
    return std::nullopt;
  }
  NodeRef r = rewrite(read_split(c, i, false, front, before), i, false, front, d,
                      model(i).name + "::ccp_up", before);
  if (!r) return std::nullopt;
  r = simplify(r);
  if (auto v = decide_under(r, nullptr); v && *v) return std::nullopt;
  reads_bytes = contains(c, Kind::MsgBytes);
  return print_expr(r, {in_.layers[i].var});
}

std::string Generator::emit_head(const Layout& lay, const Explanation& ex) const {
  std::string layers_list;
  for (const StackLayer& l : in_.layers)
    layers_list += (layers_list.empty() ? "" : ", ") + l.model->qualified;
  std::set<std::string> includes;
  for (const StackLayer& l : in_.layers) includes.insert(l.model->file);
  std::string c;
  // "Do not edit" comes first, on a line of its own, so that clang-format's reflowing of a
  // long spec path never splits it.
  c += "// Generated by lamina-opt. Do not edit.\n";
  c += fmt::format("// Spec file {}, stack {}.\n", in_.spec_file, in_.stack);
  c += fmt::format("// Stack string: {}\n", in_.stack_string);
  c += "#pragma once\n\n#include <array>\n#include <cstddef>\n#include <cstdint>\n#include "
       "<cstring>\n"
       "#include <span>\n#include <string_view>\n#include <utility>\n#include <vector>\n\n#include "
       "\"runtime/fused.hpp\"\n#include \"runtime/varint.hpp\"\n";
  for (const auto& inc : includes) c += fmt::format("#include \"{}\"\n", inc);
  c += fmt::format("\nnamespace {} {{\n\n", in_.name_space);
  c += fmt::format("class {} final : public FusedStack<lamina::stack<{}>> {{\npublic:\n",
                   in_.class_name, layers_list);
  c +=
      fmt::format("  static constexpr std::string_view stack_string = \"{}\";\n", in_.stack_string);
  c += "  // The first byte of a packet with the compressed header ('F'; layered packets start "
       "'L').\n";
  c += "  static constexpr std::byte kMarker{0x46};\n";
  c += "  // The compressed header: the marker, then the fields the bypass pushes that are not\n";
  c += !compress_
           ? fmt::format("  // constant on it. Not sent: packets keep the layered headers ({} "
                         "byte{}).\n",
                         ex.layered_header_bytes, ex.layered_header_bytes == 1 ? "" : "s")
       : lay.min_size == lay.max_size
           ? fmt::format("  // constant on it ({} bytes, against {} layered).\n", lay.max_size,
                         ex.layered_header_bytes)
           : fmt::format("  // constant on it, counters as varints ({} to {} bytes, against {} "
                         "layered).\n",
                         lay.min_size, lay.max_size, ex.layered_header_bytes);
  c += fmt::format("  static constexpr std::size_t kMaxCompressedSize = {};\n\n",
                   compress_ ? lay.max_size : 0);
  // Constructor: the layers with the stack's parameters.
  c += fmt::format("  {}()\n      : FusedStack(", in_.class_name);
  for (std::size_t i = 0; i < depth(); ++i) {
    const StackLayer& l = in_.layers[i];
    std::string body = fmt::format("{} l;", l.model->qualified);
    for (const auto& [name, value] : l.params)
      body += fmt::format(" l.{} = {};", name, print_expr(value, {}));
    c += fmt::format("{}[] {{ {} return l; }}()", i ? ",\n                   " : "", body);
  }
  c += ") {}\n\n";
  // Fields of the headers that travel in the compressed header.
  c += "  // The values of the header fields the bypass pushes that are not constants.\n  struct "
       "Fields {\n";
  for (const Packed& p : lay.packed)
    c += fmt::format("    {} {}_{}{{}};\n", p.field.field->type, in_.layers[p.field.layer].var,
                     p.field.field->name);
  c += "  };\n\n";
  return c;
}

// The declarations of what `body` reads of the host as a variable (me_, group_size_): read once
// an event, so that the guard and the bypass, which may read them often, make no virtual call
// for them (and the compiler may reuse what the guard computed from them, across no call).
std::string host_reads(const std::string& body) {
  std::string c;
  if (mentions_word(body, "me_")) c += "    const PeerId me_ = host_->me();\n";
  if (mentions_word(body, "group_size_"))
    c += "    const std::uint32_t group_size_ = host_->group_size();\n";
  return c;
}

std::string Generator::emit_send(const Explanation& ex, const std::string& down_code) const {
  std::string c = "  void send(PeerId to, Msg payload) override {\n"
                  "    Event ev = to == kAllPeers ? Event::cast(std::move(payload)) : "
                  "Event::send(to, std::move(payload));\n"
                  "    ev.time = host_->now();\n";
  if (first_ > 0) {
    // The layered code above the bypass, whose hand-ons come back through this stack.
    if (delays(ex)) c += "    run_later();\n";
    c += "    " + enter_layered(0, true) + "  }\n\n";
    return c + fmt::format(
                   "  void expire(std::uint32_t timer) override {{\n    run_later();\n"
                   "    layered_.expire(timer, *this);\n  }}\n\n"
                   "  // What a layer of the layered code hands on (stack::enter_down(ev, outer)): "
                   "from {0}\n  // down, the bypass of the layers below it.\n"
                   "  template <std::size_t I>\n  void leave_down(Event& ev) {{\n"
                   "    if constexpr (I + 1 == {1})\n      bypass_down(ev);\n    else\n"
                   "      layered_.leave_down<I>(ev, *this);\n  }}\n"
                   "  template <std::size_t I>\n  void leave_up(Event& ev) {{\n"
                   "    layered_.leave_up<I>(ev, *this);\n  }}\n\n",
                   model(first_ - 1).name, first_);
  }
  const std::string body = down_bypass(ex, down_code);
  return c + host_reads(body) + body + "  }\n\n";
}

std::string Generator::emit_bypass_down(const Explanation& ex, const std::string& down_code) const {
  if (first_ == 0) return {};
  const std::string body = down_bypass(ex, down_code);
  return fmt::format("private:\n  // An event {} passes down.\n  void bypass_down(Event& ev) {{\n",
                     model(first_ - 1).name) +
         host_reads(body) + body + "  }\n";
}

std::string Generator::down_bypass(const Explanation& ex, const std::string& down_code) const {
  std::string c;
  if (delays(ex)) c += "    run_later();\n";
  if (!ex.down.collapsed) return c + "    " + enter_layered(first_, true);
  c += layer_references();
  c += app_headers_;
  c += fmt::format("    if (!({})) {{\n      {}      return;\n    }}\n", ex.down.guard,
                   enter_layered(first_, true));
  c += "    [[maybe_unused]] Fields f;\n";
  if (rebuilt_copies_ > 0)
    c += "    Msg sent_packet; // what the transmit took, for the work put off\n";
  return c + down_code;
}

std::string Generator::emit_receive(const UpBypass& up,
                                    const std::optional<std::vector<Field>>& wire,
                                    const Explanation& ex) {
  std::string c = "  void receive(PeerId from, Msg packet) override {\n"
                  "    Event ev = Event::deliver(from, std::move(packet));\n"
                  "    ev.time = host_->now();\n";
  std::string body;
  if (delays(ex)) body += "    run_later();\n";
  if (compress_) {
    body += emit_compressed_receive(up);
  } else if (wire && ex.up.collapsed) {
    // The packet as it came: the bottom layer's header in front, checked, then the guard.
    body += layer_references();
    std::string check = "!ev.msg.peek(wire)";
    for (const Field& f : *wire)
      check += fmt::format(" || !(wire.{} == {})", f.field->name, print_expr(f.value, {}));
    body += fmt::format("    {}::Header wire{{}};\n", model(depth() - 1).qualified);
    body += fmt::format("    if ({} ||\n        !({})) {{\n      {}      return;\n    }}\n", check,
                        ex.up.guard, enter_layered(depth() - 1, false));
    body += up.code;
  } else {
    body += "    " + enter_layered(depth() - 1, false);
  }
  return c + host_reads(body) + body + "  }\n\n";
}

std::string Generator::emit_compressed_receive(const UpBypass& up) {
  std::string c = "    Fields f;\n";
  c += fmt::format("    if (!unpack(ev.msg, f)) {{\n      {}      return;\n    }}\n",
                   enter_layered(depth() - 1, false));
  c += layer_references();
  c += up.before;
  if (!up.integrity_guard.empty()) {
    // A packet that is not intact may not be compressed at all (a damaged layered packet whose
    // first byte became the marker): the layered code decides, on the packet as it arrived.
    c += fmt::format("    if (!({})) {{\n", up.integrity_guard);
    if (up.guard_physical > 0)
      c += fmt::format("      (void)ev.msg.drop_front({});\n", up.guard_physical);
    c += fmt::format("      pack(ev.msg, f);\n      {}      return;\n    }}\n",
                     enter_layered(depth() - 1, false));
  }
  c += "    heard_compressed_from(from);\n";
  // On a failed guard: the rest of the layered headers, and the layered path from Bottom.
  physical_ = up.guard_physical;
  up_materialised_ = up.guard_materialised;
  const std::string expand_rest = materialise_up(1 << 30);
  c += fmt::format("    if (!({})) {{\n{}      {}      return;\n    }}\n", up.guard, expand_rest,
                   enter_layered(depth() - 1, false));
  return c + up.code;
}

std::string Generator::emit_codec(const Layout& lay) const {
  std::string c =
      "  // A packet as the layered stack puts it on the wire: compressed ones expanded.\n"
      "  static std::vector<std::byte> canonical(std::span<const std::byte> packet) {\n";
  if (!compress_) return c + "    return {packet.begin(), packet.end()};\n  }\n\n";
  c += "    Msg m = Msg::copy_of(packet);\n    Fields f;\n"
       "    if (unpack(m, f)) expand(m, f);\n"
       "    return {m.bytes().begin(), m.bytes().end()};\n  }\n\n";
  c += "private:\n";
  auto name = [&](const Packed& p) {
    return fmt::format("f.{}_{}", in_.layers[p.field.layer].var, p.field.field->name);
  };
  // Pack: each varint's value first, then the room they take all together in front of the
  // message, written in place. Both are in line where they are called: a call would cost as
  // much as the packing.
  c += "  [[gnu::always_inline]] static void pack(Msg& msg, const Fields& f) {\n";
  std::string room = "1";
  std::string write = "    *at++ = kMarker;\n";
  for (std::size_t k = 0; k < lay.packed.size(); ++k) {
    const Packed& p = lay.packed[k];
    const std::uint32_t size = p.field.field->size;
    if (p.coding == Packed::Coding::whole) {
      room += fmt::format(" + {}", size);
      write += fmt::format("    std::memcpy(at, &{}, {});\n", name(p), size);
      if (k + 1 < lay.packed.size()) write += fmt::format("    at += {};\n", size);
      continue;
    }
    c += p.coding == Packed::Coding::varint
             ? fmt::format("    const auto v{} = {};\n", k, name(p))
             : fmt::format("    const auto v{} = varint::zigzag({}, {});\n", k, name(p),
                           name(lay.packed[p.base]));
    room += fmt::format(" + varint::size(v{})", k);
    write += fmt::format("    at = varint::put(at, v{});\n", k);
  }
  c += fmt::format("    std::byte* at = msg.claim_front({});\n", room) + write + "  }\n\n";
  c += "  // Takes the compressed header off `msg` into `f`; false (and `msg` untouched) if it "
       "has none,\n  // or if it does not read as one.\n";
  c += "  [[gnu::always_inline]] static bool unpack(Msg& msg, Fields& f) {\n"
       "    const std::byte* at = msg.data();\n"
       "    const std::byte* const end = at + msg.size();\n"
       "    if (at == end || *at != kMarker) return false;\n"
       "    ++at;\n";
  for (const Packed& p : lay.packed) {
    const std::uint32_t size = p.field.field->size;
    if (p.coding == Packed::Coding::whole)
      c += fmt::format("    if (end - at < {}) return false;\n"
                       "    std::memcpy(&{}, at, {});\n    at += {};\n",
                       size, name(p), size, size);
    else
      c += fmt::format("    if (!varint::get(at, end, {})) return false;\n", name(p));
    if (p.coding == Packed::Coding::difference)
      c += fmt::format("    {} = varint::unzigzag({}, {});\n", name(p), name(p),
                       name(lay.packed[p.base]));
  }
  c += "    return msg.drop_front(static_cast<std::size_t>(at - msg.data()));\n  }\n\n";
  c += "  // Pushes the layered headers the compressed header stands for.\n"
       "  static void expand(Msg& msg, const Fields& f) {\n    (void)f;\n";
  std::vector<std::size_t> layers;
  for (std::size_t i = first_; i < depth(); ++i)
    if (model(i).header_size != 0) layers.push_back(i);
  return c + "    " + push_layered(layers, "msg") + "  }\n";
}

} // namespace

Generated generate(const StackInput& input) {
  Generated out = Generator(input, 0).run();
  // The plan of the layers below `stuck`: what kept the layers above off the bypass (`why`) is
  // told with it.
  const auto below = [&](std::size_t stuck, const std::vector<std::string>& why) {
    Generated b = Generator(input, stuck + 1).run();
    b.explain.above = why;
    b.diagnostics.insert(b.diagnostics.begin(), out.diagnostics.begin(), out.diagnostics.end());
    return b;
  };
  // A layer that cannot be collapsed (its CCP is false: LamportMutex) leaves the layers below it
  // to a bypass of their own, which what it passes down enters: Ensemble's way. Below it there
  // must be more than the bottom layer, whose bypass would save nothing.
  std::optional<std::size_t> stuck = out.stuck;
  while (!out.explain.down.collapsed && stuck && *stuck + 2 < input.layers.size()) {
    Generated b = below(*stuck, out.explain.down.why_not);
    if (b.explain.down.collapsed || b.explain.up.collapsed) return b;
    stuck = b.stuck;
  }
  // A layer on the send bypass that the receive bypass cannot pass (its CCP up is false:
  // down_only.test) leaves no packet compressed. If the layers below it collapse both ways on
  // their own, their bypasses serve every message.
  if (out.explain.down.collapsed && !out.explain.up.collapsed && out.up_stuck &&
      *out.up_stuck + 2 < input.layers.size()) {
    Generated b = below(*out.up_stuck, out.explain.up.why_not);
    if (b.explain.down.collapsed && b.explain.up.collapsed) return b;
  }
  return out;
}

std::string print_after(const StackInput& input, const std::string& pass, const std::string& layer,
                        const std::string& direction) {
  for (const StackLayer& l : input.layers) {
    if (l.model->name != layer) continue;
    const Prepared p = prepare(input, l, direction == "down", FoldContext{});
    const NodeRef& n = pass == "lower"    ? p.lowered
                       : pass == "inline" ? p.inlined
                       : pass == "params" ? p.params
                                          : p.folded;
    return print_stmt(n, PrintContext{""}, 0);
  }
  return {};
}

} // namespace lamina::opt
