#!/usr/bin/env bash
# Build the libFuzzer harnesses with clang, ASan and UBSan, straight from
# the sources (the meson build is not involved).  Output: $FUZZ_BUILD
# (default build-fuzz/), one binary per harness.
# Usage: fuzz/build.sh [harness...]     exit 77: no clang/libFuzzer
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${FUZZ_BUILD:-$TOP/build-fuzz}
CC=${FUZZ_CC:-$(command -v clang || command -v clang-14 || true)}
[ -n "$CC" ] || { echo "SKIP: clang not installed" >&2; exit 77; }
mkdir -p "$OUT"

# Does this clang have the libFuzzer runtime?
probe=$OUT/.probe
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' > "$probe.c"
if ! "$CC" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" 2>"$probe.log"; then
  echo "SKIP: $CC cannot link -fsanitize=fuzzer (install libclang-rt-14-dev): $(head -1 "$probe.log")" >&2
  exit 77
fi
rm -f "$probe" "$probe.c" "$probe.log"

CFLAGS=(-g -O1 -fno-omit-frame-pointer -std=gnu11
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
        -fsanitize=float-cast-overflow,integer-divide-by-zero
        -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DVDVS_VERSION=\"fuzz\"
        -I"$TOP/include" -I"$TOP/src" -I"$TOP/backends/mock" -I"$TOP/backends/esx" -I"$TOP/fuzz")
# Source lists: the libraries' own lists in the meson files, so that a file
# added there is picked up here.
meson_list () { # FILE START-PATTERN DIR: the 'x.c' names of one files()/library() call
  sed -n "/$2/,/)/p" "$TOP/$1" | grep -oE "'[A-Za-z0-9_/]+[.]c'" | tr -d "'" | sed "s|^|$3/|"
}
common=($(meson_list common/meson.build "static_library('vdvs_common'" common))
mock=($(meson_list backends/mock/meson.build "static_library('vdvs_mock'" backends/mock))
core=($(meson_list src/meson.build "core_src = files(" src)
      $(meson_list src/meson.build "static_library('vdvs_platform_linux'" src))
esx=(backends/esx/wire.c backends/esx/codec.c)

# Every harness links common/, whose mkfs.c probes devices with libblkid.
declare -A srcs libs
srcs[fuzz_api]="${common[*]} ${mock[*]} backends/registry.c ${core[*]}";   libs[fuzz_api]="-lblkid -lcjson -lcurl -lmicrohttpd -lpthread -lsqlite3"
srcs[fuzz_wire]="${common[*]} ${esx[*]}";               libs[fuzz_wire]="-lblkid -lcjson -lm -lpthread"
srcs[fuzz_esx_request]="${common[*]} ${esx[*]}";        libs[fuzz_esx_request]="-lblkid -lcjson -lm -lpthread"
srcs[fuzz_esx_reply]="${common[*]} ${esx[*]}";          libs[fuzz_esx_reply]="-lblkid -lcjson -lm -lpthread"
srcs[fuzz_name]="${common[*]} ${mock[*]}";              libs[fuzz_name]="-lblkid -lcjson -lpthread -lsqlite3"
srcs[fuzz_options]="${common[*]} ${mock[*]}";           libs[fuzz_options]="-lblkid -lcjson -lpthread -lsqlite3"
srcs[fuzz_descriptor]="${common[*]} ${mock[*]}";        libs[fuzz_descriptor]="-lblkid -lcjson -lpthread -lsqlite3"
srcs[fuzz_sidecar]="${common[*]} ${mock[*]}";           libs[fuzz_sidecar]="-lblkid -lcjson -lpthread -lsqlite3"

all=$(cd "$TOP/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
want=("$@"); [ ${#want[@]} -gt 0 ] || want=($all)
cd "$TOP"
for h in "${want[@]}"; do
  [ -n "${srcs[$h]:-}" ] || { echo "build.sh: unknown harness $h" >&2; exit 2; }
  # shellcheck disable=SC2086
  "$CC" "${CFLAGS[@]}" -o "$OUT/$h" "fuzz/$h.c" ${srcs[$h]} ${libs[$h]}
  echo "built $OUT/$h"
done
