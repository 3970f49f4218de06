#!/usr/bin/env bash
# The journal at scale (issue 12): `helios runs` on a journal of RUNS runs (default 100,000),
# each journaled as helios journals a finished run (creating, created, uploading, uploaded,
# finished with the API's run object and its scores; every 20th still running): about 2.8 KB of
# lines per run, as a real submit writes (3.2 KB against the emulator). Prints
# wall time and peak RSS of `runs` (text table), `runs --json`, `runs --pending`, `runs --user`,
# then `runs --compact` and `runs` again on the compacted journal. Each figure is the fastest of
# REPEAT (3) runs, with the median and the CPU time of the last.
# Usage: bench/journal.sh [HELIOS_BIN]   (needs python3 and /usr/bin/time; RUNS=N to change the size)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-100000}"
WORK="${BENCH_DIR:-.build/bench}/journal"
if [ -n "${1:-}" ]; then BIN="$1"; else
    swift build -c release --static-swift-stdlib --product helios >&2
    BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/helios"
fi
rm -rf "$WORK"; mkdir -p "$WORK/state"
python3 - "$WORK/state/runs.jsonl" "$RUNS" <<'PY'
import json, sys, uuid, random
path, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
scores = ["mentalStrain", "distress", "stress", "exhaustion", "sleepPropensity", "lowSelfEsteem",
          "uniformDistress", "uniformStress", "uniformExhaustion", "uniformSleepPropensity", "uniformLowSelfEsteem"]
with open(path, "w") as f:
    for i in range(n):
        intent, run = str(uuid.UUID(int=random.getrandbits(128))), str(uuid.UUID(int=random.getrandbits(128)))
        base = {"baseURL": "https://api.thymia.ai", "bytes": 1105978, "contentType": "audio/wav", "file": f"/data/study/p{i:06d}.wav",
                "intent": intent, "line": i + 2, "requestDigest": "%064x" % random.getrandbits(256), "sha256": "%064x" % random.getrandbits(256),
                "time": "2026-%02d-%02dT%02d:%02d:00Z" % (1 + i % 12, 1 + i % 28, i % 24, i % 60), "userLabel": f"p{i:06d}"}
        lines = [dict(base, state="creating"), dict(base, runId=run, state="created", uploadURLExpiresAt="2026-12-01T10:00:00Z"),
                 dict(base, runId=run, state="uploading", uploadURLExpiresAt="2026-12-01T10:00:00Z"),
                 dict(base, runId=run, state="uploaded")]
        status = "COMPLETE_OK" if i % 20 else "RUNNING"
        if status == "COMPLETE_OK":
            section = {k: {"value": round(random.random(), 2)} for k in scores}
            section["transcript"] = "The North Wind and the Sun were disputing which was the stronger."
            lines.append(dict(base, runId=run, state="finished", apiStatus=status,
                              run={"id": run, "status": status, "userLabel": base["userLabel"], "createdAt": "2026-12-01T09:00:00+00:00",
                                   "completedAt": "2026-12-01T09:01:00+00:00", "results": {"sections": [section]}}))
        for l in lines:
            f.write(json.dumps(l, sort_keys=True, separators=(",", ":")) + "\n")
PY
# The journal just written is still being flushed to disk: the first command would pay for it.
sync
SIZE=$(du -m "$WORK/state/runs.jsonl" | cut -f1)
echo "journal: $RUNS runs, $(wc -l < "$WORK/state/runs.jsonl") lines, ${SIZE} MB (each figure: the fastest of ${REPEAT:=3} runs, and the median)"
run() {  # run LABEL ARGS...: wall time (fastest and median of REPEAT), CPU and peak RSS of one helios invocation
    local label=$1; shift
    local walls=() secs cpu kb
    for _ in $(seq 1 "$REPEAT"); do
        /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" env -i HOME=/tmp HELIOS_STATE_DIR="$WORK/state" "$BIN" "$@" > "$WORK/out" 2> "$WORK/err" || true
        read -r secs user sys kb < <(tail -n 1 "$WORK/time")
        walls+=("$secs")
        cpu=$(awk "BEGIN { print $user + $sys }")
    done
    read -r best median < <(printf '%s\n' "${walls[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[1], a[int((NR + 1) / 2)] }')
    printf '  %-28s %6.2f s (median %5.2f)  %5.2f s CPU  %5d MB peak RSS  %8d lines out\n' "$label" "$best" "$median" "$cpu" "$((kb / 1024))" "$(wc -l < "$WORK/out")"
}
run "runs" runs
run "runs --json" runs --json
run "runs --format csv" runs --format csv
run "runs --pending" runs --pending
run "runs --user p050000" runs --user p050000
REPEAT=1 run "runs --compact" runs --compact --pending
echo "compacted: $(du -m "$WORK/state/runs.jsonl" | cut -f1) MB, $(wc -l < "$WORK/state/runs.jsonl") lines"
run "runs (compacted)" runs
