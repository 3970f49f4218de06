# Shared by the bench scripts: build once, start/stop the emulator, medians.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
release="-c release --static-swift-stdlib"   # as `make build`
# BIN_DIR names the binaries' directory (soak.sh and interrupt.sh take it as an argument);
# otherwise the release build's, which build_release makes.
bin="${BIN_DIR:-$(cd "$root" && swift build $release --show-bin-path)}"
work="${BENCH_DIR:-$(mktemp -d /tmp/helios-bench.XXXXXX)}"

build_release() {
    (cd "$root" && swift build $release --product helios >/dev/null && swift build $release --product helios-emulator >/dev/null)
}

# start_emulator [args...]: sets EMU_URL and EMU_PID; its URL and log go to $EMU_DIR (default $work).
EMU_PID=""
start_emulator() {
    local dir="${EMU_DIR:-$work}"
    : >"$dir/emu.url"
    "$bin/helios-emulator" --port 0 "$@" >"$dir/emu.url" 2>"$dir/emu.log" &
    EMU_PID=$!
    for _ in $(seq 1 200); do
        [ -s "$dir/emu.url" ] && break
        sleep 0.05
    done
    EMU_URL="$(head -n1 "$dir/emu.url")"
    [ -n "$EMU_URL" ] || { echo "emulator did not start" >&2; cat "$dir/emu.log" >&2; exit 1; }
}

# stop_emulator: stops the one start_emulator started, if any (safe to call twice).
stop_emulator() {
    [ -n "$EMU_PID" ] || return 0
    kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; EMU_PID=""
}

now_ns() { date +%s%N; }

# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

peak_rss_kb() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}'; }

ms() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
