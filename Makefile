# The two set-up commands of the README: `make test` and `make demo`. Each installs what it needs.
PREFIX ?= /usr/local
SWIFT ?= swift
CONFIG ?= release
# A static Swift runtime: the installed binary runs without a Swift toolchain beside it, and
# starts with less memory (no shared-library relocation of the whole runtime and Foundation).
RELEASE_FLAGS ?= -c $(CONFIG) --static-swift-stdlib

.PHONY: deps build test test-sanitize demo install bench bench-speech soak fuzz clean

deps:
	@./scripts/install-deps.sh

build: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product helios
	$(SWIFT) build $(RELEASE_FLAGS) --product helios-emulator

test:
	@./scripts/install-deps.sh curl openssl
	$(SWIFT) build --build-tests
	$(SWIFT) test --parallel

# The unit and CLI tests under ThreadSanitizer and AddressSanitizer, each in its own scratch path;
# fails on any sanitizer report (SANITIZERS=thread for one).
SANITIZERS ?= thread address
test-sanitize:
	@./scripts/install-deps.sh curl openssl
	SWIFT=$(SWIFT) ./scripts/test-sanitize.sh $(SANITIZERS)

demo: build
	@./scripts/demo.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)"

install: build
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 -s "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/helios" "$(DESTDIR)$(PREFIX)/bin/helios"

bench: build
	@./scripts/install-deps.sh ffmpeg sox espeak-ng hyperfine time
	./bench/validate.sh
	./bench/speech-accuracy.sh
	./bench/upload.sh
	./bench/batch.sh
	./bench/interrupt.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)"

# The speech estimate on real, hand-labelled speech (../shared/speech-real, or SPEECH_REAL=DIR)
# against TEN VAD and WebRTC VAD from PyPI in a venv (SILERO=1 adds Silero VAD); about 2 minutes.
bench-speech: build
	@./scripts/install-deps.sh ffmpeg python3-venv
	HELIOS_BIN="$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/helios" ./bench/speech-real.sh

# Randomized kill-and-resume trials against the emulator (TRIALS=20 for a quick look, SEED=N to repeat).
soak: build
	@./scripts/install-deps.sh python3 sox curl
	./bench/soak.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)"

# libFuzzer (with AddressSanitizer) on every parser of outside bytes, FUZZ_SECONDS (60) per target.
FUZZ_SECONDS ?= 60
fuzz:
	@./scripts/install-deps.sh sox
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

clean:
	rm -rf .build
