#!/bin/sh
# Black-box tests of the rbm program's top level: --version, help, commands.
# usage: sh tests/cli/test_main.sh path/to/rbm
# Prints one line per check ("ok - ..." / "not ok - ...") and exits non-zero
# if any check failed (the shared helpers are in cli_common.sh).
CLI_TEST=test_main.sh
. "$(dirname "$0")/cli_common.sh"

# --- version and help ----------------------------------------------------
run --version
if [ "$rc" -eq 0 ] && grep -Eq '^rbm [0-9]+\.[0-9]+\.[0-9]+' "$tmp/out"; then
    ok "--version prints the version: $(cat "$tmp/out")"
else
    fail "--version (status $rc)"
fi

for h in help --help -h; do
    run "$h"
    if [ "$rc" -eq 0 ] && grep -q 'train' "$tmp/out" && [ ! -s "$tmp/err" ]; then
        ok "rbm $h lists the commands"
    else
        fail "rbm $h (status $rc)"
    fi
done
run help train
if [ "$rc" -eq 0 ] && grep -q -- '--n-hidden' "$tmp/out" && grep -q -- '--json' "$tmp/out"; then
    ok "rbm help train documents the options"
else
    fail "rbm help train (status $rc)"
fi
run train --help
if [ "$rc" -eq 0 ] && grep -q -- '--estimator' "$tmp/out"; then
    ok "rbm train --help"
else
    fail "rbm train --help (status $rc)"
fi
for c in eval sample spectrum analyze; do
    run help "$c"
    if [ "$rc" -eq 0 ] && grep -q "usage: rbm $c MODEL" "$tmp/out" && grep -q -- '--json' "$tmp/out"; then
        ok "rbm help $c"
    else
        fail "rbm help $c (status $rc)"
    fi
    run "$c" --help
    if [ "$rc" -eq 0 ] && grep -q "usage: rbm $c MODEL" "$tmp/out"; then
        ok "rbm $c --help"
    else
        fail "rbm $c --help (status $rc)"
    fi
done
run help
if grep -q '^  eval ' "$tmp/out" && grep -q '^  sample ' "$tmp/out" &&
    grep -q '^  spectrum ' "$tmp/out" && grep -q '^  analyze ' "$tmp/out" &&
    grep -q '^  phase ' "$tmp/out"; then
    ok "rbm help lists eval, sample, spectrum, analyze and phase"
else
    fail "rbm help does not list every command"
fi
run help phase
if [ "$rc" -eq 0 ] && grep -q 'usage: rbm phase' "$tmp/out" && grep -q -- '--temperature' "$tmp/out"; then
    ok "rbm help phase"
else
    fail "rbm help phase (status $rc)"
fi
run train --help
if [ "$rc" -eq 0 ] && grep -q -- '--track-spectrum' "$tmp/out" && grep -q -- '--no-report' "$tmp/out" &&
    grep -q -- '--plots DIR' "$tmp/out"; then
    ok "rbm train --help documents --track-spectrum, --no-report and --plots"
else
    fail "rbm train --help: report options (status $rc)"
fi


# --- usage errors of the top level ---------------------------------------------
expect_error 2 "no command" 
expect_error 2 "unknown command" frobnicate

finish
