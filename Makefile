# The two set-up commands of the README: `make test` and `make demo`. Each installs what it needs.
PREFIX ?= /usr/local
SWIFT ?= swift
CONFIG ?= release

.PHONY: deps build test demo install bench clean

deps:
	@./scripts/install-deps.sh

build: deps
	$(SWIFT) build -c $(CONFIG) --product helios
	$(SWIFT) build -c $(CONFIG) --product helios-emulator

test:
	@./scripts/install-deps.sh curl
	$(SWIFT) build --build-tests
	$(SWIFT) test --parallel

demo: build
	@./scripts/demo.sh "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)"

install: build
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/helios" "$(DESTDIR)$(PREFIX)/bin/helios"

bench: build
	./bench/validate.sh

clean:
	rm -rf .build
