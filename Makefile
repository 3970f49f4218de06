# The two set-up commands of the README: `make test` and `make demo`. Each installs what it needs.
PREFIX ?= /usr/local
SWIFT ?= swift
CONFIG ?= release
# A static Swift runtime: the installed binary runs without a Swift toolchain beside it, and
# starts with less memory (no shared-library relocation of the whole runtime and Foundation).
RELEASE_FLAGS ?= -c $(CONFIG) --static-swift-stdlib

.PHONY: deps build test test-package test-sanitize demo install uninstall dist deb bench bench-speech soak fuzz clean

deps:
	@./scripts/install-deps.sh

# The release binaries, and the man pages and completions generated from their option tables.
BIN = $$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)
DOCS = .build/docs
DIST = dist
# Compression of the .deb (xz) and the tarball (gzip): the smallest for a release.
XZ_LEVEL ?= 6
GZIP_LEVEL ?= 9

build: deps
	@./scripts/build-info.sh
	$(SWIFT) build $(RELEASE_FLAGS) --product helios
	$(SWIFT) build $(RELEASE_FLAGS) --product helios-emulator
	$(SWIFT) build $(RELEASE_FLAGS) --product helios-docs
	"$(BIN)/helios-docs" $(DOCS)

# Unit, CLI and end-to-end tests, then the release package as a user gets it (test-package).
test:
	@./scripts/install-deps.sh curl openssl dpkg-dev lintian man-db python3
	$(SWIFT) build --build-tests
	$(SWIFT) test --parallel
	@$(MAKE) --no-print-directory test-package XZ_LEVEL=1 GZIP_LEVEL=1

# The .deb and the tarball unpacked into a scratch root and run; install/uninstall under a
# scratch PREFIX; the shell of docs/ci.md's jobs against the packaged emulator.
test-package: deb dist
	./scripts/test-package.sh $(DIST)

# The unit and CLI tests under ThreadSanitizer and AddressSanitizer, each in its own scratch path;
# fails on any sanitizer report (SANITIZERS=thread for one).
SANITIZERS ?= thread address
test-sanitize:
	@./scripts/install-deps.sh curl openssl
	SWIFT=$(SWIFT) ./scripts/test-sanitize.sh $(SANITIZERS)

demo: build
	@./scripts/demo.sh "$(BIN)"

# helios and helios-emulator (stripped), their man pages, the bash/zsh/fish completions, the
# README and the copyright file, under $(DESTDIR)$(PREFIX); uninstall removes exactly that list.
install: build
	./scripts/stage.sh "$(DESTDIR)" "$(PREFIX)" "$(BIN)" $(DOCS)

uninstall:
	@for f in $$(./scripts/stage.sh --list "$(PREFIX)"); do rm -fv "$(DESTDIR)$(PREFIX)/$$f"; done
	@rmdir "$(DESTDIR)$(PREFIX)/share/doc/helios" 2>/dev/null || true

# dist/helios-VERSION-linux-ARCH.tar.gz and dist/SHA256SUMS.
dist: build
	GZIP_LEVEL=$(GZIP_LEVEL) ./scripts/dist.sh "$(BIN)" $(DOCS) $(DIST)

# dist/helios_VERSION_ARCH.deb: Depends from dpkg-shlibdeps, checked by lintian (no errors).
deb: build
	@./scripts/install-deps.sh dpkg-dev lintian man-db
	XZ_LEVEL=$(XZ_LEVEL) ./scripts/deb.sh "$(BIN)" $(DOCS) $(DIST)

bench: build
	@./scripts/install-deps.sh ffmpeg sox espeak-ng hyperfine time
	./bench/validate.sh
	./bench/speech-accuracy.sh
	./bench/upload.sh
	./bench/batch.sh
	./bench/interrupt.sh "$(BIN)"

# The speech estimate on real, hand-labelled speech (../shared/speech-real, or SPEECH_REAL=DIR)
# against TEN VAD and WebRTC VAD from PyPI in a venv (SILERO=1 adds Silero VAD); about 2 minutes.
bench-speech: build
	@./scripts/install-deps.sh ffmpeg python3-venv
	HELIOS_BIN="$(BIN)/helios" ./bench/speech-real.sh

# Randomized kill-and-resume trials against the emulator (TRIALS=20 for a quick look, SEED=N to repeat).
soak: build
	@./scripts/install-deps.sh python3 sox curl
	./bench/soak.sh "$(BIN)"

# libFuzzer (with AddressSanitizer) on every parser of outside bytes, FUZZ_SECONDS (60) per target.
FUZZ_SECONDS ?= 60
fuzz:
	@./scripts/install-deps.sh sox
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

clean:
	rm -rf .build $(DIST)
