# An allowlist for tests/probe (--seccomp-profile): the system calls it
# makes to start and to report on Debian 12 (strace -f), with a margin for
# the dynamic loader and libc. uname is left out on purpose: the probe's
# --uname makes it, and the filter must then act.
allow execve, brk, arch_prctl, set_tid_address, set_robust_list, rseq
allow mmap, mprotect, munmap, madvise, access, openat, open, close, read, pread64
allow write, writev, lseek, fstat, newfstatat, statx, readlink, readlinkat
allow getdents64, fcntl, ioctl, prlimit64, getrlimit, getrandom, prctl
allow getpid, getppid, getpgrp, getsid, gettid, getuid, geteuid, getgid, getegid
allow rt_sigaction, rt_sigprocmask, rt_sigreturn, sigaltstack, futex
allow clock_gettime, getcwd, sched_getaffinity, getpriority, exit, exit_group
default kill-process   # the default for an allowlist, written out
