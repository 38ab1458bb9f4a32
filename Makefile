# Thin wrapper over meson/ninja.  Every target that needs packages installs
# what is missing first (scripts/deps.sh), so a fresh Debian 12 works.
BUILD ?= build
MESON_OPTS ?=
PREFIX ?= /usr/local
DESTDIR ?=
V ?=

.PHONY: all build deps run test test-unit test-integration bench clean asan deploy testremote

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

# Real ESXi: copy the programs to a Docker VM, then run the Docker sanity
# sequence there over ssh (GUEST=host [ESX=host]; see scripts/remote.sh).
deploy: build
	@test -n "$(GUEST)" || { echo "usage: make deploy GUEST=host" >&2; exit 2; }
	./scripts/remote.sh deploy $(GUEST)

testremote: build
	@test -n "$(GUEST)" || { echo "usage: make testremote GUEST=host [ESX=host]" >&2; exit 2; }
	./scripts/remote.sh test $(GUEST) $(ESX)
