#!/usr/bin/env bash
# The built .deb and tarball, as a user without a Swift toolchain gets them: unpacked into a
# scratch root (dpkg -x: nothing is installed on this machine), then the installed binaries run
# (--version, -V, validate on a sample, a submit against the installed emulator), the man pages
# render without warnings, the completions load, the tarball matches the package and its
# checksum, `make install`/`make uninstall` under a scratch PREFIX leave exactly the list, and
# docs/ci.md's steps run (scripts/test-ci-docs.sh).
#   scripts/test-package.sh DIST_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dist=$1
work=$(mktemp -d /tmp/helios-package.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "test-package: FAIL: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }

deb=$(ls "$dist"/helios_*_*.deb) || fail "no .deb in $dist (make deb)"
version=$(dpkg-deb -f "$deb" Version)
tarball=$dist/helios-$version-linux-$(uname -m).tar.gz
[ -f "$tarball" ] || fail "no $tarball (make dist)"

echo "package $(basename "$deb"): $(du -k "$deb" | cut -f1) KiB"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libcurl4 libsndfile1 libopus0 libmpg123-0 libfaad2; do
    [[ "$depends" == *"$lib "* ]] || fail "Depends lacks $lib"
done
[[ "$depends" != *swift* ]] || fail "Depends names a Swift library: the runtime should be linked in"
# helios opens libcurl itself and calls curl_multi_poll (7.66.0): see scripts/deb.sh.
[[ "$depends" == *"libcurl4 (>= 7.66.0)"* ]] || fail "Depends does not ask for libcurl4 (>= 7.66.0): $depends"
ok "Depends computed from the binaries, no Swift runtime"
lintian_out=$(lintian "$deb" 2>&1 | grep -v "running with root privileges" || true)
if grep -q "^E:" <<<"$lintian_out"; then echo "$lintian_out"; fail "lintian reports errors"; fi
ok "lintian: $(grep -c "^E:" <<<"$lintian_out" || true) errors, $(grep -c "^W:" <<<"$lintian_out" || true) warnings"

root=$work/root
dpkg -x "$deb" "$root"
bin=$root/usr/bin
for b in helios helios-emulator; do
    [ -x "$bin/$b" ] || fail "no /usr/bin/$b in the package"
    ! readelf -S "$bin/$b" | grep -q '\.symtab' || fail "$b is not stripped"
    ! ldd "$bin/$b" | grep -q 'libswift\|libFoundation\|not found' || fail "$b needs a Swift toolchain library: $(ldd "$bin/$b")"
done
ok "both binaries stripped, no Swift library needed at run time"
# libcurl is opened by the first exchange with a server, not at every start (Sources/CCurl).
needed=$(readelf -d "$bin/helios" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | paste -sd' ')
[[ "$needed" != *libcurl* ]] || fail "helios links libcurl at start: $needed"
ok "helios starts without libcurl (NEEDED: $needed)"

env -i PATH=/usr/bin:/bin "$bin/helios" --version | grep -qx "helios $version" || fail "--version"
details=$(env -i PATH=/usr/bin:/bin "$bin/helios" -V)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
grep -q "commit: *$commit" <<<"$details" || fail "-V does not name commit $commit: $details"
grep -q "libcurl: *[0-9]" <<<"$details" || fail "-V names no libcurl: $details"
ok "helios --version and -V (commit $commit)"

state=$work/state
mkdir -p "$state"
env -i PATH=/usr/bin:/bin HOME="$work" HELIOS_STATE_DIR="$state" "$bin/helios" validate samples/north-wind-and-the-sun.flac > "$work/validate.out" \
    || fail "validate on the sample: $(cat "$work/validate.out")"
code=0
env -i PATH=/usr/bin:/bin HOME="$work" HELIOS_STATE_DIR="$state" "$bin/helios" validate samples/too-short.flac > /dev/null 2>&1 || code=$?
[ $code -eq 3 ] || fail "validate on too-short.flac should exit 3, not $code"
ok "validate: the sample passes, too-short.flac exits 3"

"$bin/helios-emulator" --port 0 --api-key pkg-key --processing-time 500ms > "$work/url" 2> "$work/emulator.log" &
emulator=$!
for _ in $(seq 1 100); do [ -s "$work/url" ] && break; sleep 0.05; done
[ -s "$work/url" ] || fail "the installed emulator did not start: $(cat "$work/emulator.log")"
env -i PATH=/usr/bin:/bin HOME="$work" HELIOS_STATE_DIR="$state" THYMIA_BASE_URL="$(cat "$work/url")" THYMIA_API_KEY=pkg-key \
    "$bin/helios" submit samples/north-wind-and-the-sun.flac --dob 1990-08 --sex FEMALE --poll-interval 1s --json > "$work/submit.out" 2> "$work/submit.err" \
    || fail "submit against the installed emulator: $(cat "$work/submit.err")"
grep -q '"status":"COMPLETE_OK"' "$work/submit.out" || fail "submit printed no COMPLETE_OK: $(cat "$work/submit.out")"
kill $emulator; wait $emulator 2>/dev/null || true
ok "submit against the installed helios-emulator: COMPLETE_OK"

for page in helios helios-emulator; do
    file=$root/usr/share/man/man1/$page.1.gz
    [ -f "$file" ] || fail "no man page $page(1)"
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$file" 2>&1 >/dev/null || true)
    [ -z "$warnings" ] || fail "man -l $page.1.gz warns: $warnings"
    rendered=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$file" 2>/dev/null)
    grep -q "^NAME" <<<"$rendered" && grep -q "$page -" <<<"$rendered" || fail "$page(1) does not render a NAME section"
done
ok "man -l renders helios(1) and helios-emulator(1) without warnings"

bash -c "source '$root/usr/share/bash-completion/completions/helios' && complete -p helios" > /dev/null || fail "bash completion does not load"
[ -f "$root/usr/share/zsh/vendor-completions/_helios" ] || fail "no zsh completion"
[ -f "$root/usr/share/fish/vendor_completions.d/helios.fish" ] || fail "no fish completion"
for f in README.md copyright changelog.gz; do [ -f "$root/usr/share/doc/helios/$f" ] || fail "no /usr/share/doc/helios/$f"; done
ok "completions in their standard directories; README, copyright, changelog"

(cd "$dist" && sha256sum -c --quiet SHA256SUMS) || fail "SHA256SUMS does not match"
tar -xzf "$tarball" -C "$work"
top=$work/helios-$version-linux-$(uname -m)
for b in helios helios-emulator; do cmp -s "$top/bin/$b" "$bin/$b" || fail "the tarball's $b differs from the package's"; done
(cd "$top" && find . -type f | sed 's|^\./||' | grep -v '^LICENSE$' | sort) > "$work/tar.list"
./scripts/stage.sh --list "" | sort > "$work/expected.list"
diff -u "$work/expected.list" "$work/tar.list" || fail "the tarball's files are not the install list"
ok "tarball: checksum, same binaries as the package, the install list plus LICENSE"

prefix=$work/prefix
make --no-print-directory install PREFIX="$prefix" > "$work/install.log" 2>&1 || { cat "$work/install.log"; fail "make install"; }
(cd "$prefix" && find . -type f | sed 's|^\./||' | sort) > "$work/installed.list"
diff -u "$work/expected.list" "$work/installed.list" || fail "make install did not install exactly the list"
"$prefix/bin/helios" --version | grep -qx "helios $version" || fail "the installed helios does not run"
make --no-print-directory uninstall PREFIX="$prefix" > /dev/null
left=$(find "$prefix" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
ok "make install PREFIX=… installs the list; make uninstall removes all of it"

./scripts/test-ci-docs.sh "$dist"
echo "test-package: all checks passed"
