#!/usr/bin/env bash
# Make sure a Docker engine answers on /var/run/docker.sock (start Debian's
# dockerd when none runs) and that the local test image exists.  No registry
# is reachable here, so the image is busybox-static imported as a rootfs.
# Usage: scripts/dockerd.sh   (VDVS_DOCKERD_ARGS: extra dockerd flags)
set -euo pipefail
DOCKER=${DOCKER:-$(command -v /usr/bin/docker || command -v docker)}
IMAGE=${VDVS_TEST_IMAGE:-vdvs-busybox:latest}
LOG=${VDVS_DOCKERD_LOG:-/var/log/vdvs-dockerd.log}

if ! "$DOCKER" info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "dockerd: not installed (make deps)" >&2; exit 1; }
  echo "dockerd: starting (log $LOG)"
  # No outside network here: no iptables rules needed for the tests.
  # shellcheck disable=SC2086
  # dockerd outlives this script: it must not inherit our other fds, least
  # of all a `flock /tmp/vdvs-machine.lock ...` lock, which it would then
  # hold for as long as it runs.
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] && eval "exec $fd>&-"
    done
    # shellcheck disable=SC2086
    exec setsid dockerd --iptables=false --ip-masq=false ${VDVS_DOCKERD_ARGS:-} >>"$LOG" 2>&1 < /dev/null
  ) &
  for _ in $(seq 1 60); do
    "$DOCKER" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$DOCKER" info >/dev/null 2>&1 || { echo "dockerd: did not come up; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
fi

if ! "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  bb=$(command -v busybox || echo /bin/busybox)
  [ -x "$bb" ] || { echo "busybox-static missing (make deps)" >&2; exit 1; }
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp "$bb" "$root/bin/busybox"
  for a in $("$root/bin/busybox" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
  done
  echo "root:x:0:0:root:/:/bin/sh" > "$root/etc/passwd"
  tar -C "$root" -c . | "$DOCKER" import -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
  echo "dockerd: made image $IMAGE from $bb"
fi
