#!/bin/bash
# ABI gate: compare the binary interface of librbm with the committed baseline
# abi/librbm-<soname version>.abi using libabigail (Debian abigail-tools).
#
#   tests/abi/abi_gate.sh                  build a release library with -g in
#                                          build-abi-gate/ and compare it
#   tests/abi/abi_gate.sh --lib LIB        compare an already built librbm.so
#                                          (it must carry DWARF: -g)
#   tests/abi/abi_gate.sh --update         rewrite the baseline from a release
#                                          build (at a release only)
#   tests/abi/abi_gate.sh --self-test      check the rules on tiny libraries
#
# Options: --source DIR (source root, default: this script's ../..),
# --build DIR (build directory for the release build, default DIR/build-abi-gate).
#
# The baseline is the abidw dump of the library restricted to the public
# headers (include/rbm/ and the generated version.h), so only the ABI of
# RBM_API functions and the types they reach count; opaque handles stay
# opaque. Rules (docs/abi-policy.md, "The ABI gate"):
#   - no difference, or only added functions/variables, or only harmless
#     changes such as a new enumerator: pass (added names are listed);
#   - any other change (removed or changed function, changed parameter or
#     return type, changed public struct, changed enum value): fail, unless
#     the library's SONAME differs from the baseline's -- then a new ABI was
#     declared; the gate passes and reminds to refresh the baseline;
#   - abidiff reporting an error: fail.
# Exit status 0 pass, 1 fail, 77 skipped (abigail-tools missing, or the
# library has no debug information).
set -uo pipefail

script=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
root=$(cd "$(dirname "$script")/../.." && pwd)
mode=check
lib=
build=

while [ $# -gt 0 ]; do
    case "$1" in
        --update) mode=update ;;
        --self-test) mode=selftest ;;
        --lib) lib=$2; shift ;;
        --source) root=$(cd "$2" && pwd); shift ;;
        --build) build=$2; shift ;;
        *) echo "abi_gate: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
build=${build:-$root/build-abi-gate}

say() { printf 'abi_gate: %s\n' "$*"; }

for tool in abidw abidiff readelf; do
    if ! command -v "$tool" > /dev/null; then
        say "SKIP: $tool not found (install the Debian package abigail-tools / binutils)"
        exit 77
    fi
done

# dump LIB OUT HEADERS_DIR...: the public ABI of LIB as abixml. Locations and
# the architecture are left out so that the baseline changes only when the
# interface does (not when a line moves).
dump() {
    local l=$1 out=$2 hd=()
    shift 2
    local d
    for d in "$@"; do hd+=(--headers-dir "$d"); done
    abidw "${hd[@]}" --drop-private-types --exported-interfaces-only --no-corpus-path \
        --no-comp-dir-path --no-show-locs --no-architecture --out-file "$out" "$l"
}

soname_of_abi() { sed -n "s/.*<abi-corpus [^>]*soname='\([^']*\)'.*/\1/p" "$1" | head -n 1; }

has_dwarf() { readelf -S --wide "$1" 2> /dev/null | grep -q '\.debug_info'; }

# compare BASELINE NEW: the rules above; prints the verdict, returns 0 or 1.
compare() {
    local base=$1 new=$2 rc report
    local so_base so_new
    so_base=$(soname_of_abi "$base")
    so_new=$(soname_of_abi "$new")
    # --no-added-syms: added functions and variables do not count as a change
    # (they are listed below); harmless changes are filtered by default.
    report=$(abidiff --no-added-syms "$base" "$new" 2>&1)
    rc=$?
    if [ $((rc & 3)) -ne 0 ]; then
        say "FAIL: abidiff error (exit $rc)"
        printf '%s\n' "$report"
        return 1
    fi
    local added
    added=$(abidiff --added-fns --added-vars "$base" "$new" 2>&1 | grep "^  \[A\]")
    if [ -n "$added" ]; then
        say "added (compatible):"
        printf '%s\n' "$added"
    fi
    if [ "$rc" -eq 0 ]; then
        say "PASS: ABI of $so_new is compatible with the baseline $(basename "$base")"
        return 0
    fi
    if [ "$so_base" != "$so_new" ]; then
        printf '%s\n' "$report"
        say "PASS: a new ABI was declared (SONAME $so_base -> $so_new); the changes above are"
        say "allowed. Refresh the baseline for the release: tests/abi/abi_gate.sh --update"
        return 0
    fi
    printf '%s\n' "$report"
    say "FAIL: incompatible ABI change with the same SONAME $so_new (abidiff exit $rc)."
    say "Keep the old signature (add a new function instead), or declare a new ABI by bumping"
    say "the minor version in meson.build (docs/abi-policy.md)."
    return 1
}

# The baseline with the highest version in abi/.
baseline_file() {
    find "$root/abi" -maxdepth 1 -name 'librbm-*.abi' 2> /dev/null | sort -V | tail -n 1
}

# release_build: a release library with debug information, tests off.
release_build() {
    if [ ! -f "$build/build.ninja" ]; then
        [ -d "$build/meson-private" ] && rm -rf "$build"
        meson setup "$build" "$root" --buildtype=release -Dc_args=-g -Dtests=false \
            -Dtools=false -Dbench=false > "$build.setup.log" 2>&1 ||
            { cat "$build.setup.log"; say "FAIL: meson setup $build"; return 1; }
        rm -f "$build.setup.log"
    fi
    ninja -C "$build" > /dev/null || { say "FAIL: build in $build"; return 1; }
    lib=$build/lib/librbm.so
}

selftest() {
    local cc=${CC:-cc} t
    command -v "$cc" > /dev/null || { say "SKIP: no C compiler ($cc)"; exit 77; }
    t=$(mktemp -d) || return 1
    trap 'rm -rf "$t"' RETURN
    mkdir -p "$t/pub" "$t/priv"
    # A public header with a public struct, an enum, an opaque handle; the
    # handle's layout is in a private header.
    cat > "$t/pub/st.h" << 'EOF'
typedef struct st_point { int x; int y; } st_point;
typedef enum st_kind { ST_A = 0, ST_B = 1 } st_kind;
typedef struct st_obj st_obj;
int st_add(int a, int b);
int st_norm(const st_point *p, st_kind k);
int st_obj_get(const st_obj *o);
#ifdef V_ADD
int st_new_function(int a);
#endif
#ifdef V_SIG
double st_scale(double a, double b);
#else
double st_scale(double a);
#endif
EOF
    cat > "$t/priv/obj.h" << 'EOF'
#ifdef V_PRIV
struct st_obj { long pad; double v[4]; int n; };
#else
struct st_obj { int n; };
#endif
EOF
    cat > "$t/st.c" << 'EOF'
#include "pub/st.h"
#include "priv/obj.h"
int st_add(int a, int b) { return a + b; }
int st_norm(const st_point *p, st_kind k) { return p->x * p->y + (int)k; }
int st_obj_get(const st_obj *o) { return o->n; }
#ifdef V_ADD
int st_new_function(int a) { return a; }
#endif
#ifdef V_SIG
double st_scale(double a, double b) { return a * b; }
#else
double st_scale(double a) { return 2 * a; }
#endif
EOF
    printf 'ST_0.2 {\n  global:\n    st_*;\n  local:\n    *;\n};\n' > "$t/st.map"
    # mk NAME SONAME SED-ON-PUBLIC-HEADER CFLAGS...: build and dump one variant.
    mk() {
        local name=$1 so=$2 edit=$3
        shift 3
        local d="$t/$name"
        mkdir -p "$d/pub" "$d/priv"
        sed "$edit" "$t/pub/st.h" > "$d/pub/st.h"
        cp "$t/priv/obj.h" "$d/priv/obj.h"
        cp "$t/st.c" "$d/st.c"
        "$cc" -g -O2 -shared -fPIC -fvisibility=default "-Wl,--version-script=$t/st.map" \
            "-Wl,-soname,$so" "$@" "$d/st.c" -o "$d/libst.so" &&
            dump "$d/libst.so" "$t/$name.abi" "$d/pub"
    }
    mk base libst.so.0.2 '' || { say "FAIL: self-test could not build its libraries"; return 1; }
    mk same libst.so.0.2 '' &&
    mk added libst.so.0.2 '' -DV_ADD &&
    mk enum_added libst.so.0.2 's/ST_B = 1 }/ST_B = 1, ST_C = 7 }/' &&
    mk private libst.so.0.2 '' -DV_PRIV &&
    mk signature libst.so.0.2 '' -DV_SIG &&
    mk struct libst.so.0.2 's/int x; int y;/int x; long y;/' &&
    mk enum_value libst.so.0.2 's/ST_B = 1/ST_B = 2/' &&
    mk removed libst.so.0.2 '/st_norm/d' -Dst_norm=st_norm_hidden_ &&
    mk new_soname libst.so.0.3 '' -DV_SIG ||
        { say "FAIL: self-test could not build its libraries"; return 1; }
    local fails=0 v want got out
    for v in same:0 added:0 enum_added:0 private:0 new_soname:0 signature:1 struct:1 \
             enum_value:1 removed:1; do
        want=${v#*:}
        v=${v%%:*}
        out=$(compare "$t/base.abi" "$t/$v.abi" 2>&1)
        got=$?
        if [ "$got" -eq "$want" ]; then
            echo "ok - $v: gate $( [ "$want" -eq 0 ] && echo passes || echo fails ) as expected"
        else
            echo "not ok - $v: gate returned $got, expected $want"
            printf '%s\n' "$out" | sed 's/^/#   /'
            fails=$((fails + 1))
        fi
        if [ "$v" = added ] && ! printf '%s\n' "$out" | grep -q "st_new_function"; then
            echo "not ok - added: the added function is not listed"
            fails=$((fails + 1))
        fi
        if [ "$v" = new_soname ] && ! printf '%s\n' "$out" | grep -q "new ABI was declared"; then
            echo "not ok - new_soname: no 'new ABI was declared' message"
            fails=$((fails + 1))
        fi
    done
    [ "$fails" -eq 0 ] && say "self-test passed" || say "self-test: $fails failure(s)"
    [ "$fails" -eq 0 ]
}

case "$mode" in
    selftest)
        selftest
        exit $?
        ;;
    update)
        [ -n "$lib" ] || release_build || exit 1
        hdirs=("$root/include/rbm" "$(dirname "$lib")/../include/rbm")
        tmp=$(mktemp) || exit 1
        dump "$lib" "$tmp" "${hdirs[@]}" || { rm -f "$tmp"; say "FAIL: abidw"; exit 1; }
        so=$(soname_of_abi "$tmp")
        ver=${so#librbm.so.}
        mkdir -p "$root/abi"
        for old in "$root"/abi/librbm-*.abi; do
            [ -e "$old" ] && [ "$old" != "$root/abi/librbm-$ver.abi" ] && rm -f "$old" &&
                say "removed the old baseline $(basename "$old") (git history keeps it)"
        done
        chmod 644 "$tmp" && mv "$tmp" "$root/abi/librbm-$ver.abi"
        say "wrote abi/librbm-$ver.abi ($(grep -c '<elf-symbol ' "$root/abi/librbm-$ver.abi") symbols, SONAME $so)"
        ;;
    check)
        base=$(baseline_file)
        if [ -z "$base" ]; then
            say "FAIL: no baseline abi/librbm-*.abi in $root"
            exit 1
        fi
        [ -n "$lib" ] || release_build || exit 1
        if ! has_dwarf "$lib"; then
            say "SKIP: $lib has no debug information (build with -g, e.g. buildtype debugoptimized)"
            exit 77
        fi
        hdirs=("$root/include/rbm" "$(dirname "$lib")/../include/rbm")
        tmp=$(mktemp) || exit 1
        trap 'rm -f "$tmp"' EXIT
        dump "$lib" "$tmp" "${hdirs[@]}" || { say "FAIL: abidw $lib"; exit 1; }
        compare "$base" "$tmp"
        exit $?
        ;;
esac
