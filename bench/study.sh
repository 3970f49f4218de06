#!/bin/bash
# A study the way a coordinator runs one (issue 12): a manifest of N recordings (default 1,000,
# each its own person, with a tag), submitted at --concurrency C (default 64) against the
# emulator (processing P s, default 3; poll interval 3 s) on a pseudo-terminal of 80 columns,
# with the results written as CSV (--format csv --output). Prints the wall time against the
# ideal (ceil(N/C) rounds of one run's time alone), helios' peak RSS, what the terminal showed
# (how many live-line redraws, how many other lines, the last frame) and the CSV's first rows.
# Usage: bench/study.sh   (N=200 C=16 bench/study.sh for a quicker look; needs script(1) and /usr/bin/time)
. "$(dirname "$0")/lib.sh"
n="${N:-1000}"
c="${C:-64}"
processing="${P:-3}"
[ -x /usr/bin/time ] || "$root/scripts/install-deps.sh" time
command -v script >/dev/null || { echo "study.sh needs script(1) (bsdutils)" >&2; exit 1; }
build_release
start_emulator --api-key bench-key --processing-time "${processing}s"
trap stop_emulator EXIT

# One speech recording, linked under N names: helios sends each file once per command.
cp "$root/samples/north-wind-and-the-sun.flac" "$work/speech.flac"
mkdir -p "$work/rec"
{
    echo "file,userLabel,dob,sex,tag:site"
    i=1
    while [ "$i" -le "$n" ]; do
        ln -f "$work/speech.flac" "$work/rec/p$i.flac"
        echo "rec/p$i.flac,study-$i,1990-01,UNKNOWN,site-$((i % 7))"; i=$((i + 1))
    done
} >"$work/study.csv"

env_run() { env HELIOS_STATE_DIR="$1" THYMIA_BASE_URL="$EMU_URL" THYMIA_API_KEY=bench-key COLUMNS=80 TERM=xterm "${@:2}"; }

# One run alone: the unit of the ideal.
rm -rf "$work/state-one"; mkdir -p "$work/state-one"
head -n 2 "$work/study.csv" >"$work/one.csv"
t0=$(now_ns)
env_run "$work/state-one" "$bin/helios" submit --manifest "$work/one.csv" --poll-interval 3s -q >/dev/null
one=$(awk -v w="$(( $(now_ns) - t0 ))" 'BEGIN { printf "%.2f", w / 1e9 }')

rm -rf "$work/state"; mkdir -p "$work/state"
cmd="stty cols 80 rows 24; /usr/bin/time -f '%e %M' -o '$work/time' '$bin/helios' submit --manifest '$work/study.csv' --concurrency $c --poll-interval 3s --format csv --output '$work/results.csv'"
t0=$(now_ns)
env_run "$work/state" script -qfec "$cmd" "$work/terminal.log" >/dev/null
wall=$(awk -v w="$(( $(now_ns) - t0 ))" 'BEGIN { printf "%.1f", w / 1e9 }')
read -r _ rss < <(tail -n 1 "$work/time")
rounds=$(( (n + c - 1) / c ))
ideal=$(awk -v r="$rounds" -v o="$one" 'BEGIN { printf "%.1f", r * o }')
printf 'study: N=%s recordings, concurrency %s, processing %ss, poll 3s\n' "$n" "$c" "$processing"
printf '  one run alone %ss; ideal = ceil(N/C) x that = %s x %s = %ss\n' "$one" "$rounds" "$one" "$ideal"
printf '  wall %ss (%.2fx the ideal); peak RSS %s MB\n' "$wall" "$(awk -v w="$wall" -v i="$ideal" 'BEGIN { print w / i }')" "$((rss / 1024))"
ok=$(grep -c ',COMPLETE_OK,' "$work/results.csv" || true)
printf '  results.csv: %s rows (%s COMPLETE_OK), %s columns\n' "$(( $(wc -l < "$work/results.csv") - 1 ))" "$ok" "$(head -n 1 "$work/results.csv" | tr ',' '\n' | wc -l)"
# What the terminal showed: redraws of the live line, other lines, and the last frames.
redraws=$(grep -o $'\r\e\[2K' "$work/terminal.log" | wc -l)
other=$(tr '\r' '\n' < "$work/terminal.log" | sed 's/\x1b\[2K//g' | grep -v '^\[' | grep -c . || true)
printf '  terminal: %s live-line redraws, %s other lines (script(1)'"'"'s own two included); widest live line %s columns\n' "$redraws" "$other" \
    "$(tr '\r' '\n' < "$work/terminal.log" | sed 's/\x1b\[2K//g' | grep '^\[' | python3 -c 'import sys; print(max((len(l.rstrip("\n")) for l in sys.stdin), default=0))')"
echo '  frames (one in every ~10, then the last lines):'
tr '\r' '\n' < "$work/terminal.log" | sed 's/\x1b\[2K//g' | grep '^\[' | awk 'NR % 40 == 1' | head -n 8 | sed 's/^/    | /'
tr '\r' '\n' < "$work/terminal.log" | sed 's/\x1b\[2K//g' | grep . | tail -n 3 | sed 's/^/    | /'
echo '  results.csv (first rows):'
head -n 3 "$work/results.csv" | cut -c1-200 | sed 's/^/    /'
echo "  (work files: $work)"
