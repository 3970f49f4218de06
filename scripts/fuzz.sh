#!/bin/sh
# `make fuzz`: builds helios-fuzz with libFuzzer and AddressSanitizer, then runs every target
# (or those named in FUZZ_TARGETS) for FUZZ_SECONDS each, one after another. Corpora live in
# .build/fuzz/corpus/TARGET and grow from run to run; they start from the fixtures, the seeds
# in Fuzz/seeds and the regression inputs. A crashing input is copied to
# Tests/Fixtures/fuzz-regressions/TARGET/, which the unit tests replay (FuzzRegressionTests),
# and the script fails. A stats line per target goes to .build/fuzz/TARGET.stats.
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-"sniff mp4 webm mp3 ogg manifest-csv manifest-jsonl api journal"}
SCRATCH=.build/fuzz
SWIFT=${SWIFT:-swift}

$SWIFT build --product helios-fuzz --scratch-path "$SCRATCH" -c debug \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DHELIOS_FUZZ -Xswiftc -parse-as-library >/dev/null
BIN="$SCRATCH/debug/helios-fuzz"

seed() {  # seed TARGET FILE...: copies seeds into the target's corpus
    target=$1; shift
    mkdir -p "$SCRATCH/corpus/$target"
    for f in "$@"; do [ -f "$f" ] && cp "$f" "$SCRATCH/corpus/$target/" || true; done
}

generated="$SCRATCH/generated"
mkdir -p "$generated"
if command -v sox >/dev/null 2>&1; then
    sox -n -r 16000 -c 1 "$generated/tone.wav" synth 1 sine 300 2>/dev/null || true
    sox -n -r 16000 -c 2 "$generated/tone.flac" synth 1 sine 300 2>/dev/null || true
    sox -n -r 16000 -c 1 "$generated/tone.ogg" synth 1 sine 300 2>/dev/null || true
fi
if command -v ffmpeg >/dev/null 2>&1; then
    # Ogg Opus: one mono and one stereo second, small pages so packets and pages both vary.
    ffmpeg -nostdin -v error -y -f lavfi -i "sine=f=300:d=1" -c:a libopus -b:a 24k -page_duration 100000 "$generated/tone.opus" || true
    ffmpeg -nostdin -v error -y -f lavfi -i "sine=f=200:d=1" -ac 2 -c:a libopus -b:a 32k "$generated/tone-stereo.opus" || true
fi

failed=""
for target in $TARGETS; do
    dict=""
    case $target in
        sniff) seed sniff Tests/Fixtures/*.mp4 Tests/Fixtures/*.m4a Tests/Fixtures/*.webm Tests/Fixtures/*.mp3 "$generated"/* ;;
        mp4) seed mp4 Tests/Fixtures/*.mp4 Tests/Fixtures/*.m4a; dict=Fuzz/dict/mp4.dict ;;
        webm) seed webm Tests/Fixtures/*.webm; dict=Fuzz/dict/ebml.dict ;;
        mp3) seed mp3 Tests/Fixtures/*.mp3 ;;
        ogg) seed ogg "$generated"/*.opus ;;
        manifest-csv) seed manifest-csv Fuzz/seeds/manifest-csv/*; dict=Fuzz/dict/json.dict ;;
        manifest-jsonl) seed manifest-jsonl Fuzz/seeds/manifest-jsonl/*; dict=Fuzz/dict/json.dict ;;
        api) seed api Fuzz/seeds/api/*; dict=Fuzz/dict/json.dict ;;
        journal) seed journal Fuzz/seeds/journal/*; dict=Fuzz/dict/json.dict ;;
        *) echo "unknown fuzz target $target" >&2; exit 2 ;;
    esac
    seed "$target" Tests/Fixtures/fuzz-regressions/"$target"/*
    mkdir -p "$SCRATCH/crashes"
    log="$SCRATCH/$target.log"
    echo "fuzzing $target for ${SECONDS_EACH}s" >&2
    status=0
    HELIOS_FUZZ_TARGET=$target SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$BIN" \
        -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$SCRATCH/crashes/$target-" ${dict:+-dict=$dict} \
        "$SCRATCH/corpus/$target" >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*\(cov: [0-9]* ft: [0-9]* corp: [^ ]*\).*/\1/p')
    line="$target: ${execs:-?} execs, ${rate:-?} exec/s, $last, exit $status"
    echo "$line" | tee "$SCRATCH/$target.stats" >&2
    if [ "$status" -ne 0 ]; then
        failed="$failed $target"
        mkdir -p "Tests/Fixtures/fuzz-regressions/$target"
        for crash in "$SCRATCH/crashes/$target-"*; do
            [ -f "$crash" ] && cp "$crash" "Tests/Fixtures/fuzz-regressions/$target/" && echo "  kept $crash" >&2
        done
        tail -40 "$log" >&2
    fi
done
if [ -n "$failed" ]; then
    echo "fuzzing found crashes in:$failed (inputs kept under Tests/Fixtures/fuzz-regressions/)" >&2
    exit 1
fi
