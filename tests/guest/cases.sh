#!/bin/busybox sh
# The guest's cases: boxjail on other kernels (Debian 12's 6.1: Landlock
# ABI 2, no PR_SET_MDWE, no legacy_tiocsti sysctl; bookworm-backports'
# 6.12: ABI 6) and on pure cgroup v2 with every controller; the
# expectations follow the ABI --features reports. The rootless cases are
# in rootless.sh, run from here as uid 1000. Run by the guest's /init (tests/guest_run.cpp
# builds the initramfs and reads the console). Each case prints one line
#   BJ-CASE NAME pass|fail|skip DETAIL
# and a failing case its output as BJ-OUT lines; BJ-DONE ends the run.
# With bj_selftest=1 on the kernel's command line one case asserts
# something false: the harness must report it as failed.
. /guest/lib.sh

if grep -q bj_selftest=1 /proc/cmdline; then
  expect harness-selftest "asserts that 1 = 2" "this output must be shown" [ 1 = 2 ]
  echo BJ-DONE
  exit 0
fi

# ---- the kernel ------------------------------------------------------------
out=$($B --features 2>&1)
abi=$(printf '%s\n' "$out" | sed -n 's/^landlock  *ABI \([0-9]*\).*/\1/p')
# The ABI this kernel must report (guest-run --landlock-abi, by kernel).
want=$(sed -n 's/.*bj_abi=\([0-9]*\).*/\1/p' /proc/cmdline)
expect features-landlock-abi "--features says ABI $abi ($(uname -r)), expected ${want:-any}" "$out" \
  eval '[ -n "$abi" ] && { [ -z "$want" ] || [ "$abi" = "$want" ]; }'

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
  # Nothing listens on 81: the stack refuses (111) what Landlock lets
  # through, and Landlock (13) what no rule allows.
  out=$($A tcp 81 2>&1); ctl=$?
  out2=$($B --user nobody --net-connect 81 -- $A tcp 81 2>&1); ok=$?
  out3=$($B --user nobody --net-connect 80 -- $A tcp 81 2>&1); rc=$?
  expect landlock-net-connect "control exit $ctl; port allowed exit $ok; other port exit $rc" "$out
$out2
$out3" eval 'has "$out" "\"errno\":111," && has "$out2" "\"errno\":111," && [ $rc = 1 ] && has "$out3" "\"errno\":13,"'
fi
if [ "${abi:-0}" -lt 6 ]; then
  out=$($B --user nobody --landlock require --scope signal -- true 2>&1); rc=$?
  expect landlock-require-refuses-scope "exit $rc" "$out" \
    eval '[ $rc = 125 ] && has "$out" "--scope" && has "$out" "ABI $abi"'
else
  skip landlock-require-refuses-scope "ABI $abi has scopes"
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
# Signals between boxes: each box's own domain scopes them from ABI 6;
# before, nothing but the uids stops them (both boxes run as nobody).
out=$($A kill "$victim" 0 2>&1); ctl=$?
out2=$($B --user nobody -- $A kill "$victim" 0 2>&1); rc=$?
if [ "${abi:-0}" -ge 6 ]; then
  expect landlock-signal-scope "control exit $ctl; box exit $rc (scoped on ABI $abi)" "$out
$out2" eval '[ $ctl = 0 ] && [ $rc = 1 ] && has "$out2" "\"errno\":1,"'
else
  expect landlock-signal-scope "control exit $ctl; box exit $rc (no signal scope on ABI $abi)" "$out
$out2" eval '[ $ctl = 0 ] && [ $rc = 0 ]'
fi
kill "$victim" 2>/dev/null

# ---- the jail filter where the kernel has no other defence ------------------
# With the sysctl (6.2+) at 0 TIOCSTI fails for anyone without
# CAP_SYS_ADMIN; at 1, or without it, only the jail filter stops it.
legacy=$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null)
out=$($A tiocsti 0 " " 2>&1); ctl=$?
out2=$($B --user root --cap-keep sys_admin --cap-keep-root-equivalent -- $A tiocsti 0 " " 2>&1); rc=$?
expect tiocsti-filter "control exit $ctl (TIOCSTI works on $(uname -r), legacy_tiocsti ${legacy:-absent}); boxed exit $rc" "$out
$out2" eval '[ $ctl = 0 ] && [ $rc = 1 ] && has "$out2" "\"errno\":1,"'
out=$($A wx 2>&1); ctl=$?
out2=$($B --user nobody --memory-deny-write-execute -- $A wx 2>&1); rc=$?
dry=$($B --user nobody --memory-deny-write-execute --dry-run -- $A wx 2>&1)
# PR_SET_MDWE came with 6.3; before it, the seccomp rules.
kv=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
if [ "$kv" -ge 6003 ]; then
  expect mdwe-prctl "control exit $ctl; boxed exit $rc ($(uname -r) has PR_SET_MDWE)" "$out
$out2
$dry" eval '[ $ctl = 0 ] && [ $rc = 1 ] && has "$dry" "\"memory_deny_write_execute\":\"PR_SET_MDWE\""'
else
  expect mdwe-seccomp-fallback "control exit $ctl; boxed exit $rc" "$out
$out2
$dry" eval '[ $ctl = 0 ] && [ $rc = 1 ] && has "$dry" "\"memory_deny_write_execute\":\"seccomp: mmap W+X, mprotect X, shmat SHM_EXEC\""'
fi

# ---- cgroup v2 with controllers ---------------------------------------------
out=$($A alloc 64 2>&1); ctl=$?
out2=$($B -v --cgroup $cg/bj/oom --cgroup-set memory.max=32M -- $A alloc 64 2>&1); rc=$?
# The death is explained: the limit from memory.events' oom_kill, and the
# peak from memory.peak.
expect cgroup-memory-max-oom "control exit $ctl; boxed exit $rc" "$out
$out2" eval '[ $ctl = 0 ] && [ $rc = 137 ] && [ ! -e $cg/bj/oom ] &&
  has "$out2" "out of memory at the cgroup'"'"'s limit (--cgroup-set memory.max=32M); the OOM killer ended 1 process" &&
  has "$out2" "peak memory 32 MiB"'

# ---- descriptors and pidfds ---------------------------------------------------
# What --features probes for them; all present since 5.9 (close_range with
# CLOSE_RANGE_UNSHARE), 5.11 (CLOSE_RANGE_CLOEXEC), 5.3 (pidfd_open), 5.6
# (pidfd_getfd), 5.7 (CLONE_INTO_CGROUP).
out=$($B --features 2>&1)
expect features-fd-calls "close_range, clone3, pidfd_open on $(uname -r)" "$out" eval \
  'printf "%s\n" "$out" | grep -q "^close_range  *yes, CLOSE_RANGE_CLOEXEC yes$" &&
   printf "%s\n" "$out" | grep -q "^pidfd_open  *yes$" && printf "%s\n" "$out" | grep -q "^clone3  *yes$" &&
   printf "%s\n" "$out" | grep -q "^CLONE_INTO_CGROUP  *yes$"'
# The child starts sharing boxjail's descriptor table (CLONE_FILES) and
# takes a private one with close_range(FIRST, ~0U, CLOSE_RANGE_UNSHARE):
# what the caller left open (7, 9) is not in PROGRAM (ls sees 0-2 and its
# own directory descriptor), and boxjail itself still supervises (exit 0).
ctl=$(sh -c "exec 7</dev/null 9</dev/null; /bin/ls /proc/self/fd" 2>&1)
out=$(sh -c "exec 7</dev/null 9</dev/null; $B -- /bin/ls /proc/self/fd" 2>&1); rc=$?
expect close-range-inherited-fds "control: $(echo $ctl); boxed exit $rc: $(echo $out)" "$ctl
$out" eval '[ "$(echo $ctl)" = "0 1 2 3 7 9" ] && [ $rc = 0 ] && [ "$(echo $out)" = "0 1 2 3" ]'
# With close_range denied (an outer box), boxjail's probe of it fails and
# the child copies the table and closes through /proc/self/fd: the same.
out=$(sh -c "exec 7</dev/null 9</dev/null; $B --user nobody --seccomp-deny close_range -- $B -- /bin/ls /proc/self/fd" 2>&1); rc=$?
expect close-range-denied-fallback "exit $rc" "$out" eval '[ $rc = 0 ] &&
  [ "$(printf "%s\n" "$out" | grep -v boxjail: | tr "\n" " ")" = "0 1 2 3 " ] &&
  has "$out" "called close_range (436) with 0xffffffff, 0xffffffff, 0x0"'

# --exec-once: boxjail takes the child's seccomp listener with pidfd_getfd
# and lets exactly one exec (PROGRAM's) through.
out=$($B --user nobody -- /bin/sh -c '/bin/true && echo ran' 2>&1); ctl=$?
out2=$($B --user nobody --exec-once -- /bin/sh -c '/bin/true && echo ran' 2>&1); rc=$?
expect pidfd-getfd-exec-once "control exit $ctl; --exec-once exit $rc" "$out
$out2" eval '[ $ctl = 0 ] && [ "$out" = ran ] && [ $rc != 0 ] && [ $rc != 125 ] && ! has "$out2" ran &&
  has "$out2" "denied by --exec-once"'
# Without pidfd_getfd it cannot: refused (125), PROGRAM not run. (The
# outer box runs --no-fork, whose filter has no listener: the kernel allows
# one listener in a process's filter chain, and a second one is EBUSY,
# the next case.)
out=$($B --user nobody --no-fork --seccomp-deny @ptrace -- $B --exec-once -- /bin/echo ran 2>&1); rc=$?
expect pidfd-getfd-denied-refused "exit $rc" "$out" eval '[ $rc = 125 ] && ! has "$out" "
ran" && [ "$out" != ran ] && has "$out" "pidfd_getfd: Operation not permitted"'
out=$($B --user nobody --seccomp-deny @chmod -- $B --exec-once -- /bin/echo ran 2>&1); rc=$?
expect seccomp-second-listener-refused "exit $rc" "$out" eval '[ $rc = 125 ] && [ "$out" != ran ] && ! has "$out" "
ran"'

# --stop signals through a pidfd (SIGTERM, then SIGKILL after
# --stop-timeout) the process the PID file records.
rm -f /tmp/stop.pid
$B --user nobody --detach --pidfile /tmp/stop.pid -- /bin/sh -c 'trap "" TERM; while :; do sleep 1; done'
pid=$(grep -o '[0-9]*' /tmp/stop.pid | head -1)
out=$($B --stop /tmp/stop.pid --stop-timeout 1 2>&1); rc=$?
sleep 1
state=$(sed -n 's/^State:\t\(.\).*/\1/p' /proc/$pid/status 2>/dev/null)
expect pidfd-stop "exit $rc; pid $pid state '${state:-gone}'" "$out" eval '[ $rc = 0 ] &&
  has "$out" "did not end within 1 s (--stop-timeout) of SIGTERM: SIGKILL" &&
  { [ -z "$state" ] || [ "$state" = Z ]; } && [ ! -e /tmp/stop.pid ]'


# ---- cgroup v2 with controllers, continued ------------------------------------
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

outer0="$B --user root --cap-keep dac_override,sys_admin,kill --cap-keep-root-equivalent --seccomp-deny pidfd_open --"
# What PROGRAM leaves in its cgroup (a process that ignores TERM) is killed
# and the group removed.
out=$($B --cgroup $cg/bj/kill -- /bin/sh -c 'trap "" TERM; (trap "" TERM; exec sleep 600) & echo $!' 2>&1)
rc=$?
left=$(echo "$out" | tail -1)
alive=no
kill -0 "$left" 2>/dev/null && alive=yes
expect cgroup-kill-populated "exit $rc, pid $left alive: $alive" "$out" \
  eval '[ $rc = 0 ] && [ $alive = no ] && [ ! -e $cg/bj/kill ]'

# The same end with pidfd_open denied (an outer box): boxjail says so and
# signals by pid, after checking the process is its descendant.
out=$($outer0 $B --log-level debug --cgroup $cg/bj/kill2 -- /bin/sh -c 'trap "" TERM; (trap "" TERM; exec sleep 600) & echo $!' 2>&1)
rc=$?
left=$(echo "$out" | grep -v boxjail: | tail -1)
alive=no
kill -0 "$left" 2>/dev/null && alive=yes
expect cgroup-kill-pidfd-fallback "exit $rc, pid $left alive: $alive" "$out" \
  eval '[ $rc = 0 ] && [ $alive = no ] && [ ! -e $cg/bj/kill2 ] && has "$out" "pidfd_open: Operation not permitted; using kill()"'

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
# ---- rootless, on a delegated subtree (tests/guest/rootless.sh) ----------------
# As systemd delegates user@1000.service: the controllers enabled down to
# it, the directory and its cgroup.procs, cgroup.subtree_control and
# cgroup.threads chowned to the user; the user's processes live in a leaf.
s=$cg/user.slice
d=$s/user-1000.slice/user@1000.service
mkdir -p $d
echo "+memory +pids" > $s/cgroup.subtree_control
echo "+memory +pids" > $s/user-1000.slice/cgroup.subtree_control
chown 1000:1000 $d $d/cgroup.procs $d/cgroup.subtree_control $d/cgroup.threads
su -s /bin/sh tester -c "mkdir $d/shell.scope"
# A process of the user outside the subtree (here in the root cgroup) may
# not move a child into it: refused, and the subtree left as it was.
before=$(cat $d/cgroup.subtree_control)
out=$(su -s /bin/sh tester -c "$B --cgroup $d/box --cgroup-set pids.max=5 -- true" 2>&1); rc=$?
after=$(cat $d/cgroup.subtree_control)
expect rootless-outside-subtree-refused "exit $rc; subtree_control '$before' -> '$after'" "$out" \
  eval '[ $rc = 125 ] && [ "$before" = "$after" ] && [ ! -e $d/box ] && has "$out" "Permission denied"'
mkdir -p /tmp/ro /tmp/no && echo open > /tmp/ro/f && echo secret > /tmp/no/f
sh -c "echo \$\$ > $d/shell.scope/cgroup.procs; exec su -s /bin/sh tester -c '/bin/sh /guest/rootless.sh $d'"
echo BJ-DONE
