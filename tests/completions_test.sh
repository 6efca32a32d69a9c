#!/usr/bin/env bash
# The generated completions, driven the way each shell drives them:
#   bash: bash-completion's own loader and _init_completion, with COMP_WORDS
#         split as readline splits them;
#   zsh:  an interactive zsh on a pseudo-terminal (zpty) with compinit, TAB
#         pressed, and compadd recording what is offered;
#   fish: complete -C.
# Each shell must offer every flag --help lists, the value words of each kind
# of flag, commands after "--" and PROGRAM's own completions after PROGRAM;
# every value word offered must be accepted by boxjail itself.
#
#   completions_test.sh SHELL COMPLETIONS_DIR BOXJAIL
# SHELL is bash, zsh or fish. Exits 77 (skipped), naming the package, when
# that shell (or bash-completion) is not installed.
set -uo pipefail
shell=$1
dir=$2
boxjail=$3
here=$(cd "$(dirname "$0")" && pwd)
fails=0
checks=0
missing=()

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect NAME "ACTUAL-LINES" WORD...: each WORD is among the lines.
expect() {
  local name=$1 actual=$2
  shift 2
  for w in "$@"; do
    checks=$((checks + 1))
    grep -qxF -- "$w" <<<"$actual" || fail "$name: '$w' not offered; got: $(tr '\n' ' ' <<<"$actual" | cut -c1-300)"
  done
}
# expect_only NAME "ACTUAL-LINES" WORD...: exactly these words.
expect_only() {
  local name=$1 actual=$2
  shift 2
  checks=$((checks + 1))
  local want
  want=$(printf '%s\n' "$@" | sort -u)
  [ "$(sort -u <<<"$actual")" = "$want" ] ||
    fail "$name: expected exactly [$(tr '\n' ' ' <<<"$want")], got [$(tr '\n' ' ' <<<"$actual")]"
}
expect_none() {
  local name=$1 actual=$2 w=$3
  checks=$((checks + 1))
  if grep -qxF -- "$w" <<<"$actual"; then fail "$name: '$w' offered"; fi
}

# Every flag --help lists: "-p, --pidfile PATH", "--die-with-parent[=SIGNAL]".
help_flags=$("$boxjail" --help | grep -oE '^  (-[a-zA-Z],)?--[a-z0-9-]+' | tr ',' '\n' | tr -d ' ')
[ "$(wc -l <<<"$help_flags")" -gt 40 ] || { echo "FAIL: could not read the flags from --help"; exit 1; }

# Every value word offered must be accepted: each kind is given to
# boxjail --dry-run (with what it needs beside it).
accepts() {
  local flag=$1 word=$2
  case $flag in
    --seccomp-default) set -- --seccomp-allow execve,exit_group --seccomp-default "$word" ;;
    --die-with-parent) set -- "--die-with-parent=$word" ;;
    --restrict-namespaces) set -- "--restrict-namespaces=$word" ;;
    --features) "$boxjail" "--features=$word" >/dev/null 2>&1; return ;;
    --list-syscall-groups) "$boxjail" "--list-syscall-groups=$word" >/dev/null 2>&1; return ;;
    --cap-drop | --cap-keep) set -- --cap-drop "$word" ;;
    # A call alone may be refused as one member of a family (the group
    # words, @open, deny it whole); an allowlist takes every call.
    --seccomp-deny) case $word in
                      @*) set -- --seccomp-deny "$word" ;;
                      *) set -- --seccomp-allow "execve,exit_group,$word" ;;
                    esac ;;
    --rlimit) set -- --rlimit "${word}$(ulimit -H -n)" ;;
    *) set -- "$flag" "$word" ;;
  esac
  # As root, confining flags need uid 0 said out loud.
  local root=()
  [ "$(id -u)" -eq 0 ] && root=(--user root)
  "$boxjail" "${root[@]}" "$@" --dry-run -- true >/dev/null 2>&1
}
check_accepted() {
  local flag=$1 words=$2 w bad=()
  for w in $words; do
    checks=$((checks + 1))
    [ "$flag" = --rlimit ] && [ "$w" != nofile= ] && continue  # one limit is enough
    accepts "$flag" "$w" || bad+=("$w")
  done
  [ ${#bad[@]} -eq 0 ] || fail "$flag: boxjail refuses offered values: ${bad[*]}"
}

# ---- bash ------------------------------------------------------------------
bash_complete() {
  # The words as readline splits them (COMP_WORDBREAKS has "=" and ":").
  bash --norc --noprofile -c '
    source /usr/share/bash-completion/bash_completion
    source "$1"; shift
    compopt() { [ "$*" = "-o nospace" ] && echo "<nospace>" >&2; return 0; }
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    read -ra COMP_WORDS <<<"$(sed -E "s/=/ = /g" <<<"$*")"
    [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _boxjail boxjail "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' bash "$dir/boxjail" "$@"
}
if [ "$shell" != bash ]; then
  :
elif [ -r /usr/share/bash-completion/bash_completion ]; then
  expect_only "bash: boxjail --rl" "$(bash_complete boxjail --rl 2>/dev/null)" --rlimit
  out=$(bash_complete boxjail --rlimit no 2>&1)
  expect_only "bash: boxjail --rlimit no" "$(grep -v '<nospace>' <<<"$out")" nofile=
  expect "bash: no space after nofile=" "$out" "<nospace>"
  expect_only "bash: boxjail --rlimit=no" "$(bash_complete boxjail --rlimit=no 2>/dev/null)" nofile=
  all=$(bash_complete boxjail - 2>/dev/null)
  # shellcheck disable=SC2086
  expect "bash: every --help flag" "$all" $help_flags
  expect "bash: --cap-drop list" "$(bash_complete boxjail --cap-drop net_admin,sys_ad 2>/dev/null)" \
    net_admin,sys_admin
  expect_only "bash: --die-with-parent=" "$(bash_complete boxjail --die-with-parent=TE 2>/dev/null)" TERM
  expect_only "bash: --landlock" "$(bash_complete boxjail --landlock '' 2>/dev/null)" require best-effort
  expect_only "bash: --scope" "$(bash_complete boxjail --scope '' 2>/dev/null)" unix signal none
  expect "bash: --seccomp-default" "$(bash_complete boxjail --seccomp-default '' 2>/dev/null)" \
    kill-process trap log errno:EPERM
  expect "bash: --seccomp-deny" "$(bash_complete boxjail --seccomp-deny ptra 2>/dev/null)" ptrace
  expect "bash: --log-level" "$(bash_complete boxjail --log-level '' 2>/dev/null)" trace off
  expect "bash: --user" "$(bash_complete boxjail --user ro 2>/dev/null)" root
  expect "bash: --pidfile is a path" "$(bash_complete boxjail --pidfile "$here/completions_te" 2>/dev/null)" \
    "$here/completions_test.sh"
  expect "bash: a command after --" "$(bash_complete boxjail --rlimit nofile=9 -- bas 2>/dev/null)" bash
  expect "bash: PROGRAM first" "$(bash_complete boxjail --keep-fds bas 2>/dev/null)" bash
  # After PROGRAM, its own completion (here bash's --rcfile), never boxjail's.
  after=$(bash_complete boxjail --nice 5 bash --rcf 2>/dev/null)
  expect "bash: PROGRAM's own options" "$after" --rcfile
  expect_none "bash: no boxjail flag after PROGRAM" "$(bash_complete boxjail true --rl 2>/dev/null)" --rlimit
  value_flags=(--landlock --scope --log-level --seccomp-default --features --list-syscall-groups
               --die-with-parent --rlimit --restrict-namespaces --restrict-address-families)
  # The securebits need CAP_SETPCAP, which boxjail refuses to go without.
  "$boxjail" --user root --securebits noroot --dry-run -- true >/dev/null 2>&1 && value_flags+=(--securebits)
  for f in "${value_flags[@]}"; do
    if [ "$f" = --die-with-parent ] || [ "$f" = --features ] || [ "$f" = --list-syscall-groups ] ||
       [ "$f" = --restrict-namespaces ]; then
      words=$(bash_complete boxjail "$f=" 2>/dev/null)
    else
      words=$(bash_complete boxjail "$f" '' 2>/dev/null)
    fi
    [ -n "$words" ] || fail "bash: $f offers nothing"
    check_accepted "$f" "$words"
  done
  check_accepted --cap-drop "$(bash_complete boxjail --cap-drop '' 2>/dev/null)"
  # execve cannot be denied, nor a group that holds it (@exec, @default, ...).
  holds_execve=$(for g in $("$boxjail" --list-syscall-groups | cut -d: -f1); do
    "$boxjail" "--list-syscall-groups=$g" | grep -qx execve && echo "$g"
  done)
  [ -n "$holds_execve" ] || fail "no group holds execve (--list-syscall-groups)"
  check_accepted --seccomp-deny "$(bash_complete boxjail --seccomp-deny '' 2>/dev/null |
    grep -vxE 'execve|execveat' | grep -vxF -- "$holds_execve")"
  expect "bash: --seccomp-allow groups" "$(bash_complete boxjail --seccomp-allow read,@sys 2>/dev/null)" \
    read,@system-service
  expect_only "bash: --list-syscall-groups=" "$(bash_complete boxjail --list-syscall-groups=@file 2>/dev/null)" \
    @file-system
else
  missing+=("bash-completion (/usr/share/bash-completion/bash_completion)")
fi

# ---- zsh -------------------------------------------------------------------
zsh_complete() { timeout 30 zsh -f "$here/zsh_capture.zsh" "$dir" "$*"; }
if [ "$shell" != zsh ]; then
  :
elif command -v zsh >/dev/null; then
  expect_only "zsh: boxjail --rl" "$(zsh_complete boxjail --rl)" --rlimit
  expect_only "zsh: boxjail --rlimit no" "$(zsh_complete boxjail --rlimit no)" nofile=
  # shellcheck disable=SC2086
  expect "zsh: every --help flag" "$(zsh_complete boxjail -)" $help_flags
  expect "zsh: --cap-drop list" "$(zsh_complete boxjail --cap-drop net_admin,sys_ad)" sys_admin
  expect_only "zsh: --die-with-parent=" "$(zsh_complete boxjail --die-with-parent=TE)" TERM
  expect_only "zsh: --landlock" "$(zsh_complete boxjail --landlock '')" require best-effort
  expect "zsh: a command after --" "$(zsh_complete boxjail --rlimit nofile=9 -- ech)" echo
  expect_none "zsh: no boxjail flag after PROGRAM" "$(zsh_complete boxjail true --rl)" --rlimit
else
  missing+=(zsh)
fi

# ---- fish ------------------------------------------------------------------
fish_complete() {
  HOME=${TMPDIR:-/tmp} fish -N -c "complete -c fakeprog -l frobnicate; source '$dir/boxjail.fish'; complete -C \$argv[1]" "$*" |
    cut -f1
}
if [ "$shell" != fish ]; then
  :
elif command -v fish >/dev/null; then
  expect_only "fish: boxjail --rl" "$(fish_complete boxjail --rl)" --rlimit
  expect_only "fish: boxjail --rlimit no" "$(fish_complete boxjail --rlimit no)" nofile=
  # shellcheck disable=SC2086
  expect "fish: every --help flag" "$(fish_complete boxjail -)$(printf '\n')$(fish_complete boxjail --)" $help_flags
  expect "fish: --cap-drop list" "$(fish_complete boxjail --cap-drop net_admin,sys_ad)" net_admin,sys_admin
  expect_only "fish: --landlock" "$(fish_complete 'boxjail --landlock ')" require best-effort
  expect "fish: a command after --" "$(fish_complete boxjail --rlimit nofile=9 -- ech)" echo
  expect_only "fish: PROGRAM's own options" "$(fish_complete boxjail --nice 5 fakeprog --fro)" --frobnicate
else
  missing+=(fish)
fi

# The shells' own start-up must not have touched the system (compinit -d
# /dev/null once replaced /dev/null with its dump file).
checks=$((checks + 1))
[ -c /dev/null ] || fail "/dev/null is no longer a character device"
if [ ${#missing[@]} -gt 0 ]; then
  echo "SKIP: ${missing[*]} is not installed (scripts/deps installs it)"
  exit 77
fi
echo "$shell: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
