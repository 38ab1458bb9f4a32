# Thin wrapper over meson/ninja.  Every target that needs packages installs
# what is missing first (scripts/deps.sh), so a fresh Debian 12 works.
BUILD ?= build
MESON_OPTS ?=
PREFIX ?= /usr/local
DESTDIR ?=
V ?=

.PHONY: all build deps run test test-unit test-integration bench clean asan

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/build.ninja:
	@./scripts/deps.sh --quiet
	meson setup $(BUILD) $(MESON_OPTS)

build: $(BUILD)/build.ninja
	@./scripts/deps.sh --quiet
	ninja -C $(BUILD)

# Start vdvsd on the emulated datastore, in the foreground.
run: build
	./scripts/run-mock.sh

# Unit tests (also under ASan/UBSan), then every integration test, the
# real Docker engine included (started here when none runs).
test: build
	./tests/run.sh --asan

test-unit: build
	./tests/run.sh --unit-only

test-integration: build
	./tests/run.sh --integration-only

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
asan: build
	./tests/run.sh --unit-only --asan

bench: build
	./bench/run.sh

clean:
	rm -rf $(BUILD) build-asan
