#!/bin/sh
# A batch of N recordings (default 200) against the emulator with a 3 s processing time, at
# concurrency 1, 4 and 16, in one run: wall time, requests per run, helios' peak RSS.
# Usage: bench/batch.sh   (N=50 LEVELS="4 16" bench/batch.sh for a quicker look)
. "$(dirname "$0")/lib.sh"
n="${N:-200}"
levels="${LEVELS:-1 4 16}"
interval=3
processing=3
[ -x /usr/bin/time ] || "$root/scripts/install-deps.sh" time
build_release
start_emulator --api-key bench-key --processing-time "${processing}s"
trap stop_emulator EXIT

# One speech recording linked under N names (helios sends each file once per command), N rows:
# every row is its own person (label), so every row is a run.
cp "$root/samples/north-wind-and-the-sun.flac" "$work/speech.flac"
mkdir -p "$work/rec"
{
    echo "file,userLabel,dob,sex"
    i=1
    while [ "$i" -le "$n" ]; do ln -f "$work/speech.flac" "$work/rec/b$i.flac"; echo "rec/b$i.flac,bench-$i,1990-01,UNKNOWN"; i=$((i + 1)); done
} >"$work/batch.csv"

printf 'N=%s recordings, processing %ss, poll interval %ss\n' "$n" "$processing" "$interval"
printf '%-12s %10s %10s %14s %14s %12s\n' concurrency "wall s" "s/run" "ideal s" "wall/ideal" "peak RSS"
single=""
for c in $levels; do
    state="$work/state-$c"; rm -rf "$state"; mkdir -p "$state"
    before=$(curl -sS "$EMU_URL/_emulator/log" | grep -o '"seq"' | wc -l)
    t0=$(now_ns)
    rss=$(HELIOS_STATE_DIR="$state" THYMIA_BASE_URL="$EMU_URL" THYMIA_API_KEY=bench-key \
        /usr/bin/time -v "$bin/helios" submit --manifest "$work/batch.csv" --concurrency "$c" \
        --poll-interval "${interval}s" --json -q 2>&1 >"$work/out-$c.jsonl" | awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}')
    wall=$(( $(now_ns) - t0 ))
    after=$(curl -sS "$EMU_URL/_emulator/log" | grep -o '"seq"' | wc -l)
    ok=$(grep -c '"COMPLETE_OK"' "$work/out-$c.jsonl" || true)
    [ "$ok" -eq "$n" ] || echo "warning: only $ok of $n runs COMPLETE_OK at concurrency $c" >&2
    perrun=$(awk -v w="$wall" -v n="$n" 'BEGIN { printf "%.2f", w / 1e9 / n * 1 }')
    [ -n "$single" ] || single=$(awk -v w="$wall" -v n="$n" -v c="$c" 'BEGIN { print w / 1e9 / n * c }')
    ideal=$(awk -v s="$single" -v n="$n" -v c="$c" 'BEGIN { printf "%.1f", n / c * s }')
    ratio=$(awk -v w="$wall" -v i="$ideal" 'BEGIN { printf "%.2f", w / 1e9 / i }')
    printf '%-12s %10s %10s %14s %14s %9s KiB\n' "$c" "$(awk -v w="$wall" 'BEGIN { printf "%.1f", w / 1e9 }')" "$perrun" "$ideal" "$ratio" "$rss"
    reqs=$(( after - before ))
    printf '%-12s requests per run: %s (budget: create + upload + ceil(%s/%s) + 1 = 4)\n' "" \
        "$(awk -v r="$reqs" -v n="$n" 'BEGIN { printf "%.2f", r / n }')" "$processing" "$interval"
done
echo "(ideal = N / concurrency x one run's time, taken from the first level's wall time x its concurrency)"
