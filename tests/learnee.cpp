// tests/learnee: a PROGRAM with odd habits, for --learn and named denials.
// One mode per run; prints nothing unless asked, exits 0 when the mode ran.
//   thread-open PATH    a second thread opens PATH for reading
//   fork-open PATH      a forked child opens PATH for reading
//   fork-uname          a forked child calls uname(); prints its wait status
//   long-path           open() with paths longer than PATH_MAX, absolute and
//                       relative, and a path of 2000 "./" pieces
//   bad-pointer         open() on pointers that are not strings: NULL, 1,
//                       and a string running into an unmapped page
//   thread-exit         threads in blocking calls while the process exits
//   connect PORT        TCP connect to 127.0.0.1:PORT
//   make DIR            creates, renames and removes a file in DIR
//   execveat PATH       a forked child execveat()s PATH by descriptor; errno
//   clone3              clone3() without flags; errno (0: it worked)
//   setns PATH          setns() into the namespace at PATH; errno
//   socket FAMILY       socket() of that family number; errno
//   wx                  errno of a W+X mmap, and of mprotect(PROT_EXEC)
//   flood N             N calls of unknown numbers and N of uname()
//   orphan-uname FILE   forks a grandchild in its own session that waits
//                       until its parent's supervisor is gone, calls
//                       uname() and writes the errno (0 on success) to FILE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>

namespace {

void* open_in_thread(void* p) {
  int fd = open(static_cast<const char*>(p), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) close(fd);
  return nullptr;
}

void* block_forever(void*) {
  int p[2];
  if (pipe(p) == 0) {
    char c;
    (void)!read(p[0], &c, 1);  // never returns: the process exits meanwhile
  }
  return nullptr;
}

int usage() {
  fprintf(stderr, "usage: learnee MODE [ARG]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  const char* arg = argc > 2 ? argv[2] : nullptr;
  if (mode == "thread-open" && arg) {
    pthread_t t;
    if (pthread_create(&t, nullptr, open_in_thread, const_cast<char*>(arg)) != 0) return 1;
    pthread_join(t, nullptr);
    return 0;
  }
  if (mode == "fork-open" && arg) {
    pid_t pid = fork();
    if (pid == 0) {
      open_in_thread(const_cast<char*>(arg));
      _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
  }
  if (mode == "fork-uname") {
    pid_t pid = fork();
    if (pid == 0) {
      utsname u;
      _exit(uname(&u) == 0 ? 0 : 3);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("%d\n", st);
    return 0;
  }
  if (mode == "long-path") {
    std::string huge(PATH_MAX * 3, 'a');
    std::string abs = "/" + huge;
    if (open(abs.c_str(), O_RDONLY) >= 0 || open(huge.c_str(), O_RDONLY) >= 0) return 1;
    std::string dots;
    for (int i = 0; i < 2000; ++i) dots += "./";
    dots += "learnee-no-such-file";
    if (open(dots.c_str(), O_RDONLY) >= 0) return 1;
    return 0;
  }
  if (mode == "bad-pointer") {
    // Raw calls: the compiler would refuse a literal NULL to open().
    if (syscall(SYS_openat, AT_FDCWD, 0L, O_RDONLY) >= 0 ||
        syscall(SYS_openat, AT_FDCWD, 1L, O_RDONLY) >= 0)
      return 1;
    long page = sysconf(_SC_PAGESIZE);
    char* two = static_cast<char*>(
        mmap(nullptr, static_cast<size_t>(page) * 2, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (two == MAP_FAILED) return 1;
    munmap(two + page, static_cast<size_t>(page));
    memset(two, 'x', static_cast<size_t>(page));  // no NUL before the hole
    two[0] = '/';
    if (open(two, O_RDONLY) >= 0) return 1;
    return 0;
  }
  if (mode == "thread-exit") {
    for (int i = 0; i < 8; ++i) {
      pthread_t t;
      pthread_create(&t, nullptr, block_forever, nullptr);
    }
    timespec ts{0, 50 * 1000 * 1000};
    nanosleep(&ts, nullptr);
    exit(0);  // exit_group while the threads wait in read()
  }
  if (mode == "connect" && arg) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(atoi(arg)));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    return r == 0 ? 0 : 1;
  }
  if (mode == "make" && arg) {
    std::string a = std::string(arg) + "/made", b = std::string(arg) + "/renamed";
    int fd = open(a.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return 1;
    close(fd);
    if (rename(a.c_str(), b.c_str()) != 0 || unlink(b.c_str()) != 0) return 1;
    return 0;
  }
  if (mode == "execveat" && arg) {
    // A descendant execs PATH through its descriptor (AT_EMPTY_PATH);
    // prints the errno (nothing if the exec worked).
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(arg, O_RDONLY | O_CLOEXEC);
      char* const av[] = {const_cast<char*>(arg), nullptr};
      syscall(SYS_execveat, fd, "", av, environ, AT_EMPTY_PATH);
      printf("%d\n", errno);
      fflush(stdout);
      _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return 0;
  }
  if (mode == "clone3") {
    // clone3 with no flags at all; prints its errno (0 if it made a child).
    struct {
      uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    } args = {0, 0, 0, 0, SIGCHLD, 0, 0, 0};
    long r = syscall(SYS_clone3, &args, sizeof args);
    if (r == 0) _exit(0);
    printf("%d\n", r < 0 ? errno : 0);
    if (r > 0) waitpid(static_cast<pid_t>(r), nullptr, 0);
    return 0;
  }
  if (mode == "setns" && arg) {
    int fd = open(arg, O_RDONLY | O_CLOEXEC);
    printf("%d\n", fd < 0 ? -1 : setns(fd, 0) == 0 ? 0 : errno);
    return 0;
  }
  if (mode == "socket" && arg) {
    // socket(FAMILY, SOCK_DGRAM or SOCK_RAW for netlink and packet); errno.
    const int fam = atoi(arg);
    const int type = fam == AF_NETLINK || fam == AF_PACKET ? SOCK_RAW : SOCK_DGRAM;
    int s = socket(fam, type | SOCK_CLOEXEC, 0);
    printf("%d\n", s >= 0 ? 0 : errno);
    return 0;
  }
  if (mode == "wx") {
    // A writable+executable mapping, then a written page made executable.
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int e1 = p == MAP_FAILED ? errno : 0;
    char* q = static_cast<char*>(
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    q[0] = static_cast<char>(0xc3);  // ret
    int e2 = mprotect(q, 4096, PROT_READ | PROT_EXEC) == 0 ? 0 : errno;
    printf("%d %d\n", e1, e2);
    return 0;
  }
  if (mode == "flood" && arg) {
    // N calls of numbers no kernel has, and N of uname: a deny flood.
    const int n = atoi(arg);
    for (int i = 0; i < n; ++i) {
      syscall(2000 + i);
      utsname u;
      uname(&u);
    }
    return 0;
  }
  if (mode == "orphan-uname" && arg) {
    const pid_t supervisor = getppid();
    pid_t pid = fork();
    if (pid == 0) {
      setsid();
      if (fork() != 0) _exit(0);
      // Whoever waits for our caller's output must not wait for us.
      close(0);
      close(1);
      close(2);
      // The grandchild: wait for the supervisor to go (at most 20 s).
      // (A Landlock signal scope answers EPERM while it is there.)
      for (int i = 0; i < 2000 && (kill(supervisor, 0) == 0 || errno == EPERM); ++i) {
        timespec ts{0, 10 * 1000 * 1000};
        nanosleep(&ts, nullptr);
      }
      utsname u;
      int e = uname(&u) == 0 ? 0 : errno;
      FILE* f = fopen(arg, "w");
      if (f) {
        fprintf(f, "%d\n", e);
        fclose(f);
      }
      _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return 0;
  }
  return usage();
}
