#!/usr/bin/env bash
# Times `helios validate` against ffprobe and an ffmpeg decode pass (silencedetect) on 3-minute
# recordings, and shows helios' peak memory stays flat on a much larger file.
# Usage: bench/validate.sh [runs]   (needs swift, ffmpeg, ffprobe, sox, hyperfine, python3, /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-20}"
WORK="${BENCH_DIR:-.build/bench}"
mkdir -p "$WORK"

swift build -c release --static-swift-stdlib --product helios >&2   # as `make build`
BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)"
HELIOS=("$BIN/helios" validate --json)

# Speech-like test signal: pink noise with a 4 Hz syllable-rate tremolo.
make_once() { [ -s "$1" ] || { echo "generating $1" >&2; shift; "$@"; }; }
SYNTH=(synth 180 pinknoise tremolo 4 90 gain -6)
make_once "$WORK/3min-48k-stereo.wav" sox -n -r 48000 -c 2 -b 16 "$WORK/3min-48k-stereo.wav" "${SYNTH[@]}"
make_once "$WORK/3min-48k-stereo.flac" sox "$WORK/3min-48k-stereo.wav" "$WORK/3min-48k-stereo.flac"
make_once "$WORK/3min-44k-stereo.mp3" ffmpeg -v error -y -i "$WORK/3min-48k-stereo.wav" -ar 44100 -c:a libmp3lame -b:a 128k "$WORK/3min-44k-stereo.mp3"
make_once "$WORK/60min-48k-stereo.wav" sox -n -r 48000 -c 2 -b 16 "$WORK/60min-48k-stereo.wav" synth 3600 pinknoise tremolo 4 90 gain -6
make_once "$WORK/60min-44k-stereo.mp3" ffmpeg -v error -y -i "$WORK/60min-48k-stereo.wav" -ar 44100 -c:a libmp3lame -b:a 128k "$WORK/60min-44k-stereo.mp3"

FILES=("$WORK/3min-48k-stereo.wav" "$WORK/3min-48k-stereo.flac" "$WORK/3min-44k-stereo.mp3")
for f in "${FILES[@]}"; do
    name="$(basename "$f")"
    # helios exits 3 for a rejected file; the timing is what matters here.
    hyperfine -N --warmup 3 --runs "$RUNS" -i --style none --export-json "$WORK/$name.json" \
        -n helios "${HELIOS[*]} $f" \
        -n ffprobe "ffprobe -v error -show_entries format=duration $f" \
        -n silencedetect "ffmpeg -v error -i $f -af silencedetect -f null -" >/dev/null
done

python3 - "$WORK" "${FILES[@]}" <<'PY'
import json, os, sys
work, files = sys.argv[1], sys.argv[2:]
print(f"{'file':<24}{'helios ms':>11}{'ffprobe ms':>12}{'decode ms':>11}{'ffprobe/helios':>16}{'decode/helios':>15}")
for f in files:
    r = {x["command"]: x["median"] * 1000 for x in json.load(open(os.path.join(work, os.path.basename(f) + ".json")))["results"]}
    h, p, d = r["helios"], r["ffprobe"], r["silencedetect"]
    print(f"{os.path.basename(f):<24}{h:>11.1f}{p:>12.1f}{d:>11.1f}{p/h:>15.1f}x{d/h:>14.1f}x")
PY

echo
echo "peak RSS of helios (constant memory: the 60-minute files should not need more):"
for f in "$WORK/3min-48k-stereo.wav" "$WORK/60min-48k-stereo.wav" "$WORK/3min-44k-stereo.mp3" "$WORK/60min-44k-stereo.mp3"; do
    rss=$( { /usr/bin/time -v "${HELIOS[@]}" "$f" >/dev/null || true; } 2>&1 | awk -F': ' '/Maximum resident/ {print $2}')
    printf '%-24s %8s MB file  %8s KB peak RSS\n' "$(basename "$f")" "$(( $(stat -c %s "$f") / 1048576 ))" "$rss"
done
