// tests/attack: one attack a hostile PROGRAM would try, made with raw
// system calls, and what the kernel answered.
//
//   attack OP [ARGS...]
//
// Prints one JSON line {"op":"OP","ok":true|false,"errno":N,"detail":"..."}
// (detail names the step that failed, or what worked) and exits 0 if the
// attack succeeded, 1 if it failed, 2 on a usage error. Some ops add fields.
//
// Terminal:  tiocsti FD TEXT, tiocsti-tty TEXT (on /dev/tty), tiocsti-hi FD
//            TEXT (request 0xdeadbeef00005412: the kernel reads only the low
//            32 bits), tioclinux FD.
// io_uring:  uring-openat PATH, uring-connect HOST PORT (IORING_OP_SOCKET,
//            CONNECT and SEND: no socket() call), uring-connect-fd PORT
//            (socket(), then CONNECT and SEND through the ring), uring-udp
//            PORT (a UDP socket from IORING_OP_SOCKET, CONNECT, SEND).
// Files:     open, openat, openat2, creat, open-by-handle, read, write PATH;
//            chmod PATH MODE (octal), fchmodat PATH MODE, chown PATH UID GID,
//            fchownat PATH UID GID, rename FROM TO, renameat2 FROM TO,
//            utime PATH, setxattr PATH [NAME] (default user.x),
//            unix-connect PATH (@NAME: abstract), cgroup-move FILE PID.
// Processes: fork, vfork, clone, clone3 (the child _exits at once); forks
//            N (N children at once: ok if all were made; adds "made").
// Memory:    alloc MIB (touches it), wx (an mmap writable and executable).
// Network:   all to loopback, each sending "PWNED": tcp PORT, udp PORT,
//            udp6 PORT, mptcp PORT, sctp PORT, tfo PORT (sendto with
//            MSG_FASTOPEN, no connect), tfo-sockopt PORT
//            (TCP_FASTOPEN_CONNECT, then connect and send); raw (an ICMP
//            echo through a raw socket), packet (an AF_PACKET socket),
//            socket FAMILY TYPE PROTO.
// Identity:  ids (ok if euid 0 or any effective capability; adds ruid,
//            euid, suid, capeff, capprm, capinh, capamb, capbnd, securebits,
//            no_new_privs), setuid-exec PATH [ARGS...] (execv: the program
//            run reports for itself).
// Neighbours: mem PID [ADDR] (write a byte through /proc/PID/mem, at ADDR or
//            the first writable mapping in /proc/PID/maps), ptrace PID,
//            vmwrite PID [ADDR] (process_vm_writev), kill PID SIG,
//            kill-parent (SIGKILL to the parent), pidfd-getfd PID FD.
// Staying alive: sleep N, wait-stdin (until EOF), pid. Each prints its pid
//            and "addr", the address of a writable byte for mem and vmwrite.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Newer than the Linux 6.1 headers, or not in every libc.
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
constexpr int kIpprotoMptcp = 262;
constexpr int kMsgFastopen = 0x20000000;
constexpr int kTcpFastopenConnect = 30;
constexpr unsigned long kTiocstiHigh = 0xdeadbeef00005412UL;

const char kPayload[] = "PWNED";
constexpr size_t kPayloadLen = sizeof kPayload - 1;

// Written by mem and vmwrite from a neighbour; its address is reported.
volatile char g_target = 'A';

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      o += b;
    } else {
      o += c;
    }
  }
  return o;
}

std::string g_op;

// The one report: `extra` is more JSON members, each starting with a comma.
int report(bool ok, int err, const std::string& detail, const std::string& extra = "") {
  std::string line = "{\"op\":\"" + esc(g_op) + "\",\"ok\":" + (ok ? "true" : "false") +
                     ",\"errno\":" + std::to_string(ok ? 0 : err) + ",\"detail\":\"" +
                     esc(detail) + "\"" + extra + "}\n";
  // One write: a report is never interleaved with another process's.
  (void)!write(1, line.data(), line.size());
  return ok ? 0 : 1;
}
// errno is read before anything else can change it.
int fail(const char* step) {
  int e = errno;
  return report(false, e, step);
}
int fail_with(int err, const std::string& step) { return report(false, err, step); }

int usage(const char* why) {
  fprintf(stderr, "attack: %s\n", why);
  return 2;
}

bool parse_long(const char* s, long* out, int base = 10) {
  if (!s || !*s) return false;
  char* end = nullptr;
  errno = 0;
  long v = strtol(s, &end, base);
  if (errno || *end) return false;
  *out = v;
  return true;
}

bool parse_port(const char* s, uint16_t* port) {
  long v = 0;
  if (!parse_long(s, &v) || v < 1 || v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

sockaddr_in loopback4(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

sockaddr* sa_ptr(void* p) { return static_cast<sockaddr*>(p); }

// ---- terminal -------------------------------------------------------------

int inject(int fd, const std::string& text, bool high) {
  for (char c : text) {
    long r = high ? syscall(SYS_ioctl, fd, kTiocstiHigh, &c)
                  : syscall(SYS_ioctl, fd, static_cast<unsigned long>(TIOCSTI), &c);
    if (r != 0) return fail("ioctl TIOCSTI");
  }
  return report(true, 0, "injected " + std::to_string(text.size()) + " bytes");
}

// ---- io_uring, without liburing ------------------------------------------

class Ring {
 public:
  // 0 or the errno of the step that failed (named in *step).
  int setup(std::string* step) {
    io_uring_params p{};
    long fd = syscall(SYS_io_uring_setup, 8u, &p);
    if (fd < 0) {
      *step = "io_uring_setup";
      return errno;
    }
    fd_ = static_cast<int>(fd);
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP) sq_len = cq_len = std::max(sq_len, cq_len);
    void* sq = mmap(nullptr, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                    IORING_OFF_SQ_RING);
    if (sq == MAP_FAILED) {
      *step = "mmap sq ring";
      return errno;
    }
    void* cq = sq;
    if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
      cq = mmap(nullptr, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                IORING_OFF_CQ_RING);
      if (cq == MAP_FAILED) {
        *step = "mmap cq ring";
        return errno;
      }
    }
    void* sqes = mmap(nullptr, p.sq_entries * sizeof(io_uring_sqe), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQES);
    if (sqes == MAP_FAILED) {
      *step = "mmap sqes";
      return errno;
    }
    char* s = static_cast<char*>(sq);
    char* c = static_cast<char*>(cq);
    sq_tail_ = reinterpret_cast<unsigned*>(s + p.sq_off.tail);
    sq_mask_ = *reinterpret_cast<unsigned*>(s + p.sq_off.ring_mask);
    sq_array_ = reinterpret_cast<unsigned*>(s + p.sq_off.array);
    cq_head_ = reinterpret_cast<unsigned*>(c + p.cq_off.head);
    cq_tail_ = reinterpret_cast<unsigned*>(c + p.cq_off.tail);
    cq_mask_ = *reinterpret_cast<unsigned*>(c + p.cq_off.ring_mask);
    cqes_ = reinterpret_cast<io_uring_cqe*>(c + p.cq_off.cqes);
    sqes_ = static_cast<io_uring_sqe*>(sqes);
    return 0;
  }

  // Submits `sqe` and waits for its completion: the CQE's res, or -errno
  // of io_uring_enter (named in *step).
  long run(const io_uring_sqe& sqe, std::string* step) {
    unsigned tail = __atomic_load_n(sq_tail_, __ATOMIC_ACQUIRE);
    unsigned idx = tail & sq_mask_;
    sqes_[idx] = sqe;
    sq_array_[idx] = idx;
    __atomic_store_n(sq_tail_, tail + 1, __ATOMIC_RELEASE);
    long r = syscall(SYS_io_uring_enter, fd_, 1u, 1u, IORING_ENTER_GETEVENTS, nullptr, 0);
    if (r < 0) {
      *step = "io_uring_enter";
      return -errno;
    }
    unsigned head = __atomic_load_n(cq_head_, __ATOMIC_ACQUIRE);
    if (head == __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE)) {
      *step = "no completion";
      return -EAGAIN;
    }
    long res = cqes_[head & cq_mask_].res;
    __atomic_store_n(cq_head_, head + 1, __ATOMIC_RELEASE);
    return res;
  }

 private:
  int fd_ = -1;
  unsigned *sq_tail_ = nullptr, *sq_array_ = nullptr, *cq_head_ = nullptr, *cq_tail_ = nullptr;
  unsigned sq_mask_ = 0, cq_mask_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  io_uring_cqe* cqes_ = nullptr;
};

io_uring_sqe sqe_of(uint8_t opcode, int fd) {
  io_uring_sqe s{};
  s.opcode = opcode;
  s.fd = fd;
  return s;
}

int uring_openat(const char* path) {
  Ring ring;
  std::string step;
  if (int e = ring.setup(&step)) return fail_with(e, step);
  io_uring_sqe s = sqe_of(IORING_OP_OPENAT, AT_FDCWD);
  s.addr = reinterpret_cast<uintptr_t>(path);
  s.open_flags = O_RDONLY | O_CLOEXEC;
  step = "IORING_OP_OPENAT";
  long fd = ring.run(s, &step);
  if (fd < 0) return fail_with(static_cast<int>(-fd), step);
  char buf[64];
  if (read(static_cast<int>(fd), buf, sizeof buf) < 0) return fail("read");
  return report(true, 0, "opened and read through io_uring");
}

// CONNECT to HOST:PORT and SEND the payload through the ring, on `fd`, or
// on a socket of `type` made by IORING_OP_SOCKET when fd < 0.
int uring_connect(int fd, const char* host, uint16_t port, int type = SOCK_STREAM) {
  sockaddr_in sa = loopback4(port);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return usage("HOST: an IPv4 address");
  Ring ring;
  std::string step;
  if (int e = ring.setup(&step)) return fail_with(e, step);
  if (fd < 0) {
    io_uring_sqe s = sqe_of(IORING_OP_SOCKET, AF_INET);
    s.off = static_cast<__u64>(type);
    s.len = 0;
    step = "IORING_OP_SOCKET";
    long r = ring.run(s, &step);
    if (r < 0) return fail_with(static_cast<int>(-r), step);
    fd = static_cast<int>(r);
  }
  io_uring_sqe c = sqe_of(IORING_OP_CONNECT, fd);
  c.addr = reinterpret_cast<uintptr_t>(&sa);
  c.off = sizeof sa;
  step = "IORING_OP_CONNECT";
  long r = ring.run(c, &step);
  if (r < 0) return fail_with(static_cast<int>(-r), step);
  io_uring_sqe w = sqe_of(IORING_OP_SEND, fd);
  w.addr = reinterpret_cast<uintptr_t>(kPayload);
  w.len = kPayloadLen;
  step = "IORING_OP_SEND";
  r = ring.run(w, &step);
  if (r < 0) return fail_with(static_cast<int>(-r), step);
  if (r != static_cast<long>(kPayloadLen)) return fail_with(EIO, "short send");
  return report(true, 0, "connected and sent through io_uring");
}

// ---- files -----------------------------------------------------------------

int opened(long fd, const char* step) {
  if (fd < 0) return fail(step);
  close(static_cast<int>(fd));
  return report(true, 0, "opened");
}

int open_by_handle(const char* path) {
  // The mount is named by the working directory (AT_FDCWD), so that no
  // open-family call but the one under test is made.
  std::string dir = path;
  size_t slash = dir.rfind('/');
  dir = slash == std::string::npos ? "." : slash == 0 ? "/" : dir.substr(0, slash);
  if (chdir(dir.c_str()) != 0) return fail("chdir");
  alignas(file_handle) char buf[sizeof(file_handle) + MAX_HANDLE_SZ] = {};
  auto* fh = reinterpret_cast<file_handle*>(buf);
  fh->handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (syscall(SYS_name_to_handle_at, AT_FDCWD, path, fh, &mount_id, 0) != 0)
    return fail("name_to_handle_at");
  return opened(syscall(SYS_open_by_handle_at, AT_FDCWD, fh, O_RDONLY | O_CLOEXEC),
                "open_by_handle_at");
}

int done(long r, const char* step) { return r == 0 ? report(true, 0, step) : fail(step); }

int unix_connect(const char* path) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return fail("socket");
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  size_t n = strlen(path);
  if (n >= sizeof sa.sun_path) return usage("unix socket path too long");
  memcpy(sa.sun_path, path, n);
  if (path[0] == '@') sa.sun_path[0] = '\0';  // abstract
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
  if (connect(s, sa_ptr(&sa), len) != 0) return fail("connect");
  if (send(s, kPayload, kPayloadLen, MSG_NOSIGNAL) < 0) return fail("send");
  return report(true, 0, "connected and sent");
}

int write_all(const char* path, const std::string& text, int flags) {
  int fd = open(path, flags | O_CLOEXEC, 0644);
  if (fd < 0) return fail("open");
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) return fail("write");
  if (close(fd) != 0) return fail("close");
  return report(true, 0, "written");
}

// ---- processes -------------------------------------------------------------

int reaped(long pid, const char* step) {
  if (pid < 0) return fail(step);
  if (pid == 0) _exit(0);  // the child
  int status = 0;
  waitpid(static_cast<pid_t>(pid), &status, __WALL);
  return report(true, 0, "child " + std::to_string(pid));
}

long raw_vfork() {
#if defined(__x86_64__)
  // The child shares the parent's stack: it must not return through any
  // frame, so it exits in the same instructions that made it.
  long r;
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "mov $60, %%eax\n\t"  // SYS_exit
      "xor %%edi, %%edi\n\t"
      "syscall\n\t"
      "1:\n\t"
      : "=a"(r)
      : "a"(static_cast<long>(SYS_vfork))
      : "rcx", "r11", "rdi", "memory");
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
#else
  pid_t pid = vfork();
  if (pid == 0) _exit(0);
  return pid;
#endif
}

// ---- network ---------------------------------------------------------------

int sock(int family, int type, int proto) {
  return socket(family, type | SOCK_CLOEXEC, proto);
}

int stream_send(int family, int proto, uint16_t port) {
  int s = sock(family, SOCK_STREAM, proto);
  if (s < 0) return fail("socket");
  sockaddr_in sa = loopback4(port);
  if (connect(s, sa_ptr(&sa), sizeof sa) != 0) return fail("connect");
  if (send(s, kPayload, kPayloadLen, MSG_NOSIGNAL) != static_cast<ssize_t>(kPayloadLen))
    return fail("send");
  return report(true, 0, "connected and sent");
}

int udp_send(bool v6, uint16_t port) {
  int s = sock(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return fail("socket");
  ssize_t n;
  if (v6) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_addr = in6addr_loopback;
    n = sendto(s, kPayload, kPayloadLen, 0, sa_ptr(&sa), sizeof sa);
  } else {
    sockaddr_in sa = loopback4(port);
    n = sendto(s, kPayload, kPayloadLen, 0, sa_ptr(&sa), sizeof sa);
  }
  if (n != static_cast<ssize_t>(kPayloadLen)) return fail("sendto");
  return report(true, 0, "sent");
}

int tfo(uint16_t port) {
  int s = sock(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return fail("socket");
  sockaddr_in sa = loopback4(port);
  // Connects and sends in one call, never through connect(2).
  if (sendto(s, kPayload, kPayloadLen, kMsgFastopen | MSG_NOSIGNAL, sa_ptr(&sa), sizeof sa) !=
      static_cast<ssize_t>(kPayloadLen))
    return fail("sendto MSG_FASTOPEN");
  return report(true, 0, "sent with MSG_FASTOPEN");
}

int tfo_sockopt(uint16_t port) {
  int s = sock(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return fail("socket");
  int one = 1;
  if (setsockopt(s, IPPROTO_TCP, kTcpFastopenConnect, &one, sizeof one) != 0)
    return fail("setsockopt TCP_FASTOPEN_CONNECT");
  sockaddr_in sa = loopback4(port);
  if (connect(s, sa_ptr(&sa), sizeof sa) != 0) return fail("connect");
  if (send(s, kPayload, kPayloadLen, MSG_NOSIGNAL) != static_cast<ssize_t>(kPayloadLen))
    return fail("send");
  return report(true, 0, "connected (TCP_FASTOPEN_CONNECT) and sent");
}

uint16_t icmp_checksum(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

int raw_icmp() {
  int s = sock(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (s < 0) return fail("socket");
  struct {
    icmphdr h;
    char data[8];
  } pkt{};
  pkt.h.type = ICMP_ECHO;
  pkt.h.un.echo.id = htons(static_cast<uint16_t>(getpid()));
  pkt.h.un.echo.sequence = htons(1);
  memcpy(pkt.data, "PWNED!!", 8);
  pkt.h.checksum = icmp_checksum(&pkt, sizeof pkt);
  sockaddr_in sa = loopback4(0);
  if (sendto(s, &pkt, sizeof pkt, 0, sa_ptr(&sa), sizeof sa) != static_cast<ssize_t>(sizeof pkt))
    return fail("sendto");
  return report(true, 0, "sent an ICMP echo");
}

// ---- identity --------------------------------------------------------------

std::string status_field(const std::string& status, const char* key) {
  std::string k = std::string("\n") + key + ":";
  size_t p = ("\n" + status).find(k);
  if (p == std::string::npos) return "";
  p += k.size() - 1;  // in `status`, after the colon
  while (p < status.size() && (status[p] == '\t' || status[p] == ' ')) ++p;
  size_t e = status.find('\n', p);
  return status.substr(p, e == std::string::npos ? std::string::npos : e - p);
}

std::string slurp(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  close(fd);
  return s;
}

int ids() {
  uid_t r = 0, e = 0, s = 0;
  getresuid(&r, &e, &s);
  const std::string st = slurp("/proc/self/status");
  auto cap = [&](const char* k) {
    std::string v = status_field(st, k);
    return v.empty() ? std::string("?") : v;
  };
  const std::string capeff = cap("CapEff");
  long securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  long nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  std::string extra = ",\"ruid\":" + std::to_string(r) + ",\"euid\":" + std::to_string(e) +
                      ",\"suid\":" + std::to_string(s) + ",\"capeff\":\"" + esc(capeff) +
                      "\",\"capprm\":\"" + esc(cap("CapPrm")) + "\",\"capinh\":\"" +
                      esc(cap("CapInh")) + "\",\"capamb\":\"" + esc(cap("CapAmb")) +
                      "\",\"capbnd\":\"" + esc(cap("CapBnd")) +
                      "\",\"securebits\":" + std::to_string(securebits) +
                      ",\"no_new_privs\":" + std::to_string(nnp);
  bool caps = capeff != "?" && strtoull(capeff.c_str(), nullptr, 16) != 0;
  bool ok = e == 0 || caps;
  return report(ok, EPERM, ok ? (e == 0 ? "euid 0" : "effective capabilities") : "unprivileged",
                extra);
}

// ---- neighbours ------------------------------------------------------------

// The start of the first private writable mapping in /proc/PID/maps.
bool writable_address(pid_t pid, uintptr_t* addr, int* err) {
  std::string maps = slurp(("/proc/" + std::to_string(pid) + "/maps").c_str());
  if (maps.empty()) {
    *err = errno ? errno : EACCES;
    return false;
  }
  size_t pos = 0;
  while (pos < maps.size()) {
    size_t nl = maps.find('\n', pos);
    std::string line = maps.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? maps.size() : nl + 1;
    size_t sp = line.find(' ');
    if (sp == std::string::npos || line.compare(sp + 1, 4, "rw-p") != 0) continue;
    *addr = static_cast<uintptr_t>(strtoull(line.c_str(), nullptr, 16));
    return true;
  }
  *err = ENOENT;
  return false;
}

bool target_address(pid_t pid, const char* given, uintptr_t* addr, std::string* note) {
  if (given) {
    *addr = static_cast<uintptr_t>(strtoull(given, nullptr, 0));
    return true;
  }
  int err = 0;
  if (writable_address(pid, addr, &err)) return true;
  *note = std::string(" (maps: ") + strerror(err) + ")";
  *addr = 0;
  return false;
}

int mem_write(pid_t pid, const char* given) {
  uintptr_t addr = 0;
  std::string note;
  target_address(pid, given, &addr, &note);
  int fd = open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return fail_with(e, "open /proc/PID/mem" + note);
  }
  if (!addr) return fail_with(ENOENT, "no writable mapping" + note);
  // At a given address 'W'; in a mapping found in maps, its own byte back.
  char c = 'W';
  if (!given && pread(fd, &c, 1, static_cast<off_t>(addr)) != 1) return fail("pread");
  if (pwrite(fd, &c, 1, static_cast<off_t>(addr)) != 1) return fail("pwrite");
  return report(true, 0, "wrote a byte");
}

int vm_write(pid_t pid, const char* given) {
  uintptr_t addr = 0;
  std::string note;
  target_address(pid, given, &addr, &note);
  // Without an address the permission check still answers first: EPERM if
  // refused, EFAULT if allowed.
  char c = 'W';
  iovec local{&c, 1}, remote{reinterpret_cast<void*>(addr), 1};
  if (!given && addr && syscall(SYS_process_vm_readv, pid, &local, 1ul, &remote, 1ul, 0ul) != 1)
    return fail("process_vm_readv");
  if (syscall(SYS_process_vm_writev, pid, &local, 1ul, &remote, 1ul, 0ul) != 1) {
    int e = errno;
    return fail_with(e, "process_vm_writev" + note);
  }
  return report(true, 0, "wrote a byte");
}

int ptrace_attach(pid_t pid) {
  if (ptrace(PTRACE_ATTACH, pid, nullptr, nullptr) != 0) return fail("PTRACE_ATTACH");
  waitpid(pid, nullptr, __WALL);
  ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
  return report(true, 0, "attached");
}

int pidfd_getfd(pid_t pid, int target) {
  long pfd = syscall(SYS_pidfd_open, pid, 0u);
  if (pfd < 0) return fail("pidfd_open");
  long fd = syscall(SYS_pidfd_getfd, pfd, target, 0u);
  if (fd < 0) return fail("pidfd_getfd");
  return report(true, 0, "got descriptor " + std::to_string(fd));
}

std::string alive_fields() {
  char addr[32];
  snprintf(addr, sizeof addr, "%p", static_cast<void*>(const_cast<char*>(&g_target)));
  return ",\"pid\":" + std::to_string(getpid()) + ",\"ppid\":" + std::to_string(getppid()) +
         ",\"addr\":\"" + addr + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("usage: attack OP [ARGS...]");
  g_op = argv[1];
  const std::string op = argv[1];
  auto arg = [&](int i) -> const char* { return i + 1 < argc ? argv[i + 1] : nullptr; };
  auto need = [&](int n) { return argc >= n + 2; };
  long n1 = 0, n2 = 0;
  uint16_t port = 0;

  if (op == "tiocsti" || op == "tiocsti-hi") {
    if (!need(2) || !parse_long(arg(1), &n1)) return usage("tiocsti FD TEXT");
    return inject(static_cast<int>(n1), arg(2), op == "tiocsti-hi");
  }
  if (op == "tiocsti-tty") {
    if (!need(1)) return usage("tiocsti-tty TEXT");
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return fail("open /dev/tty");
    return inject(fd, arg(1), false);
  }
  if (op == "tioclinux") {
    if (!need(1) || !parse_long(arg(1), &n1)) return usage("tioclinux FD");
    char subcode = 6;  // TIOCL_GETSHIFTSTATE: reads only
    if (syscall(SYS_ioctl, static_cast<int>(n1), static_cast<unsigned long>(TIOCLINUX), &subcode) != 0)
      return fail("ioctl TIOCLINUX");
    return report(true, 0, "TIOCLINUX answered");
  }
  if (op == "uring-openat") {
    if (!need(1)) return usage("uring-openat PATH");
    return uring_openat(arg(1));
  }
  if (op == "uring-connect") {
    if (!need(2) || !parse_port(arg(2), &port)) return usage("uring-connect HOST PORT");
    return uring_connect(-1, arg(1), port);
  }
  if (op == "uring-udp") {
    if (!need(1) || !parse_port(arg(1), &port)) return usage("uring-udp PORT");
    return uring_connect(-1, "127.0.0.1", port, SOCK_DGRAM);
  }
  if (op == "uring-connect-fd") {
    if (!need(1) || !parse_port(arg(1), &port)) return usage("uring-connect-fd PORT");
    int s = sock(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return fail("socket");
    return uring_connect(s, "127.0.0.1", port);
  }
  if (op == "open" || op == "openat" || op == "openat2" || op == "creat" ||
      op == "open-by-handle" || op == "read" || op == "write" || op == "utime" ||
      op == "setxattr" || op == "unix-connect") {
    if (!need(1)) return usage((op + " PATH").c_str());
    const char* path = arg(1);
    if (op == "open") {
#ifdef SYS_open
      return opened(syscall(SYS_open, path, O_RDONLY | O_CLOEXEC), "open");
#else
      return fail_with(ENOSYS, "no open(2) on this architecture");
#endif
    }
    if (op == "openat") return opened(syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC), "openat");
    if (op == "openat2") {
      open_how how{};
      how.flags = O_RDONLY | O_CLOEXEC;
      return opened(syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how), "openat2");
    }
    if (op == "creat") {
#ifdef SYS_creat
      return opened(syscall(SYS_creat, path, 0600), "creat");
#else
      return fail_with(ENOSYS, "no creat(2) on this architecture");
#endif
    }
    if (op == "open-by-handle") return open_by_handle(path);
    if (op == "read") {
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) return fail("open");
      char buf[256];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0) return fail("read");
      return report(true, 0, std::string(buf, static_cast<size_t>(n)));
    }
    if (op == "write") return write_all(path, "PWNED\n", O_WRONLY | O_CREAT | O_APPEND);
    if (op == "utime") return done(syscall(SYS_utimensat, AT_FDCWD, path, nullptr, 0), "utimensat");
    if (op == "setxattr") {
      const char* name = arg(2) ? arg(2) : "user.x";
      return done(syscall(SYS_setxattr, path, name, "1", 1ul, 0), "setxattr");
    }
    return unix_connect(path);
  }
  if (op == "chmod" || op == "fchmodat") {
    if (!need(2) || !parse_long(arg(2), &n1, 8)) return usage((op + " PATH MODE").c_str());
    auto mode = static_cast<mode_t>(n1);
    if (op == "fchmodat") return done(syscall(SYS_fchmodat, AT_FDCWD, arg(1), mode), "fchmodat");
#ifdef SYS_chmod
    return done(syscall(SYS_chmod, arg(1), mode), "chmod");
#else
    return fail_with(ENOSYS, "no chmod(2) on this architecture");
#endif
  }
  if (op == "chown" || op == "fchownat") {
    if (!need(3) || !parse_long(arg(2), &n1) || !parse_long(arg(3), &n2))
      return usage((op + " PATH UID GID").c_str());
    if (op == "fchownat")
      return done(syscall(SYS_fchownat, AT_FDCWD, arg(1), n1, n2, 0), "fchownat");
#ifdef SYS_chown
    return done(syscall(SYS_chown, arg(1), n1, n2), "chown");
#else
    return fail_with(ENOSYS, "no chown(2) on this architecture");
#endif
  }
  if (op == "rename" || op == "renameat2") {
    if (!need(2)) return usage((op + " FROM TO").c_str());
    if (op == "renameat2")
      return done(syscall(SYS_renameat2, AT_FDCWD, arg(1), AT_FDCWD, arg(2), 0u), "renameat2");
#ifdef SYS_rename
    return done(syscall(SYS_rename, arg(1), arg(2)), "rename");
#else
    return fail_with(ENOSYS, "no rename(2) on this architecture");
#endif
  }
  if (op == "cgroup-move") {
    if (!need(2)) return usage("cgroup-move CGROUP_PROCS_FILE PID");
    return write_all(arg(1), std::string(arg(2)) + "\n", O_WRONLY);
  }
  if (op == "alloc") {
    // Touches N MiB, a page at a time: a memory limit kills it on the way.
    if (!need(1) || !parse_long(arg(1), &n1) || n1 < 1) return usage("alloc MIB");
    const size_t size = static_cast<size_t>(n1) << 20;
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return fail("mmap");
    for (size_t off = 0; off < size; off += 4096) static_cast<volatile char*>(p)[off] = 1;
    return report(true, 0, "touched " + std::to_string(n1) + " MiB");
  }
  if (op == "forks") {
    // N children that wait for EOF on a pipe: how many could be made.
    if (!need(1) || !parse_long(arg(1), &n1) || n1 < 1) return usage("forks N");
    int p[2];
    if (pipe(p) != 0) return fail("pipe");
    long made = 0;
    int err = 0;
    for (; made < n1; ++made) {
      pid_t c = static_cast<pid_t>(syscall(SYS_clone, static_cast<unsigned long>(SIGCHLD), 0ul, 0ul,
                                           0ul, 0ul));
      if (c < 0) {
        err = errno;
        break;
      }
      if (c == 0) {
        char b;
        close(p[1]);
        (void)!read(p[0], &b, 1);
        _exit(0);
      }
    }
    close(p[1]);
    while (wait(nullptr) > 0) {
    }
    return report(made == n1, err, "made " + std::to_string(made) + " of " + std::to_string(n1),
                  ",\"made\":" + std::to_string(made));
  }
  if (op == "wx") {
    // Memory that is writable and executable at once, or made executable
    // after it was written.
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) return fail("mmap PROT_WRITE|PROT_EXEC");
    return report(true, 0, "mapped W+X");
  }
  if (op == "fork") {
#ifdef SYS_fork
    return reaped(syscall(SYS_fork), "fork");
#else
    return fail_with(ENOSYS, "no fork(2) on this architecture");
#endif
  }
  if (op == "vfork") return reaped(raw_vfork(), "vfork");
  if (op == "clone") {
    // No new stack: the child runs on a copy of this one, as after fork.
    return reaped(syscall(SYS_clone, static_cast<unsigned long>(SIGCHLD), 0ul, 0ul, 0ul, 0ul),
                  "clone");
  }
  if (op == "clone3") {
    clone_args ca{};
    ca.exit_signal = SIGCHLD;
    return reaped(syscall(SYS_clone3, &ca, sizeof ca), "clone3");
  }
  if (op == "tcp" || op == "udp" || op == "udp6" || op == "mptcp" || op == "sctp" ||
      op == "tfo" || op == "tfo-sockopt") {
    if (!need(1) || !parse_port(arg(1), &port)) return usage((op + " PORT").c_str());
    if (op == "tcp") return stream_send(AF_INET, 0, port);
    if (op == "mptcp") return stream_send(AF_INET, kIpprotoMptcp, port);
    if (op == "sctp") return stream_send(AF_INET, IPPROTO_SCTP, port);
    if (op == "udp" || op == "udp6") return udp_send(op == "udp6", port);
    if (op == "tfo") return tfo(port);
    return tfo_sockopt(port);
  }
  if (op == "raw") return raw_icmp();
  if (op == "packet") {
    int s = sock(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    return s < 0 ? fail("socket") : report(true, 0, "AF_PACKET socket");
  }
  if (op == "socket") {
    long f = 0, t = 0, p = 0;
    if (!need(3) || !parse_long(arg(1), &f) || !parse_long(arg(2), &t) || !parse_long(arg(3), &p))
      return usage("socket FAMILY TYPE PROTO");
    int s = socket(static_cast<int>(f), static_cast<int>(t), static_cast<int>(p));
    return s < 0 ? fail("socket") : report(true, 0, "socket");
  }
  if (op == "ids") return ids();
  if (op == "setuid-exec") {
    if (!need(1)) return usage("setuid-exec PATH [ARGS...]");
    execv(arg(1), argv + 2);
    return fail("execv");
  }
  if (op == "mem" || op == "vmwrite" || op == "ptrace") {
    if (!need(1) || !parse_long(arg(1), &n1)) return usage((op + " PID").c_str());
    auto pid = static_cast<pid_t>(n1);
    if (op == "mem") return mem_write(pid, arg(2));
    if (op == "vmwrite") return vm_write(pid, arg(2));
    return ptrace_attach(pid);
  }
  if (op == "kill") {
    if (!need(2) || !parse_long(arg(1), &n1) || !parse_long(arg(2), &n2))
      return usage("kill PID SIG");
    if (n1 <= 0) return usage("kill: PID must be a process, not a group or everyone");
    return done(kill(static_cast<pid_t>(n1), static_cast<int>(n2)), "kill");
  }
  if (op == "kill-parent") {
    pid_t parent = getppid();
    int r = kill(parent, SIGKILL);
    return r == 0 ? report(true, 0, "killed " + std::to_string(parent)) : fail("kill");
  }
  if (op == "pidfd-getfd") {
    if (!need(2) || !parse_long(arg(1), &n1) || !parse_long(arg(2), &n2))
      return usage("pidfd-getfd PID FD");
    return pidfd_getfd(static_cast<pid_t>(n1), static_cast<int>(n2));
  }
  if (op == "pid") return report(true, 0, "", alive_fields());
  if (op == "sleep") {
    if (!need(1) || !parse_long(arg(1), &n1)) return usage("sleep N");
    report(true, 0, "sleeping", alive_fields());
    sleep(static_cast<unsigned>(n1));
    return 0;
  }
  if (op == "wait-stdin") {
    report(true, 0, "waiting for EOF on stdin", alive_fields());
    char buf[256];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
  }
  return usage(("unknown op '" + op + "'").c_str());
}
