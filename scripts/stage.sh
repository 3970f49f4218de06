#!/bin/sh
# Lays out everything helios installs, under ROOT/PREFIX: the stripped binaries, the man pages,
# the completions, the README and the copyright file. One list for `make install`, `make dist`
# and `make deb`; `--list` prints it (relative to PREFIX) for `make uninstall`.
#   scripts/stage.sh ROOT PREFIX BIN_DIR DOCS_DIR     (DOCS_DIR: what helios-docs wrote)
#   scripts/stage.sh --list PREFIX
set -eu
cd "$(dirname "$0")/.."

files() {  # relative path, then what it is made from
    zsh_dir=share/zsh/site-functions
    [ "$1" = /usr ] && zsh_dir=share/zsh/vendor-completions   # Debian's place for packages
    cat <<LIST
bin/helios bin:helios
bin/helios-emulator bin:helios-emulator
share/man/man1/helios.1.gz man:helios.1
share/man/man1/helios-emulator.1.gz man:helios-emulator.1
share/bash-completion/completions/helios doc:helios.bash
$zsh_dir/_helios doc:_helios
share/fish/vendor_completions.d/helios.fish doc:helios.fish
share/doc/helios/README.md file:README.md
share/doc/helios/copyright file:packaging/copyright
share/doc/helios/changelog.gz gz:packaging/changelog
LIST
}

if [ "${1:-}" = --list ]; then
    files "$2" | cut -d' ' -f1
    exit 0
fi
[ $# -eq 4 ] || { echo "usage: $0 ROOT PREFIX BIN_DIR DOCS_DIR | --list PREFIX" >&2; exit 2; }
root=$1 prefix=$2 bin=$3 docs=$4
files "$prefix" | while read -r rel from; do
    dest="$root$prefix/$rel"
    install -d -m 0755 "$(dirname "$dest")"
    case "$from" in
        bin:*)
            # Stripped as Debian's dh_strip does: no symbols, no .comment or .note sections.
            install -m 0755 "$bin/${from#bin:}" "$dest"
            strip --strip-unneeded --remove-section=.comment --remove-section=.note "$dest" ;;
        man:*) gzip -9n < "$docs/${from#man:}" > "$dest"; chmod 0644 "$dest" ;;
        gz:*) gzip -9n < "${from#gz:}" > "$dest"; chmod 0644 "$dest" ;;
        doc:*) install -m 0644 "$docs/${from#doc:}" "$dest" ;;
        file:*) install -m 0644 "${from#file:}" "$dest" ;;
    esac
done
