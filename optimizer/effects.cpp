#include "optimizer/effects.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace lamina::opt {

namespace {

class Walker {
public:
  explicit Walker(const EffectsContext& ctx) : ctx_(ctx) {}

  Effects run(const NodeRef& n) {
    walk(n);
    // The piece's own locals are nobody else's business.
    for (const std::string& d : declared_) {
      out_.reads.erase(local(d));
      out_.writes.erase(local(d));
    }
    return out_;
  }

private:
  [[nodiscard]] std::string member(const std::string& name) const {
    return fmt::format("{}/m:{}", ctx_.layer, name);
  }
  [[nodiscard]] std::string local(const std::string& name) const {
    return fmt::format("{}/l:{}", ctx_.layer, name);
  }

  // A local read or written: itself, and what it may refer to.
  void touch_local(const std::string& name, std::set<std::string>& into) {
    into.insert(local(name));
    if (auto a = ctx_.aliases.find(name); a != ctx_.aliases.end())
      into.insert(a->second.begin(), a->second.end());
  }

  // The message a message operation is on: the event's, or that of a local event.
  void message_of(const NodeRef& n, std::set<std::string>& into) {
    if (n->event == "ev")
      into.insert("ev.msg");
    else
      touch_local(n->event, into);
  }

  // A name that an impure node writes: a member, a local (perhaps shadowing a member), the
  // event, or one field of it.
  void write(const std::string& name, const std::string& event) {
    if (name == "*") {
      out_.unknown = true;
    } else if (name == event) {
      out_.writes.insert({"ev", "ev.msg"});
    } else if (name.starts_with(event + ".")) {
      out_.writes.insert("ev" + name.substr(event.size()));
    } else {
      if (ctx_.model->members.contains(name)) out_.writes.insert(member(name));
      touch_local(name, out_.writes);
    }
  }

  void walk(const NodeRef& n) {
    if (!n) return;
    if (!n->problem.empty()) out_.unknown = true;
    switch (n->kind) {
    case Kind::Decl:
      declared_.insert(n->name);
      break;
    case Kind::Member:
      out_.reads.insert(member(n->name));
      break;
    case Kind::Entry:
      // operator[] may add the entry.
      if (n->text == "[]" && n->kids[0]->kind == Kind::Member)
        out_.writes.insert(member(n->kids[0]->name));
      break;
    case Kind::Field:
      // A field of the event is read alone: ev.peer is not ev.lamport.
      if (n->kids[0]->kind == Kind::Local && n->kids[0]->name == "ev") {
        out_.reads.insert("ev." + n->name);
        return;
      }
      break;
    case Kind::Local:
      if (n->name == "ev")
        out_.reads.insert("ev");
      else
        touch_local(n->name, out_.reads);
      break;
    case Kind::MsgSize:
    case Kind::MsgBytes:
    case Kind::MsgRef:
      message_of(n, out_.reads);
      break;
    case Kind::MsgData:
      message_of(n, out_.reads);
      message_of(n, out_.writes);
      break;
    case Kind::Push:
    case Kind::Pop:
    case Kind::DropHeader:
      message_of(n, out_.writes);
      if (n->kind == Kind::Pop) touch_local(n->name, out_.writes);
      break;
    case Kind::Ports:
      if (n->text == "set_timer") out_.emits.insert("timer");
      break;
    case Kind::Call:
      out_.unknown = true; // a helper that could not be inlined
      break;
    case Kind::Neighbour:
      if (n->kids[0]->kind == Kind::Local && n->kids[0]->name == "ev") return;
      if (ctx_.neighbour)
        ctx_.neighbour(n, out_);
      else
        out_.unknown = true;
      for (const auto& k : n->kids) walk(k);
      return;
    default:
      break;
    }
    // An inlined helper's effects are its body's (the call it replaced wrote "anything").
    if (!n->pure && n->kind != Kind::Push && n->kind != Kind::Pop && n->kind != Kind::DropHeader &&
        n->kind != Kind::MsgData && n->kind != Kind::Inlined)
      for (const std::string& w : n->writes) write(w, "ev");
    for (const auto& k : n->kids) walk(k);
  }

  const EffectsContext& ctx_;
  Effects out_;
  std::set<std::string> declared_;
};

// Whether two names stand for overlapping state: the same, or one a field of the other (the
// event "ev" holds "ev.peer", "ev.msg", ...).
bool same_or_within(const std::string& x, const std::string& y) {
  const auto within = [](const std::string& inner, const std::string& outer) {
    return inner.size() > outer.size() && inner.starts_with(outer) && inner[outer.size()] == '.';
  };
  return x == y || within(x, y) || within(y, x);
}

bool overlap(const std::set<std::string>& a, const std::set<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const std::string& x) {
    return std::any_of(b.begin(), b.end(),
                       [&](const std::string& y) { return same_or_within(x, y); });
  });
}

} // namespace

void Effects::merge(const Effects& other) {
  reads.insert(other.reads.begin(), other.reads.end());
  writes.insert(other.writes.begin(), other.writes.end());
  emits.insert(other.emits.begin(), other.emits.end());
  unknown = unknown || other.unknown;
}

void find_aliases(const NodeRef& body, EffectsContext& ctx) {
  // Twice, so that a local initialised from another (an iterator into a reference's table)
  // refers to what that one refers to, whatever the order in which they were met.
  for (int round = 0; round < 2; ++round) {
    std::function<void(const NodeRef&)> walk = [&](const NodeRef& n) {
      if (!n) return;
      if (n->kind == Kind::Decl && !n->kids.empty() && n->kids[0]) {
        EffectsContext inner = ctx;
        inner.neighbour = nullptr;
        const Effects init = Walker(inner).run(n->kids[0]);
        auto& into = ctx.aliases[n->name];
        // Not the event or a field of it, which a local is initialised from by value (`peer =
        // ev.peer`); its message, which a reference may refer to, as before.
        for (const std::string& r : init.reads)
          if (r != "ev" && (!r.starts_with("ev.") || r == "ev.msg")) into.insert(r);
      }
      for (const auto& k : n->kids) walk(k);
    };
    walk(body);
  }
}

Effects effects_of(const NodeRef& n, const EffectsContext& ctx) { return Walker(ctx).run(n); }

bool conflict(const Effects& moved, const Effects& past) {
  if (moved.unknown || past.unknown) return true;
  return overlap(moved.writes, past.reads) || overlap(moved.writes, past.writes) ||
         overlap(moved.reads, past.writes) || overlap(moved.emits, past.emits);
}

} // namespace lamina::opt
