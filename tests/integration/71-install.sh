#!/usr/bin/env bash
# `make install DESTDIR=…` produces the documented tree: programs in
# PREFIX/sbin and PREFIX/bin, a man page per program (rendered by man
# without warnings when man is installed), the systemd unit pointing at the
# installed vdvsd, and /etc/vdvs.conf that vdvsd loads.  A second install
# keeps an edited /etc/vdvs.conf; `make uninstall` removes the rest.
source "$(dirname "$0")/lib.sh"
command -v meson >/dev/null || { echo "SKIP: meson not installed"; exit 77; }

D=$T/destdir
PREFIX=/usr
IB=$T/build-install
mk () { make -C "$TOP" --no-print-directory PREFIX=$PREFIX DESTDIR="$D" INSTALL_BUILD="$IB" "$@"; }
mk install > "$T/install.log" 2>&1 || { tail -30 "$T/install.log"; fail "make install"; }
ok "make install PREFIX=$PREFIX DESTDIR=\$T/destdir"

for f in sbin/vdvsd sbin/vmdkfs sbin/esxsim bin/vdvsctl; do
  [ -x "$D$PREFIX/$f" ] || fail "missing program $PREFIX/$f"
done
"$D$PREFIX/sbin/vdvsd" --version | grep '^vdvsd ' >/dev/null || fail "installed vdvsd --version"
"$D$PREFIX/bin/vdvsctl" --help >/dev/null 2>&1 || fail "installed vdvsctl --help"
ok "programs: sbin/vdvsd sbin/vmdkfs sbin/esxsim bin/vdvsctl"

pages=(man8/vdvsd.8 man8/vmdkfs.8 man8/esxsim.8 man1/vdvsctl.1)
for p in "${pages[@]}"; do
  [ -f "$D$PREFIX/share/man/$p" ] || fail "missing man page $PREFIX/share/man/$p"
done
if command -v man >/dev/null; then
  for p in "${pages[@]}"; do
    out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$D$PREFIX/share/man/$p" 2>&1 >/dev/null) \
      || fail "man -l $p failed: $out"
    [ -z "$out" ] || fail "man -l $p warns: $out"
    LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$D$PREFIX/share/man/$p" 2>/dev/null | grep '^NAME' >/dev/null || fail "$p has no NAME section"
  done
  ok "man pages render without warnings"
else
  ok "man pages installed (man not installed: rendering not checked)"
fi

unit=$D$PREFIX/lib/systemd/system/vdvsd.service
[ -f "$unit" ] || fail "missing unit $PREFIX/lib/systemd/system/vdvsd.service"
grep -qx "ExecStart=$PREFIX/sbin/vdvsd --config /etc/vdvs.conf" "$unit" || fail "ExecStart: $(grep ExecStart= "$unit")"
grep -qx 'Before=docker.service' "$unit" || fail "unit lacks Before=docker.service"
grep -qx 'Restart=on-failure' "$unit" || fail "unit lacks Restart=on-failure"
if command -v systemd-analyze >/dev/null; then
  # verify wants the ExecStart binary at its real path: check a copy
  # whose paths point into DESTDIR.
  sed "s|^ExecStart=$PREFIX|ExecStart=$D$PREFIX|" "$unit" > "$T/vdvsd.service"
  # --man=no: the man page is not installed where man looks.  Any other
  # complaint (unknown key, bad ExecStart, ...) or a non-zero status fails;
  # only a missing docker.service (no engine unit here) is allowed.
  vrc=0; out=$(systemd-analyze verify --man=no "$T/vdvsd.service" 2>&1) || vrc=$?
  out=$(grep -v -e 'docker\.service' -e '^$' <<<"$out" || true)
  [ $vrc = 0 ] && [ -z "$out" ] || fail "systemd-analyze verify (status $vrc): $out"
  ok "systemd-analyze verify"
fi
ok "systemd unit: ExecStart, Before=docker.service, Restart=on-failure"

conf=$D/etc/vdvs.conf
[ -f "$conf" ] || fail "missing /etc/vdvs.conf"
jq -e '.Driver == "vsphere" and .Backend and .BackendOptions.root' "$conf" >/dev/null || fail "vdvs.conf: $(cat "$conf")"
# vdvsd accepts it: serve for a moment with private roots, then SIGTERM.
require_root
CONF_SOCK=$T/conf.sock
"$D$PREFIX/sbin/vdvsd" --config "$conf" --socket "$CONF_SOCK" --mount-root "$T/mnt" \
  --state-dir "$T/state" --docker-socket none -o root="$T/root" -o sysfs-root="$T/sys" \
  -o dev-root="$T/dev" -o vmdkfs=off >"$T/vdvsd.log" 2>&1 &
VDVSD_PID=$!
for _ in $(seq 50); do [ -S "$CONF_SOCK" ] && break; kill -0 $VDVSD_PID 2>/dev/null || break; sleep 0.1; done
[ -S "$CONF_SOCK" ] || fail "vdvsd did not start with the installed config: $(cat "$T/vdvsd.log")"
curl -sS --unix-socket "$CONF_SOCK" -d '{}' http://p/Plugin.Activate | grep VolumeDriver >/dev/null || fail "Activate"
stop_vdvsd || fail "vdvsd exit status"
ok "vdvsd serves with the installed /etc/vdvs.conf"

echo '{ "Driver": "vsphere", "Backend": "esx" }' > "$conf"
mk install > "$T/install2.log" 2>&1 || fail "second make install"
grep -q '"esx"' "$conf" || fail "second make install overwrote an edited /etc/vdvs.conf"
ok "a second make install keeps an edited /etc/vdvs.conf"

mk uninstall > "$T/uninstall.log" 2>&1 || { tail -20 "$T/uninstall.log"; fail "make uninstall"; }
left=$(find "$D" -type f ! -path "$D/etc/vdvs.conf")
[ -z "$left" ] || fail "left after make uninstall: $left"
ok "make uninstall removes everything but /etc/vdvs.conf"
