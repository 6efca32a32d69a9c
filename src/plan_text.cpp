#include "boxjail/plan_text.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "boxjail/help.h"

namespace boxjail {
namespace {

// A JSON value, objects in their members' order. (A member is a struct of
// its own, not a std::pair: a pair of the incomplete Value is not allowed,
// and clang's libstdc++ build refuses it.)
struct Member;
struct Value {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  std::string text;  // bool, number (as written) or string (unescaped)
  std::vector<Value> items;
  std::vector<Member> members;

  const Value* get(std::string_view key) const;
  bool null() const { return kind == kNull; }
  bool truthy() const { return kind == kBool && text == "true"; }
  std::string str(std::string_view key) const {
    const Value* v = get(key);
    return v != nullptr && v->kind != kNull ? v->scalar() : "";
  }
  std::string scalar() const { return kind == kNull ? "null" : text; }
};

struct Member {
  std::string key;
  Value value;
};

const Value* Value::get(std::string_view key) const {
  for (const auto& [k, v] : members)
    if (k == key) return &v;
  return nullptr;
}

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}
  bool parse(Value* v) {
    if (!value(v)) return false;
    ws();
    return at_ == s_.size();
  }

 private:
  void ws() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\n' || s_[at_] == '\t' || s_[at_] == '\r'))
      ++at_;
  }
  bool lit(std::string_view w) {
    if (s_.substr(at_, w.size()) != w) return false;
    at_ += w.size();
    return true;
  }
  bool string(std::string* out) {
    if (at_ >= s_.size() || s_[at_] != '"') return false;
    ++at_;
    while (at_ < s_.size() && s_[at_] != '"') {
      char c = s_[at_++];
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (at_ >= s_.size()) return false;
      c = s_[at_++];
      switch (c) {
        case 'n': *out += '\n'; break;
        case 't': *out += '\t'; break;
        case 'r': *out += '\r'; break;
        case 'b': *out += '\b'; break;
        case 'f': *out += '\f'; break;
        case 'u': {
          if (at_ + 4 > s_.size()) return false;
          unsigned cp = static_cast<unsigned>(std::stoul(std::string(s_.substr(at_, 4)), nullptr, 16));
          at_ += 4;
          // Plan strings are paths and names: show control characters as
          // escapes, and encode the rest as UTF-8.
          if (cp < 0x20) {
            *out += "\\u" + std::string(s_.substr(at_ - 4, 4));
          } else if (cp < 0x80) {
            *out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            *out += static_cast<char>(0xc0 | (cp >> 6));
            *out += static_cast<char>(0x80 | (cp & 0x3f));
          } else {
            *out += static_cast<char>(0xe0 | (cp >> 12));
            *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            *out += static_cast<char>(0x80 | (cp & 0x3f));
          }
          break;
        }
        default: *out += c;
      }
    }
    if (at_ >= s_.size()) return false;
    ++at_;
    return true;
  }
  bool value(Value* v) {
    ws();
    if (at_ >= s_.size()) return false;
    const char c = s_[at_];
    if (c == '{') {
      v->kind = Value::kObject;
      ++at_;
      ws();
      if (lit("}")) return true;
      for (;;) {
        ws();
        std::string key;
        if (!string(&key)) return false;
        ws();
        if (!lit(":")) return false;
        Value m;
        if (!value(&m)) return false;
        v->members.push_back(Member{std::move(key), std::move(m)});
        ws();
        if (lit("}")) return true;
        if (!lit(",")) return false;
      }
    }
    if (c == '[') {
      v->kind = Value::kArray;
      ++at_;
      ws();
      if (lit("]")) return true;
      for (;;) {
        Value m;
        if (!value(&m)) return false;
        v->items.push_back(std::move(m));
        ws();
        if (lit("]")) return true;
        if (!lit(",")) return false;
      }
    }
    if (c == '"') {
      v->kind = Value::kString;
      return string(&v->text);
    }
    if (lit("null")) return true;
    if (lit("true") || lit("false")) {
      v->kind = Value::kBool;
      v->text = s_[at_ - 1] == 'e' && s_[at_ - 2] == 'u' ? "true" : "false";
      return true;
    }
    const size_t start = at_;
    while (at_ < s_.size() && std::string_view("+-0123456789.eE").find(s_[at_]) != std::string_view::npos)
      ++at_;
    if (at_ == start) return false;
    v->kind = Value::kNumber;
    v->text = std::string(s_.substr(start, at_ - start));
    return true;
  }

  std::string_view s_;
  size_t at_ = 0;
};

// A label column of this many characters, then the value.
constexpr size_t kLabel = 16;

class Writer {
 public:
  explicit Writer(size_t width) : width_(std::max(width, help::kMinWidth)) {}

  void heading(const std::string& h) { out_ += (out_.empty() ? "" : "\n") + h + "\n"; }
  // "  label         value", the value wrapped under itself.
  void line(const std::string& label, const std::string& value, size_t depth = 1) {
    std::string l(2 * depth, ' ');
    l += label;
    const size_t col = kLabel + 2 * depth;
    if (value.empty()) {
      out_ += l + "\n";
      return;
    }
    if (l.size() + 1 > col) {
      out_ += l + "\n" + std::string(col, ' ') + help::wrap(value, width_, col, col);
      return;
    }
    l.resize(col, ' ');
    out_ += l + help::wrap(value, width_, col, col);
  }
  // A value with no label, indented under the labels.
  void item(const std::string& text, size_t depth = 2) {
    const size_t ind = 2 * depth;
    out_ += std::string(ind, ' ') + help::wrap(text, width_, ind, ind + 4);
  }
  std::string take() { return std::move(out_); }

 private:
  size_t width_;
  std::string out_;
};

std::string join(const Value* v, const char* sep = ", ") {
  std::string s;
  if (v == nullptr) return s;
  for (const Value& i : v->items) s += (s.empty() ? "" : sep) + i.scalar();
  return s;
}

// A word as a shell would need it quoted to mean the same.
std::string shell_word(const std::string& w) {
  if (!w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./=:,@%+") == std::string::npos)
    return w;
  // Control characters as bash's $'...' writes them, so that a newline in
  // an argument cannot break the review's lines.
  if (std::any_of(w.begin(), w.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    std::string q = "$'";
    for (char c : w) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '\n') q += "\\n";
      else if (c == '\t') q += "\\t";
      else if (c == '\'' || c == '\\') q += std::string("\\") + c;
      else if (u < 0x20 || u == 0x7f) {
        const char* hex = "0123456789abcdef";
        q += std::string("\\x") + hex[u >> 4] + hex[u & 15];
      } else q += c;
    }
    return q + "'";
  }
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Any value on one line: objects as "key value, key value".
std::string inline_text(const Value& v) {
  switch (v.kind) {
    case Value::kNull: return "none";
    case Value::kArray: {
      std::string s;
      for (const Value& i : v.items) s += (s.empty() ? "" : ", ") + inline_text(i);
      return s.empty() ? "none" : s;
    }
    case Value::kObject: {
      std::string s;
      for (const auto& [k, m] : v.members) {
        if (m.null()) continue;
        s += (s.empty() ? "" : "; ") + k + " " + inline_text(m);
      }
      return s.empty() ? "(empty)" : s;
    }
    default: return v.text;
  }
}

// A key this text does not know: shown as it is, nested objects indented.
void generic(Writer& w, const std::string& label, const Value& v, size_t depth) {
  if (v.null()) return;
  if (v.kind == Value::kObject && depth < 3) {
    w.line(label, "", depth);
    for (const auto& [k, m] : v.members) generic(w, k, m, depth + 1);
    return;
  }
  if (v.kind == Value::kArray && !v.items.empty() && v.items[0].kind == Value::kObject) {
    w.line(label, std::to_string(v.items.size()) + (v.items.size() == 1 ? " entry" : " entries"),
           depth);
    for (const Value& i : v.items) w.item(inline_text(i), depth + 1);
    return;
  }
  w.line(label, inline_text(v), depth);
}

std::string plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

void program(Writer& w, const Value& j) {
  w.heading("PROGRAM");
  w.line("path", j.str("program"));
  std::string argv;
  if (const Value* a = j.get("argv"))
    for (const Value& i : a->items) argv += (argv.empty() ? "" : " ") + shell_word(i.text);
  w.line("argv", argv);
  const std::string mode = j.str("mode");
  const char* what = mode == "supervise" ? "boxjail forks once and stays as the supervisor"
                     : mode == "detach"  ? "a new session; boxjail exits once PROGRAM runs"
                     : mode == "no-fork" ? "boxjail becomes PROGRAM, same pid"
                                         : "";
  w.line("mode", mode + (*what ? std::string(" (") + what + ")" : ""));
  if (const Value* c = j.get("chdir"); c != nullptr && !c->null()) w.line("directory", c->text);
}

void identity(Writer& w, const Value& j) {
  w.heading("Identity");
  const Value* id = j.get("identity");
  if (id == nullptr || id->null()) {
    w.line("user", "unchanged: boxjail's uid, gids and capabilities");
  } else {
    w.line("user", id->str("user") + " (uid " + id->str("uid") + "), group " + id->str("group") +
                       " (gid " + id->str("gid") + ")");
    if (const Value* g = id->get("groups"); g != nullptr && !g->null()) {
      std::string s;
      for (const Value& i : g->items)
        s += (s.empty() ? "" : ", ") + (i.kind == Value::kObject ? i.str("name") + " (" + i.str("gid") + ")" : i.scalar());
      w.line("groups", s.empty() ? "none" : s);
    }
    if (!id->str("why").empty()) w.line("why", id->str("why"));
    if (const Value* caps = id->get("capabilities"); caps != nullptr && !caps->null()) {
      bool any = false;
      for (const auto& [set, list] : caps->members) any = any || !list.items.empty();
      if (!any) {
        w.line("capabilities", "none, in every set (bounding, permitted, effective, inheritable, ambient)");
      } else {
        w.line("capabilities", "");
        for (const auto& [set, list] : caps->members) w.line(set, inline_text(list), 2);
      }
    }
    if (const Value* sb = id->get("securebits"); sb != nullptr && !sb->null())
      w.line("securebits", inline_text(*sb));
    for (const auto& [k, v] : id->members)
      if (k != "uid" && k != "user" && k != "gid" && k != "group" && k != "groups" && k != "why" &&
          k != "capabilities" && k != "securebits")
        generic(w, k, v, 1);
  }
  if (const Value* nnp = j.get("no_new_privs"))
    w.line("no_new_privs", (nnp->get("set") != nullptr && nnp->get("set")->truthy() ? "set: " : "not set: ") +
                               nnp->str("why"));
}

void landlock(Writer& w, const Value& j) {
  w.heading("Filesystem (Landlock)");
  const Value* l = j.get("landlock");
  if (l == nullptr || l->null()) {
    w.line("rules", "none: Landlock is not used, the filesystem is as boxjail sees it");
    return;
  }
  w.line("ruleset", "ABI " + l->str("abi") + ", " + l->str("mode") + ", domain " + l->str("domain"));
  const Value* rules = l->get("rules");
  const size_t n = rules != nullptr ? rules->items.size() : 0;
  w.line("allowed", n == 0 ? "nothing: every handled access is denied everywhere"
                           : plural(n, "path", "paths") + "; everything else is denied");
  if (rules != nullptr)
    for (const Value& r : rules->items)
      w.item(r.str("path") + "  " + join(r.get("access"), ",") + "  (" + r.str("type") +
             (r.str("from").empty() ? "" : ", " + r.str("from")) + ")");
  if (const Value* h = l->get("handled_fs"))
    w.line("handled", plural(h->items.size(), "access right", "access rights") + ": " + join(h));
  if (const Value* s = l->get("scoped"); s != nullptr && !s->null())
    w.line("scoped", s->items.empty() ? "nothing" : join(s));
  if (const Value* d = l->get("dropped"); d != nullptr && !d->items.empty())
    w.line("dropped", inline_text(*d));
  if (const Value* g = l->get("log_new_exec"); g != nullptr && g->truthy())
    w.line("audit log", "denials after exec are logged");
  for (const auto& [k, v] : l->members)
    if (k != "abi" && k != "mode" && k != "domain" && k != "rules" && k != "handled_fs" &&
        k != "scoped" && k != "dropped" && k != "log_new_exec" && k != "handled_net" && k != "ports")
      generic(w, k, v, 1);
}

void network(Writer& w, const Value& j) {
  w.heading("Network");
  const Value* l = j.get("landlock");
  const Value* hn = l != nullptr && !l->null() ? l->get("handled_net") : nullptr;
  if (hn == nullptr || hn->items.empty()) {
    w.line("TCP ports", "not restricted by Landlock");
  } else {
    const Value* ports = l->get("ports");
    w.line("TCP ports", (ports == nullptr || ports->items.empty())
                            ? "no bind, no connect (" + join(hn) + " handled)"
                            : "only these (" + join(hn) + " handled):");
    if (ports != nullptr)
      for (const Value& p : ports->items) w.item(inline_text(p));
  }
  const Value* jail = j.get("jail");
  if (jail != nullptr && !jail->null()) {
    const std::string net = jail->str("network");
    w.line("sockets", net.empty() ? "any family" : net);
    if (const Value* af = jail->get("address_families"); af != nullptr && !af->null())
      w.line("families", inline_text(*af));
  }
  if (const Value* ns = j.get("netns"); ns != nullptr && !ns->null())
    w.line("namespace", inline_text(*ns));
  else
    w.line("namespace", "boxjail's");
}

void seccomp(Writer& w, const Value& j) {
  w.heading("System calls (seccomp)");
  const Value* s = j.get("seccomp");
  if (s == nullptr || s->null()) {
    w.line("filter", "none of the user's");
  } else if (!s->str("bpf_file").empty()) {
    w.line("filter", "the classic BPF program in " + s->str("bpf_file"));
  } else {
    const Value* rules = s->get("rules");
    // Calls by action, in the rules' order.
    std::vector<std::pair<std::string, std::vector<std::string>>> by;
    size_t conditional = 0;
    if (rules != nullptr)
      for (const Value& r : rules->items) {
        const std::string action = r.str("action");
        auto it = std::find_if(by.begin(), by.end(), [&](const auto& p) { return p.first == action; });
        if (it == by.end()) {
          by.push_back({action, {}});
          it = by.end() - 1;
        }
        std::string call = r.str("syscall");
        if (!r.str("when").empty()) {
          call += " when " + r.str("when");
          ++conditional;
        }
        it->second.push_back(call);
      }
    std::string counts;
    for (const auto& [a, calls] : by) counts += (counts.empty() ? "" : ", ") + std::to_string(calls.size()) + " " + a;
    const size_t n = rules != nullptr ? rules->items.size() : 0;
    w.line("filter", plural(n, "rule", "rules") + (counts.empty() ? "" : " (" + counts + ")") +
                         (conditional ? ", " + std::to_string(conditional) + " with conditions" : "") +
                         "; every other call: " + s->str("default") + "; other ABIs: " +
                         s->str("other_abis"));
    // The groups and families named, from where each rule came from.
    std::set<std::string> seen;
    std::string groups;
    if (const Value* src = j.get("sources"); src != nullptr)
      if (const Value* rs = src->get("rules"); rs != nullptr)
        if (const Value* sr = rs->get("seccomp"); sr != nullptr)
          for (const Value& r : sr->items) {
            const std::string from = r.str("from");
            for (size_t at = from.find('@'); at != std::string::npos; at = from.find('@', at + 1)) {
              size_t end = from.find_first_of(",: ;)", at);
              std::string g = from.substr(at, end == std::string::npos ? end : end - at);
              if (seen.insert(g).second) groups += (groups.empty() ? "" : ", ") + g;
            }
          }
    if (!groups.empty()) w.line("groups", groups);
    for (const auto& [a, calls] : by) {
      std::string list;
      for (const std::string& c : calls) list += (list.empty() ? "" : ", ") + c;
      w.line(a, list, 2);
    }
    w.line("instructions", s->str("instructions"));
    if (!s->str("denials").empty()) w.line("denials", s->str("denials"));
    for (const auto& [k, v] : s->members)
      if (k != "default" && k != "other_abis" && k != "rules" && k != "instructions" &&
          k != "denials" && k != "bpf_file")
        generic(w, k, v, 1);
  }
  const Value* jail = j.get("jail");
  if (jail == nullptr || jail->null()) {
    w.line("jail", "none: PROGRAM is not confined");
    return;
  }
  w.line("jail", "what a confined PROGRAM always gets:");
  for (const auto& [k, v] : jail->members) {
    if (k == "network" || k == "address_families" || v.null()) continue;
    if (k == "rules") {
      w.line("rules", std::to_string(v.items.size()), 2);
      for (const Value& r : v.items) w.item(inline_text(r), 3);
    } else {
      w.line(k, inline_text(v), 2);
    }
  }
}

void cgroup(Writer& w, const Value& j) {
  w.heading("Cgroup");
  const Value* c = j.get("cgroup");
  if (c == nullptr || c->null()) {
    w.line("cgroup", "boxjail's own");
    return;
  }
  w.line("path", c->str("path"));
  if (const Value* h = c->get("hierarchies"))
    for (const Value& p : h->items)
      w.item("v" + p.str("version") + " " + p.str("dir") +
             (p.get("exists") != nullptr && p.get("exists")->truthy() ? " (exists)" : " (created)") +
             (p.str("why").empty() ? "" : ": " + p.str("why")));
  if (const Value* s = c->get("settings"); s != nullptr) {
    w.line("settings", s->items.empty() ? "none" : "");
    for (const Value& st : s->items)
      w.item(st.str("file") + " = " + st.str("value") +
             (st.str("translated_from").empty() ? "" : " (from " + st.str("translated_from") + ")") +
             (st.str("note").empty() ? "" : "; " + st.str("note")));
  }
  for (const auto& [k, v] : c->members)
    if (k != "path" && k != "hierarchies" && k != "settings") generic(w, k, v, 1);
}

void limits_fds_env(Writer& w, const Value& j) {
  w.heading("Resources");
  const Value* r = j.get("rlimits");
  if (r == nullptr || r->items.empty()) {
    w.line("rlimits", "boxjail's, unchanged");
  } else {
    std::string s;
    for (const Value& i : r->items)
      s += (s.empty() ? "" : ", ") + i.str("name") + " " + i.str("soft") +
           (i.str("soft") == i.str("hard") ? "" : ":" + i.str("hard"));
    w.line("rlimits", s);
  }
  if (const Value* sch = j.get("scheduling"); sch != nullptr) {
    std::string s;
    for (const auto& [k, v] : sch->members)
      if (!v.null()) s += (s.empty() ? "" : ", ") + k + " " + v.scalar();
    w.line("scheduling", s.empty() ? "unchanged" : s);
  }
  w.heading("Descriptors");
  std::string fds;
  if (const Value* f = j.get("fds"))
    for (const Value& i : f->items) fds += (fds.empty() ? "" : ", ") + i.str("target") + " from " + i.str("source");
  w.line("moved", fds.empty() ? "none" : fds);
  const Value* close = j.get("close_fds");
  w.line("others", close != nullptr && close->truthy()
                       ? "0, 1, 2 and those above are kept; every other is closed"
                       : "kept (--keep-fds)");
  if (const Value* l = j.get("listen_fds"); l != nullptr && !l->null())
    w.line("socket activation", l->scalar() + " descriptors from 3");
  w.heading("Environment");
  const Value* e = j.get("environment");
  if (e == nullptr || e->null()) {
    w.line("variables", "boxjail's, unchanged");
    return;
  }
  w.line("cleared", e->get("clear") != nullptr && e->get("clear")->truthy() ? "yes" : "no");
  if (const Value* set = e->get("set"); set != nullptr && !set->members.empty()) {
    std::string s;
    for (const auto& [k, v] : set->members) s += (s.empty() ? "" : ", ") + k + "=" + shell_word(v.text);
    w.line("set", s);
  }
  for (const char* k : {"unset", "keep", "removed"})
    if (const Value* v = e->get(k); v != nullptr && !v->items.empty()) w.line(k, join(v));
  if (!e->str("user_env").empty()) w.line("user env", e->str("user_env"));
  if (const Value* v = e->get("inherited"))
    w.line("inherited", plural(v->items.size(), "variable", "variables") + (v->items.empty() ? "" : ": " + join(v)));
}

}  // namespace

bool plan_to_text(std::string_view json, size_t width, std::string* out, std::string* err) {
  Value j;
  if (!Parser(json).parse(&j) || j.kind != Value::kObject) {
    *err = "--dry-run=text: internal error: the plan is not a JSON object";
    return false;
  }
  Writer w(width);
  program(w, j);
  identity(w, j);
  landlock(w, j);
  network(w, j);
  seccomp(w, j);
  cgroup(w, j);
  limits_fds_env(w, j);
  // The rest as it is: the supervisor, timeouts, files, profiles, and any
  // key added since this was written.
  static const std::set<std::string> shown = {
      "program", "argv", "mode", "chdir", "identity", "no_new_privs", "landlock", "netns",
      "seccomp", "jail", "cgroup", "rlimits", "scheduling", "fds", "close_fds", "listen_fds",
      "environment", "sources"};
  bool heading = false;
  for (const auto& [k, v] : j.members) {
    if (shown.count(k) || v.null()) continue;
    if (v.kind == Value::kBool && v.text == "false") continue;
    if (!heading) w.heading("Supervisor and the rest");
    heading = true;
    generic(w, k, v, 1);
  }
  // Where settings came from, when not all from the command line.
  if (const Value* src = j.get("sources")) {
    std::map<std::string, std::string> by;
    for (const auto& [k, v] : src->members)
      if (v.kind == Value::kString && v.text != "command line")
        by[v.text] += (by[v.text].empty() ? "" : ", ") + k;
    if (!by.empty()) {
      w.heading("Sources");
      for (const auto& [from, keys] : by) w.line(from, keys);
    }
  }
  *out = w.take();
  return true;
}

}  // namespace boxjail
