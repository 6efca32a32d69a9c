#include "boxjail/handover.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "boxjail/cgroup.h"
#include "boxjail/log.h"
#include "boxjail/notify.h"
#include "boxjail/numparse.h"
#include "boxjail/wait_abi.h"
#include "boxjail/wire.h"

extern char** environ;

namespace boxjail::handover {
namespace {

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U  // Linux 6.3
#endif

constexpr const char* kTag = "boxjail-end-1";

void put_limit(wire::Out* o, const death::Limit& l) {
  o->num(l.set);
  o->num(static_cast<int64_t>(l.soft));
  o->num(static_cast<int64_t>(l.hard));
  o->str(l.flag);
}

bool get_limit(wire::In* in, death::Limit* l) {
  return in->num(&l->set) && in->num(&l->soft) && in->num(&l->hard) && in->str(&l->flag);
}

// Everything the end needs, in one order (read back by load()).
void put_rules(wire::Out* o, const std::vector<seccomp::Rule>& rules) {
  o->num(static_cast<int64_t>(rules.size()));
  for (const seccomp::Rule& r : rules) {
    o->str(r.name);
    o->num(r.nr);
    o->num(r.allow);
    o->num(r.err);
    o->str(r.from);
    o->num(static_cast<int64_t>(r.conds.size()));
    for (const seccomp::Cond& c : r.conds) {
      o->num(c.arg);
      o->num(static_cast<int64_t>(c.op));
      o->num(static_cast<int64_t>(c.mask));
      o->num(static_cast<int64_t>(c.datum));
    }
  }
}

bool get_rules(wire::In* in, std::vector<seccomp::Rule>* rules) {
  size_t n = 0;
  if (!in->num(&n) || n > 4096) return false;
  rules->assign(n, seccomp::Rule());
  for (seccomp::Rule& r : *rules) {
    size_t k = 0;
    if (!in->str(&r.name) || !in->num(&r.nr) || !in->num(&r.allow) || !in->num(&r.err) ||
        !in->str(&r.from) || !in->num(&k) || k > 6)
      return false;
    r.conds.assign(k, seccomp::Cond());
    for (seccomp::Cond& c : r.conds) {
      int op = 0;
      if (!in->num(&c.arg) || !in->num(&op) || !in->num(&c.mask) || !in->num(&c.datum) ||
          c.arg > 5 || op < 0 || op > static_cast<int>(seccomp::Cond::Op::kGt))
        return false;
      c.op = static_cast<seccomp::Cond::Op>(op);
    }
  }
  return true;
}

std::string save(const SuperviseOptions& so, const EndFacts& f, const PidRecord& rec,
                 cgroup::CgroupRuntime* cg, PidFile* pf, const seccomp::SeccompPlan& sp,
                 std::vector<int>* keep) {
  wire::Out o;
  o.str(kTag);
  o.num(static_cast<int>(log::level()));
  o.num(log::fd());
  for (int64_t v : {int64_t{so.child}, int64_t{so.ctty_fd}, int64_t{so.signal_group},
                    int64_t{so.reap}, int64_t{so.adopt}, int64_t{so.cleanup},
                    int64_t{so.grace_ms}})
    o.num(v);
  o.str(f.program);
  o.num(f.pid);
  o.num(f.started.tv_sec);
  o.num(f.started.tv_nsec);
  o.num(f.status_fd);
  o.num(f.timeout_active);
  o.str(f.timeout_spec);
  o.num(f.seccomp_active);
  put_limit(&o, f.cpu);
  put_limit(&o, f.fsize);
  o.str(f.memory_flags);
  o.str(f.pids_flags);
  o.num(f.pidfile);
  o.num(f.ready);
  o.num(rec.pid);
  o.num(static_cast<int64_t>(rec.start_time));
  if (pf) pf->save(&o, keep);
  cg->save(&o);
  // What brings boxjail back before the end.
  const int listener = so.listener && so.listener->valid() ? so.listener->fd() : -1;
  o.num(listener);
  if (listener >= 0) {
    keep->push_back(listener);
    put_rules(&o, sp.decided);
    o.num(sp.exec_once);
    o.num(sp.allowlist);
    o.num(sp.default_errno);
  }
  o.num(so.timer_fd);
  if (so.timer_fd >= 0) {
    keep->push_back(so.timer_fd);
    o.num(so.timeout_signal);
    o.num(so.cgroup != nullptr);
  }
  return o.data();
}

struct Loaded {
  SuperviseOptions so;
  EndFacts facts;
  PidRecord rec{};
  PidFile pf;
  cgroup::CgroupPlan cgroup_plan;
  cgroup::CgroupRuntime cg;
  int listener_fd = -1;
  seccomp::SeccompPlan seccomp;  // the part decide() reads
  int timer_fd = -1;
  int timeout_signal = SIGTERM;
  bool timer_cgroup = false;
};

bool load(const std::string& blob, Loaded* l) {
  wire::In in(blob);
  std::string tag;
  int level = 0, log_fd = 2;
  if (!in.str(&tag) || tag != kTag || !in.num(&level) || !in.num(&log_fd)) return false;
  if (level < static_cast<int>(log::Level::kTrace) || level > static_cast<int>(log::Level::kOff))
    return false;
  SuperviseOptions& so = l->so;
  EndFacts& f = l->facts;
  if (!in.num(&so.child) || !in.num(&so.ctty_fd) || !in.num(&so.signal_group) ||
      !in.num(&so.reap) || !in.num(&so.adopt) || !in.num(&so.cleanup) || !in.num(&so.grace_ms) ||
      !in.str(&f.program) || !in.num(&f.pid) || !in.num(&f.started.tv_sec) ||
      !in.num(&f.started.tv_nsec) || !in.num(&f.status_fd) || !in.num(&f.timeout_active) ||
      !in.str(&f.timeout_spec) || !in.num(&f.seccomp_active) || !get_limit(&in, &f.cpu) ||
      !get_limit(&in, &f.fsize) || !in.str(&f.memory_flags) || !in.str(&f.pids_flags) ||
      !in.num(&f.pidfile) || !in.num(&f.ready) || !in.num(&l->rec.pid) ||
      !in.num(&l->rec.start_time))
    return false;
  if (f.pidfile && !l->pf.restore(&in)) return false;
  if (!l->cg.restore(&in, &l->cgroup_plan) || !in.num(&l->listener_fd)) return false;
  if (l->listener_fd >= 0 &&
      (!get_rules(&in, &l->seccomp.decided) || !in.num(&l->seccomp.exec_once) ||
       !in.num(&l->seccomp.allowlist) || !in.num(&l->seccomp.default_errno)))
    return false;
  if (!in.num(&l->timer_fd)) return false;
  if (l->timer_fd >= 0 && (!in.num(&l->timeout_signal) || !in.num(&l->timer_cgroup)))
    return false;
  if (!in.done()) return false;
  l->seccomp.active = l->seccomp.named = l->listener_fd >= 0;
  log::set_level(static_cast<log::Level>(level));
  log::set_fd(log_fd);
  return true;
}

// Where `fd` had close-on-exec, clears it, remembering it in `*cleared`.
bool keep_open(int fd, std::vector<int>* cleared) {
  const int flags = fcntl(fd, F_GETFD);
  if (flags < 0) return false;
  if (!(flags & FD_CLOEXEC)) return true;
  if (fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) != 0) return false;
  cleared->push_back(fd);
  return true;
}

[[noreturn]] void refuse(const std::string& why) {
  log::error(std::string(BJ_WAIT_RESUME_FLAG) + ": " + why +
             " (boxjail-wait runs this to finish a box; it is not for use)");
  _exit(125);
}

}  // namespace

std::string exec_exposure(pid_t program, bool confined, bool landlocked) {
  if (!confined || landlocked) return "";
  {
    FILE* f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
    int scope = 0;
    const bool read = f && fscanf(f, "%d", &scope) == 1;
    if (f) fclose(f);
    if (read && scope >= 1) return "";
  }
  const std::string exposed =
      "PROGRAM has the supervisor's uid and gid, no fewer capabilities and no Landlock domain: "
      "it could stop the supervisor while that execs and ptrace it";
  // PROGRAM's ids and permitted capabilities, as the kernel has them now;
  // what cannot be read counts as exposed.
  FILE* f = fopen(("/proc/" + std::to_string(program) + "/status").c_str(), "re");
  if (!f) return exposed;
  unsigned long uids[4] = {}, gids[4] = {};
  unsigned long long prm = 0;
  int found = 0;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "Uid: %lu %lu %lu %lu", &uids[0], &uids[1], &uids[2], &uids[3]) == 4)
      found |= 1;
    else if (sscanf(line, "Gid: %lu %lu %lu %lu", &gids[0], &gids[1], &gids[2], &gids[3]) == 4)
      found |= 2;
    else if (sscanf(line, "CapPrm: %llx", &prm) == 1)
      found |= 4;
  }
  fclose(f);
  if (found != 7) return exposed;
  uid_t r = 0, e = 0, su = 0;
  gid_t rg = 0, eg = 0, sg = 0;
  getresuid(&r, &e, &su);
  getresgid(&rg, &eg, &sg);
  // ptrace and /proc/PID/mem check the tracer's real or file-system ids
  // against all three of the target's.
  auto matches = [](const unsigned long* ids, unsigned long a, unsigned long b, unsigned long c) {
    return a == b && b == c && (ids[0] == a || ids[3] == a);
  };
  if (!matches(uids, r, e, su) || !matches(gids, rg, eg, sg)) return "";
  __user_cap_header_struct head{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &head, data) != 0) return exposed;
  const unsigned long long mine =
      (static_cast<unsigned long long>(data[1].permitted) << 32) | data[0].permitted;
  if (mine & ~prm) return "";  // the kernel wants the tracer to hold all of ours
  return exposed;
}

UniqueFd find_waiter(std::string* why) {
  why->clear();
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return UniqueFd();
  self[n] = '\0';
  std::string path(self);
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return UniqueFd();
  path = path.substr(0, slash + 1) + BJ_WAIT_PROGRAM;
  UniqueFd fd(open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno != ENOENT) *why = path + ": " + std::strerror(errno);
    return UniqueFd();
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) {
    *why = path + ": " + std::strerror(errno);
    return UniqueFd();
  }
  if (!S_ISREG(st.st_mode)) {
    *why = path + " is not a regular file";
  } else if (struct stat self_st {};
             st.st_uid != 0 && st.st_uid != geteuid() &&
             (stat("/proc/self/exe", &self_st) != 0 || st.st_uid != self_st.st_uid)) {
    // Whoever owns the boxjail binary could replace it as well (in a user
    // namespace, both may show as the overflow uid).
    *why = path + " is owned by uid " + std::to_string(st.st_uid) +
           ", neither root, the caller nor the owner of boxjail itself";
  } else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    *why = path + " is writable by its group or others";
  } else if (!(st.st_mode & S_IXUSR)) {
    *why = path + " is not executable";
  }
  if (!why->empty()) return UniqueFd();
  return fd;
}

bool exec_waiter(const UniqueFd& waiter, const SuperviseOptions& so, const EndFacts& facts,
                 const PidRecord& rec, cgroup::CgroupRuntime* cg, PidFile* pf,
                 const seccomp::SeccompPlan& seccomp, std::string* why) {
  auto fail = [&](const std::string& what) {
    *why = what + ": " + std::strerror(errno);
    return false;
  };
  // boxjail itself, for boxjail-wait to exec at the end. Not close-on-exec.
  UniqueFd exe(open("/proc/self/exe", O_PATH));
  if (!exe.valid()) return fail("/proc/self/exe");
  long mfd = syscall(SYS_memfd_create, "boxjail-wait", MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
  if (mfd < 0 && errno == EINVAL)
    mfd = syscall(SYS_memfd_create, "boxjail-wait", MFD_ALLOW_SEALING);
  if (mfd < 0) return fail("memfd_create");
  UniqueFd state(static_cast<int>(mfd));

  std::vector<int> keep = {state.get(), exe.get()};
  if (facts.status_fd >= 0) keep.push_back(facts.status_fd);
  if (log::fd() > 2) keep.push_back(log::fd());
  const std::string blob = save(so, facts, rec, cg, pf, seccomp, &keep);

  bj_wait_state s{};
  s.magic = BJ_WAIT_MAGIC;
  s.version = BJ_WAIT_VERSION;
  s.size = sizeof s;
  s.child = so.child;
  s.ctty_fd = so.ctty_fd;
  s.exe_fd = exe.get();
  s.state_fd = state.get();
  s.signal_group = so.signal_group;
  s.wait_any = so.reap || so.adopt;
  s.listener_fd = s.timer_fd = -1;
  if (so.listener && so.listener->valid()) {
    s.wake |= BJ_WAKE_LISTENER;
    s.listener_fd = so.listener->fd();
  }
  if (so.timer_fd >= 0) {
    s.wake |= BJ_WAKE_TIMER;
    s.timer_fd = so.timer_fd;
  }
  if (pwrite(state.get(), &s, sizeof s, 0) != static_cast<ssize_t>(sizeof s) ||
      pwrite(state.get(), blob.data(), blob.size(), sizeof s) !=
          static_cast<ssize_t>(blob.size()))
    return fail("the hand-over record");
  // Its size is fixed from here: boxjail-wait writes only inside it.
  if (fcntl(state.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return fail("sealing the hand-over record");

  std::vector<int> cleared;
  for (int fd : keep)
    if (!keep_open(fd, &cleared)) {
      for (int c : cleared) fcntl(c, F_SETFD, FD_CLOEXEC);
      return fail("descriptor " + std::to_string(fd));
    }
  char fd_text[16];
  snprintf(fd_text, sizeof fd_text, "%d", state.get());
  char* const argv[] = {const_cast<char*>(BJ_WAIT_PROGRAM), fd_text, nullptr};
  fflush(nullptr);
  syscall(SYS_execveat, waiter.get(), "", argv, environ, AT_EMPTY_PATH);
  const int err = errno;
  for (int c : cleared) fcntl(c, F_SETFD, FD_CLOEXEC);
  errno = err;
  return fail(std::string("exec ") + BJ_WAIT_PROGRAM);
}

void resume(const char* fd_arg) {
  // exec made this process dumpable again: a PROGRAM of the same uid
  // must not be able to ptrace the supervisor.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  int fd = -1;
  if (parse_fd_number(fd_arg, &fd) != NumError::kOk)
    refuse(std::string("'") + fd_arg + "' is no descriptor");
  const int seals = fcntl(fd, F_GET_SEALS);
  constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
  if (seals < 0 || (seals & kSeals) != kSeals) refuse("descriptor " + std::string(fd_arg) +
                                                      " is not a sealed hand-over record");
  UniqueFd state(fd);
  bj_wait_state s{};
  struct stat st {};
  if (fstat(fd, &st) != 0 || pread(fd, &s, sizeof s, 0) != static_cast<ssize_t>(sizeof s) ||
      s.magic != BJ_WAIT_MAGIC || s.version != BJ_WAIT_VERSION || s.size != sizeof s ||
      s.state_fd != fd || (s.ended != 1 && s.ended != 2) ||
      st.st_size < static_cast<off_t>(sizeof s))
    refuse("descriptor " + std::string(fd_arg) + " holds no finished hand-over");
  std::string blob(static_cast<size_t>(st.st_size) - sizeof s, '\0');
  if (pread(fd, blob.data(), blob.size(), sizeof s) != static_cast<ssize_t>(blob.size()))
    refuse("the hand-over record cannot be read");
  if (s.exe_fd >= 0 && s.exe_fd != fd) close(s.exe_fd);
  state.reset();
  Loaded l;
  if (!load(blob, &l)) refuse("the hand-over record is not this boxjail's");
  // boxjail-wait closed a listener that nothing was left under (or one,
  // or the timer, when an exec of boxjail failed: it failed closed).
  if (!(s.wake & BJ_WAKE_LISTENER)) l.listener_fd = -1;
  if (!(s.wake & BJ_WAKE_TIMER)) l.timer_fd = -1;
  for (int kept : {l.facts.status_fd, l.listener_fd, l.timer_fd})
    if (kept >= 0) fcntl(kept, F_SETFD, FD_CLOEXEC);
  notify::Listener listener;
  if (l.listener_fd >= 0) listener.adopt(l.listener_fd);
  UniqueFd timer(l.timer_fd);
  rusage usage{};
  int status = 0;
  bool timed_out = false;
  std::unique_ptr<notify::Denials> denials;
  if (s.ended == 1) {
    static_assert(sizeof usage == sizeof s.rusage);
    std::memcpy(&usage, s.rusage, sizeof usage);
    status = s.status;
    // What supervise() does after PROGRAM's end.
    if (l.so.cleanup || l.so.signal_group) end_the_rest(l.so);
  } else {
    // Woken: a call waits in the listener, or the time limit is reached.
    // boxjail supervises in place from here, as it would have from the
    // start.
    SuperviseOptions so = l.so;
    so.usage = &usage;
    if (listener.valid()) {
      denials = std::make_unique<notify::Denials>(l.seccomp, l.facts.pid);
      so.listener = &listener;
      so.handler = denials.get();
    }
    if (timer.valid()) {
      so.timer_fd = timer.get();
      so.timeout_signal = l.timeout_signal;
      so.timeout_spec = l.facts.timeout_spec.c_str();
      so.timed_out = &timed_out;
      if (l.timer_cgroup) so.cgroup = &l.cg;
    }
    status = supervise(so);
  }
  timer.reset();
  listener.reset();
  EndEvents ev;
  if (denials) add_denials(*denials, &status, &ev);
  ev.timed_out = timed_out;
  finish_box(l.facts, status, usage, ev, &l.cg, &l.pf, l.rec);
}

}  // namespace boxjail::handover
