#!/usr/bin/env bash
# Runs the shell of every step in docs/ci.md (GitHub Actions and GitLab CI) against the built
# .deb and tarball and the packaged helios-emulator, as those jobs would, so the documented
# snippets cannot rot. The downloads are the only steps not run: the artifacts from dist/ are put
# where they would land. apt-get is a shim: `install ./X.deb` unpacks into a scratch root
# (dpkg -x, nothing is installed on this machine), any other package must already be installed
# here (so a misspelt runtime dependency fails), `update` does nothing.
#   scripts/test-ci-docs.sh DIST_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dist=$(cd "$1" && pwd)
repo=$(pwd)
work=$(mktemp -d /tmp/helios-ci-docs.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "test-ci-docs: FAIL: $*" >&2; exit 1; }

# The steps: for GitHub each `- name:` with a `run: |` block; for GitLab each `- |` block, named
# by its first comment line. Written as STEPDIR/NN-name.sh.
python3 - docs/ci.md "$work/steps" <<'PY'
import os, re, sys
text, out = open(sys.argv[1]).read(), sys.argv[2]
blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
assert len(blocks) == 2, "expected a GitHub and a GitLab yaml block"
def block_body(lines, i, indent):
    body = []
    while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
        body.append(lines[i]); i += 1
    strip = min(len(l) - len(l.lstrip()) for l in body if l.strip())
    return "\n".join(l[strip:] for l in body).strip() + "\n", i
for platform, block in zip(["github", "gitlab"], blocks):
    os.makedirs(f"{out}/{platform}")
    lines, n, name = block.split("\n"), 0, None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"\s*- name: (.*)", line)
        if m: name = m.group(1)
        if re.match(r"\s*run: \|\s*$", line) or re.match(r"\s*- \|\s*$", line):
            indent = len(line) - len(line.lstrip())
            body, i = block_body(lines, i + 1, indent)
            if platform == "gitlab": name = body.split("\n")[0].lstrip("# ")
            n += 1
            open(f"{out}/{platform}/{n:02d}-{re.sub(r'[^a-z]+', '-', name.lower()).strip('-')}.sh", "w").write(body)
            continue
        i += 1
PY
for p in github gitlab; do
    ls "$work/steps/$p" | grep -q . || fail "no steps found for $p"
done

# The shim on PATH first, and where the package lands.
mkdir -p "$work/shim" "$work/root"
cat > "$work/shim/apt-get" <<SHIM
#!/bin/sh
[ "\$1" = update ] && exit 0
[ "\$1" = install ] || { echo "apt-get shim: unexpected: \$*" >&2; exit 1; }
shift
for arg; do
    case "\$arg" in
        -*) ;;
        ./*.deb) dpkg -x "\$arg" "$work/root" ;;
        *) dpkg -s "\$arg" >/dev/null 2>&1 || { echo "apt-get shim: \$arg is not a package installed here" >&2; exit 1; } ;;
    esac
done
SHIM
chmod +x "$work/shim/apt-get"

deb=$(cd "$dist" && ls helios_*_*.deb | head -n 1)
version=${deb#helios_}; version=${version%%_*}

# run PLATFORM STEP-PATTERN [env...]: one step's shell, in the job's directory, as CI runs it:
# on GitHub each step is a shell of its own (`bash -e`); on GitLab before_script and script share
# one shell, so the install step (its PATH export) runs first in the same one.
run_step() {
    local platform=$1 pattern=$2; shift 2
    local step
    step=$(ls "$work/steps/$platform"/*-"$pattern".sh) || fail "$platform has no step '$pattern'"
    if [ "$platform" = gitlab ] && [ "$pattern" != install-helios ]; then
        cat "$work/steps/gitlab/"*-install-helios.sh "$step" > "$work/gitlab-job.sh"
        step=$work/gitlab-job.sh
    fi
    (cd "$work/job-$platform" && env "$@" bash -e "$step")
}

for platform in github gitlab; do
    job=$work/job-$platform
    mkdir -p "$job/ci"
    # What the repository would hold: a manifest of two recordings and a smoke recording.
    cp "$repo/samples/north-wind-and-the-sun.flac" "$job/ci/a.flac"
    cp "$repo/samples/north-wind-and-the-sun.flac" "$job/ci/b.flac"
    cp "$repo/samples/north-wind-and-the-sun.flac" "$job/ci/smoke.flac"
    printf 'file,userLabel,dob,sex\na.flac,p001,1990-08,FEMALE\nb.flac,p002,1985,MALE\n' > "$job/ci/recordings.csv"
    # What the download step would have fetched.
    cp "$dist/SHA256SUMS" "$dist/$deb" "$dist/helios-$version-linux-x86_64.tar.gz" "$job/"
    ls "$work/steps/$platform" | grep -q -- '-download-helios.sh$' || fail "$platform: no download step"
done

mkdir -p "$work/prefix"

# One platform's job, start to end; its own files (prefixed by the platform), so both run at once.
check_platform() {
    local platform=$1 out=$work/$1
    echo "== $platform"
    # Where apt-get put the package on GitHub (/usr/bin in the container); GitLab's job puts
    # HELIOS_PREFIX/bin on PATH itself.
    path="$work/shim:/usr/bin:/bin"
    [ $platform = github ] && path="$work/shim:$work/root/usr/bin:/usr/bin:/bin"
    base_env=(PATH="$path" HOME="$work" HELIOS_VERSION="$version" HELIOS_PREFIX="$work/prefix" NO_COLOR=1)
    run_step "$platform" install-helios "${base_env[@]}" > "$out-install.out" 2>&1 || { cat "$out-install.out"; fail "$platform: install"; }
    grep -q "^helios $version" "$out-install.out" || fail "$platform: install did not print helios -V"
    grep -q "libcurl:" "$out-install.out" || fail "$platform: helios -V printed no libraries"
    echo "   install: ok ($(grep -c OK "$out-install.out") checksum OK)"

    run_step "$platform" offline-pipeline-against-helios-emulator "${base_env[@]}" > "$out-offline.out" 2>&1 \
        || { cat "$out-offline.out"; fail "$platform: offline pipeline"; }
    local job=$work/job-$platform
    [ "$(wc -l < "$job/results.csv")" -eq 3 ] || fail "$platform: results.csv should have a header and 2 rows"
    grep -q "COMPLETE_OK" "$job/results.csv" || fail "$platform: no COMPLETE_OK in results.csv"
    grep -q '<testsuite' "$job/junit.xml" || fail "$platform: junit.xml is not a JUnit report"
    grep -q '"COMPLETE_OK":2' "$job/summary.json" || fail "$platform: summary.json does not count 2 COMPLETE_OK"
    echo "   offline pipeline: ok (2 runs, results.csv, junit.xml, summary.json)"

    # The smoke submit, pointed at an emulator instead of the real API: accepted, then refused.
    for case in accepted refused; do
        key=smoke-key; [ $case = refused ] && key=wrong-key
        installed=$work/root/usr/bin; [ $platform = gitlab ] && installed=$work/prefix/bin
        "$installed/helios-emulator" --port 0 --api-key smoke-key --processing-time 500ms > "$out-emu.url" 2>/dev/null &
        emu=$!
        for _ in $(seq 1 100); do [ -s "$out-emu.url" ] && break; sleep 0.05; done
        code=0
        run_step "$platform" smoke-submit-against-the-real-api "${base_env[@]}" THYMIA_BASE_URL="$(cat "$out-emu.url")" \
            THYMIA_API_KEY=$key HELIOS_STATE_DIR="$work/state-$platform-$case" > "$out-smoke.out" 2>&1 || code=$?
        kill $emu; wait $emu 2>/dev/null || true; rm -f "$out-emu.url"
        if [ $case = accepted ]; then
            [ $code -eq 0 ] || { cat "$out-smoke.out"; fail "$platform: smoke submit exited $code"; }
            grep -q "smoke submit: COMPLETE_OK" "$out-smoke.out" || fail "$platform: smoke submit said nothing"
            grep -q '"status":"COMPLETE_OK"' "$job/smoke.jsonl" || fail "$platform: smoke.jsonl has no result"
        else
            [ $code -eq 4 ] || { cat "$out-smoke.out"; fail "$platform: a refused key should fail the job with 4, not $code"; }
            grep -q "key is missing or refused" "$out-smoke.out" || fail "$platform: no message for exit 4"
        fi
    done
    echo "   smoke submit: ok (exit 0 with a result; a refused key fails the job with exit 4 and says why)"
}

# Both jobs at once (most of their time is waiting on the emulator), each printed when done.
check_platform github > "$work/github.log" 2>&1 & github=$!
check_platform gitlab > "$work/gitlab.log" 2>&1 & gitlab=$!
status=0
wait $github || status=1
wait $gitlab || status=1
cat "$work/github.log" "$work/gitlab.log"
[ $status -eq 0 ] || fail "see above"
echo "test-ci-docs: every docs/ci.md step ran against the packaged helios and helios-emulator"
