#!/usr/bin/env bash
# Check that the C sources follow .clang-format (the house style, GNU).
# Lists every file clang-format would change and exits 1 if there is one;
# changes nothing.  Fix a file with `clang-format -i FILE`.
# Usage: scripts/check-format.sh [FILE...]   (default: every *.c and *.h
# under src/ common/ include/ backends/ fuse/ tools/ tests/ fuzz/)
# Prints one TAP line, so the unit runner counts it as a case.
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
command -v "$CLANG_FORMAT" >/dev/null || {
  echo "check-format: $CLANG_FORMAT not found; run scripts/deps.sh (Debian package clang-format)" >&2
  exit 2
}
# Options (the unit runner passes --tap=...) are not files.
files=()
for a in "$@"; do [[ $a == -* ]] || files+=("$a"); done
if [ ${#files[@]} -eq 0 ]; then
  dirs=()
  for d in src common include backends fuse tools tests fuzz; do
    [ -d "$d" ] && dirs+=("$d")
  done
  mapfile -t files < <(find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) | sort)
fi
bad=()
for f in "${files[@]}"; do
  "$CLANG_FORMAT" --style=file --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check-format: ${#bad[@]} of ${#files[@]} files differ from .clang-format:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "check-format: fix with: clang-format -i FILE... (see HACKING.md)" >&2
  echo "not ok 1 - format: ${#bad[@]} of ${#files[@]} C files differ from .clang-format"
  exit 1
fi
echo "ok 1 - format: ${#files[@]} C files follow .clang-format"
