#!/usr/bin/env bash
# valgrind memcheck over boxjail's own (parent) path in each mode, with every
# feature that allocates switched on: no errors, no definite leaks.
set -uo pipefail
valgrind=$1 boxjail=$2 probe=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0 runs=0
check() {  # label, boxjail args...
  local label=$1; shift
  "$valgrind" -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
      --show-leak-kinds=definite --trace-children=no --log-file="$dir/vg.log" \
      "$boxjail" "$@" 3>/dev/null >"$dir/out" 2>"$dir/err"
  local rc=$?
  runs=$((runs + 1))
  if [ "$rc" -ne "${expect:-0}" ] || [ -s "$dir/vg.log" ]; then
    echo "FAIL $label: exit $rc"; cat "$dir/vg.log" "$dir/err"; fail=1
  else
    echo "ok   $label"
  fi
  rm -f "$dir"/*.pid
}
# (nofile is left out: valgrind keeps descriptors of its own above the limit
# and refuses to lower it.)
# valgrind 3.19 knows neither the Landlock nor the seccomp system call, and
# every confining flag (capabilities included) now brings both, the jail's
# filter and a Landlock domain: those flags run in the sanitized suite
# instead, libelf's parsing in unit_tests.
common=(--rlimit core=0 --rlimit cpu=1h --fd 4=1 --status-fd 3 -v)
check "default" "${common[@]}" --pidfile "$dir/a.pid" --die-with-parent "$probe"
check "detach" --detach "${common[@]}" --pidfile "$dir/b.pid" "$probe"
check "no-fork" --no-fork "${common[@]}" --pidfile "$dir/c.pid" "$probe"
check "dry-run" --dry-run "${common[@]}" "$probe"
expect=125 check "usage error" --rlimit nofile=9:1 "$probe"
expect=127 check "exec failure" /nonexistent/shim
expect=1 check "check-pidfile" --check-pidfile "$dir/none.pid"
check "help" --help
echo "$runs runs, $((fail == 0 ? runs : 0)) clean"
exit $fail
