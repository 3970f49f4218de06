#!/usr/bin/env bash
# Accuracy of helios' speech estimate on REAL speech (issue 11), against reference VADs.
#
# Material: the 15 hand-labelled clips of shared/speech-real (16 kHz mono WAV, 3-15 s, a `.scv`
# label file each: name,start,end,label,... with label 1 = speech). They are read in place from
# $SPEECH_REAL and never copied into the repository; everything derived goes to
# $BENCH_DIR/speech-real (rebuilt on every run).
#
# Corpus (bench/speech_real.py build; every random choice seeded from $SEED, so a run with the same
# SEED measures the same files):
#   - 48 base recordings of 15-170 s, clips joined back to back ("no gaps") or with 5-20 s gaps of
#     digital silence or of room tone (pink noise at -60..-45 dBFS RMS) between them:
#       16 "long" ones spread over 15-170 s (clips repeat once all are used), and
#       32 for the decision zone: 6 with under 6.5 s of speech, 16 with 6.5-10 s, 10 with 10-14 s.
#     Truth = the labelled speech seconds of the clips used; gaps add none.
#   - per base: the clean 16 kHz WAV; one noise variant (white or pink noise over the whole file
#     at 20 or 10 dB SNR, noise RMS against the RMS of the labelled speech samples; numpy noise
#     seeded per file); one resampled variant (8 kHz mono, 44.1 kHz mono or 48 kHz stereo WAV); the
#     clean recording in two codecs, in rotation over MP3 (64k, 44.1 kHz), Ogg Vorbis (q3),
#     Opus (.opus, 24k), WebM Opus (24k, written live like a browser's), AAC (.m4a, 64k) and FLAC.
#     That is 240 files, about 4 hours of audio (QUICK=1: every 4th base, 60 files).
# Measured on every file:
#   - helios: `helios validate --json FILE...` in batches of 25, plain env (no key), giving
#     audio.speechSeconds (null when unknown), ok, problems and warnings.
#   - reference VADs from PyPI, in a venv at $VENV: TEN VAD (hop 256 at 16 kHz, threshold 0.5),
#     WebRTC VAD (webrtcvad-wheels, 30 ms frames, mode 3) and, with SILERO=1, Silero VAD (the ONNX
#     model from the silero-vad wheel, run with onnxruntime: no torch; 512-sample frames, p >= 0.5).
#     Each reads the file decoded by ffmpeg to 16 kHz mono s16, so it hears the same degraded
#     audio; its speech seconds = number of speech frames x frame length.
#   - `ffmpeg -af silencedetect=noise=-40dB:d=0.5` (one process per file), for its wall time
#     against helios' (interleaved batch by batch) and, in the CSV, its duration - silence figure.
#   - Speed per file, as the issue's target is put: for the longest file of each kind (16 kHz
#     WAV, each resampled variant, each codec), `helios validate FILE` against silencedetect on
#     the same file, one process each, interleaved, fastest of 9 runs each, and their ratio.
# Prints, per category (clean, noise 20/10 dB, resampled, each codec, gaps, truth < 6.5 s,
# decision zone 6.5-14 s, truth >= 10 s, all) and estimator: N, MAE, bias (estimate - truth) and
# the verdict confusion: falseRej (truth >= 10 s, rejected), shortPass (truth < 6.5 s, ok with no
# SPEECH_* warning), nearMin>=10 (SPEECH_NEAR_MINIMUM on truth >= 10 s), unknown (SPEECH_UNKNOWN).
# For the VADs the verdicts are helios' thresholds applied to their estimate. Every file's row
# goes to $BENCH_DIR/speech-real/results.csv.
#
# Usage: bench/speech-real.sh   (needs swift unless HELIOS_BIN is set, ffmpeg, python3 with venv;
#        installs libc++1 with apt-get when missing and root; the venv needs PyPI once)
# Env:   SPEECH_REAL  the labelled clips (default ../shared/speech-real, from the repository root)
#        BENCH_DIR    work folder (default .build/bench); output in $BENCH_DIR/speech-real
#        VENV         the Python venv (default $BENCH_DIR/venv; made if missing)
#        HELIOS_BIN   a helios binary to measure; otherwise built into .build/bench-release
#        SEED         seed of every random choice (default 1)
#        QUICK=1      a quarter of the corpus (60 files)
#        SILERO=1     also run Silero VAD (installs silero-vad without its torch deps, onnxruntime)
#        JOBS         processes for corpus building and the VADs (default: number of CPUs)
# Corpus building and the VADs run under `nice -n 19`. Full run: about 2 minutes on 2 cores once the
# venv and the helios build exist (SILERO=1: about 40 s more).
set -euo pipefail
cd "$(dirname "$0")/.."
SPEECH_REAL="${SPEECH_REAL:-../shared/speech-real}"
BENCH_DIR="${BENCH_DIR:-.build/bench}"
VENV="${VENV:-$BENCH_DIR/venv}"
WORK="$BENCH_DIR/speech-real"
export PYTHONDONTWRITEBYTECODE=1 SEED="${SEED:-1}" QUICK="${QUICK:-0}" SILERO="${SILERO:-0}" JOBS="${JOBS:-$(nproc)}"

for tool in ffmpeg python3; do
    command -v "$tool" >/dev/null || { echo "speech-real.sh needs $tool" >&2; exit 1; }
done
[ -d "$SPEECH_REAL" ] || { echo "speech-real.sh: no clips at $SPEECH_REAL (set SPEECH_REAL)" >&2; exit 1; }
start=$(date +%s)

# TEN VAD's library links against libc++.
if ! ldconfig -p | grep -q 'libc++\.so\.1 '; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing libc++1 (TEN VAD needs it)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libc++1 >&2 \
            || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libc++1 >&2; }
    else
        echo "speech-real.sh: TEN VAD needs the Debian package libc++1: apt-get install libc++1" >&2; exit 1
    fi
fi

# The venv with the reference VADs (a bench tool only; never a dependency of helios).
if [ ! -x "$VENV/bin/python" ]; then
    echo "making the venv $VENV" >&2
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import numpy, ten_vad, webrtcvad' 2>/dev/null; then
    "$VENV/bin/pip" install -q numpy ten-vad webrtcvad-wheels >&2
fi
if [ "$SILERO" != 0 ] && ! "$VENV/bin/python" -c 'import onnxruntime, importlib.util as u; assert u.find_spec("silero_vad")' 2>/dev/null; then
    "$VENV/bin/pip" install -q onnxruntime >&2
    "$VENV/bin/pip" install -q --no-deps silero-vad >&2   # only for its ONNX model file
fi

# helios: the given binary, or a release build in a scratch path of its own.
if [ -n "${HELIOS_BIN:-}" ]; then
    BIN="$HELIOS_BIN"
else
    nice -n 19 swift build -c release --static-swift-stdlib --product helios --scratch-path .build/bench-release >&2
    BIN="$(swift build -c release --static-swift-stdlib --scratch-path .build/bench-release --show-bin-path)/helios"
fi
[ -x "$BIN" ] || { echo "speech-real.sh: no helios binary at $BIN" >&2; exit 1; }

case "$WORK" in */speech-real) rm -rf "$WORK" ;; esac
mkdir -p "$WORK"
echo "building the corpus in $WORK (SEED=$SEED QUICK=$QUICK)" >&2
nice -n 19 "$VENV/bin/python" bench/speech_real.py build "$SPEECH_REAL" "$WORK"
echo "measuring (helios $BIN)" >&2
"$VENV/bin/python" bench/speech_real.py measure "$WORK" "$BIN"
echo "total time: $(( $(date +%s) - start )) s"
