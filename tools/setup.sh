#!/bin/bash
# librbm — set up a Debian 12 machine, build, and run the main job or the tests.
#
#   bash tools/setup.sh run [rbm train options]   install, build, `rbm train`
#   bash tools/setup.sh test                      install, build, all tests
#   bash tools/setup.sh deps | build              only those steps
#   bash tools/setup.sh deps-fuzz                 the fuzzing toolchain (tests/fuzz/run.sh)
#   bash tools/setup.sh summary BUILD_DIR|LOG...  "N passed, N failed, N skipped"
#
# Needs root (or sudo) only when a Debian package is missing; when everything
# is installed apt is not touched, so repeated runs are fast.
#
# Environment:
#   RBM_BUILD_DIR     build directory (default: build)
#   RBM_MESON_ARGS    extra `meson setup` arguments for a new build directory
#   RBM_NO_SUMMARY=1  `test` does not print the summary line (.ci/run prints
#                     one line for all its test runs)
#   RBM_CI_DEPS=1     also install the CI-only packages (abigail-tools,
#                     valgrind)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RBM_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac

# Everything the build, the tests, the examples and the plots need; all are
# Debian 12 packages.
packages=(
    build-essential meson ninja-build pkg-config
    libopenblas-dev liblapacke-dev libblas3 liblapack3 libcmocka-dev zlib1g-dev libpng-dev
    python3 python3-numpy
    python3-cffi python3-pytest python3-mesonpy python3-pip python3-venv patchelf
    python3-sklearn python3-matplotlib
    dataset-fashion-mnist gnuplot-nox
    libhdf5-dev python3-h5py
    libopenmpi-dev openmpi-bin
    hmmer-examples
)
# Only for .ci/run (RBM_CI_DEPS=1): the ABI gate (abidw, abidiff) and the
# memcheck step. Without them those tests are skipped.
ci_packages=(abigail-tools valgrind)
if [ "${RBM_CI_DEPS:-0}" = 1 ]; then
    packages+=("${ci_packages[@]}")
fi

# Only for tests/fuzz/run.sh (clang with libFuzzer); the plain build and
# tests do not need them.
fuzz_packages=(clang libclang-rt-14-dev libfuzzer-14-dev)

say() { printf '==> %s\n' "$*" >&2; }

deps() { install_missing "${packages[@]}"; }
deps_fuzz() { install_missing "${fuzz_packages[@]}"; }

# install_missing PACKAGE...: apt-get install those that are not installed.
install_missing() {
    local missing=() p
    for p in "$@"; do
        if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "all $# Debian packages already installed"
        return 0
    fi
    say "installing: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo > /dev/null || { say "need root (or sudo) to apt-get install"; exit 1; }
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@"
}

build() {
    if [ ! -f "$build/build.ninja" ]; then
        # A directory left by a failed `meson setup` cannot be set up again.
        if [ -d "$build/meson-private" ]; then rm -rf "$build"; fi
        say "meson setup $build"
        # shellcheck disable=SC2086
        meson setup "$build" "$root" --buildtype=debugoptimized ${RBM_MESON_ARGS:-}
    fi
    say "building in $build"
    ninja -C "$build"
}

# summary DIR|LOG...: count meson's test results in DIR/meson-logs/testlog.json,
# or in LOG itself when it is a .json file (`meson test --setup X` writes
# testlog-X.json).
summary() {
    if [ ! -x /usr/bin/python3 ]; then   # setup failed before python3 was installed
        echo "0 passed, 1 failed, 0 skipped"
        return 1
    fi
    /usr/bin/python3 - "$@" << 'EOF'
import json, os, sys
passed = failed = skipped = 0
for d in sys.argv[1:]:
    log = d if d.endswith(".json") else os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"{log}: missing (build or test run failed)", file=sys.stderr)
        failed += 1
        continue
    with open(log, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line).get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, anything unknown
                failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
EOF
}

run_tests() {
    local rc=0
    rm -f "$build/meson-logs/testlog.json"
    say "meson test -C $build"
    meson test -C "$build" --print-errorlogs || rc=$?
    if [ "${RBM_NO_SUMMARY:-0}" != 1 ]; then
        summary "$build" || rc=1
    fi
    return $rc
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    deps) deps ;;
    deps-fuzz) deps_fuzz ;;
    build) deps; build ;;
    run) deps; build; say "rbm train $*"; exec "$build/tools/rbm" train "$@" ;;
    test) deps; build; run_tests ;;
    summary) summary "$@" ;;
    *)
        sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
        exit 2
        ;;
esac
