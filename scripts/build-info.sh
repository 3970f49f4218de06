#!/bin/sh
# Writes Sources/CBuildInfo/build_info_generated.h (git-ignored): the commit, the build date and
# the Swift compiler that `helios version --verbose` reports. Rewritten only when they change, so
# an unchanged tree does not rebuild. The date is SOURCE_DATE_EPOCH's when set (reproducible
# builds, as Debian's tools set it), else today's, in UTC.
set -eu
cd "$(dirname "$0")/.."
out=Sources/CBuildInfo/build_info_generated.h
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit-dirty"; fi
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
else
    date=$(date -u +%Y-%m-%d)
fi
swift=$(${SWIFT:-swift} --version 2>/dev/null | sed -n 's/.*\(Swift version [^ ]*\).*/\1/p' | head -n 1)
esc() { printf '%s' "$1" | sed 's/[\\"]/\\&/g'; }
new=$(printf '/* Written by scripts/build-info.sh; not in git. */\n#define HELIOS_BUILD_COMMIT "%s"\n#define HELIOS_BUILD_DATE "%s"\n#define HELIOS_BUILD_SWIFT "%s"\n' \
    "$(esc "$commit")" "$(esc "$date")" "$(esc "${swift:-unknown}")")
if [ ! -f "$out" ] || [ "$(cat "$out")" != "$new" ]; then
    printf '%s\n' "$new" > "$out"
    # A build that ran before the header existed has no dependency on it: touch the source.
    touch Sources/CBuildInfo/build_info.c
fi
