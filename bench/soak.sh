#!/usr/bin/env bash
# Kill-and-resume soak: TRIALS (default 200) randomized trials of the real helios against a fresh
# helios-emulator each. A trial starts a submit (a manifest of 1-5 rows, or 1-4 files on the
# command line), sends it SIGINT, SIGTERM, SIGKILL or two SIGINTs 0-3 s in, then resumes it (the
# `resume with:` hint when helios printed one, else the canonical resume command) until it exits
# 0, at most 4 times; one trial in four also has its first resume killed. Then the emulator's
# runs are held against the journal. It checks helios' promise: never lose a paid run, never pay
# twice for one recording.
#   runs lost             an emulator run whose id is in no journal line, not explained by an
#                         unconfirmed create (a journal intent without run id, same user label)
#   recordings paid twice a recording (sha256) stored under more than one run
#   rows with two runs    a row (recording) with more than one emulator run; "explained" when at
#                         most one of them is known to the journal by id (the others are the
#                         unconfirmed creates' runs, which thymia gives no way to name)
#   unconfirmed creates   journal intents without a run id that are not abandoned
#   not completed         the last resume did not exit 0, or a row has no COMPLETE_OK run
# Exit 1 if a run was lost, a recording paid twice or a trial not completed.
# Usage: bench/soak.sh BIN_DIR   (BIN_DIR holds helios and helios-emulator; `make soak` builds
#        them.  TRIALS=20 for a quicker look; SEED=N repeats a run's random choices (timings
#        still vary); SEED=N TRIAL=K reruns trial K of that run alone; KEEP=1 keeps every
#        trial's directory, not only the failing ones.)
# It never builds: the binaries come from the command line (BIN_DIR for lib.sh).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bench/soak.sh BIN_DIR" >&2; exit 2; }
BIN_DIR="$(cd "$1" && pwd)"
BENCH_DIR="$(mktemp -d /tmp/helios-soak.XXXXXX)"
. "$(dirname "$0")/lib.sh"
[ -x "$bin/helios" ] && [ -x "$bin/helios-emulator" ] || { echo "no helios/helios-emulator in $bin" >&2; exit 2; }
for tool in python3 sox curl; do
    command -v "$tool" >/dev/null || { echo "soak.sh needs $tool (make soak installs it)" >&2; exit 2; }
done

trials="${TRIALS:-200}"
seed="${SEED:-$(( $(date +%s%N) / 1000 % 1000000000 ))}"
first=1
if [ -n "${TRIAL:-}" ]; then first="$TRIAL"; trials=1; fi
keep="${KEEP:-0}"
key=soak-key
attempt_limit=120          # seconds one helios process may take before it counts as hung

# rnd N: a random integer in [0, N) in REPLY. Drawn in this shell only (never in a $(...)
# subshell, which would not advance the generator), so a SEED gives the same choices again.
rnd() { REPLY=$(( RANDOM % $1 )); }
secs() { printf '%d.%03d' $(( $1 / 1000 )) $(( $1 % 1000 )); }   # milliseconds -> "S.mmm"
now_ms() { local t=$EPOCHREALTIME; t=${t/[.,]/}; echo $(( t / 1000 )); }
# alive PID: running, not a zombie waiting to be reaped (kill -0 succeeds on zombies); one read
# of /proc/PID/stat, no fork
alive() {
    local st
    { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
    [[ $st != *") Z "* ]]
}

HP=""
cleanup() {
    [ -z "$HP" ] || { kill -KILL "$HP" 2>/dev/null || true; wait "$HP" 2>/dev/null || true; }
    stop_emulator
    [ -n "${kept_dirs:-}" ] || [ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Recordings ------------------------------------------------------------------------------
# Twelve distinct recordings (no two the same bytes), all passing the local check (10 s-3 min,
# >= ~10 s of speech), made once from the bundled sample and the speech fixtures: gain steps of
# a hundredth of a dB, trims of at least 15 s, and concatenations of the short fixtures.
pool="$work/pool"; mkdir -p "$pool"
nw="$root/samples/north-wind-and-the-sun.flac"
en="$root/Tests/Fixtures/speech/en-f3-180wpm.flac"
de="$root/Tests/Fixtures/speech/de-140wpm.flac"
sox "$nw" "$pool/r01.flac" gain -0.01
sox "$nw" "$pool/r02.flac" gain -0.02
sox "$nw" "$pool/r03.flac" gain -0.03
sox "$nw" "$pool/r04.flac" trim 0 15
sox "$nw" "$pool/r05.flac" trim 2 16
sox "$nw" "$pool/r06.flac" trim 5
sox "$en" "$de" "$pool/r07.flac"
sox "$de" "$en" "$pool/r08.flac"
sox "$de" "$de" "$pool/r09.flac"
sox "$en" "$en" "$pool/r10.flac" gain -0.5
sox "$nw" "$en" "$pool/r11.flac"
sox "$de" "$nw" "$pool/r12.flac"
recs=("$pool"/r*.flac)
"$bin/helios" validate -q "${recs[@]}" >"$work/pool.validate" 2>&1 \
    || { echo "a pool recording fails the local check:" >&2; cat "$work/pool.validate" >&2; exit 1; }
[ "$(sha256sum "${recs[@]}" | cut -c1-64 | sort -u | wc -l)" -eq "${#recs[@]}" ] \
    || { echo "two pool recordings have the same bytes" >&2; exit 1; }

# --- Helpers in Python (stdlib only) ---------------------------------------------------------
# hint ERR_FILE: the last resume command helios printed on stderr (`resume with: helios ...` in
# text, the "resume" field of the JSON error object under --json) as NUL-separated arguments
# without the leading `helios`; nothing when there is none.
hint_py='
import json, shlex, sys
hint = None
for line in open(sys.argv[1], errors="replace"):
    line = line.rstrip("\n")
    if line.startswith("resume with: "):
        hint = line[len("resume with: "):]
        continue
    try:
        obj = json.loads(line)
    except ValueError:
        continue
    if isinstance(obj, dict) and isinstance(obj.get("error"), dict) and obj["error"].get("resume"):
        hint = obj["error"]["resume"]
if hint:
    argv = shlex.split(hint)
    if argv[:1] != ["helios"]:
        sys.exit("hint does not start with helios: " + hint)
    sys.stdout.write("".join(a + "\0" for a in argv[1:]))
'
# check RUNS_JSON JOURNAL ROWS_TSV FINAL_RC: one tab-separated line of counts (see the order at
# the print below); what is wrong, and notes, go to stderr, one line each.
check_py='
import collections, json, sys
runs = json.load(open(sys.argv[1]))
entries, torn = [], 0
try:
    for line in open(sys.argv[2]):
        try:
            entries.append(json.loads(line))
        except ValueError:
            torn += 1
except FileNotFoundError:
    pass
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[3]) if l.strip()]   # label, sha256
final_rc = int(sys.argv[4])
say = lambda *a: print(*a, file=sys.stderr)

# Journal groups: by intent, else run id; the last line of a group is its current entry.
groups = collections.OrderedDict()
for n, e in enumerate(entries):
    groups.setdefault(e.get("intent") or e.get("runId") or "line%d" % n, []).append(e)
journal_ids = {e["runId"] for e in entries if e.get("runId")}
by_id = {}
for g in groups.values():
    for e in g:
        if e.get("runId"):
            by_id[e["runId"]] = g
no_id = [g for g in groups.values() if not any(e.get("runId") for e in g)]
unconfirmed = [g for g in no_id if g[-1].get("state") != "abandoned"]
for g in no_id:
    if g[-1].get("state") not in ("creating", "create-unconfirmed", "abandoned"):
        say("journal intent %s has no run id but state %s" % (g[-1].get("intent"), g[-1].get("state")))

# Runs the journal cannot name, each explained by at most one intent without a run id.
spare = collections.Counter(g[-1].get("userLabel") for g in unconfirmed)
spare_abandoned = collections.Counter(g[-1].get("userLabel") for g in no_id if g not in unconfirmed)
label_sha = {g[-1].get("userLabel"): g[-1].get("sha256") for g in groups.values()}
lost, orphans = [], set()
for r in runs:
    if r["id"] in journal_ids:
        continue
    if spare[r["userLabel"]] > 0:
        spare[r["userLabel"]] -= 1
        orphans.add(r["id"])
    elif spare_abandoned[r["userLabel"]] > 0:
        spare_abandoned[r["userLabel"]] -= 1
        orphans.add(r["id"])
        say("run %s (%s) is explained only by an intent the journal marks abandoned" % (r["id"], r["userLabel"]))
    else:
        lost.append(r)
        say("LOST: run %s (label %s, %s) is in no journal line" % (r["id"], r["userLabel"], r["status"]))

# Each run belongs to the recording it stored, else to the one its journal entry names.
def recording(r):
    if r.get("uploadSha256"):
        return r["uploadSha256"]
    if r["id"] in by_id:
        return by_id[r["id"]][-1].get("sha256")
    return label_sha.get(r["userLabel"])
per_row = collections.defaultdict(list)
for r in runs:
    per_row[recording(r)].append(r)

stored = collections.Counter(r["uploadSha256"] for r in runs if r.get("uploadCount") and r.get("uploadSha256"))
paid_twice = [s for s, n in stored.items() if n > 1]
for s in paid_twice:
    say("PAID TWICE: recording %s stored under runs %s" % (s[:12], " ".join(r["id"] for r in runs if r.get("uploadSha256") == s)))

two = explained = incomplete = 0
for label, sha in rows:
    rs = per_row.get(sha, [])
    if len(rs) > 1:
        two += 1
        known = [r for r in rs if r["id"] not in orphans]
        if len(known) <= 1:
            explained += 1
        else:
            say("row %s: %d runs not explained by unconfirmed creates: %s" % (label, len(known), " ".join("%s(%s)" % (r["id"], r["status"]) for r in known)))
        if len({r["userLabel"] for r in rs}) > 1:
            say("row %s: its runs carry different user labels: %s" % (label, " ".join(sorted({r["userLabel"] for r in rs}))))
    ok = [r for r in rs if r["status"] == "COMPLETE_OK"]
    if not ok:
        incomplete += 1
        say("row %s (%s) has no COMPLETE_OK run (runs: %s)" % (label, sha[:12], " ".join("%s(%s)" % (r["id"], r["status"]) for r in rs) or "none"))
    elif final_rc == 0:
        cur = by_id.get(ok[0]["id"], [{}])[-1]
        if cur.get("state") != "finished" or cur.get("apiStatus") != "COMPLETE_OK":
            say("row %s: run %s is COMPLETE_OK but the journal says %s/%s" % (label, ok[0]["id"], cur.get("state"), cur.get("apiStatus")))

# A run helios knew by id that never got its recording is a paid run thrown away.
stranded = [r for r in runs if r["id"] in journal_ids and not r.get("uploadCount")]
for r in stranded:
    say("run %s known to the journal (%s) never got its recording" % (r["id"], by_id[r["id"]][-1].get("state")))
if torn:
    say("%d journal lines did not parse" % torn)
print("\t".join(str(x) for x in (len(runs), len(lost), len(paid_twice), two, explained,
                                   len(unconfirmed), incomplete, len(stranded))))
'

# --- One helios process ----------------------------------------------------------------------
# attempt TAG SIGNAL DELAY_MS ARGS...: run helios ARGS in the trial directory with its stdout and
# stderr in TAG.out/TAG.err; when SIGNAL is not "none", send it (INT, TERM, KILL, or INT2: two
# SIGINTs 100 ms apart) DELAY_MS in, if helios is still running. Sets RC and LANDED (1 when a
# signal reached a running helios). A process still running after $attempt_limit s is killed
# and counted as hung (RC 124).
hung=0
attempt() {
    local tag="$1" sig="$2" delay="$3"; shift 3
    printf '%q ' helios "$@" >"$tag.cmd"; echo >>"$tag.cmd"
    "$bin/helios" "$@" >"$tag.out" 2>"$tag.err" &
    HP=$!
    LANDED=0
    local t0 was_hung=0
    # stderr of this group goes nowhere: bash's "Killed" notice for a SIGKILLed job comes here
    {
        if [ "$sig" != none ]; then
            sleep "$(secs "$delay")"
            if alive "$HP"; then
                LANDED=1
                case "$sig" in
                    INT2) kill -INT "$HP" || true; sleep 0.1; kill -INT "$HP" || true ;;
                    *) kill -"$sig" "$HP" || true ;;
                esac
            fi
        fi
        t0=$(now_ms)
        while alive "$HP"; do
            if [ $(( $(now_ms) - t0 )) -ge $(( attempt_limit * 1000 )) ]; then
                kill -KILL "$HP" || true
                echo "$tag: still running ${attempt_limit}s after the signal or start, killed" >>soak-notes
                hung=$((hung + 1)); was_hung=1
                break
            fi
            sleep 0.1
        done
        RC=0; wait "$HP" || RC=$?
    } 2>/dev/null
    HP=""
    [ "$was_hung" -eq 0 ] || RC=124
}

# --- Totals ----------------------------------------------------------------------------------
declare -A sent landed
for s in INT TERM KILL INT2; do sent[$s]=0; landed[$s]=0; done
resumes=0 hinted=0 created=0 lost=0 paid2=0 two=0 two_expl=0 unconf=0 not_completed=0
stranded=0 no_hint=0 force_hint=0 exited_first=0 failed_trials=0
kept_dirs=""
declare -A first_rc
sigs=(INT TERM KILL INT2)
faults=("" "" "" "" "" "" "" "" "slow:create:1s" "slow:create:1s" "slow:create:1s" "slow:create:1s"
        "slow:upload:1s" "slow:upload:1s" "slow:upload:1s" "slow:upload:1s"
        "slow:get:1s" "slow:get:1s" "drop:create:1" "drop:upload:1")
sexes=(FEMALE MALE UNKNOWN INTERSEX)

# --- One trial -------------------------------------------------------------------------------
trial() {
    local i="$1" tdir="$work/trial-$1"
    # Every choice of this trial comes from SEED and its number (hashed, so that neighbouring
    # trials do not start from neighbouring seeds), drawn before anything runs.
    RANDOM=$(printf '%s/%s' "$seed" "$i" | cksum | cut -d' ' -f1)
    rnd 1701; local proc=$(( 300 + REPLY ))
    rnd ${#faults[@]}; local fault="${faults[$REPLY]}"
    rnd 2; local mode=$([ "$REPLY" -eq 0 ] && echo manifest || echo files)
    if [ "$mode" = manifest ]; then rnd 5; else rnd 4; fi; local n=$(( REPLY + 1 ))
    rnd 4; local conc=$(( REPLY + 1 ))
    rnd 2; local json=$REPLY
    rnd 4; local sig="${sigs[$REPLY]}"
    rnd 3001; local delay=$REPLY
    rnd 4; local rkill=$(( REPLY == 0 ))
    rnd 4; local rsig="${sigs[$REPLY]}"
    rnd 3001; local rdelay=$REPLY
    # n distinct recordings: a partial Fisher-Yates shuffle of the pool
    local idx=("${!recs[@]}") k j t
    for (( k = 0; k < n; k++ )); do
        rnd $(( ${#idx[@]} - k )); j=$(( k + REPLY ))
        t=${idx[$k]}; idx[$k]=${idx[$j]}; idx[$j]=$t
    done

    mkdir -p "$tdir/state"
    local files=() opts=(--poll-interval 1s --concurrency "$conc") first_cmd resume_cmd
    [ "$json" -eq 0 ] || opts+=(--json)
    : >"$tdir/rows.tsv"
    for (( k = 1; k <= n; k++ )); do
        cp "${recs[${idx[$((k - 1))]}]}" "$tdir/rec-$k.flac"
        files+=("rec-$k.flac")
    done
    if [ "$mode" = manifest ]; then
        echo "file,userLabel,dob,sex" >"$tdir/study.csv"
        for (( k = 1; k <= n; k++ )); do
            rnd 40; local year=$(( 1960 + REPLY )); rnd 4
            echo "rec-$k.flac,t$i-p$k,$year,${sexes[$REPLY]}" >>"$tdir/study.csv"
            printf 't%s-p%s\t%s\n' "$i" "$k" "$(sha256sum "$tdir/rec-$k.flac" | cut -c1-64)" >>"$tdir/rows.tsv"
        done
        first_cmd=(submit --manifest study.csv "${opts[@]}")
        resume_cmd=("${first_cmd[@]}")
    else
        for f in "${files[@]}"; do
            printf '%s\t%s\n' "$f" "$(sha256sum "$tdir/$f" | cut -c1-64)" >>"$tdir/rows.tsv"
        done
        first_cmd=(submit "${files[@]}" --dob 1990-08 --sex female "${opts[@]}")
        resume_cmd=(submit --resume "${files[@]}" --dob 1990-08 --sex female "${opts[@]}")
    fi

    local emu_args=(--processing-time "$(secs "$proc")")
    [ -z "$fault" ] || emu_args+=(--fault "$fault")
    EMU_DIR="$tdir" start_emulator --api-key "$key" "${emu_args[@]}"
    export THYMIA_BASE_URL="$EMU_URL" THYMIA_API_KEY="$key" HELIOS_STATE_DIR="$tdir/state"
    cd "$tdir"

    # The interrupted submit, then resumes until one exits 0 (at most 4).
    attempt a0 "$sig" "$delay" "${first_cmd[@]}"
    local rc=$RC story="$sig@$(secs "$delay")s"
    sent[$sig]=$(( ${sent[$sig]} + 1 ))
    if [ "$LANDED" -eq 1 ]; then landed[$sig]=$(( ${landed[$sig]} + 1 )); else story="$story(late)"; exited_first=$((exited_first + 1)); fi
    first_rc[$rc]=$(( ${first_rc[$rc]:-0} + 1 ))
    story="$story->$rc"
    local a=0 next prev=a0
    while [ "$rc" -ne 0 ] && [ "$a" -lt 4 ]; do
        a=$((a + 1))
        # the hint helios printed, else the canonical resume command
        local hint=()
        mapfile -d '' hint < <(python3 -c "$hint_py" "$prev.err" 2>>"$tdir/soak-notes") || true
        if [ "${#hint[@]}" -gt 0 ]; then
            next=("${hint[@]}"); hinted=$((hinted + 1))
            case " ${hint[*]} " in *" --force "*) force_hint=$((force_hint + 1)); echo "a$((a - 1)): the resume hint names --force" >>"$tdir/soak-notes" ;; esac
        else
            next=("${resume_cmd[@]}")
            if [ "$rc" -eq 130 ]; then
                no_hint=$((no_hint + 1)); echo "$prev: exit 130 without a resume hint" >>"$tdir/soak-notes"
            fi
        fi
        local s=none d=0
        if [ "$a" -eq 1 ] && [ "$rkill" -eq 1 ]; then s=$rsig; d=$rdelay; sent[$s]=$(( ${sent[$s]} + 1 )); fi
        attempt "a$a" "$s" "$d" "${next[@]}"
        if [ "$s" != none ]; then
            story="$story r$s@$(secs "$d")s"
            if [ "$LANDED" -eq 1 ]; then landed[$s]=$(( ${landed[$s]} + 1 )); else story="$story(late)"; fi
        fi
        rc=$RC; prev="a$a"; resumes=$((resumes + 1))
        story="$story ${next[0]}->$rc"
    done

    # A create answered late may still be making its run after helios died: let it finish.
    case "$fault" in slow:create:*) sleep 1.1 ;; esac
    curl -sS "$EMU_URL/_emulator/runs" >"$tdir/emu-runs.json"
    curl -sS "$EMU_URL/_emulator/log" >"$tdir/emu-requests.json"
    stop_emulator
    cd "$work"

    local counts c_created c_lost c_paid2 c_two c_expl c_unconf c_incomplete c_stranded
    counts=$(python3 -c "$check_py" "$tdir/emu-runs.json" "$tdir/state/runs.jsonl" "$tdir/rows.tsv" "$rc" 2>>"$tdir/soak-notes")
    IFS=$'\t' read -r c_created c_lost c_paid2 c_two c_expl c_unconf c_incomplete c_stranded <<<"$counts"
    created=$((created + c_created)); lost=$((lost + c_lost)); paid2=$((paid2 + c_paid2))
    two=$((two + c_two)); two_expl=$((two_expl + c_expl)); unconf=$((unconf + c_unconf))
    stranded=$((stranded + c_stranded))
    local verdict=ok
    if [ "$rc" -ne 0 ] || [ "$c_incomplete" -gt 0 ]; then not_completed=$((not_completed + 1)); verdict=FAIL; fi
    [ "$c_lost" -eq 0 ] && [ "$c_paid2" -eq 0 ] || verdict=FAIL
    printf 'trial %3d  %-8s x%d c%d %-4s %-14s %-50s runs %d' "$i" "$mode" "$n" "$conc" \
        "$([ "$json" -eq 1 ] && echo json || echo text)" "${fault:-no-fault}" "$story" "$c_created" >&2
    [ "$c_unconf" -eq 0 ] || printf ' unconfirmed %d' "$c_unconf" >&2
    [ "$c_two" -eq 0 ] || printf ' two-runs %d(%d explained)' "$c_two" "$c_expl" >&2
    printf '  %s\n' "$verdict" >&2
    if [ "$verdict" = FAIL ]; then
        failed_trials=$((failed_trials + 1))
        kept_dirs="$kept_dirs $tdir"
        sed 's/^/    /' "$tdir/soak-notes" >&2 || true
        echo "    kept: $tdir   (rerun: SEED=$seed TRIAL=$i bench/soak.sh $bin)" >&2
    elif [ -s "$tdir/soak-notes" ]; then
        sed 's/^/    note: /' "$tdir/soak-notes" >&2
        [ "$keep" = 1 ] || { kept_dirs="$kept_dirs $tdir"; echo "    kept: $tdir" >&2; }
    elif [ "$keep" != 1 ]; then
        rm -rf "$tdir"
    fi
}

echo "soak: $trials trials, SEED=$seed, helios $("$bin/helios" --version | head -n1), work dir $work" >&2
t_start=$(now_ms)
for (( i = first; i < first + trials; i++ )); do trial "$i"; done
wall=$(( $(now_ms) - t_start ))

# --- Counts ----------------------------------------------------------------------------------
rc_list=""
for c in $(printf '%s\n' "${!first_rc[@]}" | sort -n); do rc_list="$rc_list ${c}x${first_rc[$c]}"; done
cat <<EOF
helios kill-and-resume soak (SEED=$seed)
trials                      $trials
kills by signal (landed/sent, first run and killed resumes)
  SIGINT                    ${landed[INT]}/${sent[INT]}
  SIGTERM                   ${landed[TERM]}/${sent[TERM]}
  SIGKILL                   ${landed[KILL]}/${sent[KILL]}
  SIGINT x2                 ${landed[INT2]}/${sent[INT2]}
first run exits             $rc_list   (finished before its signal: $exited_first)
resumes run                 $resumes   (from helios' hint: $hinted; exit 130 without a hint: $no_hint; hint with --force: $force_hint)
hung processes              $hung
runs created                $created
runs lost                   $lost
recordings paid twice       $paid2
rows with two runs          $two   (explained by unconfirmed creates: $two_expl, unexplained: $(( two - two_expl )))
unconfirmed creates         $unconf
known runs never uploaded   $stranded
trials not completed        $not_completed
wall time                   $(( wall / 1000 )).$(( wall % 1000 / 100 ))s
EOF
[ -z "$kept_dirs" ] || echo "kept trial directories:$kept_dirs"
[ "$lost" -eq 0 ] && [ "$paid2" -eq 0 ] && [ "$not_completed" -eq 0 ]
