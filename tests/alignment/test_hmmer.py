#!/usr/bin/env python3
"""Real alignments: Debian's hmmer-examples read by librbm (through
aln_probe) against this script's own parse of the same files.

usage: test_hmmer.py ALN_PROBE

For each Stockholm file the script counts the sequences and columns itself
(its own reader: '#' lines skipped, blocks joined by name, '//' ends),
decodes every symbol by the rules of docs/sequences.md, and compares the
whole state matrix, the number of unknown symbols mapped to the gap, and
the effective number of sequences M_eff at theta = 0.8 computed by brute
force with NumPy (w_s = 1 / #{t : mean(x_s == x_t) >= 0.8}). FASTA files
that are not alignments (sequences of different lengths) must be refused as
ragged. Exits 77 (skipped) when hmmer-examples is not installed
(tools/setup.sh installs it).
"""
import gzip
import os
import subprocess
import sys

import numpy as np

EXAMPLES = "/usr/share/doc/hmmer/examples"
PROTEIN = "-ACDEFGHIKLMNPQRSTVWY"
DNA = "-ACGT"

# file, alphabet, flags
CASES = [
    ("tutorial/fn3.sto", "protein", "-", None),
    ("tutorial/Pkinase.sto", "protein", "-", None),
    ("tutorial/globins4.sto", "protein", "-", None),
    ("tutorial/MADE1.sto", "dna", "-", None),
    ("testsuite/RRM_1.sto.gz", "protein", "-", None),
    ("testsuite/Caudal_act.sto.gz", "protein", "-", None),
    ("testsuite/20aa-alitest.sto", "protein", "-", None),
    ("testsuite/3box.sto", "protein", "-", None),
    ("testsuite/3box.sto", "protein", "d", None),
    ("testsuite/SMC_N.sto.gz", "protein", "-", None),
]


def read_text(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("ascii")


def parse_stockholm(text):
    order, seqs = [], {}
    lines = text.split("\n")
    assert lines[0].startswith("# STOCKHOLM"), lines[0]
    ended = False
    for line in lines[1:]:
        s = line.strip()
        if not s:
            continue
        if s == "//":
            ended = True
            break
        if s.startswith("#"):
            continue
        name, seq = s.split()
        if name not in seqs:
            order.append(name)
            seqs[name] = []
        seqs[name].append(seq)
    assert ended
    return [(n, "".join(seqs[n])) for n in order]


def decode(seq, alphabet, drop):
    """States of one aligned sequence and its count of unknown symbols."""
    index = {c: i for i, c in enumerate(alphabet)}
    gap = index["-"]
    out, unknown = [], 0
    for c in seq:
        if c in index:
            out.append(index[c])
        elif c.islower() or c == ".":
            if drop:
                continue
            out.append(index.get(c.upper(), gap) if c != "." else gap)
            if c != "." and c.upper() not in index:
                unknown += 1
        else:
            out.append(gap)
            unknown += 1
    return out, unknown


def probe(exe, path, alphabet, flags, theta=None):
    args = [exe, path, alphabet, flags] + ([str(theta)] if theta is not None else [])
    res = subprocess.run(args, capture_output=True, text=True, check=False)
    info, rows = {}, []
    for line in res.stdout.splitlines():
        key, _, rest = line.partition(" ")
        if key == "row":
            rows.append([int(x) for x in rest.split()])
        else:
            info[key] = rest
    return res.returncode, info, np.array(rows, dtype=np.int64)


def meff_brute(x, theta):
    same = (x[:, None, :] == x[None, :, :]).mean(axis=2)
    return float((1.0 / (same >= theta).sum(axis=1)).sum())


def check_case(exe, rel, alphabet_name, flags):
    path = os.path.join(EXAMPLES, rel)
    alphabet = PROTEIN if alphabet_name == "protein" else DNA
    seqs = parse_stockholm(read_text(path))
    decoded = [decode(s, alphabet, "d" in flags) for _, s in seqs]
    want = np.array([d[0] for d in decoded], dtype=np.int64)
    unknown = sum(d[1] for d in decoded)
    rc, info, got = probe(exe, path, alphabet_name, flags, 0.8)
    assert rc == 0, (rel, info)
    assert int(info["rows"]) == len(seqs), (rel, info["rows"], len(seqs))
    assert int(info["cols"]) == want.shape[1], (rel, info["cols"], want.shape)
    assert info["alphabet"] == alphabet
    assert int(info["unknown"]) == unknown, (rel, info["unknown"], unknown)
    assert got.shape == want.shape and (got == want).all(), rel
    meff = meff_brute(want, 0.8)
    assert abs(float(info["meff"]) - meff) <= 1e-12 * meff, (rel, info["meff"], meff)
    print(f"ok {rel} [{flags}]: {len(seqs)} x {want.shape[1]}, {unknown} unknown, "
          f"M_eff(0.8) = {meff:.6g}")


def main():
    exe = sys.argv[1]
    if not os.path.isdir(EXAMPLES):
        print(f"skip: {EXAMPLES} missing (Debian package hmmer-examples)")
        return 77
    # the parser above against counts made once with
    #   grep -v '^#' F | awk 'NF==2{n[$1]=n[$1] $2} END{for(k in n)c++; print c, length(n[k])}' 
    for rel, rows, cols in [("tutorial/fn3.sto", 98, 117), ("tutorial/globins4.sto", 4, 171)]:
        seqs = parse_stockholm(read_text(os.path.join(EXAMPLES, rel)))
        assert (len(seqs), len(seqs[0][1])) == (rows, cols), (rel, len(seqs), len(seqs[0][1]))
    for rel, alphabet, flags, _ in CASES:
        check_case(exe, rel, alphabet, flags)
    # FASTA files of unaligned sequences are refused as ragged
    for rel in ["tutorial/globins45.fa", "testsuite/20aa-alitest.fa"]:
        rc, info, _ = probe(exe, os.path.join(EXAMPLES, rel), "protein", "-")
        assert rc == 1 and "ragged alignment" in info.get("error", ""), (rel, info)
        print(f"ok {rel}: refused ({info['error'][:60]}...)")
    # Pfam's seed alignments write every gap as '.': dropping them as
    # inserts leaves sequences of different lengths, refused as ragged
    rc, info, _ = probe(exe, os.path.join(EXAMPLES, "tutorial/fn3.sto"), "protein", "d")
    assert rc == 1 and "ragged alignment" in info.get("error", ""), info
    # strict symbols: the message names the sequence and column of the
    # first unknown symbol as this parser finds it
    path = os.path.join(EXAMPLES, "testsuite/20aa-alitest.sto")
    seqs = parse_stockholm(read_text(path))
    first = None
    for k, (name, s) in enumerate(seqs):
        col = 0
        for c in s:
            if c in PROTEIN or c == "." or (c.islower() and c.upper() in PROTEIN):
                col += 1
                continue
            first = (name, k + 1, col + 1, c)
            break
        if first:
            break
    assert first is not None
    rc, info, _ = probe(exe, path, "protein", "s")
    name, number, col, c = first
    want = f"sequence '{name}' (number {number}), line"
    assert rc == 1 and want in info["error"], (info, want)
    assert f"column {col}: symbol '{c}'" in info["error"], (info, col, c)
    print(f"ok strict: {info['error'][:140]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
