#include "boxjail/plan.h"

#include <linux/capability.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "boxjail/child.h"
#include "boxjail/exec_path.h"
#include "boxjail/numparse.h"
#include "boxjail/pidfile.h"
#include "boxjail/signames.h"

namespace boxjail {
namespace {

bool fail(PlanError* err, std::string msg, int code = 125) {
  err->exit_code = code;
  err->msg = std::move(msg);
  return false;
}

bool check_modes(const Options& o, SystemFacts& sys, LaunchPlan* plan, PlanError* err) {
  if (o.detach && o.no_fork)
    return fail(err, "--detach cannot be combined with --no-fork");
  plan->mode = o.detach ? Mode::kDetach : o.no_fork ? Mode::kNoFork : Mode::kSupervise;
  plan->dry_run = o.dry_run;
  plan->sources = o.sources;
  if (o.verbose > 0 && o.quiet)
    return fail(err, "--verbose cannot be combined with --quiet");
  if (o.has_log_level) {
    if (o.verbose > 0) return fail(err, "--log-level cannot be combined with --verbose");
    if (o.quiet) return fail(err, "--log-level cannot be combined with --quiet");
    if (!log::parse_level(o.log_level, &plan->log_level))
      return fail(err, "--log-level " + o.log_level +
                           ": unknown level (use trace, debug, info, warn, error or off)");
  } else if (o.quiet) {
    plan->log_level = log::Level::kError;
  } else if (o.verbose == 1) {
    plan->log_level = log::Level::kInfo;
  } else if (o.verbose >= 2) {
    plan->log_level = log::Level::kDebug;
  }
  if (o.has_die_with_parent) {
    if (o.detach)
      return fail(err, "--die-with-parent cannot be combined with --detach (boxjail's parent "
                       "is gone as soon as PROGRAM runs)");
    if (!parse_signal(o.die_with_parent, &plan->die_signal))
      return fail(err, "--die-with-parent=" + o.die_with_parent + ": unknown signal '" +
                           o.die_with_parent + "' (use a name such as KILL or TERM, or a number)");
    plan->parent_pid = sys.parent_pid();
  }
  if (o.has_pidfile) {
    std::string msg;
    if (!absolute_pidfile_path(o.pidfile, &plan->pidfile, &msg)) return fail(err, msg);
  }
  return true;
}

bool check_supervisor(const Options& o, LaunchPlan* plan, PlanError* err) {
  const char* needs = plan->mode == Mode::kDetach ? "--detach" : "--no-fork";
  // --detach --ready ends a PROGRAM that never became ready after --reap-grace.
  const bool grace_detached = plan->mode == Mode::kDetach && o.has_ready;
  for (const auto& [on, flag] : {std::pair{o.reap, "--reap"}, std::pair{o.signal_group, "--signal-group"},
                                 std::pair{o.has_reap_grace && !grace_detached, "--reap-grace"}}) {
    if (on && plan->mode != Mode::kSupervise)
      return fail(err, std::string(flag) + " cannot be combined with " + needs +
                           " (it is the supervisor's job)");
  }
  plan->reap = o.reap;
  plan->signal_group = o.signal_group;
  if (o.has_reap_grace) {
    if (!o.reap && !o.signal_group && !o.has_timeout && !o.has_ready)
      return fail(err, "--reap-grace needs --reap, --signal-group, --timeout or --ready");
    // SECONDS, with up to three decimals.
    const std::string& g = o.reap_grace;
    size_t dot = g.find('.');
    uint64_t whole = 0, frac = 0;
    size_t used = 0;
    std::string int_part = g.substr(0, dot), frac_part = dot == std::string::npos ? "" : g.substr(dot + 1);
    bool ok = !int_part.empty() && parse_u64_prefix(int_part, &whole, &used) == NumError::kOk &&
              used == int_part.size() && whole <= 86400 && frac_part.size() <= 3 &&
              (dot == std::string::npos || !frac_part.empty());
    if (ok && !frac_part.empty()) {
      ok = parse_u64_prefix(frac_part, &frac, &used) == NumError::kOk && used == frac_part.size();
      for (size_t i = frac_part.size(); i < 3; ++i) frac *= 10;
    }
    if (!ok)
      return fail(err, "--reap-grace " + g + ": not a number of seconds (0 to 86400, such as 2 or 0.5)");
    plan->grace_ms = static_cast<int>(whole * 1000 + frac);
  }
  if (std::string msg; !timeout::check(o, &plan->timeout, &msg)) return fail(err, msg);
  if (std::string msg; !ready::check(o, &plan->ready, &msg)) return fail(err, msg);
  if (o.has_stop_timeout) return fail(err, "--stop-timeout needs --stop (the box to stop)");
  if (o.has_chdir) {
    struct stat st {};
    if (o.chdir.empty()) return fail(err, "--chdir: empty path");
    if (stat(o.chdir.c_str(), &st) != 0)
      return fail(err, "--chdir " + o.chdir + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) return fail(err, "--chdir " + o.chdir + ": not a directory");
    plan->chdir = o.chdir;
  }
  return true;
}

// "0-3,6" → a CPU set; false if malformed.
bool parse_cpus(const std::string& spec, cpu_set_t* set) {
  CPU_ZERO(set);
  size_t start = 0;
  if (spec.empty()) return false;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string::npos) comma = spec.size();
    std::string item = spec.substr(start, comma - start);
    start = comma + 1;
    size_t dash = item.find('-');
    uint64_t lo = 0, hi = 0;
    size_t used = 0;
    std::string a = item.substr(0, dash), b = dash == std::string::npos ? a : item.substr(dash + 1);
    if (a.empty() || b.empty() || parse_u64_prefix(a, &lo, &used) != NumError::kOk ||
        used != a.size() || parse_u64_prefix(b, &hi, &used) != NumError::kOk || used != b.size() ||
        lo > hi || hi >= CPU_SETSIZE)
      return false;
    for (uint64_t c = lo; c <= hi; ++c) CPU_SET(static_cast<size_t>(c), set);
  }
  return true;
}

// A decimal integer in [lo, hi], optionally negative.
bool parse_int_in(const std::string& s, int lo, int hi, int* out) {
  bool neg = !s.empty() && s[0] == '-';
  std::string digits = neg ? s.substr(1) : s;
  uint64_t v = 0;
  size_t used = 0;
  if (digits.empty() || parse_u64_prefix(digits, &v, &used) != NumError::kOk ||
      used != digits.size() || v > 1000000)
    return false;
  long r = neg ? -static_cast<long>(v) : static_cast<long>(v);
  if (r < lo || r > hi) return false;
  *out = static_cast<int>(r);
  return true;
}

bool check_placement(const Options& o, SystemFacts& sys, LaunchPlan* plan, PlanError* err) {
  std::string msg;
  if ((o.has_cgroup || !o.cgroup_set.empty()) &&
      !cgroup::check(o, sys.mountinfo(), &plan->cgroup, &msg))
    return fail(err, msg);
  if (o.has_cpus) {
    if (!parse_cpus(o.cpus, &plan->cpus))
      return fail(err, "--cpus " + o.cpus + ": not a CPU list (such as 0-3,6)");
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    sched_getaffinity(0, sizeof allowed, &allowed);
    for (size_t c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &plan->cpus) && !CPU_ISSET(c, &allowed))
        return fail(err, "--cpus " + o.cpus + ": CPU " + std::to_string(c) +
                             " is not among the CPUs boxjail may use (" +
                             std::to_string(CPU_COUNT(&allowed)) + " of them; see taskset -p)");
    plan->set_cpus = true;
    plan->cpus_spec = o.cpus;
  }
  if (o.has_nice) {
    if (!parse_int_in(o.nice, -20, 19, &plan->nice))
      return fail(err, "--nice " + o.nice + ": not a nice value (-20 to 19)");
    plan->set_nice = true;
  }
  if (o.has_oom_score_adj) {
    if (!parse_int_in(o.oom_score_adj, -1000, 1000, &plan->oom_score_adj))
      return fail(err, "--oom-score-adj " + o.oom_score_adj + ": not from -1000 to 1000");
    int now = sys.oom_score_adj();
    if (plan->oom_score_adj < now && !sys.has_cap_sys_resource())
      return fail(err, "--oom-score-adj " + o.oom_score_adj + ": lowering it below the current " +
                           std::to_string(now) +
                           " needs CAP_SYS_RESOURCE, which boxjail does not have");
    plan->set_oom_score_adj = true;
  }
  if (!netns::check(o, sys, &plan->netns, &msg)) return fail(err, msg);
  return true;
}

bool check_rlimits(const Options& o, SystemFacts& sys, LaunchPlan* plan,
                   PlanError* err) {
  std::string msg;
  for (const auto& spec : o.rlimits) {
    RlimitRequest req;
    if (!parse_rlimit(spec, &req, &msg)) return fail(err, msg);
    for (const auto& prev : plan->rlimits) {
      if (prev.resource == req.info->resource)
        return fail(err, "--rlimit " + spec + ": " + req.info->name +
                             " is already set by --rlimit " + prev.spec);
    }
    RlimitSetting set;
    if (!resolve_rlimit(req, sys, &set, &msg)) return fail(err, msg);
    plan->rlimits.push_back(std::move(set));
  }
  return true;
}

const char* num_error_text(NumError e) {
  switch (e) {
    case NumError::kEmpty: return "empty descriptor number";
    case NumError::kOverflow: return "descriptor number out of range";
    default: return "not a descriptor number";
  }
}

bool parse_fd_side(std::string_view text, const std::string& spec, int* out,
                   PlanError* err) {
  if (!text.empty() && text[0] == '-')
    return fail(err, "--fd " + spec + ": negative descriptor '" + std::string(text) + "'");
  NumError e = parse_fd_number(text, out);
  if (e != NumError::kOk)
    return fail(err, "--fd " + spec + ": " + num_error_text(e) + " '" +
                         std::string(text) + "' (expected TARGET=SOURCE or N)");
  return true;
}

// Index of NAME=... in the nullptr-terminated `envp`, or -1.
int env_index(char* const* envp, std::string_view name) {
  for (int i = 0; envp && envp[i]; ++i) {
    std::string_view kv(envp[i]);
    if (kv.size() > name.size() && kv.substr(0, name.size()) == name && kv[name.size()] == '=')
      return i;
  }
  return -1;
}

const char* env_value(char* const* envp, std::string_view name) {
  int i = env_index(envp, name);
  return i < 0 ? nullptr : envp[i] + name.size() + 1;
}

// PROGRAM's environment (environ.h), before everything that reads it:
// socket activation, and --fs-exec-deps's interpreter lookup.
bool check_environ(const Options& o, SystemFacts& sys, char** envp, LaunchPlan* plan,
                   PlanError* err) {
  std::string msg;
  if (!environment::check(o, envp, environment::passwd_account, &plan->env_plan, &msg))
    return fail(err, msg);
  plan->env = plan->env_plan.envp;
  // Socket activation is read from PROGRAM's environment: without
  // LISTEN_PID its descriptors are closed like any other.
  const char* mine = env_value(envp, "LISTEN_PID");
  int pid = 0;
  if (mine && parse_fd_number(mine, &pid) == NumError::kOk && pid == sys.pid() &&
      !env_value(plan->env.data(), "LISTEN_PID"))
    plan->warnings.push_back("socket activation: PROGRAM does not get LISTEN_PID, so descriptors "
                             "3 and up are not handed on; --keep-env "
                             "LISTEN_FDS,LISTEN_PID,LISTEN_FDNAMES keeps them");
  return true;
}

// systemd socket activation: when LISTEN_PID names boxjail, descriptors
// 3 .. 3+LISTEN_FDS-1 belong to PROGRAM and are kept where they are.
bool check_socket_activation(SystemFacts& sys, LaunchPlan* plan, std::vector<FdMapping>* maps,
                             PlanError* err) {
  const char* listen_pid = env_value(plan->env.data(), "LISTEN_PID");
  int pid = 0;
  if (!listen_pid || parse_fd_number(listen_pid, &pid) != NumError::kOk || pid != sys.pid())
    return true;
  plan->socket_activation = true;
  const char* fds = env_value(plan->env.data(), "LISTEN_FDS");
  int n = 0;
  if (fds && parse_fd_number(fds, &n) != NumError::kOk)
    return fail(err, std::string("LISTEN_FDS=") + fds + ": not a number");
  if (n > 65536) return fail(err, std::string("LISTEN_FDS=") + fds + ": too many descriptors");
  plan->listen_fds = n;
  for (int fd = 3; fd < 3 + n; ++fd) {
    if (!sys.fd_is_open(fd))
      return fail(err, "LISTEN_FDS=" + std::to_string(n) + " but descriptor " +
                           std::to_string(fd) + " is not open");
    bool named = false;
    for (const auto& r : plan->fds) {
      if (r.map.target != fd) continue;
      if (r.map.source != fd)
        return fail(err, "--fd " + r.spec + " would replace socket-activation descriptor " +
                             std::to_string(fd) + " (LISTEN_FDS=" + std::to_string(n) +
                             "); use a target from " + std::to_string(3 + n) + " up");
      named = true;
    }
    if (!named) maps->push_back({fd, fd});
  }
  // With --no-fork PROGRAM keeps boxjail's pid, so LISTEN_PID stays right.
  if (plan->mode != Mode::kNoFork) plan->listen_pid_index = env_index(plan->env.data(), "LISTEN_PID");
  return true;
}

bool check_fds(const Options& o, SystemFacts& sys, LaunchPlan* plan,
               PlanError* err) {
  plan->close_fds = !o.keep_fds;
  // The soft RLIMIT_NOFILE that PROGRAM will run with, and whether a raise
  // of it must come before the moves. Only --fd needs either, so a launch
  // without it does not ask.
  rlim_t soft = 0;
  const RlimitSetting* nofile = nullptr;
  if (!o.fds.empty()) {
    soft = sys.current_rlimit(RLIMIT_NOFILE).rlim_cur;
    for (size_t i = 0; i < plan->rlimits.size(); ++i) {
      if (plan->rlimits[i].resource != RLIMIT_NOFILE) continue;
      nofile = &plan->rlimits[i];
      if (nofile->value.rlim_cur > soft) plan->nofile_first = static_cast<int>(i);
      soft = nofile->value.rlim_cur;
    }
  }
  std::vector<FdMapping> maps;
  for (const auto& spec : o.fds) {
    FdRequest r;
    r.spec = spec;
    size_t eq = spec.find('=');
    std::string_view sv(spec);
    if (eq == std::string::npos) {
      if (!parse_fd_side(sv, spec, &r.map.target, err)) return false;
      r.map.source = r.map.target;
    } else {
      if (!parse_fd_side(sv.substr(0, eq), spec, &r.map.target, err)) return false;
      if (!parse_fd_side(sv.substr(eq + 1), spec, &r.map.source, err)) return false;
    }
    for (const auto& prev : plan->fds) {
      if (prev.map.target == r.map.target)
        return fail(err, "--fd " + spec + ": target " + std::to_string(r.map.target) +
                             " is already given by --fd " + prev.spec);
    }
    if (!sys.fd_is_open(r.map.source))
      return fail(err, "--fd " + spec + ": descriptor " + std::to_string(r.map.source) +
                           " is not open in boxjail");
    if (static_cast<rlim_t>(r.map.target) >= soft) {
      std::string where = nofile ? "set by --rlimit " + nofile->spec
                                 : std::string("inherited; raise it with --rlimit nofile=N");
      return fail(err, "--fd " + spec + ": target " + std::to_string(r.map.target) +
                           " is at or above PROGRAM's soft RLIMIT_NOFILE " +
                           format_rlim(soft) + " (" + where + ")");
    }
    maps.push_back(r.map);
    plan->fds.push_back(std::move(r));
  }
  if (!check_socket_activation(sys, plan, &maps, err)) return false;
  if (o.has_status_fd) {
    int n = -1;
    if (parse_fd_number(o.status_fd, &n) != NumError::kOk)
      return fail(err, "--status-fd " + o.status_fd + ": not a descriptor number");
    if (n <= 2)
      return fail(err, "--status-fd " + o.status_fd +
                           ": descriptors 0, 1 and 2 are PROGRAM's; use one from 3 up");
    if (!sys.fd_is_open(n))
      return fail(err, "--status-fd " + o.status_fd + ": descriptor " + o.status_fd +
                           " is not open in boxjail");
    for (const auto& r : plan->fds) {
      if (r.map.target == n || r.map.source == n)
        return fail(err, "--status-fd " + o.status_fd + " cannot be combined with --fd " +
                             r.spec + ": PROGRAM would inherit the status descriptor");
    }
    if (plan->socket_activation && n < 3 + plan->listen_fds)
      return fail(err, "--status-fd " + o.status_fd +
                           " is a socket-activation descriptor (LISTEN_FDS=" +
                           std::to_string(plan->listen_fds) + ")");
    plan->status_fd = n;
  }
  // --ready fd:N: one more target, whose source (a pipe) is made at launch.
  std::vector<std::pair<int, std::string>> taken;
  for (const auto& r : plan->fds) taken.push_back({r.map.target, "--fd " + r.spec});
  if (plan->status_fd >= 0) taken.push_back({plan->status_fd, "--status-fd " + o.status_fd});
  for (int i = 0; plan->socket_activation && i < plan->listen_fds; ++i)
    taken.push_back({3 + i, "socket activation (LISTEN_FDS=" + std::to_string(plan->listen_fds) + ")"});
  if (plan->ready.active && plan->ready.kind == ready::Kind::kFd) {
    std::string msg;
    if (soft == 0) soft = sys.current_rlimit(RLIMIT_NOFILE).rlim_cur;
    for (const auto& r : plan->rlimits)
      if (r.resource == RLIMIT_NOFILE) soft = r.value.rlim_cur;
    if (!ready::check_fd(plan->ready, taken, soft, &msg)) return fail(err, msg);
  }
  plan->fd_program = plan_fd_moves(maps);
  plan->keep = {0, 1, 2};
  for (const auto& m : maps) plan->keep.push_back(m.target);
  if (plan->ready.active && plan->ready.kind == ready::Kind::kFd) plan->keep.push_back(plan->ready.fd);
  std::sort(plan->keep.begin(), plan->keep.end());
  plan->keep.erase(std::unique(plan->keep.begin(), plan->keep.end()), plan->keep.end());
  return true;
}

bool check_program(const Options& o, const char* path_env, LaunchPlan* plan,
                   PlanError* err) {
  if (o.command.empty())
    return fail(err, "missing PROGRAM (usage: boxjail [OPTIONS] [--] PROGRAM [ARGS...])");
  plan->program = o.command[0];
  int e = resolve_program(plan->program, path_env, &plan->path);
  if (e != 0) {
    return fail(err, "cannot execute '" + plan->program + "': " + std::strerror(e),
                e == ENOENT || e == ENOTDIR ? 127 : 126);
  }
  plan->args = o.command;
  plan->argv.reserve(plan->args.size() + 1);
  for (auto& a : plan->args) plan->argv.push_back(a.data());
  plan->argv.push_back(nullptr);
  return true;
}

bool check_restrictions(const Options& o, SystemFacts& sys, LaunchPlan* plan, PlanError* err) {
  std::string msg;
  const bool confined = jail::confines(o);
  if (!profile::check(o, &plan->profile, &msg) ||
      !check_identity(o, sys, confined, &plan->identity, &msg) ||
      !seccomp::check(o, &plan->seccomp, &msg) ||
      !jail::check(o, plan->seccomp, &plan->jail, &msg) ||
      !landlock::check(o, sys, confined, plan->path, plan->env.data(), plan->landlock_abi_cap,
                       &plan->landlock, &msg) ||
      !profile::add_qemu_rules(plan->args, plan->chdir, &plan->landlock, &plan->profile,
                               &plan->warnings, &msg))
    return fail(err, msg);
  const ChildIdentity& id = plan->identity.child;
  const uid_t uid = id.set_ids ? id.uid : sys.euid();
  if (uid == 0 &&
      !jail::check_root(plan->jail, uid, plan->identity.explicit_root, sys.uid_map(), &msg))
    return fail(err, msg);
  plan->pdeath_supervisor = confined && plan->mode == Mode::kSupervise;
  if (plan->seccomp.learn) {
    plan->learn_file = o.learn;
    plan->learn_given = o.given;
  }
  // Only a cgroup holds every descendant; root could have made one.
  if (plan->pdeath_supervisor && (plan->reap || plan->signal_group) && !plan->cgroup.active &&
      sys.euid() == 0)
    plan->warnings.push_back(std::string(plan->signal_group ? "--signal-group" : "--reap") +
                             " does not hold a PROGRAM that calls setpgid() or ignores SIGTERM; "
                             "--cgroup PATH holds every descendant");
  const bool restricted = plan->landlock.active || plan->seccomp.active || plan->jail.active;
  if (plan->identity.allow_new_privs) {
    if (plan->seccomp.active)
      return fail(err, "--allow-new-privs cannot be combined with --seccomp-*: without "
                       "no_new_privs the filters are loaded before the uid change, which a filter "
                       "of yours could break");
    if (!sys.has_cap_sys_admin())
      return fail(err, "--allow-new-privs needs CAP_SYS_ADMIN: without no_new_privs only "
                       "CAP_SYS_ADMIN may load seccomp filters and Landlock rules");
    plan->restrict_early = true;
    plan->no_new_privs_why = "not set: --allow-new-privs (Landlock and seccomp are applied "
                             "before the uid change, with CAP_SYS_ADMIN)";
    return true;
  }
  // Landlock and seccomp need no_new_privs unless the child has
  // CAP_SYS_ADMIN when it restricts itself, that is, after the identity
  // step. Without it PROGRAM keeps the ability to gain privileges through
  // set-user-ID files, as without boxjail.
  const bool admin = sys.has_cap_sys_admin() && !((id.drop >> CAP_SYS_ADMIN) & 1) &&
                     (!id.set_ids || id.uid == 0);
  std::vector<std::string> why;
  if (plan->identity.no_new_privs) why.push_back(plan->identity.no_new_privs_why);
  for (const auto& [on, what] : {std::pair{plan->landlock.active, "Landlock"},
                                 std::pair{plan->seccomp.active || plan->jail.active, "seccomp"}}) {
    if (!on) continue;
    if (!admin) why.push_back(std::string("implied by ") + what);
  }
  plan->no_new_privs = !why.empty();
  for (const auto& w : why) plan->no_new_privs_why += (plan->no_new_privs_why.empty() ? "" : "; ") + w;
  if (!plan->no_new_privs && restricted)
    plan->no_new_privs_why = "not set: boxjail has CAP_SYS_ADMIN, so Landlock and seccomp do "
                             "not need it";
  return true;
}

}  // namespace

void json_escape(std::string* out, std::string_view s) {
  *out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\t': *out += "\\t"; break;
      case '\r': *out += "\\r"; break;
      default:
        if (c < 0x20) {
          static const char kHex[] = "0123456789abcdef";
          *out += "\\u00";
          *out += kHex[c >> 4];
          *out += kHex[c & 15];
        } else {
          *out += ch;
        }
    }
  }
  *out += '"';
}

namespace {

void json_string(std::string* out, std::string_view s) { json_escape(out, s); }

void json_rlim(std::string* out, rlim_t v) {
  if (v == RLIM_INFINITY) {
    *out += "\"unlimited\"";
  } else {
    *out += std::to_string(v);
  }
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kSupervise: return "supervise";
    case Mode::kDetach: return "detach";
    case Mode::kNoFork: return "no-fork";
  }
  return "?";
}

bool build_plan(const Options& opts, SystemFacts& sys, const char* path_env,
                char** envp, LaunchPlan* plan, PlanError* err) {
  for (char** e = envp; e && *e; ++e) plan->env.push_back(*e);
  plan->env.push_back(nullptr);
#ifdef BOXJAIL_FAULT_INJECTION
  if (const char* f = env_value(plan->env.data(), "BOXJAIL_FAIL_STEP")) {
    std::string spec(f);
    size_t colon = spec.find(':');
    plan->fail_step = step_by_name(spec.substr(0, colon).c_str());
    int e = EIO;
    if (colon != std::string::npos && parse_fd_number(spec.substr(colon + 1), &e) != NumError::kOk)
      return fail(err, "BOXJAIL_FAIL_STEP=" + spec + ": bad errno");
    if (plan->fail_step == 0) return fail(err, "BOXJAIL_FAIL_STEP=" + spec + ": no such step");
    plan->fail_errno = e;
  }
  if (const char* a = env_value(plan->env.data(), "BOXJAIL_LANDLOCK_ABI")) {
    if (parse_fd_number(a, &plan->landlock_abi_cap) != NumError::kOk)
      return fail(err, std::string("BOXJAIL_LANDLOCK_ABI=") + a + ": not a number");
  }
#endif
  return check_modes(opts, sys, plan, err) && check_supervisor(opts, plan, err) &&
         check_environ(opts, sys, envp, plan, err) &&
         check_placement(opts, sys, plan, err) &&
         check_rlimits(opts, sys, plan, err) &&
         check_fds(opts, sys, plan, err) &&
         check_program(opts, path_env, plan, err) && check_restrictions(opts, sys, plan, err);
}

std::string plan_to_json(const LaunchPlan& plan) {
  std::string j = "{\"program\":";
  json_string(&j, plan.path);
  j += ",\"argv\":[";
  for (size_t i = 0; i < plan.args.size(); ++i) {
    if (i) j += ',';
    json_string(&j, plan.args[i]);
  }
  j += "],\"sources\":{";
  for (size_t i = 0; i < plan.sources.size(); ++i) {
    if (i) j += ',';
    json_string(&j, plan.sources[i].first);
    j += ':';
    json_string(&j, plan.sources[i].second);
  }
  // And where each rule came from: a profile, qemu's argv, the command
  // line, a config file (profile.h).
  if (!plan.landlock.paths.empty() || !plan.landlock.port_specs.empty() || plan.seccomp.active ||
      plan.jail.active)
    j += std::string(plan.sources.empty() ? "" : ",") + "\"rules\":" +
         profile::rule_sources_json(plan.profile, plan.sources, plan.landlock, plan.seccomp,
                                    plan.jail);
  j += "},\"mode\":";
  json_string(&j, mode_name(plan.mode));
  j += ",\"rlimits\":[";
  for (size_t i = 0; i < plan.rlimits.size(); ++i) {
    const auto& r = plan.rlimits[i];
    if (i) j += ',';
    j += "{\"name\":";
    json_string(&j, r.info->name);
    j += ",\"soft\":";
    json_rlim(&j, r.value.rlim_cur);
    j += ",\"hard\":";
    json_rlim(&j, r.value.rlim_max);
    j += '}';
  }
  j += "],\"fds\":[";
  for (size_t i = 0; i < plan.fds.size(); ++i) {
    if (i) j += ',';
    j += "{\"target\":" + std::to_string(plan.fds[i].map.target) +
         ",\"source\":" + std::to_string(plan.fds[i].map.source) + '}';
  }
  j += "],\"close_fds\":";
  j += plan.close_fds ? "true" : "false";
  j += ",\"pidfile\":";
  if (plan.pidfile.empty()) {
    j += "null";
  } else {
    json_string(&j, plan.pidfile);
  }
  j += ",\"status_fd\":" + (plan.status_fd < 0 ? std::string("null") : std::to_string(plan.status_fd));
  j += ",\"die_with_parent\":";
  if (plan.die_signal) {
    json_string(&j, signal_name(plan.die_signal));
  } else {
    j += "null";
  }
  j += ",\"listen_fds\":" + (plan.socket_activation ? std::to_string(plan.listen_fds) : std::string("null"));
  j += ",\"chdir\":";
  if (plan.chdir.empty()) {
    j += "null";
  } else {
    json_string(&j, plan.chdir);
  }
  // Only when a flag changes it: boxjail's environment as it is otherwise.
  if (plan.env_plan.active) j += ",\"environment\":" + environment::to_json(plan.env_plan);
  j += ",\"supervisor\":{\"reap\":";
  j += plan.reap ? "true" : "false";
  j += ",\"signal_group\":";
  j += plan.signal_group ? "true" : "false";
  j += ",\"grace_ms\":" + std::to_string(plan.grace_ms);
  // --cgroup makes it a subreaper too: its clean-up tells PROGRAM's
  // processes by their parent chain.
  j += ",\"subreaper\":";
  j += plan.mode == Mode::kSupervise && (plan.reap || plan.cgroup.active) ? "true}" : "false}";
  // Present only when given, as "profile" is.
  if (plan.timeout.active)
    j += ",\"timeout\":" +
         timeout::to_json(plan.timeout,
                          plan.cgroup.active ? "cgroup"
                          : plan.signal_group ? "process group"
                                              : "PROGRAM",
                          plan.grace_ms);
  if (plan.ready.active) j += ",\"ready\":" + ready::to_json(plan.ready);
  j += ",\"cgroup\":" + (plan.cgroup.active ? cgroup::to_json(plan.cgroup) : "null");
  if (plan.netns.active) j += ",\"netns\":" + netns::to_json(plan.netns);
  j += ",\"scheduling\":{\"cpus\":";
  if (plan.set_cpus) {
    json_string(&j, plan.cpus_spec);
  } else {
    j += "null";
  }
  j += ",\"nice\":" + (plan.set_nice ? std::to_string(plan.nice) : std::string("null"));
  j += ",\"oom_score_adj\":" +
       (plan.set_oom_score_adj ? std::to_string(plan.oom_score_adj) : std::string("null")) + '}';
  j += ",\"landlock\":" + (plan.landlock.requested || plan.jail.active
                               ? landlock::to_json(plan.landlock)
                               : "null");
  j += ",\"seccomp\":" + (plan.seccomp.active ? seccomp::to_json(plan.seccomp) : "null");
  j += ",\"jail\":" + (plan.jail.active ? jail::to_json(plan.jail) : "null");
  j += ",\"learn\":";
  if (plan.learn_file.empty()) j += "null";
  else json_escape(&j, plan.learn_file);
  j += ",\"die_with_supervisor\":";
  j += plan.pdeath_supervisor ? "\"SIGKILL\"" : "null";
  j += ",\"restrict_early\":";
  j += plan.restrict_early ? "true" : "false";
  j += ",\"identity\":" + (plan.identity.active ? identity_json(plan.identity) : "null");
  j += ",\"no_new_privs\":{\"set\":";
  j += plan.no_new_privs ? "true" : "false";
  j += ",\"why\":";
  json_string(&j, plan.no_new_privs_why.empty() ? "not asked for" : plan.no_new_privs_why);
  j += '}';
  if (plan.profile.active) j += ",\"profile\":" + profile::to_json(plan.profile);
  j += "}\n";
  return j;
}

}  // namespace boxjail
