// boxjail-wait's process start, without a C library: the entry point, a
// thread control block for the stack protector's canary, and the few
// functions the compiler may call on its own.
//
// Nothing here may need a relocation (the program is a static PIE that
// never relocates itself): no pointers in static data.
#include "wait.h"
#include "sys.h"

namespace {

// x86_64 reads the stack protector's canary from %fs:0x28, and the ABI has
// the word at %fs:0 point to the block itself. Set at run time, never by
// an initializer, which would need a relocation.
struct alignas(64) Tcb {
  void* self;
  uint64_t pad[4];
  uint64_t canary;  // offset 0x28
};
static_assert(__builtin_offsetof(Tcb, canary) == 0x28);
Tcb tcb;

}  // namespace

// Called from _start with the initial stack pointer: argc, argv, NULL,
// envp, NULL, auxv. It sets up %fs and the canary before anything
// protected runs, so it must not be protected itself (and never returns).
extern "C" [[noreturn]] __attribute__((no_stack_protector, used)) void bj_wait_start(long* sp) {
  int argc = static_cast<int>(sp[0]);
  char** argv = reinterpret_cast<char**>(sp + 1);
  char** envp = argv + argc + 1;
  char** e = envp;
  while (*e) ++e;
  auto* auxv = reinterpret_cast<unsigned long*>(e + 1);
  uint64_t canary = 0;
  for (; auxv[0] != bjwait::kAtNull; auxv += 2) {
    if (auxv[0] != bjwait::kAtRandom) continue;
    __builtin_memcpy(&canary, reinterpret_cast<const void*>(auxv[1]), sizeof canary);
  }
  canary &= ~uint64_t{0xff};  // a zero byte first, as glibc does: string copies stop there
  tcb.self = &tcb;
  tcb.canary = canary;
  if (bjwait::sys_arch_prctl(bjwait::kArchSetFs, &tcb) < 0) bjwait::sys_exit(125);
  bjwait::sys_exit(bjwait::wait_main(argc, argv, envp));
}

asm(R"(
  .text
  .globl _start
  .type _start, @function
_start:
  endbr64
  xor %ebp, %ebp
  mov %rsp, %rdi
  and $-16, %rsp
  call bj_wait_start
  hlt
  .size _start, .-_start
)");

// What the compiler may emit calls to. rep movsb/stosb, so that the
// compiler cannot turn the loop back into a call to itself.
extern "C" {
__attribute__((used)) void* memcpy(void* dst, const void* src, unsigned long n) {
  void* d = dst;
  asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
  return dst;
}
__attribute__((used)) void* memmove(void* dst, const void* src, unsigned long n) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  if (d <= s || d >= s + n) return memcpy(dst, src, n);
  while (n--) {
    d[n] = s[n];
    asm volatile("" ::: "memory");
  }
  return dst;
}
__attribute__((used)) void* memset(void* dst, int c, unsigned long n) {
  void* d = dst;
  asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
  return dst;
}
// A smashed stack: die at once, by a fault the kernel delivers even with
// every signal blocked.
[[noreturn]] __attribute__((used)) void __stack_chk_fail() { __builtin_trap(); }
}
