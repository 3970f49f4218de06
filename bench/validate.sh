#!/usr/bin/env bash
# Times `helios validate` (the full local check: probe, tail check and the speech estimate's
# decode pass) against ffprobe and an ffmpeg decode pass (`-af silencedetect`) on the same
# 3-minute recordings in one run, and shows helios' peak memory stays flat on 60-minute files.
# Usage: bench/validate.sh [runs]   (needs swift, espeak-ng, ffmpeg, ffprobe, sox, hyperfine, python3, /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-20}"
WORK="${BENCH_DIR:-.build/bench}"
mkdir -p "$WORK"

swift build -c release --static-swift-stdlib --product helios >&2   # as `make build`
BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)"
HELIOS=("$BIN/helios" validate --json)

# Speech: espeak-ng reading the bundled sample's text, repeated to length, under quiet pink noise
# (-40 dBFS), so the speech pass works on what it is for.
make_once() { [ -s "$1" ] || { echo "generating $1" >&2; shift; "$@"; }; }
speech() {  # speech SECONDS OUT
    local one="$WORK/speech-once.wav" noise="$WORK/noise-$1.wav"
    [ -s "$one" ] || espeak-ng -v en -s 160 -f samples/north-wind-and-the-sun.txt -w "$one"
    sox "$one" -r 48000 -c 2 "$WORK/speech-loop.wav" pad 0 1 repeat $(( $1 / 20 + 1 ))
    sox -n -r 48000 -c 2 -b 16 "$noise" synth "$1" pinknoise gain -40
    sox -m "$WORK/speech-loop.wav" "$noise" -b 16 "$2" trim 0 "$1"
    rm -f "$noise" "$WORK/speech-loop.wav"
}
make_once "$WORK/3min-48k-stereo-speech.wav" speech 180 "$WORK/3min-48k-stereo-speech.wav"
make_once "$WORK/3min-48k-stereo-speech.flac" sox "$WORK/3min-48k-stereo-speech.wav" "$WORK/3min-48k-stereo-speech.flac"
make_once "$WORK/3min-44k-stereo-speech.mp3" ffmpeg -v error -y -i "$WORK/3min-48k-stereo-speech.wav" -ar 44100 -c:a libmp3lame -b:a 128k "$WORK/3min-44k-stereo-speech.mp3"
make_once "$WORK/60min-48k-stereo-speech.wav" speech 3600 "$WORK/60min-48k-stereo-speech.wav"
make_once "$WORK/60min-44k-stereo-speech.mp3" ffmpeg -v error -y -i "$WORK/60min-48k-stereo-speech.wav" -ar 44100 -c:a libmp3lame -b:a 128k "$WORK/60min-44k-stereo-speech.mp3"

FILES=("$WORK/3min-48k-stereo-speech.wav" "$WORK/3min-48k-stereo-speech.flac" "$WORK/3min-44k-stereo-speech.mp3")
echo "what helios measures:" >&2
for f in "${FILES[@]}"; do "$BIN/helios" validate "$f" >&2 || true; done
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
print(f"{'file':<31}{'helios ms':>11}{'ffprobe ms':>12}{'decode ms':>11}{'ffprobe/helios':>16}{'decode/helios':>15}")
for f in files:
    r = {x["command"]: x["median"] * 1000 for x in json.load(open(os.path.join(work, os.path.basename(f) + ".json")))["results"]}
    h, p, d = r["helios"], r["ffprobe"], r["silencedetect"]
    print(f"{os.path.basename(f):<31}{h:>11.1f}{p:>12.1f}{d:>11.1f}{p/h:>15.1f}x{d/h:>14.1f}x")
PY

echo
echo "peak RSS of helios (constant memory: the 60-minute files should not need more):"
for f in "$WORK/3min-48k-stereo-speech.wav" "$WORK/60min-48k-stereo-speech.wav" "$WORK/3min-44k-stereo-speech.mp3" "$WORK/60min-44k-stereo-speech.mp3"; do
    start=$(date +%s%N)
    rss=$( { /usr/bin/time -v "${HELIOS[@]}" "$f" >/dev/null || true; } 2>&1 | awk -F': ' '/Maximum resident/ {print $2}')
    printf '%-31s %8s MB file  %8s KB peak RSS  %6s ms\n' "$(basename "$f")" "$(( $(stat -c %s "$f") / 1048576 ))" "$rss" "$(( ($(date +%s%N) - start) / 1000000 ))"
done
