#!/usr/bin/env bash
# Installing boxjail, three ways:
#   install  cmake --install with --prefix, and with DESTDIR: every file in
#            its standard place, nothing outside the prefix, and the
#            installed binary runs.
#   deb      the .deb that `cmake --build BUILD --target deb` made: its
#            fields (no Depends: the binary is static), its files, then
#            installed with dpkg into a scratch root, `boxjail --version`
#            and `man -w boxjail` from there, and purged, leaving nothing.
#   lintian  lintian --pedantic on the .deb: no errors, no warnings.
#
#   package_test.sh MODE BUILD_DIR VERSION
# Exits 77 (skipped), naming what is missing, when a tool or the .deb is.
set -uo pipefail
mode=$1
build=$(cd "$2" && pwd)
version=$3
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
skip() { echo "SKIP: $*"; exit 77; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The files an install has, relative to its prefix.
expected=(
  bin/boxjail
  bin/boxjail-wait
  share/man/man1/boxjail.1.gz
  share/bash-completion/completions/boxjail
  share/zsh/site-functions/_boxjail
  share/fish/vendor_completions.d/boxjail.fish
  share/doc/boxjail/copyright
  share/doc/boxjail/changelog.gz
  share/doc/boxjail/examples/box1.toml
  share/boxjail/profiles/qemu.toml
  share/doc/boxjail/examples/systemd/boxjail@.service
  share/doc/boxjail/examples/systemd/boxjail-forking@.service
  share/doc/boxjail/examples/systemd/boxjail-proxy.socket
  share/doc/boxjail/examples/systemd/boxjail-proxy.service
  share/doc/boxjail/examples/systemd/boxjail-cgroup@.service
  share/lintian/overrides/boxjail
)

# check_tree ROOT PREFIX: ROOT/PREFIX holds exactly the expected files.
check_tree() {
  local root=$1 prefix=$2 f
  for f in "${expected[@]}"; do
    [ -f "$root$prefix/$f" ] || fail "missing $prefix/$f under $root"
  done
  local n
  n=$(find "$root" -type f | grep -v '/var/lib/dpkg/' | wc -l)
  [ "$n" -eq ${#expected[@]} ] || fail "$n files under $root, expected ${#expected[@]}: $(find "$root" -type f | grep -v /var/lib/dpkg/ | tr '\n' ' ')"
  gzip -t "$root$prefix/share/man/man1/boxjail.1.gz" || fail "the man page is not valid gzip"
  "$root$prefix/bin/boxjail" --version | head -1 | grep -q "^boxjail $version " ||
    fail "$root$prefix/bin/boxjail --version does not say $version"
}

case $mode in
install)
  # cmake_install.cmake writes install_manifest.txt into the build tree; a
  # user who may not write there (the test matrix's ordinary user) runs a
  # copy that writes it into the scratch directory instead.
  script="$build/cmake_install.cmake"
  if [ ! -w "$build" ]; then
    sed "s|file(WRITE \"$build/|file(WRITE \"$scratch/|" "$build/cmake_install.cmake" >"$scratch/install.cmake"
    script="$scratch/install.cmake"
  fi
  opt_existed=no
  [ -e /opt/boxjail ] && opt_existed=yes
  cmake -DCMAKE_INSTALL_PREFIX="$scratch/prefix" -P "$script" >/dev/null ||
    fail "installing with CMAKE_INSTALL_PREFIX failed"
  DESTDIR="$scratch/destdir" cmake -DCMAKE_INSTALL_PREFIX=/opt/boxjail -P "$script" >/dev/null ||
    fail "installing with DESTDIR failed"
  if [ -w "$build" ]; then
    # cmake --install itself, as the README says.
    cmake --install "$build" --prefix "$scratch/prefix2" >/dev/null || fail "cmake --install --prefix failed"
    check_tree "$scratch/prefix2" ""
    rm -rf "$scratch/prefix2"
  fi
  check_tree "$scratch/prefix" ""
  check_tree "$scratch/destdir" /opt/boxjail
  [ $opt_existed = yes ] || [ ! -e /opt/boxjail ] || fail "DESTDIR was ignored: /opt/boxjail exists"
  ;;
deb)
  deb="$build/deb/boxjail_${version}_amd64.deb"
  [ -f "$deb" ] || skip "no $deb (cmake --build $build --target deb makes it; scripts/test does)"
  command -v dpkg-deb >/dev/null || skip "dpkg-deb (Debian package dpkg) is not installed"
  [ "$(dpkg-deb -f "$deb" Package)" = boxjail ] || fail "Package is not boxjail"
  [ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version is not $version"
  [ "$(dpkg-deb -f "$deb" Architecture)" = amd64 ] || fail "Architecture is not amd64"
  [ -z "$(dpkg-deb -f "$deb" Depends)" ] || fail "Depends is not empty: $(dpkg-deb -f "$deb" Depends)"
  # The reason it may be empty: the binary needs no shared library and no
  # dynamic loader.
  dpkg-deb -x "$deb" "$scratch/x"
  if command -v readelf >/dev/null; then
    ! readelf -d "$scratch/x/usr/bin/boxjail" | grep -q NEEDED || fail "the packaged binary has DT_NEEDED"
    ! readelf -l "$scratch/x/usr/bin/boxjail" | grep -q INTERP || fail "the packaged binary has PT_INTERP"
    readelf -S "$scratch/x/usr/bin/boxjail" | grep -q '\.debug_info' && fail "the packaged binary is not stripped"
    # boxjail-wait never relocates itself: stripping must not have added any.
    readelf -rW "$scratch/x/usr/bin/boxjail-wait" | grep -q 'There are no relocations' ||
      fail "the packaged boxjail-wait has relocations"
  fi
  "$scratch/x/usr/bin/boxjail" --version | grep -q "fault injection: off" ||
    fail "the packaged binary is a fault-injection build"
  check_tree "$scratch/x" /usr

  # dpkg into a scratch root (as an ordinary user too: --force-not-root).
  root="$scratch/root"
  mkdir -p "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/info"
  : >"$root/var/lib/dpkg/status"
  dpkg=(dpkg --root="$root" --log=/dev/null --force-not-root --force-bad-path)
  "${dpkg[@]}" -i "$deb" >"$scratch/dpkg.log" 2>&1 || { cat "$scratch/dpkg.log"; fail "dpkg -i failed"; }
  "${dpkg[@]}" -s boxjail 2>/dev/null | grep -q '^Status: install ok installed' || fail "dpkg -s: not installed"
  "$root/usr/bin/boxjail" --version | head -1 | grep -q "^boxjail $version " || fail "installed boxjail --version"
  if command -v man >/dev/null; then
    [ "$(MANPATH="$root/usr/share/man" man -w boxjail)" = "$root/usr/share/man/man1/boxjail.1.gz" ] ||
      fail "man -w boxjail does not find the installed page"
    MANPATH="$root/usr/share/man" MANWIDTH=80 man boxjail 2>/dev/null | grep -q 'boxjail - ' ||
      fail "man boxjail does not render"
  else
    echo "note: man (Debian package man-db) is not installed; man -w not checked"
  fi
  "${dpkg[@]}" -P boxjail >>"$scratch/dpkg.log" 2>&1 || { cat "$scratch/dpkg.log"; fail "dpkg -P failed"; }
  left=$(find "$root" -mindepth 1 -not -path "$root/var*" | tr '\n' ' ')
  [ -z "$left" ] || fail "left after dpkg -P: $left"
  "${dpkg[@]}" -s boxjail >/dev/null 2>&1 && fail "dpkg -s: still known after purge"
  ;;
lintian)
  deb="$build/deb/boxjail_${version}_amd64.deb"
  [ -f "$deb" ] || skip "no $deb (cmake --build $build --target deb makes it; scripts/test does)"
  command -v lintian >/dev/null || skip "lintian (Debian package lintian) is not installed"
  out=$(lintian --pedantic --display-experimental --no-tag-display-limit "$deb" 2>&1 |
        grep -v 'running with root privileges is not recommended')
  tags=$(grep -E '^[EWIPX]: ' <<<"$out")
  echo "${tags:-lintian: no tags}"
  [ -z "$tags" ] || fail "lintian has something to say (see above)"
  ;;
*)
  echo "usage: package_test.sh install|deb|lintian BUILD_DIR VERSION" >&2
  exit 2
  ;;
esac
echo "$mode: $fails failed"
[ "$fails" -eq 0 ]
