#!/bin/sh
# Writes OUT_DIR/SHA256SUMS for the release artifacts there (tarball and .deb); check them with
# `sha256sum -c SHA256SUMS`.
set -eu
cd "$1"
set -- $(ls helios-*.tar.gz helios_*.deb 2>/dev/null | LC_ALL=C sort)
sha256sum "$@" > SHA256SUMS
echo "wrote $(pwd)/SHA256SUMS ($# files)"
