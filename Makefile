# Thin wrapper over meson/ninja.  Every target that needs packages installs
# what is missing first (scripts/deps.sh), so a fresh Debian 12 works.
BUILD ?= build
MESON_OPTS ?=
PREFIX ?= /usr/local
DESTDIR ?=
V ?=

.PHONY: all build deps run test test-unit test-integration bench clean asan fuzz stress

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/build.ninja:
	@./scripts/deps.sh --quiet
	meson setup $(BUILD) $(MESON_OPTS)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Start vdvsd on the emulated datastore, in the foreground.
run: build
	./scripts/run-mock.sh

test: build
	./tests/run.sh

test-unit: build
	./tests/run.sh --unit-only

test-integration: build
	./tests/run.sh --integration-only

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	@./scripts/deps.sh --quiet
	meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS) 2>/dev/null || true
	ninja -C build-asan
	meson test -C build-asan --suite unit --print-errorlogs

bench: build
	./bench/run.sh

clean:
	rm -rf $(BUILD) build-asan
