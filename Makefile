# Thin wrapper over meson/ninja.  Every target that needs packages installs
# what is missing first (scripts/deps.sh), so a fresh Debian 12 works.
BUILD ?= build
MESON_OPTS ?=
PREFIX ?= /usr/local
DESTDIR ?=
V ?=

.PHONY: all build deps run test test-unit test-integration bench clean asan \
	install uninstall plugin plugin-rootfs test-container deploy testremote stress \
	windows

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/build.ninja:
	@./scripts/deps.sh --quiet
	meson setup $(BUILD) $(MESON_OPTS)

build: $(BUILD)/build.ninja
	@./scripts/deps.sh --quiet
	ninja -C $(BUILD)

# Start vdvsd on the emulated datastore, in the foreground, after a Docker
# engine (started when none runs) and a local busybox image (made when none
# exists), so the README's quick start works in a second shell.
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

# libFuzzer harnesses (clang, ASan+UBSan): replay fuzz/regress/ and the seed
# corpora, then fuzz each harness FUZZ_SECONDS, one at a time (fuzz/README.md).
.PHONY: fuzz
FUZZ_SECONDS ?= 60
fuzz:
	@./scripts/deps.sh --quiet
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./fuzz/run.sh

clean:
	rm -rf $(BUILD) build-asan $(INSTALL_BUILD) $(PLUGIN_DIR) $(WIN_BUILD)

# The Windows cross build (mingw-w64) in build-windows/: the platform layer
# and its test programs for now (docs/windows.md).  scripts/deps-windows.sh
# installs the toolchain and wine and unpacks Debian's cJSON source there.
WIN_BUILD ?= build-windows
windows:
	@./scripts/deps-windows.sh --quiet $(WIN_BUILD)/deps
	@[ -f $(WIN_BUILD)/build.ninja ] || meson setup $(WIN_BUILD) \
	  --cross-file cross/x86_64-w64-mingw32.ini -Dtests=false \
	  -Dwindows_deps=$(abspath $(WIN_BUILD))/deps
	ninja -C $(WIN_BUILD)

# make install [PREFIX=/usr/local] [DESTDIR=]: vdvsd, vmdkfs, esxsim in
# PREFIX/sbin, vdvsctl in PREFIX/bin, man pages, the systemd unit in
# PREFIX/lib/systemd/system, and /etc/vdvs.conf unless one exists.  A
# build dir of its own (release, no tests), so PREFIX never reconfigures
# the test build.
INSTALL_BUILD ?= build-install
$(INSTALL_BUILD)/.prefix-$(subst /,_,$(PREFIX)):
	@./scripts/deps.sh --quiet
	rm -rf $(INSTALL_BUILD)
	meson setup $(INSTALL_BUILD) --prefix=$(PREFIX) --buildtype=release -Dtests=false $(MESON_OPTS)
	touch $@

install: $(INSTALL_BUILD)/.prefix-$(subst /,_,$(PREFIX))
	ninja -C $(INSTALL_BUILD)
	meson install -C $(INSTALL_BUILD) --no-rebuild $(if $(DESTDIR),--destdir $(abspath $(DESTDIR)))
	install -d $(DESTDIR)/etc
	@if [ -e $(DESTDIR)/etc/vdvs.conf ]; then echo "install: keeping existing $(DESTDIR)/etc/vdvs.conf"; \
	 else install -m 0644 dist/vdvs.conf $(DESTDIR)/etc/vdvs.conf && echo "Installing dist/vdvs.conf to $(DESTDIR)/etc/vdvs.conf"; fi
	@[ -n "$(DESTDIR)" ] || echo "install: now  systemctl daemon-reload && systemctl enable --now vdvsd"

# Removes what `make install` placed (meson's install log), not /etc/vdvs.conf.
uninstall:
	@[ -f $(INSTALL_BUILD)/meson-logs/install-log.txt ] || { echo "uninstall: nothing installed from $(INSTALL_BUILD)" >&2; exit 1; }
	ninja -C $(INSTALL_BUILD) uninstall

# make plugin [PLUGIN_NAME=vsphere:latest]: the managed (v2) plugin, built
# locally (plugin/build-rootfs.sh: the programs, their libraries, mkfs,
# fusermount3, busybox + plugin/config.json), then `docker plugin create`.
# An existing disabled plugin of that name is replaced (volumes and data
# live in the datastore, /var/lib/vdvs by default, and survive).  Then:
#   docker plugin enable vsphere:latest
# A v2 plugin named `vsphere`, even disabled, takes the driver name from a
# v1 vdvsd on /run/docker/plugins/vsphere.sock.  The other way round, an
# engine that has used a v1 plugin of that name (`make run`) keeps sending
# the driver's calls to its socket until the engine restarts: refused here
# (`docker info` lists such v1 drivers; a v2 plugin's driver is not listed).
PLUGIN_NAME ?= vsphere:latest
PLUGIN_DIR ?= $(BUILD)/plugin
plugin-rootfs: build
	./plugin/build-rootfs.sh $(BUILD) $(PLUGIN_DIR)

plugin: plugin-rootfs
	@drv=$$(echo '$(PLUGIN_NAME)' | sed 's/:[^:/]*$$//'); \
	if docker info -f '{{range .Plugins.Volume}}{{println .}}{{end}}' 2>/dev/null | grep -qxF "$$drv"; then \
	  echo "plugin: this Docker engine has used a v1 plugin named '$$drv' (a vdvsd on /run/docker/plugins/$$drv.sock, e.g. make run)" >&2; \
	  echo "plugin: and sends --driver=$$drv to that socket until it restarts, never to the managed plugin. Either:" >&2; \
	  echo "plugin:   stop that vdvsd, restart the engine (systemctl restart docker), make plugin again; or" >&2; \
	  echo "plugin:   use another name: make plugin PLUGIN_NAME=vdvs:latest (then --driver=vdvs, and docker plugin set vdvs:latest VDVS_DRIVER=vdvs)" >&2; \
	  exit 1; fi
	@if docker plugin inspect $(PLUGIN_NAME) >/dev/null 2>&1; then \
	  if [ "$$(docker plugin inspect -f '{{.Enabled}}' $(PLUGIN_NAME))" = true ]; then \
	    echo "plugin: $(PLUGIN_NAME) is enabled; docker plugin disable -f $(PLUGIN_NAME) first" >&2; exit 1; fi; \
	  docker plugin rm -f $(PLUGIN_NAME) >/dev/null && echo "plugin: removed the old $(PLUGIN_NAME)"; fi
	mkdir -p /var/lib/vdvs
	docker plugin create $(PLUGIN_NAME) $(PLUGIN_DIR)
	@echo "plugin: now  docker plugin enable $(PLUGIN_NAME)   (settings: docker plugin inspect $(PLUGIN_NAME))"

# The suite in containers from Dockerfile.test (base image made locally
# with debootstrap when missing): a seccomp run (vmdkfs sync fallback) and
# the full run with docker-in-docker.  See scripts/test-container.sh.
test-container:
	./scripts/test-container.sh

# Real ESXi: copy the programs to a Docker VM, then run the Docker sanity
# sequence there over ssh (GUEST=host [ESX=host]; see scripts/remote.sh).
deploy: build
	@test -n "$(GUEST)" || { echo "usage: make deploy GUEST=host" >&2; exit 2; }
	./scripts/remote.sh deploy $(GUEST)

testremote: build
	@test -n "$(GUEST)" || { echo "usage: make testremote GUEST=host [ESX=host]" >&2; exit 2; }
	./scripts/remote.sh test $(GUEST) $(ESX)

# The concurrency and crash loops for longer than CI runs them
# (VDVS_STRESS_ROUNDS rounds, default 20), and the churn of 100,000
# volume names (bench/churn.sh: the daemon's RSS must stay flat).
stress: build
	VDVS_STRESS_ROUNDS=$${VDVS_STRESS_ROUNDS:-20} ./tests/run.sh --integration-only 56-concurrency
	./tests/run.sh --integration-only 55-crash-matrix
	./bench/churn.sh

# A Docker swarm of emulated VMs on one emulated ESX host (docs/cluster.md):
# `make cluster [NODES=3]`, then scripts/vdvs-cluster status|exec|down.
.PHONY: cluster cluster-down
NODES ?= 3
cluster: build
	./scripts/vdvs-cluster up --nodes $(NODES)

cluster-down:
	./scripts/vdvs-cluster down
