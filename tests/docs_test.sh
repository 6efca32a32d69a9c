#!/usr/bin/env bash
# Every flag in --help is documented in the man page and the README, and the
# man page is mandoc -Tlint clean.
set -euo pipefail
boxjail=$1 src=$2
fail=0
if ! mandoc -Tlint -Wwarning "$src/man/boxjail.1"; then
  echo "man/boxjail.1: mandoc -Tlint reported problems"; fail=1
fi
flags=$("$boxjail" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u)
[ -n "$flags" ] || { echo "no flags found in --help"; exit 1; }
man=$(sed 's/\\-/-/g' "$src/man/boxjail.1")
for f in $flags; do
  grep -qF -- "$f" <<<"$man" || { echo "man page lacks $f"; fail=1; }
  grep -qF -- "$f" "$src/README.md" || { echo "README lacks $f"; fail=1; }
done
echo "checked $(wc -w <<<"$flags") flags"
# Every flag --help lists as an option (its "  --name" lines) has a row in
# the README's flag table (the table under "| flag | meaning |"), written
# as `--name`, `--name VALUE`, `--name=...` or `--name[=...]`.
table=$(awk '/^\| flag \| meaning \|/ { t = 1 } t && /^\|/ { print; next } t { exit }' "$src/README.md")
[ -n "$table" ] || { echo "README has no flag table"; exit 1; }
listed=$("$boxjail" --help | grep -oE '^  (-[a-zA-Z],)?--[a-z0-9-]+' | sed 's/.*--/--/' | sort -u)
for f in $listed; do
  grep -qE -- "\`$f([] \`=[]|\\\\)" <<<"$table" || { echo "README's flag table lacks $f"; fail=1; }
done
echo "checked $(wc -w <<<"$listed") flags against the README's flag table"
# Every system call group and family --list-syscall-groups prints has an
# entry in the man page's tables, and the README names the groups.
groups=$("$boxjail" --list-syscall-groups | cut -d: -f1)
[ "$(wc -l <<<"$groups")" -gt 50 ] || { echo "--list-syscall-groups printed too little"; exit 1; }
for g in $groups; do
  grep -qxF -- ".B $g" <<<"$man" || { echo "man page has no entry for $g"; fail=1; }
done
for g in @default @file-system @network-io @privileged @system-service; do
  grep -qF -- "\`$g\`" "$src/README.md" || { echo "README lacks $g"; fail=1; }
done
echo "checked $(wc -w <<<"$groups") system call groups"
exit $fail
