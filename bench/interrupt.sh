#!/usr/bin/env bash
# How fast helios reacts to Ctrl-C (SIGINT) in each phase of a submit: the release binary against
# helios-emulator on loopback, RUNS times per phase, time from the signal to the process's exit.
# Target: within 0.5 s in every phase, except the create POST, which a first Ctrl-C waits out on
# purpose (so the run id is journaled); there a second Ctrl-C must take effect within 0.5 s.
# The signal goes to helios' pid only (`kill -INT`), like a shell's Ctrl-C minus the group.
# Usage: bench/interrupt.sh [BIN_DIR]   (BIN_DIR holds helios and helios-emulator; without it the
#        release build is made by lib.sh's build_release.  RUNS=5 bench/interrupt.sh DIR for a quicker look;
#        BENCH_DIR=DIR keeps the generated recordings between runs.)
set -euo pipefail
[ $# -lt 1 ] || BIN_DIR="$(cd "$1" && pwd)"
[ -n "${BENCH_DIR:-}" ] || scratch=1
. "$(dirname "$0")/lib.sh"
[ -n "${BIN_DIR:-}" ] || build_release
[ -x "$bin/helios" ] && [ -x "$bin/helios-emulator" ] || { echo "no helios/helios-emulator in $bin" >&2; exit 2; }
mkdir -p "$work"
runs="${RUNS:-10}"
key=bench-key
command -v sox >/dev/null || "$root/scripts/install-deps.sh" sox
command -v curl >/dev/null || "$root/scripts/install-deps.sh" curl

# Microseconds from bash's own clock: no fork between the signal and the timestamps.
now_us() { local t=$EPOCHREALTIME; echo "${t/[.,]/}"; }
maxof() { sort -n | tail -n1; }
# spread I LO HI: the I-th of $runs delays spread evenly over [LO, HI] seconds, plus 0-99 ms of
# jitter, so the signal lands at every point of helios' 50 ms (sleep) and 100 ms (transfer) polls
# rather than always the same one.
spread() {
    awk -v i="$1" -v n="$runs" -v lo="$2" -v hi="$3" -v j="$((RANDOM % 100))" \
        'BEGIN { printf "%.3f", ((n > 1) ? lo + (hi - lo) * (i - 1) / (n - 1) : lo) + j / 1000 }'
}

HP=""
cleanup() {
    [ -z "$HP" ] || { kill -KILL "$HP" 2>/dev/null || true; wait "$HP" 2>/dev/null || true; }
    stop_emulator
    # a scratch dir keeps only the per-trial lines: the recordings are ~350 MB
    [ -z "${scratch:-}" ] || rm -rf "$work/big.wav" "$work/one.flac" "$work/study" "$work"/state-*
}
trap cleanup EXIT

# Recordings (all pass the local check). The upload phase gets 170 s of 96 kHz stereo 32-bit
# (~130 MB); the check phase gets 300 distinct 42 s recordings (tiny gain steps, so no two
# are the same bytes), which takes several seconds to check.
sample="$root/samples/north-wind-and-the-sun.flac"
[ -s "$work/big.wav" ] || sox "$sample" -r 96000 -c 2 -b 32 "$work/big.wav" repeat 8 trim 0 170
if [ ! -s "$work/study/study.csv" ]; then
    echo "generating 300 recordings for the check phase" >&2
    mkdir -p "$work/study"
    for i in $(seq 1 300); do
        sox "$sample" "$work/study/r$i.flac" gain "-$(awk -v i="$i" 'BEGIN { printf "%.3f", i / 1000 }')" repeat 1
    done
    { echo "file,userLabel,dob,sex"
      for i in $(seq 1 300); do echo "r$i.flac,participant-$i,1990-08,female"; done
    } >"$work/study/study.csv.tmp"
    mv "$work/study/study.csv.tmp" "$work/study/study.csv"
fi

# start_helios ARGS...: helios submit in the background with a fresh state dir; sets HP, STATE.
trial_no=0
start_helios() {
    trial_no=$((trial_no + 1))
    STATE="$work/state-$trial_no"; rm -rf "$STATE"; mkdir -p "$STATE"
    HELIOS_STATE_DIR="$STATE" THYMIA_BASE_URL="$EMU_URL" THYMIA_API_KEY="$key" \
        "$bin/helios" submit "$@" --poll-interval 1s >"$STATE/out" 2>"$STATE/err" &
    HP=$!
}
journal_has() { grep -q "\"state\":\"$1\"" "$STATE/runs.jsonl" 2>/dev/null; }
# await_state STATE: until the journal has a line in that state (30 s at most); 1 if helios ended first
await_state() {
    local deadline=$(( $(now_us) + 30000000 ))
    until journal_has "$1"; do
        kill -0 "$HP" 2>/dev/null || return 1
        [ "$(now_us)" -lt "$deadline" ] || return 1
        sleep 0.005
    done
}
last_state() { tail -n1 "$STATE/runs.jsonl" 2>/dev/null | sed -n 's/.*"state":"\([^"]*\)".*/\1/p'; }
# finish: wait for helios; sets RC and EXIT_MS (from T_SIG, the last signal sent, to the exit)
finish() {
    RC=0; wait "$HP" || RC=$?
    local t1; t1=$(now_us)
    HP=""
    EXIT_MS=$(awk -v a="$T_SIG" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
}
sigint() { kill -INT "$HP"; T_SIG=$(now_us); }   # timestamp right after the kill() returns
record() {   # record PHASE DELAY_S NOTE: one line per trial to $work/trials.tsv
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$trial_no" "$2" "$EXIT_MS" "$RC" "$3" >>"$work/trials.tsv"
    printf '  %-10s trial %-3s signal after %6ss: exit %3s after %8s ms  %s\n' "$1" "$trial_no" "$2" "$RC" "$EXIT_MS" "$3" >&2
}
: >"$work/trials.tsv"; : >"$work/create1.left"
one="$work/one.flac"; cp "$sample" "$one"
person=(--dob 1990-08 --sex female)

# 1. The local check of a 300-row manifest: Ctrl-C 0.3-2.5 s in; nothing may reach the server.
echo "phase 1: local check" >&2
start_emulator --api-key "$key" --processing-time 30s
for i in $(seq 1 "$runs"); do
    d=$(spread "$i" 0.3 2.5)
    start_helios --manifest "$work/study/study.csv"
    sleep "$d"; sigint; finish
    note="in-check"; journal_has creating && note="MISSED(check was over)"
    record check "$d" "$note"
done
log=$(curl -sS "$EMU_URL/_emulator/log")
sent=$( (grep -o '"seq"' <<<"$log" || true) | wc -l | tr -d ' ')
[ "$sent" -eq 0 ] || echo "  the server saw: $log" >&2
echo "  requests the server saw in phase 1: $sent (expect 0)" >&2
stop_emulator

# 2. The create POST (answer 3 s late), one Ctrl-C: helios waits for the answer by design.
echo "phase 2: create, one Ctrl-C (slow:create:3s)" >&2
start_emulator --api-key "$key" --processing-time 30s --fault slow:create:3s
for i in $(seq 1 "$runs"); do
    d=$(spread "$i" 0.2 2.0)
    start_helios "$one" "${person[@]}"
    await_state creating || { echo "helios never got to creating" >&2; cat "$STATE/err" >&2; exit 1; }
    tc=$(now_us); sleep "$d"; sigint; finish
    # what was left of the 3 s delay when the signal came (the POST went out just after the line)
    left=$(awk -v a="$tc" -v s="$T_SIG" 'BEGIN { printf "%.0f", 3000 - (s - a) / 1000 }')
    note="remaining~${left}ms"
    if journal_has created && grep -q '"runId"' "$STATE/runs.jsonl"; then note="$note run-id-journaled"; else note="$note NO-RUN-ID"; fi
    record create1 "$d" "$note"
    echo "$EXIT_MS $left" >>"$work/create1.left"
done
stop_emulator

# 3. The create POST (answer 5 s late), two Ctrl-Cs 100 ms apart: time from the second.
echo "phase 3: create, two Ctrl-Cs (slow:create:5s)" >&2
start_emulator --api-key "$key" --processing-time 30s --fault slow:create:5s
for i in $(seq 1 "$runs"); do
    d=$(spread "$i" 0.2 3.0)
    start_helios "$one" "${person[@]}"
    await_state creating || { echo "helios never got to creating" >&2; cat "$STATE/err" >&2; exit 1; }
    sleep "$d"; sigint; sleep 0.1; sigint; finish
    record create2 "$d" "journal:$(last_state)"
done
stop_emulator

# 4. The upload of ~130 MB (0.7-1.5 s on loopback): Ctrl-C 0.05-0.45 s after `uploading`.
echo "phase 4: upload" >&2
start_emulator --api-key "$key" --processing-time 30s
for i in $(seq 1 "$runs"); do
    d=$(spread "$i" 0.05 0.45)
    start_helios "$work/big.wav" "${person[@]}"
    await_state uploading || { echo "helios never got to uploading" >&2; cat "$STATE/err" >&2; exit 1; }
    sleep "$d"; sigint; finish
    note="journal:$(last_state)"; journal_has uploaded && note="$note MISSED(upload was over)"
    record upload "$d" "$note"
done
stop_emulator

# 5. Waiting for the result (processing 30 s, polled every 1 s): Ctrl-C 0.1-1.9 s after `uploaded`.
echo "phase 5: waiting for the result" >&2
start_emulator --api-key "$key" --processing-time 30s
for i in $(seq 1 "$runs"); do
    d=$(spread "$i" 0.1 1.9)
    start_helios "$one" "${person[@]}"
    await_state uploaded || { echo "helios never got to uploaded" >&2; cat "$STATE/err" >&2; exit 1; }
    sleep "$d"; sigint; finish
    record wait "$d" "journal:$(last_state)"
done
stop_emulator

# 6. A slow GET while waiting (each answered 5 s late; the first goes out one poll interval after
#    the upload). -v makes helios log `> GET` as the request goes out: Ctrl-C 0.2-3.5 s after that.
echo "phase 6: slow GET while waiting (slow:get:5s)" >&2
start_emulator --api-key "$key" --processing-time 30s --fault slow:get:5s
for i in $(seq 1 "$runs"); do
    d=$(spread "$i" 0.2 3.5)
    start_helios "$one" "${person[@]}" -v
    await_state uploaded || { echo "helios never got to uploaded" >&2; cat "$STATE/err" >&2; exit 1; }
    until grep -q '^> GET' "$STATE/err"; do kill -0 "$HP" 2>/dev/null || break; sleep 0.005; done
    sleep "$d"; sigint; finish
    note="journal:$(last_state)"
    grep -q '^! aborted' "$STATE/err" && note="$note GET-aborted" || note="$note MISSED(no GET in flight)"
    record slow-get "$d" "$note"
done
stop_emulator

# The table.
echo
printf '%s, %s trials per phase; time from SIGINT (the 2nd one in create x2) to exit\n' \
    "$("$bin/helios" --version 2>/dev/null | head -n1)" "$runs"
printf '%-34s %10s %10s  %-14s %-8s %s\n' phase "median ms" "max ms" "exit codes" "in phase" "target (median/max over the trials in phase)"
row() {   # row KEY LABEL TARGET_KIND
    local rows med max codes hit met
    rows=$(awk -F'\t' -v k="$1" '$1 == k' "$work/trials.tsv")
    codes=$(cut -f5 <<<"$rows" | sort -n | uniq -c | awk '{printf "%s%sx%s", (NR > 1 ? "," : ""), $2, $1}')
    hit=$(grep -vc MISSED <<<"$rows" || true); hit="$hit/$(wc -l <<<"$rows" | tr -d ' ')"
    rows=$(grep -v MISSED <<<"$rows" || true)   # times only from trials that hit the phase
    [ -n "$rows" ] || { printf '%-34s no trial hit the phase\n' "$2"; return; }
    med=$(cut -f4 <<<"$rows" | median); max=$(cut -f4 <<<"$rows" | maxof)
    if [ "$3" = waits ]; then
        # the first Ctrl-C waits out the create: compare with what was left of the 3 s delay
        over=$(awk '{d = $1 - $2; if (NR == 1 || d > m) m = d} END { printf "%.0f", m }' "$work/create1.left")
        met="waits by design; worst overrun past the delay ${over} ms"
        grep -q NO-RUN-ID <<<"$rows" && met="$met; a run id NOT journaled"
    else
        met=$(awk -v m="$max" 'BEGIN { print (m <= 500 ? "met (<= 500 ms)" : "MISSED (> 500 ms)") }')
    fi
    grep -qv $'\t130\t' <<<"$rows" && met="$met; exit not always 130"
    printf '%-34s %10s %10s  %-14s %-8s %s\n' "$2" "$med" "$max" "$codes" "$hit" "$met"
}
row check    "1 local check (300-row manifest)" le
row create1  "2 create, one Ctrl-C (3 s slow)" waits
row create2  "3 create, 2nd Ctrl-C (5 s slow)" le
row upload   "4 upload (~130 MB)" le
row wait     "5 waiting for the result" le
row slow-get "6 slow GET while waiting (5 s)" le
printf 'requests sent during phase 1 (local check): %s (expect 0)\n' "$sent"
printf 'per-trial lines: %s/trials.tsv (phase, trial, signal delay s, ms to exit, exit code, note)\n' "$work"
