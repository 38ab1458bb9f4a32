#!/usr/bin/env bash
# `make test-container`: the test suite inside containers built from
# Dockerfile.test on a locally made base image (no registry needed).
#   1. seccomp run: Docker's default profile (io_uring blocked), vmdkfs must
#      fall back to its sync engine: tests/integration/72-*.
#   2. full run: --privileged, a private dockerd inside (docker-in-docker),
#      every unit and integration test (tests/run.sh).
# Prints the closing line of both runs added up: N passed, N failed, N skipped.
# Environment: VDVS_TEST_BASE (default vdvs-test-base:bookworm; made by
# scripts/make-base-image.sh when missing), VDVS_TEST_CONTAINER_IMAGE
# (vdvs-test:local), VDVS_TEST_CONTAINER_TIMEOUT (seconds, 1800).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
DOCKER=${DOCKER:-$(command -v /usr/bin/docker || command -v docker || true)}
BASE=${VDVS_TEST_BASE:-vdvs-test-base:bookworm}
IMG=${VDVS_TEST_CONTAINER_IMAGE:-vdvs-test:local}
LIMIT=${VDVS_TEST_CONTAINER_TIMEOUT:-1800}
LOGDIR=$TOP/build/test-logs/container
die () { echo "test-container: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root"
"$TOP/scripts/dockerd.sh" --image-only >/dev/null || die "no Docker engine"
mkdir -p "$LOGDIR"

start=$(date +%s)
"$TOP/scripts/make-base-image.sh" "$BASE"
echo "test-container: building $IMG from $BASE"
# The context is the working tree as git sees it (tracked and untracked,
# not ignored): no build dirs, no .git.
# The engine is shared: when another user restarts it mid-build, wait
# for it and build again (twice at most).
wait_engine () { for _ in $(seq 60); do "$DOCKER" info >/dev/null 2>&1 && return 0; sleep 1; done; return 1; }
for try in 1 2 3; do
  if (cd "$TOP" && git ls-files -co --exclude-standard -z | tar --null -cf - -T -) \
     | "$DOCKER" build -q -f Dockerfile.test --build-arg BASE="$BASE" -t "$IMG" - > "$LOGDIR/build.log" 2>&1; then
    break
  fi
  if [ $try -lt 3 ] && grep -q 'error during connect' "$LOGDIR/build.log"; then
    echo "test-container: the engine went away during the build; retrying"; wait_engine; continue
  fi
  tail -30 "$LOGDIR/build.log" >&2; die "docker build failed (log $LOGDIR/build.log)"
done
echo "test-container: image built in $(( $(date +%s) - start ))s"

names=()
# Scratch volumes carry a label, so a run killed with the engine (another
# user restarting it) leaves nothing that the next run does not remove.
LABEL=vdvs.test-container
vol () { echo "type=volume,dst=$1,volume-label=$LABEL=$$"; }
cleanup () {
  for n in "${names[@]}"; do "$DOCKER" rm -f -v "$n" >/dev/null 2>&1 || true; done
  "$DOCKER" volume ls -q --filter "label=$LABEL" | while read -r v; do
    "$DOCKER" volume rm "$v" >/dev/null 2>&1 || true   # in use = another live run's
  done
}
cleanup
trap cleanup EXIT
P=0 F=0 K=0 rc=0
# run NAME LOG DOCKER-RUN-ARGS... -- CMD...: one container, bounded.
run () {
  local name=vdvs-test-$1-$$ log=$LOGDIR/$2 line try; shift 2
  names+=("$name")
  for try in 1 2; do
    echo "test-container: run $name (log $log)"
    timeout --kill-after=30 "$LIMIT" "$DOCKER" run --rm --name "$name" "$@" > "$log" 2>&1 || true
    # The engine killed under the run (another user restarting it): once more.
    if [ $try = 1 ] && grep -qE 'error waiting for container: unexpected EOF|Cannot connect to the Docker daemon' "$log"; then
      echo "test-container: the engine went away during the run; retrying"
      wait_engine; "$DOCKER" rm -f -v "$name" >/dev/null 2>&1 || true; continue
    fi
    break
  done
  grep -E '^(PASS|FAIL|SKIP) ' "$log" | sed 's/^/  /' || true
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -1 || true)
  [ -n "$line" ] || { tail -20 "$log" | sed 's/^/  | /'; echo "  (no result line)"; F=$((F + 1)); rc=1; return 0; }
  read -r p _ f _ k _ <<<"$line"
  P=$((P + p)); F=$((F + f)); K=$((K + k))
  [ "$f" = 0 ] || rc=1
}

# Docker 20.10's default seccomp profile still allows io_uring (moby#46762
# blocks it from 25.0 on): apply a profile that refuses io_uring_* the way
# the newer default does, everything else allowed.
SECCOMP=$(mktemp /tmp/vdvs-seccomp.XXXXXX.json)
trap 'cleanup; rm -f "$SECCOMP"' EXIT
cat > "$SECCOMP" <<'JSON'
{ "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [ { "names": ["io_uring_setup", "io_uring_enter", "io_uring_register"],
                  "action": "SCMP_ACT_ERRNO", "errnoRet": 1 } ] }
JSON
run seccomp seccomp.log --cap-add SYS_ADMIN --device /dev/fuse --device /dev/loop-control \
  --device-cgroup-rule 'b 7:* rmw' --security-opt seccomp="$SECCOMP" --mount "$(vol /tmp)" -e VDVS_EXPECT_ENGINE=sync \
  "$IMG" tests/run.sh --integration-only 72-vmdkfs-engine-fallback

# The full run needs what --privileged gives; where the host itself lacks
# a capability (--privileged then fails: "unable to apply caps"), the same
# rights are spelled out without it.
if "$DOCKER" run --rm --privileged "$IMG" true >/dev/null 2>&1; then
  rights=(--privileged)
else
  caps=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
        LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER
        SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE
        SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP
        MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF
        CHECKPOINT_RESTORE)
  bnd=$((16#$(awk '/^CapBnd/ { print $2 }' /proc/self/status)))
  rights=(--cap-add ALL --security-opt seccomp=unconfined --security-opt apparmor=unconfined
          --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm'
          -v /dev:/dev -v /sys/fs/cgroup:/sys/fs/cgroup:rw)
  for i in "${!caps[@]}"; do
    (( (bnd >> i) & 1 )) || rights+=(--cap-drop "${caps[$i]}")
  done
  echo "test-container: --privileged refused here; using ${rights[*]}"
fi
# The Windows tests (95-98) need mingw, wine and Debian's cJSON source,
# which the image does not carry (a few hundred MB); `make test` runs them
# on the host.
run full full.log "${rights[@]}" --mount "$(vol /var/lib/docker)" --mount "$(vol /tmp)" \
  -e VDVS_EXCLUDE="95-windows-pipe 96-windows-vdvsd 97-windows-engine 98-windows-disks" \
  "$IMG"
echo
echo "test-container: done in $(( $(date +%s) - start ))s"
echo "$P passed, $F failed, $K skipped"
[ $rc -eq 0 ] && [ $F -eq 0 ]
