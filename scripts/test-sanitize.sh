#!/bin/sh
# Both test targets under each sanitizer named (default: thread, then address), each built in its
# own scratch path (.build/tsan, .build/asan) so the normal debug build stays valid. The helios and
# helios-emulator binaries the CLI tests spawn are built there too, sanitized, and found beside the
# test bundle (TestPaths.binDir); they inherit the options, so every process reports to one
# directory. Fails when a test fails or any process wrote a sanitizer report.
set -eu
cd "$(dirname "$0")/.."
swift=${SWIFT:-swift}
root=$(pwd)
failed=""
for sanitizer in ${*:-thread address}; do
    case "$sanitizer" in
        # SANITIZE_THREAD swaps Synchronization.Mutex for a pthread mutex TSan can see (Threads.swift).
        # Two test threads, not eight: TSan runs the process at about one core, and eight tests
        # sharing it push the slow decoding tests past their time limits.
        thread) scratch=.build/tsan; flags="-Xswiftc -DSANITIZE_THREAD"; var=TSAN_OPTIONS; threads=2
                extra="halt_on_error=0:second_deadlock_stack=1:suppressions=$root/scripts/sanitizers/tsan.supp" ;;
        # detect_leaks: LeakSanitizer runs at each process's exit.
        address) scratch=.build/asan; flags=""; var=ASAN_OPTIONS; threads=8
                 extra="detect_leaks=1" ;;
        *) echo "unknown sanitizer '$sanitizer' (thread or address)" >&2; exit 2 ;;
    esac
    reports="$root/$scratch/reports"
    rm -rf "$reports"
    mkdir -p "$reports"
    start=$(date +%s)
    echo "== $sanitizer: building into $scratch" >&2
    # shellcheck disable=SC2086
    $swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" $flags
    built=$(date +%s)
    echo "== $sanitizer: testing (reports in $reports)" >&2
    status=0
    # shellcheck disable=SC2086
    env HELIOS_TEST_THREADS="$threads" "$var=log_path=$reports/report:$extra" LSAN_OPTIONS="suppressions=$root/scripts/sanitizers/lsan.supp:print_suppressions=0" \
        $swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" $flags --parallel || status=$?
    done_at=$(date +%s)
    echo "== $sanitizer: build $((built - start)) s, tests $((done_at - built)) s" >&2
    # A process that found nothing may still leave a file (e.g. suppression statistics); only a
    # report with a SUMMARY line counts.
    reported=$(grep -l '^SUMMARY' "$reports"/* 2>/dev/null || true)
    if [ -n "$reported" ]; then
        echo "== $sanitizer: $(echo "$reported" | wc -l) process(es) reported:" >&2
        grep -h '^SUMMARY' "$reports"/* | sort | uniq -c >&2 || true
        echo "   full reports: $reports" >&2
        failed="$failed $sanitizer"
    elif [ "$status" -ne 0 ]; then
        failed="$failed $sanitizer"
    fi
done
if [ -n "$failed" ]; then
    echo "test-sanitize failed:$failed" >&2
    exit 1
fi
