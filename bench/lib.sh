# Shared by the bench scripts: build once, start/stop the emulator, medians.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
release="-c release --static-swift-stdlib"   # as `make build`
bin="$(cd "$root" && swift build $release --show-bin-path)"
work="${BENCH_DIR:-$(mktemp -d /tmp/helios-bench.XXXXXX)}"

build_release() {
    (cd "$root" && swift build $release --product helios >/dev/null && swift build $release --product helios-emulator >/dev/null)
}

# start_emulator [args...]: sets EMU_URL and EMU_PID.
start_emulator() {
    "$bin/helios-emulator" --port 0 "$@" >"$work/emu.url" 2>"$work/emu.log" &
    EMU_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$work/emu.url" ] && break
        sleep 0.05
    done
    EMU_URL="$(head -n1 "$work/emu.url")"
    [ -n "$EMU_URL" ] || { echo "emulator did not start" >&2; cat "$work/emu.log" >&2; exit 1; }
}

stop_emulator() { kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; }

now_ns() { date +%s%N; }

# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

peak_rss_kb() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}'; }

ms() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
