#!/usr/bin/env bash
# `make deb`: builds OUT_DIR/helios_VERSION_ARCH.deb from the release binaries and the generated
# docs, computes Depends: with dpkg-shlibdeps, checks it with lintian (fails on any error) and
# refreshes OUT_DIR/SHA256SUMS.
#   scripts/deb.sh BIN_DIR DOCS_DIR OUT_DIR
set -eu
cd "$(dirname "$0")/.."
[ $# -eq 3 ] || { echo "usage: $0 BIN_DIR DOCS_DIR OUT_DIR" >&2; exit 2; }
bin=$1 docs=$2 out=$3
version=$("$bin/helios" --version | cut -d' ' -f2)
arch=$(dpkg --print-architecture)
grep -q "^helios ($version)" packaging/changelog || { echo "packaging/changelog has no entry for $version" >&2; exit 1; }
# Reproducible: file dates in the package are the commit's.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

work=$(pwd)/.build/deb
root=$work/helios_${version}_$arch
rm -rf "$work"
mkdir -p "$root/DEBIAN" "$work/src/debian" "$out"
./scripts/stage.sh "$root" /usr "$bin" "$docs"

# Depends: what the binaries' shared libraries need, as dpkg-shlibdeps reads it from them.
printf 'Source: helios\n\nPackage: helios\nArchitecture: any\n' > "$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O "$root/usr/bin/helios" "$root/usr/bin/helios-emulator" | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "dpkg-shlibdeps found no dependencies" >&2; exit 1; }
# helios opens libcurl with dlopen at its first exchange with a server (Sources/CCurl), which
# dpkg-shlibdeps cannot see: curl_multi_poll, the newest function it calls, is from 7.66.0.
# (helios-emulator links libcurl through FoundationNetworking, for which 7.63.0 would do.)
curl_min=7.66.0
found=$(sed -n 's/.*libcurl4 (>= \([^)]*\)).*/\1/p' <<<"$depends")
if [ -z "$found" ] || dpkg --compare-versions "$found" lt "$curl_min"; then
    depends=$(printf '%s\n' "${depends//, /$'\n'}" | grep -v '^libcurl4\( \|$\)' | { cat; echo "libcurl4 (>= $curl_min)"; } \
        | LC_ALL=C sort | paste -sd, | sed 's/,/, /g')
fi
size=$(du -sk "$root/usr" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
    packaging/control > "$root/DEBIAN/control"
(cd "$root" && find usr -type f | LC_ALL=C sort | xargs md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 0755 {} +

deb=$out/helios_${version}_$arch.deb
# XZ_LEVEL: 6 (dpkg's default) for a release; `make test` builds with 1 (a fifth of the time).
dpkg-deb --root-owner-group -Zxz -z"${XZ_LEVEL:-6}" --build "$root" "$deb" >/dev/null
echo "built $deb ($(du -k "$deb" | cut -f1) KiB)"
echo "Depends: $depends"
# lintian: errors fail the build, the rest is shown (as root it says it would rather not be).
report=$(lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v "running with root privileges" || true)
echo "${report:-lintian: no errors or warnings}"
if grep -q "^E:" <<<"$report"; then echo "lintian reported errors" >&2; exit 1; fi
./scripts/checksums.sh "$out"
