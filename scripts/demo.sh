#!/bin/sh
# `make demo`: the bundled sample recordings through the real binary.
set -eu
bin="$1"
cd "$(dirname "$0")/.."
echo "\$ helios validate samples/*" >&2
status=0
"$bin/helios" validate samples/*.flac samples/*.wav || status=$?
echo "(exit status $status: 0 when every file passes, 3 when any is rejected)" >&2
