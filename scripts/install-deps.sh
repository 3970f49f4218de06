#!/bin/sh
# Installs the C libraries helios builds on (and the tools its tests use to make recordings),
# only when missing. Debian/Ubuntu; uses sudo when not root.
set -eu
need=""
pkg-config --exists libcurl 2>/dev/null || need="$need libcurl4-openssl-dev"
pkg-config --exists sndfile 2>/dev/null || need="$need libsndfile1-dev"
pkg-config --exists opus 2>/dev/null || need="$need libopus-dev"
pkg-config --exists libmpg123 2>/dev/null || need="$need libmpg123-dev"
pkg-config --exists faad2 2>/dev/null || need="$need libfaad-dev"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
for extra in "$@"; do
    case "$extra" in
        ffmpeg) command -v ffmpeg >/dev/null 2>&1 || need="$need ffmpeg" ;;
        *) dpkg -s "$extra" >/dev/null 2>&1 || need="$need $extra" ;;
    esac
done
[ -z "$need" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "helios needs:$need (install them with your package manager)" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing:$need" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $need >/dev/null
