#!/bin/sh
# Header hygiene for the public API (suite: abi).
#
# usage: test_headers.sh SOURCE_ROOT BUILD_ROOT
#
# 1. Every public header compiles on its own, first thing in a translation
#    unit, as C11 and as C++11, with -Wall -Wextra -Werror -pedantic (and
#    included twice, to check its include guard).
# 2. `cc -E -P -DRBM_CFFI rbm.h` gives a declaration list that a cffi cdef
#    can read: no '#' lines and no __attribute__.
#
# The headers are staged as they are installed (include/rbm/*.h plus the
# generated version.h from the build tree), so what is tested is what users
# get. Prints TAP.
set -u

src=${1:?usage: test_headers.sh SOURCE_ROOT BUILD_ROOT}
build=${2:?usage: test_headers.sh SOURCE_ROOT BUILD_ROOT}
CC=${CC:-cc}
CXX=${CXX:-g++}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rbm-headers.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/include/rbm" || exit 99

cp "$src"/include/rbm/*.h "$tmp/include/rbm/" || exit 99
if [ -f "$build/include/rbm/version.h" ]; then
    cp "$build/include/rbm/version.h" "$tmp/include/rbm/"
else
    echo "Bail out! $build/include/rbm/version.h not generated (run meson setup)"
    exit 99
fi

headers=$(cd "$tmp/include/rbm" && ls -- *.h)
n=0
for h in $headers; do n=$((n + 2)); done
n=$((n + 2))
echo "1..$n"

i=0
failed=0
ok() { i=$((i + 1)); echo "ok $i - $1"; }
not_ok() {
    i=$((i + 1)); failed=$((failed + 1)); echo "not ok $i - $1"
    sed 's/^/# /' "$tmp/log"
}

cflags="-Wall -Wextra -Werror -pedantic"
for h in $headers; do
    printf '#include <rbm/%s>\n#include <rbm/%s>\nint rbm_header_test_dummy;\n' "$h" "$h" > "$tmp/t.c"
    cp "$tmp/t.c" "$tmp/t.cpp"
    if $CC -std=c11 $cflags -Wstrict-prototypes -I"$tmp/include" -c "$tmp/t.c" \
            -o "$tmp/t.o" > "$tmp/log" 2>&1; then
        ok "$h compiles alone as C11"
    else
        not_ok "$h compiles alone as C11"
    fi
    if $CXX -std=c++11 $cflags -I"$tmp/include" -c "$tmp/t.cpp" \
            -o "$tmp/t.o" > "$tmp/log" 2>&1; then
        ok "$h compiles alone as C++11"
    else
        not_ok "$h compiles alone as C++11"
    fi
done

# The preprocessed umbrella header is the cffi cdef (docs/api-conventions.md).
if $CC -E -P -DRBM_CFFI "$tmp/include/rbm/rbm.h" > "$tmp/cdef.h" 2> "$tmp/log"; then
    ok "cc -E -P -DRBM_CFFI rbm.h succeeds"
    if grep -n -e '^[[:space:]]*#' -e '__attribute__' "$tmp/cdef.h" > "$tmp/log"; then
        not_ok "RBM_CFFI output has no '#' lines and no __attribute__"
    elif ! grep -q 'rbm_context_new' "$tmp/cdef.h"; then
        echo "rbm_context_new not found in the output" > "$tmp/log"
        not_ok "RBM_CFFI output has no '#' lines and no __attribute__"
    else
        ok "RBM_CFFI output has no '#' lines and no __attribute__ ($(wc -l < "$tmp/cdef.h") lines)"
    fi
else
    not_ok "cc -E -P -DRBM_CFFI rbm.h succeeds"
    i=$((i + 1)); failed=$((failed + 1)); echo "not ok $i - RBM_CFFI output (skipped: preprocessing failed)"
fi

[ "$failed" -eq 0 ]
