#!/bin/busybox sh
# The rootless cases (the user namespace leg of scripts/matrix, on pure
# cgroup v2): run by cases.sh as the test user (uid 1000, no capabilities)
# from a leaf of a delegated subtree, as systemd's user@1000.service gives
# one: the subtree's directory and its cgroup.procs, cgroup.subtree_control
# and cgroup.threads belong to the user, its limit files to root.
#   rootless.sh DELEGATED_DIR
# First as the user itself, then as root of a user namespace it made
# (`unshare -U -r`: uid 0 inside is uid 1000 outside, setgroups denied).
. /guest/lib.sh
d=$1
me=$(cut -d: -f3 /proc/self/cgroup)
expect rootless-shell-in-subtree "uid $(id -u), cgroup $me" "$(id; cat /proc/self/status | grep Cap)" \
  eval '[ "$(id -u)" = 1000 ] && [ "$cg$me" = "$d/shell.scope" ] && grep -q "CapEff:.0000000000000000" /proc/self/status'

# ---- cgroup limits in the delegated subtree -----------------------------------
# Control: the same fork loop with no pids.max makes all its children.
out=$($B --cgroup $d/box -- $A forks 10 2>&1); ctl=$?
out2=$($B --cgroup $d/box --cgroup-set pids.max=5 -- $A forks 10 2>&1); rc=$?
expect rootless-cgroup-pids-max "control exit $ctl; pids.max=5 exit $rc" "$out
$out2" eval '[ $ctl = 0 ] && has "$out" "\"made\":10" && [ $rc = 1 ] && has "$out2" "\"errno\":11,"'

out=$($A alloc 64 2>&1); ctl=$?
out2=$($B -v --cgroup $d/oom --cgroup-set memory.max=32M -- $A alloc 64 2>&1); rc=$?
expect rootless-cgroup-memory-max-oom "control exit $ctl; boxed exit $rc" "$out
$out2" eval '[ $ctl = 0 ] && [ $rc = 137 ] &&
  has "$out2" "the OOM killer ended 1 process" && has "$out2" "peak memory 32 MiB"'

# The values PROGRAM's own cgroup has, and who owns it.
inner='c=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); echo $c; cat $c/pids.max $c/memory.max; stat -c %u $c $c/memory.max'
out=$($B --cgroup $d/rb --cgroup-set pids.max=5 --cgroup-set memory.max=32M -- /bin/sh -c "$inner" 2>&1); rc=$?
expect rootless-cgroup-read-back "exit $rc" "$out" eval '[ $rc = 0 ] && [ "$out" = "$d/rb
5
33554432
1000
1000" ]'

# Afterwards the subtree is as it was: the user's leaf and nothing else.
left=$(ls $d | grep -v '\.' | grep -v '^shell\.scope$'; ls -d $d/box $d/oom $d/rb 2>/dev/null)
sc=$(cat $d/cgroup.subtree_control)
expect rootless-cgroup-removed "left: '$left'; subtree_control '$sc'" "$(ls -l $d)" eval '[ -z "$left" ] && [ -z "$sc" ] && [ "$(ls -d $d/*/ | wc -l)" = 1 ]'

# ---- Landlock, seccomp and namespaces without root -------------------------------
out=$($A read /tmp/no/f 2>&1); ctl=$?
out2=$($B --fs-exec-deps --fs-ro /tmp/ro -- $A read /tmp/ro/f 2>&1); ok=$?
out3=$($B --fs-exec-deps --fs-ro /tmp/ro -- $A read /tmp/no/f 2>&1); rc=$?
expect rootless-landlock-fs "control exit $ctl; inside the rule exit $ok; outside exit $rc" "$out
$out2
$out3" eval '[ $ctl = 0 ] && [ $ok = 0 ] && [ $rc = 1 ] && has "$out3" "\"errno\":13,"'

touch /tmp/rootless-mode
out=$($B -- $A chmod /tmp/rootless-mode 600 2>&1); ctl=$?
out2=$($B --seccomp-deny @chmod -- $A chmod /tmp/rootless-mode 644 2>&1); rc=$?
expect rootless-seccomp-deny "control exit $ctl; denied exit $rc" "$out
$out2" eval '[ $ctl = 0 ] && [ $rc = 1 ] && has "$out2" "\"errno\":1," &&
  has "$out2" "denied by --seccomp-deny @chmod" && [ "$(stat -c %a /tmp/rootless-mode)" = 600 ]'

out=$($B -- unshare -U true 2>&1); ctl=$?
out2=$($B --restrict-namespaces -- unshare -U true 2>&1); rc=$?
expect rootless-restrict-namespaces "control exit $ctl; restricted exit $rc" "$out
$out2" eval '[ $ctl = 0 ] && [ $rc != 0 ] && has "$out2" "Operation not permitted"'

# ---- root of a user namespace (unshare -U -r) ---------------------------------------
U="unshare -U -r"
out=$($U $A ids 2>&1); ctl=$?
out2=$($U $B --no-new-privs -- $A ids 2>&1); rc=$?
expect userns-root-confined "control: capeff $(echo "$out" | sed -n 's/.*"capeff":"\([0-9a-f]*\)".*/\1/p'); boxed exit $rc" "$out
$out2" eval '[ $ctl = 0 ] && has "$out" "\"euid\":0," && ! has "$out" "\"capeff\":\"0000000000000000\"" &&
  [ $rc = 0 ] && has "$out2" "\"euid\":0," && has "$out2" "\"capeff\":\"0000000000000000\"" &&
  has "$out2" "\"no_new_privs\":1"'

out=$($U $B --fs-exec-deps --fs-ro /tmp/ro -- $A read /tmp/ro/f 2>&1); ok=$?
out2=$($U $B --fs-exec-deps --fs-ro /tmp/ro -- $A read /tmp/no/f 2>&1); rc=$?
expect userns-landlock-fs "inside the rule exit $ok; outside exit $rc" "$out
$out2" eval '[ $ok = 0 ] && [ $rc = 1 ] && has "$out2" "\"errno\":13,"'

out=$($U $B --seccomp-deny @chmod -- $A chmod /tmp/rootless-mode 644 2>&1); rc=$?
expect userns-seccomp-deny "exit $rc" "$out" eval '[ $rc = 1 ] && has "$out" "\"errno\":1," &&
  [ "$(stat -c %a /tmp/rootless-mode)" = 600 ]'

out=$($U $B --cgroup $d/ns --cgroup-set pids.max=5 -- $A forks 10 2>&1); rc=$?
expect userns-cgroup-pids-max "exit $rc" "$out" eval '[ $rc = 1 ] && has "$out" "\"errno\":11," && [ ! -e $d/ns ]'

# What cannot work there: a uid the namespace does not map. Refused before
# PROGRAM runs, naming the flag.
out=$($U $B --user nobody -- $A ids 2>&1); rc=$?
expect userns-unmapped-user-refused "exit $rc" "$out" eval '[ $rc = 125 ] && has "$out" "boxjail: --user" &&
  ! has "$out" "\"op\":\"ids\""'
# Privileges a user namespace's root does not have over the host's
# resources: refused with exit 125 before PROGRAM runs.
hard=$($U sh -c 'ulimit -Hn')
out=$($U $B --rlimit nofile=$((hard * 2)) -- echo ran 2>&1); rc=$?
expect userns-rlimit-raise-refused "exit $rc (hard nofile $hard)" "$out" eval '[ $rc = 125 ] && ! has "$out" ran &&
  has "$out" "--rlimit nofile=$((hard * 2)): raising the hard limit above $hard needs CAP_SYS_RESOURCE"'
out=$($U $B --oom-score-adj -100 -- echo ran 2>&1); rc=$?
expect userns-oom-score-adj-refused "exit $rc" "$out" eval '[ $rc = 125 ] && ! has "$out" ran &&
  has "$out" "--oom-score-adj -100: lowering it below the current 0 needs CAP_SYS_RESOURCE"'
out=$($U $B --nice -5 -- echo ran 2>&1); rc=$?
expect userns-nice-refused "exit $rc" "$out" eval '[ $rc = 125 ] && ! has "$out" ran &&
  has "$out" "--nice -5: setpriority: Permission denied (a lower value than boxjail" && has "$out" "CAP_SYS_NICE"'
