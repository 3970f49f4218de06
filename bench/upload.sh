#!/bin/sh
# helios upload --url vs curl -T: the same file to the same emulator, alternating, several runs.
# Prints both medians, the ratio, helios' peak RSS for a 40 MB and a 400 MB file, and start-up time.
. "$(dirname "$0")/lib.sh"
runs="${RUNS:-7}"
command -v sox >/dev/null || "$root/scripts/install-deps.sh" sox
[ -x /usr/bin/time ] || "$root/scripts/install-deps.sh" time
build_release
# The bundled 21 s of speech, repeated (a sine wave is now refused as NO_SPEECH before sending).
# 40 MB: 105 s of 96 kHz stereo 16-bit; 400 MB: 168 s of 192 kHz 6-channel (both under 3 minutes).
speech="$root/samples/north-wind-and-the-sun.flac"
[ -f "$work/40mb.wav" ] || sox "$speech" -r 96000 -c 2 -b 16 "$work/40mb.wav" repeat 4
[ -f "$work/400mb.wav" ] || sox "$speech" -r 192000 -c 6 -b 16 "$work/400mb.wav" repeat 7
start_emulator --api-key bench-key
trap stop_emulator EXIT

upload_url() {
    curl -sS -H 'x-api-key: bench-key' -H 'Content-Type: application/json' \
        -d '{"user":{"userLabel":"bench","dateOfBirth":"1990-01-01","birthSex":"UNKNOWN"},"language":"en-GB"}' \
        "$EMU_URL/v1/models/mental-wellness" | sed -n 's/.*"recordingUploadUrl" *: *"\([^"]*\)".*/\1/p'
}

: >"$work/helios.ns"; : >"$work/curl.ns"
for i in $(seq 1 "$runs"); do
    url=$(upload_url); t0=$(now_ns)
    "$bin/helios" upload "$work/40mb.wav" --url "$url" -q
    echo $(( $(now_ns) - t0 )) >>"$work/helios.ns"
    url=$(upload_url); t0=$(now_ns)
    curl -sS -o /dev/null -H 'Expect:' -T "$work/40mb.wav" "$url"
    echo $(( $(now_ns) - t0 )) >>"$work/curl.ns"
done
h=$(median <"$work/helios.ns"); c=$(median <"$work/curl.ns")
url=$(upload_url); rss40=$(peak_rss_kb "$bin/helios" upload "$work/40mb.wav" --url "$url" -q)
url=$(upload_url); rss400=$(peak_rss_kb "$bin/helios" upload "$work/400mb.wav" --url "$url" -q)

printf '40 MB upload to the emulator, median of %s alternating runs\n' "$runs"
printf '  helios upload --url  %8s ms\n' "$(ms "$h")"
printf '  curl -T              %8s ms\n' "$(ms "$c")"
printf '  ratio helios/curl    %8s   (target <= 1.10)\n' "$(ratio "$h" "$c")"
printf 'helios peak RSS: 40 MB file %s KiB, 400 MB file %s KiB   (target < 20480 KiB)\n' "$rss40" "$rss400"

: >"$work/hv.ns"; : >"$work/cv.ns"
for i in $(seq 1 20); do
    t0=$(now_ns); "$bin/helios" --version >/dev/null; echo $(( $(now_ns) - t0 )) >>"$work/hv.ns"
    t0=$(now_ns); curl --version >/dev/null; echo $(( $(now_ns) - t0 )) >>"$work/cv.ns"
done
printf 'start-up, median of 20: helios --version %s ms, curl --version %s ms\n' \
    "$(ms "$(median <"$work/hv.ns")")" "$(ms "$(median <"$work/cv.ns")")"
