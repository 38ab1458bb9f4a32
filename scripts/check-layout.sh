#!/bin/sh
# The include boundaries of the source layout, checked on the sources
# and, given a build directory, on the compiler's include paths:
# - fuse/ and backends/ include only their own headers and include/vdvs/
#   (so nothing from src/);
# - src/ includes only its own headers and include/vdvs/ (no backend's;
#   src/platform/<os>/ also src/'s);
# - common/ and include/vdvs/ include only include/vdvs/ (no program's);
# - tools/ never include a header of src/;
# - only src/ and the unit tests compile with src/ on the include path, and
#   fuse/, common/ and backends/ have nothing on it but include/ and their
#   own folder.
# Prints one TAP line per rule (the unit runner counts them) and the
# offending lines; exits 1 when a rule is broken.
# Usage: scripts/check-layout.sh [BUILDDIR]   (other arguments are ignored)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=
for a in "$@"; do
  case $a in
    -*) ;;
    *) build=$a ;;
  esac
done
exec python3 - "$top" "$build" <<'EOF'
import os, re, shlex, sys

top, build = sys.argv[1], sys.argv[2]
INC = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
PROGRAMS = ('src', 'backends', 'fuse', 'tools', 'common')

def sources(folder):
    for d, _, files in os.walk(os.path.join(top, folder)):
        for f in sorted(files):
            if f.endswith(('.c', '.h')):
                yield os.path.join(d, f)

def includes(path):
    with open(path, errors='replace') as f:
        for n, line in enumerate(f, 1):
            m = INC.match(line)
            if m:
                yield n, m.group(1), m.group(2)

def under(path, folder):
    folder = os.path.normpath(os.path.join(top, folder))
    return os.path.commonpath([path, folder]) == folder

def resolve(path, kind, name):
    """Where a project include lands: the including file's folder (quotes
    only), then include/ (and src/ for src/platform/).  None for a header of the system."""
    here = os.path.dirname(path)
    cands = ([os.path.join(here, name)] if kind == '"' else []) + \
            [os.path.join(top, 'include', name)]
    if kind == '"' and under(path, 'src/platform'):
        cands.append(os.path.join(top, 'src', name))
    for c in cands:
        if os.path.isfile(c):
            return os.path.realpath(c)
    return None

# src/platform/windows/include/ stands in for system headers (<poll.h>,
# <sys/socket.h>) in the Windows build only: not a program's headers.
SHIMS = os.path.join(top, 'src', 'platform', 'windows', 'include')
DIRS = [d for folder in PROGRAMS
        for d, _, _ in os.walk(os.path.join(top, folder))
        if os.path.commonpath([d, SHIMS]) != SHIMS]

def project_header(name):
    """A name that resolves nowhere allowed: which program's header it
    would be if some include path reached it."""
    for d in DIRS:
        if os.path.isfile(os.path.join(d, name)):
            return os.path.relpath(os.path.join(d, name), top)
    return None

def rel(p):
    return os.path.relpath(p, top)

def line(path, n, kind, name, to):
    close = '>' if kind == '<' else '"'
    return '%s:%d: #include %s%s%s -> %s' % (rel(path), n, kind, name, close,
                                             to)

results = []

def rule(name, folders, allowed):
    """Every include of a file in `folders` resolves into allowed(file)."""
    bad = []
    for folder in folders:
        for path in sources(folder):
            for n, kind, name_ in includes(path):
                to = resolve(path, kind, name_)
                if to is None:
                    other = project_header(name_)
                    if other is None and kind == '<':
                        continue                     # a system header
                    bad.append(line(path, n, kind, name_,
                                    other or 'not found'))
                elif not any(under(to, a) for a in allowed(path)):
                    bad.append(line(path, n, kind, name_, rel(to)))
    results.append((name, bad))

own = lambda path: [os.path.relpath(os.path.dirname(path), top)]
rule('fuse-backends-own-headers-and-include-vdvs', ['fuse', 'backends'],
     lambda p: own(p) + ['include/vdvs'])
# src/platform/<os>/ is the platform layer of vdvsd: it also sees src/.
rule('src-own-headers-and-include-vdvs', ['src'],
     lambda p: own(p) + ['include/vdvs']
     + (['src'] if under(p, 'src/platform') else []))
rule('common-include-vdvs-only', ['common', 'include'],
     lambda p: ['include/vdvs'])

bad = []
for path in sources('tools'):
    for n, kind, name_ in includes(path):
        to = resolve(path, kind, name_) or project_header(name_)
        if to and under(os.path.join(top, to), 'src'):
            bad.append(line(path, n, kind, name_, rel(os.path.join(top, to))))
results.append(('tools-no-src-headers', bad))

if build:
    # The include paths meson gives each compile (compile_commands.json).
    import json
    bdir = os.path.realpath(build)
    bad = []
    try:
        with open(os.path.join(bdir, 'compile_commands.json')) as f:
            cmds = json.load(f)
    except OSError as e:
        cmds = []
        bad.append('%s: %s' % (build, e))
    for c in cmds:
        src = os.path.realpath(os.path.join(c['directory'], c['file']))
        srel = rel(src)
        folder = srel.split('/')[0]
        if folder not in PROGRAMS or c.get('output', '').startswith('tests/'):
            continue                         # tests, fuzz, bench
        for a in shlex.split(c['command']):
            if not a.startswith('-I'):
                continue
            d = os.path.realpath(os.path.join(c['directory'], a[2:]))
            if not under(d, '.') or os.path.commonpath([d, bdir]) == bdir:
                continue                     # a system or build-tree dir
            drel = rel(d)
            if folder == 'src':
                ok = drel in ('src', 'include')
            elif folder == 'tools':
                ok = not under(d, 'src')
            else:                            # fuse, backends, common
                ok = drel in ('include', os.path.dirname(srel))
            if not ok:
                bad.append('%s: compiled with -I%s' % (srel, drel))
    results.append(('include-paths', sorted(set(bad))))

failed = 0
print('1..%d' % len(results))
for name, bad in results:
    if bad:
        failed += 1
        print('not ok - %s' % name)
        for b in bad:
            print('#   ' + b)
    else:
        print('ok - %s' % name)
sys.exit(1 if failed else 0)
EOF
