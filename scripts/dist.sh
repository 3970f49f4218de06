#!/bin/sh
# `make dist`: OUT_DIR/helios-VERSION-linux-ARCH.tar.gz holding what `make install` installs,
# laid out as a prefix (bin/, share/), so `tar -xzf … -C /usr/local --strip-components=1`
# installs it; then refreshes OUT_DIR/SHA256SUMS.
#   scripts/dist.sh BIN_DIR DOCS_DIR OUT_DIR
set -eu
cd "$(dirname "$0")/.."
[ $# -eq 3 ] || { echo "usage: $0 BIN_DIR DOCS_DIR OUT_DIR" >&2; exit 2; }
bin=$1 docs=$2 out=$3
version=$("$bin/helios" --version | cut -d' ' -f2)
name=helios-$version-linux-$(uname -m)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
work=.build/dist
rm -rf "$work"
mkdir -p "$work/$name" "$out"
./scripts/stage.sh "$work/$name" "" "$bin" "$docs"
install -m 0644 LICENSE "$work/$name/LICENSE"
# Reproducible: sorted, owned by root, dated by the commit, gzip without a timestamp (GZIP_LEVEL:
# 9 for a release, 1 under `make test`).
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -C "$work" -cf - "$name" | gzip -"${GZIP_LEVEL:-9}"n > "$out/$name.tar.gz"
echo "built $out/$name.tar.gz ($(du -k "$out/$name.tar.gz" | cut -f1) KiB)"
./scripts/checksums.sh "$out"
