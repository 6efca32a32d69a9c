#include "boxjail/identity.h"

#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "boxjail/cli.h"
#include "boxjail/numparse.h"
#include "boxjail/plan.h"
#include "boxjail/suggest.h"

namespace boxjail {
namespace {

bool parse_id(const std::string& s, uint32_t* out) {
  uint64_t v = 0;
  size_t used = 0;
  if (s.empty() || s[0] < '0' || s[0] > '9' ||
      parse_u64_prefix(s, &v, &used) != NumError::kOk || used != s.size() || v >= 0xffffffffu)
    return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

// The user and group databases are read from /etc/passwd and /etc/group
// directly: boxjail is a static binary, and glibc's NSS modules other than
// "files" (systemd, LDAP) would be loaded with dlopen() into it, which a
// static program cannot do safely. Users from other sources are given as
// numbers.
using DbUser = PasswdEntry;
struct DbGroup {
  std::string name;
  gid_t gid = 0;
  std::vector<std::string> members;
};

template <typename Match>
bool find_user(Match match, DbUser* out) {
  FILE* f = fopen("/etc/passwd", "re");
  if (!f) return false;
  passwd pw{}, *found = nullptr;
  char buf[4096];
  bool hit = false;
  while (!hit && fgetpwent_r(f, &pw, buf, sizeof buf, &found) == 0 && found) {
    if (match(pw)) {
      *out = {pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir ? pw.pw_dir : "",
              pw.pw_shell ? pw.pw_shell : ""};
      hit = true;
    }
  }
  fclose(f);
  return hit;
}

std::vector<DbGroup> all_groups() {
  std::vector<DbGroup> v;
  FILE* f = fopen("/etc/group", "re");
  if (!f) return v;
  group gr{}, *found = nullptr;
  char buf[16384];
  while (fgetgrent_r(f, &gr, buf, sizeof buf, &found) == 0 && found) {
    DbGroup g{gr.gr_name, gr.gr_gid, {}};
    for (char** m = gr.gr_mem; m && *m; ++m) g.members.emplace_back(*m);
    v.push_back(std::move(g));
  }
  fclose(f);
  return v;
}

// A group name or number → gid, with its name when there is one.
bool resolve_group(const std::vector<DbGroup>& db, const std::string& g, gid_t* gid,
                   std::string* name) {
  uint32_t n = 0;
  const bool number = parse_id(g, &n);
  for (const auto& grp : db) {
    if (number ? grp.gid == n : grp.name == g) {
      *gid = grp.gid;
      *name = grp.name;
      return true;
    }
  }
  if (!number) return false;
  *gid = n;
  return true;
}

// "all" or "CAP[,CAP...]" (with or without the cap_ prefix, any case).
bool parse_caps(const std::string& flag, const std::string& list, int last_cap, uint64_t* out,
                std::string* err) {
  if (list == "all") {
    *out = last_cap >= 63 ? ~0ull : (1ull << (last_cap + 1)) - 1;
    return true;
  }
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string word = list.substr(start, comma - start);
    start = comma + 1;
    std::string lower;
    for (char c : word) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (lower.rfind("cap_", 0) != 0) lower = "cap_" + lower;
    cap_value_t v = 0;
    if (word.empty() || cap_from_name(lower.c_str(), &v) != 0 || v > last_cap) {
      std::vector<std::string> known{"all"};
      for (int c = 0; c <= last_cap; ++c) {
        char* name = cap_to_name(static_cast<cap_value_t>(c));
        if (name != nullptr && std::strncmp(name, "cap_", 4) == 0) known.push_back(name + 4);
        cap_free(name);
      }
      std::string hint = suggest::did_you_mean(lower.substr(4), known);
      *err = flag + " " + list + ": unknown capability '" + word + "'" +
             (hint.empty() ? " (a name such as NET_ADMIN or cap_net_admin, or all)" : hint);
      return false;
    }
    *out |= 1ull << v;
  }
  return true;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

int last_cap_of_kernel() {
  FILE* f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  int v = CAP_LAST_CAP;
  if (f) {
    if (fscanf(f, "%d", &v) != 1) v = CAP_LAST_CAP;
    fclose(f);
  }
  return v;
}

uint64_t capget_set(int which) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2]{};
  if (syscall(SYS_capget, &hdr, d) != 0) return 0;
  auto both = [&](uint32_t lo, uint32_t hi) { return lo | (static_cast<uint64_t>(hi) << 32); };
  switch (which) {
    case 0: return both(d[0].effective, d[1].effective);
    case 1: return both(d[0].permitted, d[1].permitted);
    default: return both(d[0].inheritable, d[1].inheritable);
  }
}

bool has_cap(int cap) { return (capget_set(0) >> cap) & 1; }

uint64_t bounding_set(int last_cap) {
  uint64_t m = 0;
  for (int c = 0; c <= last_cap; ++c)
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) m |= 1ull << c;
  return m;
}

uint64_t ambient_set(int last_cap) {
  uint64_t m = 0;
  for (int c = 0; c <= last_cap; ++c)
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1) m |= 1ull << c;
  return m;
}

void json_caps(std::string* j, uint64_t mask, int last_cap) {
  *j += '[';
  bool first = true;
  for (int c = 0; c <= last_cap; ++c) {
    if (!((mask >> c) & 1)) continue;
    if (!first) *j += ',';
    first = false;
    json_escape(j, cap_name(c));
  }
  *j += ']';
}

const RootCap kRootCaps[] = {
    {CAP_SYS_ADMIN, "mount, namespaces, BPF, most of the kernel's administration"},
    {CAP_SYS_MODULE, "loading kernel modules: any code in the kernel"},
    {CAP_SYS_RAWIO, "raw I/O ports and /dev/mem: the machine's memory"},
    {CAP_SYS_PTRACE, "ptrace and /proc/PID/mem of every process, the supervisor's too"},
    {CAP_SETFCAP, "file capabilities: any capability for an executable it writes"},
    {CAP_SETUID, "any uid, root's included"},
    {CAP_SETGID, "any gid, and any supplementary groups"},
    {CAP_SETPCAP, "the bounding set and the securebits"},
    {CAP_DAC_OVERRIDE, "reading and writing every file whatever its mode"},
    {CAP_DAC_READ_SEARCH, "reading every file, and open_by_handle_at around every path rule"},
    {CAP_FOWNER, "chmod and xattrs of every file, as its owner"},
    {CAP_CHOWN, "giving any file to any owner"},
    {CAP_MKNOD, "device nodes: the disks and memory beneath every file rule"},
    {CAP_BPF, "BPF programs and maps: kernel memory"},
    {CAP_SYS_BOOT, "rebooting and kexec: another kernel"},
    {CAP_MAC_ADMIN, "changing the LSM policy"},
    {CAP_MAC_OVERRIDE, "bypassing the LSM policy"},
};

const Securebit kSecurebits[] = {
    {"noroot", SECBIT_NOROOT, true},
    {"noroot_locked", SECBIT_NOROOT_LOCKED, true},
    {"no_setuid_fixup", SECBIT_NO_SETUID_FIXUP, true},
    {"no_setuid_fixup_locked", SECBIT_NO_SETUID_FIXUP_LOCKED, true},
    {"keep_caps", SECBIT_KEEP_CAPS, false},
    {"keep_caps_locked", SECBIT_KEEP_CAPS_LOCKED, true},
    {"no_cap_ambient_raise", SECBIT_NO_CAP_AMBIENT_RAISE, true},
    {"no_cap_ambient_raise_locked", SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, true},
};

// boxjail's own, for every confined PROGRAM where it has CAP_SETPCAP.
constexpr int kConfinedSecurebits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                    SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;

std::string settable_securebits() {
  std::string s;
  for (const Securebit& b : kSecurebits)
    if (b.settable) s += (s.empty() ? "" : ", ") + std::string(b.name);
  return s;
}

// --securebits noroot,noroot_locked → the bits; false with the message.
bool parse_securebits(const std::string& list, int* out, std::string* err) {
  size_t start = 0;
  for (;;) {
    const size_t comma = list.find(',', start);
    std::string word = list.substr(start, comma == std::string::npos ? comma : comma - start);
    for (char& ch : word) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (word.rfind("secbit_", 0) == 0) word = word.substr(7);
    const Securebit* found = nullptr;
    for (const Securebit& b : kSecurebits)
      if (word == b.name) found = &b;
    if (found == nullptr)
      return *err = "--securebits " + list + ": unknown securebit '" + word + "' (one of " +
                    settable_securebits() + ")",
             false;
    if (!found->settable)
      return *err = "--securebits " + list +
                    ": keep_caps is cleared by every execve, so it would never reach PROGRAM "
                    "(--cap-keep keeps capabilities across --user)",
             false;
    *out |= found->bit;
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

}  // namespace

const Securebit* securebit_table(size_t* n) {
  *n = sizeof kSecurebits / sizeof kSecurebits[0];
  return kSecurebits;
}

const RootCap* root_equivalent_caps(size_t* n) {
  *n = sizeof kRootCaps / sizeof kRootCaps[0];
  return kRootCaps;
}

std::string cap_name(int cap) {
  char* n = cap_to_name(static_cast<cap_value_t>(cap));
  std::string s = n ? n : std::to_string(cap);
  cap_free(n);
  return s;
}

bool passwd_by_name(const std::string& name, PasswdEntry* out) {
  return find_user([&](const passwd& p) { return name == p.pw_name; }, out);
}

bool passwd_by_uid(uid_t uid, PasswdEntry* out) {
  return find_user([&](const passwd& p) { return p.pw_uid == uid; }, out);
}

bool check_identity(const Options& o, SystemFacts&, bool confined, IdentityPlan* plan,
                    std::string* err) {
  ChildIdentity& c = plan->child;
  // Read only when capabilities matter: a launch that only prepares a
  // process names none.
  if (confined) c.last_cap = last_cap_of_kernel();
  if (o.allow_new_privs) {
    if (o.no_new_privs)
      return *err = "--allow-new-privs cannot be combined with --no-new-privs", false;
    if (!o.has_user)
      return *err = "--allow-new-privs needs --user (it undoes the no_new_privs --user implies)",
             false;
    plan->allow_new_privs = true;
  }
  if (o.no_new_privs) {
    plan->no_new_privs = true;
    plan->no_new_privs_why = "--no-new-privs";
  } else if (o.has_user && !o.allow_new_privs) {
    // A set-user-ID-root file, or one with file capabilities, would undo
    // the uid change at PROGRAM's first exec.
    plan->no_new_privs = true;
    plan->no_new_privs_why = "implied by --user (--allow-new-privs opts out)";
  }
  const std::string cap_drop = join(o.cap_drop), cap_keep = join(o.cap_keep);
  if (o.has_groups && !o.has_user)
    return *err = "--groups needs --user (it sets PROGRAM's supplementary groups)", false;
  if (!o.cap_keep.empty() && !o.has_user)
    return *err = "--cap-keep needs --user (it keeps capabilities across the uid change)", false;
  if (o.has_user) {
    const std::string& spec = o.user;
    size_t colon = spec.find(':');
    std::string u = spec.substr(0, colon);
    std::string g = colon == std::string::npos ? "" : spec.substr(colon + 1);
    if (u.empty() || (colon != std::string::npos && g.empty()))
      return *err = "--user '" + spec + "': expected USER or USER:GROUP", false;
    // /etc/group, read once for every lookup below.
    const std::vector<DbGroup> db = all_groups();
    DbUser pw;
    uint32_t n = 0;
    bool by_name = false;
    if (parse_id(u, &n)) {
      // A number: its primary group from the database when it has an
      // entry, else the same number; no supplementary groups.
      c.uid = n;
      c.gid = n;
      if (find_user([&](const passwd& p) { return p.pw_uid == n; }, &pw)) {
        plan->user = pw.name;
        c.gid = pw.gid;
      }
    } else {
      if (!find_user([&](const passwd& p) { return u == p.pw_name; }, &pw))
        return *err = "--user " + spec + ": no user '" + u + "' in /etc/passwd", false;
      c.uid = pw.uid;
      c.gid = pw.gid;
      plan->user = pw.name;
      by_name = true;
    }
    if (!g.empty() && !resolve_group(db, g, &c.gid, &plan->group))
      return *err = "--user " + spec + ": no group '" + g + "' in /etc/group", false;
    if (g.empty()) {
      std::string gname;
      gid_t ignored = 0;
      if (resolve_group(db, std::to_string(c.gid), &ignored, &gname)) plan->group = gname;
    }
    if (o.has_groups) {
      size_t start = 0;
      while (start <= o.groups.size()) {
        size_t comma = o.groups.find(',', start);
        if (comma == std::string::npos) comma = o.groups.size();
        std::string one = o.groups.substr(start, comma - start);
        start = comma + 1;
        gid_t gid = 0;
        std::string name;
        if (one.empty() || !resolve_group(db, one, &gid, &name))
          return *err = "--groups " + o.groups + ": no group '" + one + "' in /etc/group", false;
        plan->groups.push_back(gid);
        plan->group_names.push_back(name);
      }
    } else if (by_name) {
      // The user's groups from the group database, as su and chpst -u do:
      // the primary group, then every group that lists the user.
      std::string primary;
      gid_t same = 0;
      resolve_group(db, std::to_string(c.gid), &same, &primary);
      plan->groups.push_back(c.gid);
      plan->group_names.push_back(primary);
      for (const auto& grp : db) {
        if (grp.gid == c.gid) continue;
        for (const auto& m : grp.members) {
          if (m != pw.name) continue;
          plan->groups.push_back(grp.gid);
          plan->group_names.push_back(grp.name);
          break;
        }
      }
    }
    c.set_ids = true;
    if (!has_cap(CAP_SETUID) || !has_cap(CAP_SETGID))
      return *err = "--user " + spec + ": changing uid and gid needs CAP_SETUID and CAP_SETGID, "
                                       "which boxjail does not have",
             false;
  }
  for (const auto& list : o.cap_drop)
    if (!parse_caps("--cap-drop", list, c.last_cap, &c.drop, err)) return false;
  const uint64_t explicit_drop = c.drop;
  if (!o.cap_keep.empty()) {
    for (const auto& list : o.cap_keep)
      if (!parse_caps("--cap-keep", list, c.last_cap, &c.keep, err)) return false;
    if (c.keep & c.drop)
      return *err = "--cap-keep " + cap_keep + " contradicts --cap-drop " + cap_drop, false;
    for (int cap : {CAP_SETUID, CAP_SETGID, CAP_SETPCAP, CAP_SYS_ADMIN})
      if ((c.keep >> cap) & 1 && c.uid != 0)
        return *err = "--cap-keep " + cap_name(cap) + " would let PROGRAM become root again", false;
    if (!o.cap_keep_root_equivalent)
      for (const RootCap& rc : kRootCaps)
        if ((c.keep >> rc.cap) & 1)
          return *err = "--cap-keep " + cap_name(rc.cap) + " amounts to root (" + rc.gives +
                        "); add --cap-keep-root-equivalent to keep it knowingly",
                 false;
    uint64_t missing = c.keep & ~capget_set(1);
    for (int cap = 0; cap <= c.last_cap; ++cap)
      if ((missing >> cap) & 1)
        return *err = "--cap-keep " + cap_keep + ": boxjail does not have " + cap_name(cap) +
                      " to keep",
               false;
  }
  if (o.cap_keep_root_equivalent && o.cap_keep.empty())
    return *err = "--cap-keep-root-equivalent needs --cap-keep", false;
  plan->explicit_root = c.set_ids && c.uid == 0;
  if (confined) {
    // A confined PROGRAM holds no capability but those kept, as root too.
    const uint64_t all = c.last_cap >= 63 ? ~0ull : (1ull << (c.last_cap + 1)) - 1;
    c.drop |= all & ~c.keep;
    plan->caps_why = c.keep ? "confined: every capability but --cap-keep's is dropped"
                            : "confined: every capability is dropped";
    // With --allow-new-privs a set-user-ID file may gain what the bounding
    // set allows: only --cap-drop's capabilities leave it.
    if (o.allow_new_privs) c.bounding_keep = all & ~explicit_drop;
    if (!o.allow_new_privs && has_cap(CAP_SETPCAP)) c.securebits = kConfinedSecurebits;
  }
  if (!o.securebits.empty()) {
    const std::string list = join(o.securebits);
    int bits = 0;
    if (!parse_securebits(list, &bits, err)) return false;
    if (!has_cap(CAP_SETPCAP))
      return *err = "--securebits " + list +
                    ": setting the securebits needs CAP_SETPCAP, which boxjail does not have "
                    "(run it as root, or leave --securebits out: a PROGRAM that is not root "
                    "gains nothing from them)",
             false;
    // The kept capabilities are raised into the ambient set after the
    // securebits are set, and no capability to change them is left then.
    if ((bits & SECBIT_NO_CAP_AMBIENT_RAISE) && c.keep)
      return *err = "--securebits " + list +
                    ": no_cap_ambient_raise cannot be combined with --cap-keep (the kept "
                    "capabilities reach PROGRAM through the ambient set)",
             false;
    bits |= c.securebits < 0 ? 0 : c.securebits;
    // --cap-keep across the uid change needs NO_SETUID_FIXUP or KEEP_CAPS
    // (which execve clears again); locked off without the one, it has neither.
    if (c.keep && c.set_ids && !(bits & SECBIT_NO_SETUID_FIXUP)) {
      if (bits & SECBIT_KEEP_CAPS_LOCKED)
        return *err = "--securebits " + list +
                      ": keep_caps_locked without no_setuid_fixup loses --cap-keep's "
                      "capabilities at the uid change (add no_setuid_fixup)",
               false;
      bits |= SECBIT_KEEP_CAPS;
    }
    c.securebits = bits;
    plan->explicit_securebits = true;
  }
  if (c.drop) {
    c.drop_bounding = has_cap(CAP_SETPCAP);
    if (!c.drop_bounding && !plan->no_new_privs && !o.allow_new_privs) {
      // Without CAP_SETPCAP the bounding set cannot shrink; no_new_privs
      // shuts the other way back in (set-user-ID and file capabilities).
      plan->no_new_privs = true;
      plan->no_new_privs_why = std::string(explicit_drop ? "implied by --cap-drop"
                                                         : "implied by dropping capabilities") +
                               ": without CAP_SETPCAP the bounding set cannot shrink, and "
                               "no_new_privs stops exec from regaining them";
    }
  }
  plan->groups.shrink_to_fit();
  c.groups = plan->groups.data();
  c.n_groups = plan->groups.size();
  plan->active = c.set_ids || c.drop || c.keep;
  return true;
}

std::string identity_json(const IdentityPlan& plan) {
  const ChildIdentity& c = plan.child;
  const int last = last_cap_of_kernel();
  std::string j = "{";
  if (c.set_ids) {
    j += "\"uid\":" + std::to_string(c.uid) + ",\"user\":";
    json_escape(&j, plan.user);
    j += ",\"gid\":" + std::to_string(c.gid) + ",\"group\":";
    json_escape(&j, plan.group);
    j += ",\"groups\":[";
    for (size_t i = 0; i < plan.groups.size(); ++i) {
      if (i) j += ',';
      j += "{\"gid\":" + std::to_string(plan.groups[i]) + ",\"name\":";
      json_escape(&j, plan.group_names[i]);
      j += '}';
    }
    j += "],";
  }
  // What PROGRAM will hold after execve, by the kernel's rules: a root
  // PROGRAM gets its bounding set (less --cap-drop) plus its inheritable
  // set; any other uid gets only the ambient set.
  const uid_t uid = c.set_ids ? c.uid : geteuid();
  uint64_t bounding = bounding_set(last);
  if (c.drop_bounding) bounding &= ~(c.drop & ~c.bounding_keep);
  uint64_t ambient = c.set_ids ? c.keep : ambient_set(last) & ~c.drop;
  uint64_t inheritable = c.keep ? c.keep : capget_set(2) & ~c.drop;
  // SECBIT_NOROOT: uid 0 gains nothing at exec either.
  const bool noroot = c.securebits >= 0 && (c.securebits & SECBIT_NOROOT);
  uint64_t permitted = uid == 0 && !noroot ? ((bounding | inheritable) & ~c.drop) : ambient;
  if (!plan.caps_why.empty()) {
    j += "\"why\":";
    json_escape(&j, plan.caps_why);
    j += ',';
  }
  j += "\"securebits\":";
  if (c.securebits >= 0) {
    j += '[';
    bool first = true;
    for (const Securebit& b : kSecurebits) {
      if (!(c.securebits & b.bit)) continue;
      j += first ? "\"" : ",\"";
      j += b.name;
      j += '"';
      first = false;
    }
    j += ']';
  } else {
    j += "null";
  }
  j += ",\"capabilities\":{\"bounding\":";
  json_caps(&j, bounding, last);
  j += ",\"permitted\":";
  json_caps(&j, permitted, last);
  j += ",\"effective\":";
  json_caps(&j, permitted, last);
  j += ",\"inheritable\":";
  json_caps(&j, inheritable, last);
  j += ",\"ambient\":";
  json_caps(&j, ambient, last);
  j += "}}";
  return j;
}

int apply_identity(const ChildIdentity& id, int32_t* detail) noexcept {
  if (id.drop_bounding) {
    for (int cap = 0; cap <= id.last_cap; ++cap) {
      if (!((id.drop >> cap) & 1) || ((id.bounding_keep >> cap) & 1)) continue;
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
        *detail = kIdBounding;
        return errno;
      }
    }
  }
  // With NO_SETUID_FIXUP the uid change keeps the capabilities, which
  // the capability sets below then drop: no PR_SET_KEEPCAPS (locked off).
  if (id.securebits >= 0 &&
      prctl(PR_SET_SECUREBITS, static_cast<unsigned long>(id.securebits), 0, 0, 0) != 0) {
    *detail = kIdSecurebits;
    return errno;
  }
  if (id.set_ids) {
    if (setgroups(id.n_groups, id.groups) != 0) {
      *detail = kIdGroups;
      return errno;
    }
    if (setresgid(id.gid, id.gid, id.gid) != 0) {
      *detail = kIdGid;
      return errno;
    }
    if (id.keep && id.securebits < 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
      *detail = kIdKeepCaps;
      return errno;
    }
    if (setresuid(id.uid, id.uid, id.uid) != 0) {
      *detail = kIdUid;
      return errno;
    }
  }
  if (id.drop || id.keep) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2]{};
    if (syscall(SYS_capget, &hdr, d) != 0) {
      *detail = kIdCapset;
      return errno;
    }
    for (int i = 0; i < 2; ++i) {
      const uint32_t drop = static_cast<uint32_t>(id.drop >> (32 * i));
      const uint32_t keep = static_cast<uint32_t>(id.keep >> (32 * i));
      if (id.keep) {
        d[i].permitted &= keep;
        d[i].effective = d[i].permitted;
        d[i].inheritable = keep;
      } else {
        d[i].effective &= ~drop;
        d[i].permitted &= ~drop;
        d[i].inheritable &= ~drop;
      }
    }
    if (syscall(SYS_capset, &hdr, d) != 0) {
      *detail = kIdCapset;
      return errno;
    }
    for (int cap = 0; cap <= id.last_cap; ++cap) {
      int rc = 0;
      if ((id.drop >> cap) & 1) rc = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, cap, 0, 0);
      if ((id.keep >> cap) & 1) rc = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
      if (rc != 0) {
        *detail = kIdAmbient;
        return errno;
      }
    }
  }
  // The way back must be shut, or PROGRAM does not run.
  if (id.set_ids &&
      ((id.uid != 0 && setresuid(0, 0, 0) == 0) || (id.gid != 0 && setresgid(0, 0, 0) == 0))) {
    *detail = kIdRegainedRoot;
    return EPERM;
  }
  return 0;
}

}  // namespace boxjail
