# Shared by the guest's case scripts (cases.sh as root, rootless.sh as the
# test user): one result line per case,
#   BJ-CASE NAME pass|fail|skip DETAIL
# and a failing case's output as BJ-OUT lines.
export PATH=/bin
B=/bin/boxjail
A=/bin/attack
cg=/sys/fs/cgroup

pass() { echo "BJ-CASE $1 pass $2"; }
skip() { echo "BJ-CASE $1 skip $2"; }
# fail NAME DETAIL OUTPUT
fail() {
  echo "BJ-CASE $1 fail $2"
  out "$1" "$3"
}
# out NAME OUTPUT: OUTPUT as BJ-OUT lines.
out() { printf '%s\n' "$2" | while IFS= read -r l; do echo "BJ-OUT $1 $l"; done; }
# With bj_verbose=1 on the kernel's command line (guest-run --console),
# passing cases show their output too.
verbose=no
grep -q bj_verbose=1 /proc/cmdline && verbose=yes
# expect NAME DETAIL OUTPUT COND...: pass if COND (a command) succeeds.
expect() {
  _n=$1 _d=$2 _o=$3
  shift 3
  if "$@"; then
    pass "$_n" "$_d"
    [ $verbose = yes ] && out "$_n" "$_o"
  else
    fail "$_n" "$_d" "$_o"
  fi
}
has() { case $1 in *"$2"*) return 0 ;; esac; return 1; }
