#!/bin/sh
# test_enospc.sh RBM — a real ENOSPC in the middle of a save: a 1 MiB tmpfs
# holds the old files (model, checkpoint, NPY samples) and a filler that
# leaves 16 KiB free; saving new ones over them runs out of space after the
# first 16 KiB. Each save must fail (exit 1, "No space left on
# device"), leave the old file byte-identical and leave no temporary.
# Needs root and a working `mount -t tmpfs`; skipped (exit 77) otherwise,
# with the reason.
set -u
RBM=${1:?usage: test_enospc.sh path/to/rbm}
if [ "$(id -u)" -ne 0 ]; then
    echo "# skip: mounting a small tmpfs needs root (euid $(id -u))"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rbm-enospc.XXXXXX") || exit 1
mnt=$tmp/mnt
mkdir "$mnt"
if ! mount -t tmpfs -o size=1m tmpfs "$mnt" 2>"$tmp/mount.err"; then
    echo "# skip: mount -t tmpfs failed: $(cat "$tmp/mount.err")"
    rm -rf "$tmp"
    exit 77
fi
trap 'umount "$mnt"; rm -rf "$tmp"' EXIT
OPENBLAS_NUM_THREADS=1
export OPENBLAS_NUM_THREADS
failed=0
ok() { echo "ok - $1"; }
fail() {
    failed=$((failed + 1))
    echo "not ok - $1"
    sed 's/^/#   stderr: /' "$tmp/err" | head -n 5
}
# check WHAT FILE...: the last command exited 1 with ENOSPC's reason, every
# FILE equals its copy FILE.old (in $tmp), and the mount holds only them.
check() {
    what=$1
    shift
    if [ "$rc" -ne 1 ] || ! grep -q "No space left on device" "$tmp/err"; then
        fail "$what: exit $rc, expected 1 with 'No space left on device'"
        return
    fi
    for f in "$@"; do
        cmp -s "$mnt/$f" "$tmp/$f.old" || { fail "$what: $f changed"; return; }
    done
    left=$(ls -A "$mnt" | grep -v -x -e m.rbm -e c.rbm -e c.rbm.ckpt -e s.npy -e filler || true)
    [ -z "$left" ] || { fail "$what: left $left"; return; }
    ok "$what: ENOSPC reported ($(head -n 1 "$tmp/err")), old file intact, no temporary"
}
q="--epochs 1 --quiet --no-report"
# the old files: small
# shellcheck disable=SC2086
"$RBM" train $q --n-hidden 4 --out "$mnt/m.rbm" >/dev/null 2>"$tmp/err" &&
    "$RBM" train $q --n-hidden 4 --checkpoint-every 1 --out "$mnt/c.rbm" >/dev/null 2>"$tmp/err" &&
    "$RBM" sample "$mnt/m.rbm" -n 2 --steps 1 --out "$mnt/s.npy" --quiet >/dev/null 2>"$tmp/err" || {
    fail "writing the small old files"
    exit 1
}
for f in m.rbm c.rbm c.rbm.ckpt s.npy; do cp "$mnt/$f" "$tmp/$f.old"; done
dd if=/dev/zero of="$mnt/filler" bs=4096 2>/dev/null
truncate -s -16K "$mnt/filler"
echo "# old files: $(ls -l "$mnt" | awk 'NR > 1 {printf "%s %s B, ", $9, $5}')$(df -k --output=avail "$mnt" | tail -n 1 | tr -d ' ') KiB free"

# a 100 x 100 model (80 KB of weights) does not fit
# shellcheck disable=SC2086
"$RBM" train $q --n-hidden 100 --out "$mnt/m.rbm" >/dev/null 2>"$tmp/err"
rc=$?
check "model save" m.rbm
# a new checkpoint (written first) as large as the old one does not fit beside it
# shellcheck disable=SC2086
"$RBM" train $q --n-hidden 4 --seed 2 --checkpoint-every 1 --out "$mnt/c.rbm" >/dev/null 2>"$tmp/err"
rc=$?
check "checkpoint save" c.rbm c.rbm.ckpt
# 200 samples of 100 float64 values: 160 KB
"$RBM" sample "$mnt/m.rbm" -n 200 --steps 1 --out "$mnt/s.npy" --quiet >/dev/null 2>"$tmp/err"
rc=$?
check "NPY save" s.npy
[ "$failed" -eq 0 ]
