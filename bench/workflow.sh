#!/usr/bin/env bash
# Workflow latency vs Docker's local driver (`bench/run.sh workflow`; not a
# test).  Through the Docker engine, per rep and for both drivers:
#   docker volume create            (vsphere: -o size=10gb, thin: create,
#                                    attach, mkfs.ext4, detach)
#   docker run --rm -v vol:/d IMAGE true   first run (vsphere: attach +
#                                    mount of the fresh filesystem), then warm
#   docker volume rm
# Medians over BENCH_REPS reps (5, at least 3); both drivers run in every
# rep and the one going first alternates (bench_order); ratio = median of
# same-rep ratios vsphere/local.  vdvsd runs on the
# emulated datastore with vmdkfs (the real data path) on
# /run/docker/plugins/vsphere.sock, private roots; skipped when the engine
# is down or that socket is served by someone else.
source "$(dirname "$0")/lib.sh"
REPS=$(bench_reps "${BENCH_REPS:-5}")
if [ "${BENCH_DRY_RUN:-0}" = 1 ]; then
  for rep in $(seq 1 "$REPS"); do echo "rep $rep: $(bench_order "$rep" local vsphere) none"; done
  exit 0
fi
engine_bench workflow wf
BENCH_LOG_LEVEL=debug start_vdvsd "$PLUGIN_SOCK" auto --docker-socket /var/run/docker.sock

R=$B/runs
: > "$R"
for rep in $(seq 1 "$REPS"); do
  for drv in $(bench_order "$rep" local vsphere); do
    v=wf${drv:0:1}$rep-$S
    opts=(); [ $drv = vsphere ] && opts=(-o size=10gb)
    echo "$drv create $rep $(ms_of d volume create --driver "$drv" --name "$v" "${opts[@]}")" >> "$R"
    echo "$drv run1 $rep $(ms_of d run --rm --network none -v "$v:/d" "$IMAGE" true)" >> "$R"
    echo "$drv run2 $rep $(ms_of d run --rm --network none -v "$v:/d" "$IMAGE" true)" >> "$R"
    echo "$drv rm $rep $(ms_of d volume rm "$v")" >> "$R"
  done
  # A container without any volume: the floor of `docker run`, in the
  # same rep.
  echo "none run1 $rep $(ms_of d run --rm --network none "$IMAGE" true)" >> "$R"
done

echo
echo "Workflow through the Docker engine ($(d version -f '{{.Server.Version}}' 2>/dev/null)); $(nproc) vCPU; medians of $REPS reps (ms);"
echo "vsphere = vdvsd on the emulated datastore (vmdkfs, loop, ext4), 10 GiB thin volumes; ratio = median of same-rep ratios"
echo
printf '| %-46s | %9s | %9s | %7s |\n' step "local" "vsphere" ratio
echo "|------------------------------------------------|-----------|-----------|---------|"
for step in create run1 run2 rm; do
  case $step in
    create) label="docker volume create" ;;
    run1) label="docker run --rm -v vol:/d true (first mount)" ;;
    run2) label="docker run --rm -v vol:/d true (warm)" ;;
    rm) label="docker volume rm" ;;
  esac
  awk -v s=$step -v label="$label" '
    function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    $2 == s { t[$1, $3] = $4; reps[$3] = 1 }
    END { for (r in reps) { n++; l[n] = t["local", r]; v[n] = t["vsphere", r]; q[n] = t["vsphere", r] / t["local", r] }
          printf "| %-46s | %9.0f | %9.0f | %6.2fx |\n", label, med(l, n), med(v, n), med(q, n) }' "$R"
done
none=$(awk '$1 == "none" { print $4 }' "$R" | median)
printf '| %-46s | %9.0f | %9s | %7s |\n' "docker run --rm true (no volume)" "$none" - -
stop_vdvsd
echo
echo "vdvsd log of the last rep (create, first mount, unmount):"
grep -E "wfv$REPS-$S" "$B/vdvsd.log" | tail -25 | cut -c12-220
