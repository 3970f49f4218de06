#!/bin/sh
# `make demo`: start the local emulator, check and submit the bundled sample through the real
# binary, print the scores, stop the emulator. Nothing leaves this machine.
set -eu
bin="$1"
cd "$(dirname "$0")/.."
state="$(mktemp -d /tmp/helios-demo.XXXXXX)"
"$bin/helios-emulator" --port 0 --api-key demo-key --processing-time 2s >"$state/url" 2>"$state/emulator.log" &
emulator=$!
trap 'kill $emulator 2>/dev/null; wait $emulator 2>/dev/null; rm -rf "$state"' EXIT
for _ in $(seq 1 100); do [ -s "$state/url" ] && break; sleep 0.05; done
url="$(head -n1 "$state/url")"
[ -n "$url" ] || { echo "the emulator did not start:" >&2; cat "$state/emulator.log" >&2; exit 1; }

export THYMIA_BASE_URL="$url" THYMIA_API_KEY=demo-key HELIOS_STATE_DIR="$state"
echo "\$ helios validate samples/*   (local check: no key, no network)" >&2
"$bin/helios" validate samples/north-wind-and-the-sun.flac samples/too-short.flac || true
echo >&2
echo "\$ helios submit samples/north-wind-and-the-sun.flac --dob 1990-08 --sex FEMALE   (against the emulator at $url)" >&2
"$bin/helios" submit samples/north-wind-and-the-sun.flac --dob 1990-08 --sex FEMALE --poll-interval 1s
echo "\$ helios runs" >&2
"$bin/helios" runs
