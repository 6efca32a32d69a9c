#!/bin/busybox sh
# The guest's cases: boxjail on another kernel (Debian 12's 6.1: Landlock
# ABI 2, no PR_SET_MDWE, no legacy_tiocsti sysctl) and on pure cgroup v2
# with every controller. Run by the guest's /init (tests/guest_run.cpp
# builds the initramfs and reads the console). Each case prints one line
#   BJ-CASE NAME pass|fail|skip DETAIL
# and a failing case its output as BJ-OUT lines; BJ-DONE ends the run.
# With bj_selftest=1 on the kernel's command line one case asserts
# something false: the harness must report it as failed.
export PATH=/bin
B=/bin/boxjail
A=/bin/attack
cg=/sys/fs/cgroup

pass() { echo "BJ-CASE $1 pass $2"; }
skip() { echo "BJ-CASE $1 skip $2"; }
# fail NAME DETAIL OUTPUT
fail() {
  echo "BJ-CASE $1 fail $2"
  printf '%s\n' "$3" | while IFS= read -r l; do echo "BJ-OUT $1 $l"; done
}
# expect NAME DETAIL OUTPUT COND...: pass if COND (a command) succeeds.
expect() {
  n=$1 d=$2 o=$3
  shift 3
  if "$@"; then pass "$n" "$d"; else fail "$n" "$d" "$o"; fi
}
has() { case $1 in *"$2"*) return 0 ;; esac; return 1; }

if grep -q bj_selftest=1 /proc/cmdline; then
  expect harness-selftest "asserts that 1 = 2" "this output must be shown" [ 1 = 2 ]
  echo BJ-DONE
  exit 0
fi

# ---- the kernel ------------------------------------------------------------
out=$($B --features 2>&1)
abi=$(printf '%s\n' "$out" | sed -n 's/^landlock  *ABI \([0-9]*\).*/\1/p')
expect features-landlock-abi "--features says ABI $abi ($(uname -r))" "$out" [ -n "$abi" ]
expect features-pure-v2 "--features: the cgroup layout" "$out" has "$out" "cgroup layout      v2"

# ---- Landlock on this ABI ----------------------------------------------------
if [ "${abi:-0}" -lt 4 ]; then
  out=$($B --user nobody --landlock require --net-bind 80 -- true 2>&1); rc=$?
  expect landlock-require-refuses-net "exit $rc" "$out" \
    eval '[ $rc = 125 ] && has "$out" "--net-bind" && has "$out" "ABI $abi"'
  out=$($B --user nobody --landlock best-effort --net-bind 80 -- true 2>&1); rc=$?
  expect landlock-best-effort-drops-net "exit $rc" "$out" \
    eval '[ $rc = 0 ] && has "$out" "--net-bind"'
else
  skip landlock-require-refuses-net "ABI $abi has network rules"
fi
if [ "${abi:-0}" -lt 6 ]; then
  out=$($B --user nobody --landlock require --scope signal -- true 2>&1); rc=$?
  expect landlock-require-refuses-scope "exit $rc" "$out" \
    eval '[ $rc = 125 ] && has "$out" "--scope" && has "$out" "ABI $abi"'
fi
mkdir -p /tmp/in /tmp/out && echo secret > /tmp/out/f && echo open > /tmp/in/f
out=$($B --user nobody --fs-exec-deps --fs-ro /tmp/in -- $A read /tmp/in/f 2>&1); rc=$?
expect landlock-fs-read-allowed "exit $rc" "$out" [ $rc = 0 ]
out=$($B --user nobody --fs-exec-deps --fs-ro /tmp/in -- $A read /tmp/out/f 2>&1); rc=$?
expect landlock-fs-read-denied "exit $rc" "$out" has "$out" '"errno":13'
chmod 777 /tmp/in /tmp/out
if [ "${abi:-0}" -lt 3 ]; then
  # --fs-rw includes truncate (ABI 3) and ioctl_dev (ABI 5).
  out=$($B --user nobody --fs-exec-deps --fs-rw /tmp/in -- true 2>&1); rc=$?
  expect landlock-require-refuses-truncate "exit $rc" "$out" \
    eval '[ $rc = 125 ] && has "$out" "--fs-rw /tmp/in: truncate" && has "$out" "ABI $abi"'
fi
rw="--landlock best-effort --fs-exec-deps --fs-rw /tmp/in"
out=$($B --user nobody $rw -- $A rename /tmp/in/f /tmp/in/g 2>&1); rc=$?
expect landlock-best-effort-warns "exit $rc" "$out" \
  eval '[ $rc = 0 ] && { [ "${abi:-0}" -ge 5 ] || has "$out" "ABI $abi; dropped truncate,ioctl_dev"; }'
expect landlock-refer-within "rename inside the rule, exit $rc" "$out" [ -e /tmp/in/g ]
out=$($B --user nobody $rw -- $A rename /tmp/in/g /tmp/out/g 2>&1); rc=$?
expect landlock-refer-out "rename out of the rule, exit $rc" "$out" \
  eval '[ $rc = 1 ] && [ -e /tmp/in/g ] && { has "$out" "\"errno\":13," || has "$out" "\"errno\":18,"; }'

# One box cannot ptrace another (each has a Landlock domain of its own).
$B --user nobody -- $A sleep 60 > /tmp/sleeper &
sleep 1
victim=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' /tmp/sleeper)
out=$($A ptrace "$victim" 2>&1)
ctl=$?
out2=$($B --user nobody -- $A ptrace "$victim" 2>&1); rc=$?
expect landlock-ptrace-between-boxes "control (root, no box) exit $ctl; box exit $rc" "$out
$out2" eval '[ $ctl = 0 ] && [ $rc = 1 ]'
kill "$victim" 2>/dev/null

# ---- the jail filter where the kernel has no other defence ------------------
if [ -e /proc/sys/dev/tty/legacy_tiocsti ]; then
  skip tiocsti-filter "this kernel has dev.tty.legacy_tiocsti"
else
  out=$($A tiocsti 0 " " 2>&1); ctl=$?
  out2=$($B --user root --cap-keep sys_admin --cap-keep-root-equivalent -- $A tiocsti 0 " " 2>&1); rc=$?
  expect tiocsti-filter "control exit $ctl (TIOCSTI works on $(uname -r)); boxed exit $rc" "$out
$out2" eval '[ $ctl = 0 ] && [ $rc = 1 ] && has "$out2" "\"errno\":1,"'
fi
out=$($A wx 2>&1); ctl=$?
out2=$($B --user nobody --memory-deny-write-execute -- $A wx 2>&1); rc=$?
dry=$($B --user nobody --memory-deny-write-execute --dry-run -- $A wx 2>&1)
expect mdwe-seccomp-fallback "control exit $ctl; boxed exit $rc" "$out
$out2
$dry" eval '[ $ctl = 0 ] && [ $rc = 1 ] && has "$dry" "seccomp"'

# ---- cgroup v2 with controllers ---------------------------------------------
out=$($A alloc 64 2>&1); ctl=$?
out2=$($B -v --cgroup $cg/bj/oom --cgroup-set memory.max=32M -- $A alloc 64 2>&1); rc=$?
# The death is explained: the limit from memory.events' oom_kill, and the
# peak from memory.peak.
expect cgroup-memory-max-oom "control exit $ctl; boxed exit $rc" "$out
$out2" eval '[ $ctl = 0 ] && [ $rc = 137 ] && [ ! -e $cg/bj/oom ] &&
  has "$out2" "out of memory at the cgroup'"'"'s limit (--cgroup-set memory.max=32M); the OOM killer ended 1 process" &&
  has "$out2" "peak memory 32 MiB"'

# Descriptors: close_range closes what the caller left open.
out=$(sh -c "exec 7</dev/null 9</dev/null; $B -- /bin/ls /proc/self/fd" 2>&1); rc=$?
expect close-range-inherited-fds "exit $rc: $(echo $out)" "$out" eval '[ $rc = 0 ] && [ "$(echo $out)" = "0 1 2 3" ]'


out=$($B --cgroup $cg/bj/pids --cgroup-set pids.max=5 -- $A forks 10 2>&1); rc=$?
expect cgroup-pids-max "exit $rc" "$out" eval '[ $rc = 1 ] && has "$out" "\"errno\":11,"'

out=$($B --cgroup $cg/bj/cpu --cgroup-set "cpu.max=50000 100000" --cgroup-set cpu.weight=50 \
  -- /bin/sh -c 'c=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); cat $c/cpu.max $c/cpu.weight' 2>&1)
rc=$?
expect cgroup-cpu-read-back "exit $rc" "$out" eval '[ $rc = 0 ] && [ "$out" = "50000 100000
50" ]'

out=$($B --cgroup $cg/bj/a/b --cgroup-set pids.max=9 -- /bin/sh -c \
  'cat /sys/fs/cgroup/bj/cgroup.subtree_control /sys/fs/cgroup/bj/a/cgroup.subtree_control' 2>&1)
rc=$?
expect cgroup-only-needed-controllers "exit $rc" "$out" eval '[ $rc = 0 ] && [ "$out" = "pids
pids" ]'

# What PROGRAM leaves in its cgroup (a process that ignores TERM) is killed
# and the group removed.
out=$($B --cgroup $cg/bj/kill -- /bin/sh -c 'trap "" TERM; (trap "" TERM; exec sleep 600) & echo $!' 2>&1)
rc=$?
left=$(echo "$out" | tail -1)
alive=no
kill -0 "$left" 2>/dev/null && alive=yes
expect cgroup-kill-populated "exit $rc, pid $left alive: $alive" "$out" \
  eval '[ $rc = 0 ] && [ $alive = no ] && [ ! -e $cg/bj/kill ]'

# How the child got into its cgroup: from a group with pids.max=1, where
# boxjail is the one process, only a child that clone3 puts straight into
# its own cgroup can be made.
mkdir -p $cg/bjt/tight && echo +pids > $cg/bjt/cgroup.subtree_control && echo 1 > $cg/bjt/tight/pids.max
out=$(sh -c "echo \$\$ > $cg/bjt/tight/cgroup.procs; exec $A fork" 2>&1); ctl=$?
out2=$(sh -c "echo \$\$ > $cg/bjt/tight/cgroup.procs; exec $B --cgroup $cg/bj/c3 -- cat /proc/self/cgroup" 2>&1); rc=$?
expect cgroup-clone3-into-cgroup "control: a fork there exits $ctl; boxjail exits $rc" "$out
$out2" eval '[ $ctl = 1 ] && has "$out" "\"errno\":11," && [ $rc = 0 ] && [ "$out2" = "0::/bj/c3" ]'
# Under --restrict-namespaces clone3 fails with ENOSYS: the fallback.
outer="$B --user root --cap-keep dac_override,sys_admin --cap-keep-root-equivalent --restrict-namespaces --"
out=$($outer $B --log-level debug --cgroup $cg/bj/c3 -- cat /proc/self/cgroup 2>&1); rc=$?
expect cgroup-procs-fallback "exit $rc" "$out" \
  eval '[ $rc = 0 ] && has "$out" "0::/bj/c3" && has "$out" "the child joins through cgroup.procs"'
# The shape of contrib/systemd/boxjail-cgroup@.service (Delegate=yes,
# MemoryMax=4G) without systemd: boxjail is the only process of the unit's
# cgroup, which has the controllers but enables none for its children.
u=$cg/bjunit.service
mkdir -p $u && echo 4294967296 > $u/memory.max
inner='c=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); echo $c; cat $c/pids.max $c/memory.max'
out=$(sh -c "echo \$\$ > $u/cgroup.procs; exec $B --cgroup $u/box --cgroup-set pids.max=512 --cgroup-set memory.max=64M -- /bin/sh -c '$inner'" 2>&1)
rc=$?
# Afterwards the unit's cgroup is as it was: no controller enabled, no
# leaf, no box.
left=$(cat $u/cgroup.subtree_control; ls $u | grep -v '\.' )
expect delegate-unit-shape "exit $rc; left: '$left'" "$out" eval '[ $rc = 0 ] && [ "$out" = "$u/box
512
67108864" ] && [ ! -e $u/box ] && [ -z "$left" ] && ! ls -d $u/boxjail-supervisor.* 2>/dev/null'
# Another process in the unit's cgroup: refused, and nothing changed.
u=$cg/bjunit2.service
mkdir -p $u
sleep 600 & other=$!
echo $other > $u/cgroup.procs
before=$(cat $u/cgroup.subtree_control)
out=$(sh -c "echo \$\$ > $u/cgroup.procs; exec $B --cgroup $u/box2 --cgroup-set pids.max=512 -- true" 2>&1)
rc=$?
after=$(cat $u/cgroup.subtree_control)
expect delegate-unit-shared-refused "exit $rc; subtree_control '$before' -> '$after'" "$out" \
  eval '[ $rc = 125 ] && [ "$before" = "$after" ] && [ ! -e $u/box2 ] && has "$out" "has processes in it besides boxjail ($other)"'
kill $other
echo BJ-DONE
