#!/bin/sh
# Install test (suite: examples): what a user gets from `meson install`.
#
# usage: test_install_pkgconfig.sh SOURCE_ROOT BUILD_ROOT
#
# 1. `meson install --destdir` the build tree into a temporary directory;
# 2. the installed tree holds include/rbm/*.h (all public headers plus the
#    generated version.h), librbm.so with the SONAME of docs/abi-policy.md,
#    its symlinks, and rbm.pc;
# 3. outside meson, compile examples/custom_loop.c (cc -std=c11),
#    examples/cpp_link.cpp (g++ -std=c++17) and the C example of README.md
#    with only `pkg-config --cflags --libs rbm` (PKG_CONFIG_SYSROOT_DIR
#    pointing into the destdir), and run them with LD_LIBRARY_PATH.
set -u

src=${1:?usage: test_install_pkgconfig.sh SOURCE_ROOT BUILD_ROOT}
build=${2:?usage: test_install_pkgconfig.sh SOURCE_ROOT BUILD_ROOT}
CC=${CC:-cc}
CXX=${CXX:-g++}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rbm-install.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
dest="$tmp/dest"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# --- 1. install -------------------------------------------------------------
if ! meson install -C "$build" --no-rebuild --destdir "$dest" > "$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL: meson install --destdir"
    exit 1
fi
pass "meson install --destdir $dest"

# --- 2. installed tree ------------------------------------------------------
pc=$(find "$dest" -name rbm.pc -path '*/pkgconfig/*' | head -n 1)
hdrdir=$(find "$dest" -type d -path '*/include/rbm' | head -n 1)
lib=$(find "$dest" -name 'librbm.so.*.*.*' -type f | head -n 1)
[ -n "$pc" ] || { fail "rbm.pc not installed"; }
[ -n "$hdrdir" ] || { fail "include/rbm not installed"; }
[ -n "$lib" ] || { fail "librbm.so.X.Y.Z not installed"; }
if [ "$failures" -ne 0 ]; then
    find "$dest" | sed 's/^/  /'
    exit 1
fi
libdir=$(dirname "$lib")

for h in "$src"/include/rbm/*.h; do
    b=$(basename "$h")
    if [ -f "$hdrdir/$b" ] && cmp -s "$h" "$hdrdir/$b"; then :; else fail "header $b not installed (or differs)"; fi
done
if [ -f "$hdrdir/version.h" ] && grep -q '^#define RBM_VERSION_STRING "' "$hdrdir/version.h"; then
    pass "headers installed: $(cd "$hdrdir" && ls | tr '\n' ' ')"
else
    fail "generated version.h not installed"
fi

# SONAME: librbm.so.0.MINOR during 0.x, librbm.so.MAJOR from 1.0 on.
major=$(sed -n 's/^#define RBM_VERSION_MAJOR \([0-9]*\).*/\1/p' "$hdrdir/version.h")
minor=$(sed -n 's/^#define RBM_VERSION_MINOR \([0-9]*\).*/\1/p' "$hdrdir/version.h")
if [ "$major" = 0 ]; then want="librbm.so.0.$minor"; else want="librbm.so.$major"; fi
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" = "$want" ]; then pass "SONAME $soname"; else fail "SONAME is '$soname', expected '$want'"; fi
[ -e "$libdir/$want" ] || fail "symlink $want missing in $libdir"
[ -e "$libdir/librbm.so" ] || fail "development symlink librbm.so missing in $libdir"

# --- 3. build and run programs against the installed tree only -------------------
pcdir=$(dirname "$pc")
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_SYSROOT_DIR="$dest"
if ! flags=$(pkg-config --cflags --libs rbm 2> "$tmp/pc.log"); then
    cat "$tmp/pc.log"
    fail "pkg-config --cflags --libs rbm"
    exit 1
fi
pass "pkg-config --cflags --libs rbm: $flags (version $(pkg-config --modversion rbm))"
case "$flags" in
    *"$dest"*) ;;
    *) fail "pkg-config flags do not point into the destdir" ;;
esac
unset PKG_CONFIG_SYSROOT_DIR

# run NAME: run $tmp/NAME with the installed library, check it used that copy.
run() {
    LD_LIBRARY_PATH="$libdir" "$tmp/$1" > "$tmp/$1.out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass "$1 ran: $(tail -n 1 "$tmp/$1.out")"
    else
        sed 's/^/  | /' "$tmp/$1.out"
        fail "$1 exited with status $rc"
    fi
    if LD_LIBRARY_PATH="$libdir" ldd "$tmp/$1" | grep -q "$libdir/$want"; then :; else
        fail "$1 did not load $libdir/$want"
    fi
}

# build NAME COMPILER ARGS...: compile, keeping the log.
build() {
    name=$1; shift
    # $flags is word-split on purpose: it is a list of compiler arguments.
    # shellcheck disable=SC2086
    if "$@" -o "$tmp/$name" $flags -lm > "$tmp/$name.log" 2>&1; then
        pass "$name compiled"
        run "$name"
    else
        sed 's/^/  | /' "$tmp/$name.log"
        fail "$name does not compile against the installed tree"
    fi
}

build custom_loop "$CC" -std=c11 -Wall -Wextra -pedantic -Werror "$src/examples/custom_loop.c"
build cpp_link "$CXX" -std=c++17 -Wall -Wextra -pedantic -Werror "$src/examples/cpp_link.cpp"

# The first ```c block of README.md must compile and run too.
if [ -f "$src/README.md" ]; then
    awk '/^```c[[:space:]]*$/ { if (!done) { on = 1; next } }
         /^```/ { if (on) { on = 0; done = 1 } }
         on { print }' "$src/README.md" > "$tmp/readme_example.c"
    if [ -s "$tmp/readme_example.c" ]; then
        build readme_example "$CC" -std=c11 -Wall -Wextra -pedantic -Werror "$tmp/readme_example.c"
    else
        fail "README.md has no \`\`\`c example block"
    fi
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all install checks passed"
