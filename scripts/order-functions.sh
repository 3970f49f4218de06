#!/bin/sh
# Regenerates scripts/helios.order, the list of functions helios runs in its everyday commands.
# lld places them first in .text (Package.swift passes it as --symbol-ordering-file), so the code a
# command touches sits in a few 64 KiB fault-around windows instead of being spread over 9 MB: about
# 1 MB less resident memory per command. A stale list is harmless (unknown names are skipped, new
# functions land where they would anyway); rerun this after larger changes. Needs valgrind.
set -eu
cd "$(dirname "$0")/.."
release="-c release --static-swift-stdlib"
swift build $release --product helios >/dev/null
swift build $release --product helios-emulator >/dev/null
bin="$(swift build $release --show-bin-path)"
work="$(mktemp -d /tmp/helios-order.XXXXXX)"
"$bin/helios-emulator" --port 0 --api-key order-key --processing-time 3s >"$work/url" 2>"$work/emulator.log" &
emulator=$!
trap 'kill $emulator 2>/dev/null; wait $emulator 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do [ -s "$work/url" ] && break; sleep 0.05; done
url="$(head -n1 "$work/url")"
[ -n "$url" ] || { echo "the emulator did not start" >&2; exit 1; }
export THYMIA_BASE_URL="$url" THYMIA_API_KEY=order-key HELIOS_STATE_DIR="$work/state"

upload_url() {
    curl -sS -H 'x-api-key: order-key' -H 'Content-Type: application/json' \
        -d '{"user":{"userLabel":"order","dateOfBirth":"1990-01-01","birthSex":"UNKNOWN"},"language":"en-GB"}' \
        "$url/v1/models/mental-wellness" | sed -n 's/.*"recordingUploadUrl" *: *"\([^"]*\)".*/\1/p'
}
n=0
trace() {
    n=$((n + 1))
    valgrind -q --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.$n" "$bin/helios" "$@" >/dev/null 2>&1 || true
}
speech=samples/north-wind-and-the-sun.flac
trace --version
trace help
trace help submit
trace validate "$speech" samples/too-short.flac
trace validate --json "$speech"
trace upload "$speech" --url "$(upload_url)" -q
trace submit "$speech" --dob 1990-01-01 --sex UNKNOWN --poll-interval 1s
trace submit --json "$speech" --dob 1990-01-01 --sex UNKNOWN --poll-interval 1s
trace runs

# Every function callgrind saw executing inside the helios binary, by its symbol name.
python3 - "$bin/helios" "$work"/cg.* >scripts/helios.order <<'EOF'
import os, re, sys
binary, files = os.path.realpath(sys.argv[1]), sys.argv[2:]
seen = set()
for path in files:
    objects, names, current = {}, {}, None
    for line in open(path, errors="replace"):
        m = re.match(r"(c?ob|c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if not m:
            continue
        kind, index, name = m.groups()
        table = objects if kind.endswith("ob") else names
        if name:
            table[index] = name
        if kind == "ob":
            current = objects.get(index)
        elif kind == "fn" and current and os.path.realpath(current) == binary and names.get(index):
            seen.add(re.sub(r"'\d+$", "", names[index]))
for name in sorted(seen):
    if not name.startswith("0x") and not name.startswith("("):
        print(name)
EOF
echo "scripts/helios.order: $(wc -l <scripts/helios.order) functions" >&2
# SwiftPM does not track the list as a link input: make the next build relink helios.
rm -f "$bin/helios"
