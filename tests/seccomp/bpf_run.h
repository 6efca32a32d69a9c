/* Runs a classic-BPF seccomp program on one call, as the kernel would: for
 * the unit tests (what an exported filter answers) and bench/argfilter (how
 * many instructions a call runs). C, so that both can include it.
 * Returns 0 and sets *ret and *steps; -1 on an instruction it does not
 * simulate (*steps is then its index) or a program that falls off its end. */
#ifndef BOXJAIL_BPF_RUN_H
#define BOXJAIL_BPF_RUN_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int bpf_run(const struct sock_filter* prog, size_t n, const struct seccomp_data* d,
                          uint32_t* ret, int* steps) {
  const unsigned char* bytes = (const unsigned char*)d;
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
  *steps = 0;
  for (size_t pc = 0; pc < n; ++pc) {
    const struct sock_filter f = prog[pc];
    ++*steps;
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS: memcpy(&a, bytes + f.k, 4); break;
      case BPF_LD | BPF_IMM: a = f.k; break;
      case BPF_LDX | BPF_IMM: x = f.k; break;
      case BPF_LD | BPF_MEM: a = mem[f.k]; break;
      case BPF_LDX | BPF_MEM: x = mem[f.k]; break;
      case BPF_ST: mem[f.k] = a; break;
      case BPF_STX: mem[f.k] = x; break;
      case BPF_ALU | BPF_AND | BPF_K: a &= f.k; break;
      case BPF_ALU | BPF_OR | BPF_K: a |= f.k; break;
      case BPF_MISC | BPF_TAX: x = a; break;
      case BPF_MISC | BPF_TXA: a = x; break;
      case BPF_JMP | BPF_JA: pc += f.k; break;
      case BPF_JMP | BPF_JEQ | BPF_K: pc += a == f.k ? f.jt : f.jf; break;
      case BPF_JMP | BPF_JGT | BPF_K: pc += a > f.k ? f.jt : f.jf; break;
      case BPF_JMP | BPF_JGE | BPF_K: pc += a >= f.k ? f.jt : f.jf; break;
      case BPF_JMP | BPF_JSET | BPF_K: pc += (a & f.k) ? f.jt : f.jf; break;
      case BPF_RET | BPF_K: *ret = f.k; return 0;
      case BPF_RET | BPF_A: *ret = a; return 0;
      default: *steps = (int)pc; return -1;
    }
  }
  return -1;
}

#endif
