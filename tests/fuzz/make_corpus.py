#!/usr/bin/python3
"""Write the seed corpora of tests/fuzz/corpus/<target>/ (docs/reliability.md).

    /usr/bin/python3 tests/fuzz/make_corpus.py [OUT_DIR]   (default: tests/fuzz/corpus)

Deterministic (fixed seeds, gzip mtime 0): running it again gives the same
bytes. Needs python3-numpy (np.save writes the NPY seeds). The sources:

- fuzz_model: the model fixtures of tests/data/models and one checkpoint
  (a checkpoint is also a model file), plus hand-made edge cases: truncated,
  bad magic, wrong major version, a bad CRC, huge dimensions with correct
  CRCs, a NaN weight, sigma 0, an unknown unit kind, a trailing byte;
- fuzz_checkpoint: every checkpoint of tests/data/checkpoints and v0_1/
  (librbm 0.2 and 0.1.0 wrote them), plus a model file (no TRNS), a
  truncated TRNS section and a checkpoint with a flipped TRNS byte;
- fuzz_idx / fuzz_idx_gz: IDX files written here (every element type:
  ubyte, sbyte, short, int, float, double; 1, 2 and 3 dimensions), plain or
  gzip-compressed, plus truncated, bad magic, unknown type, ndim 0, huge
  dimensions, NaN float, a truncated gzip stream and a gzip CRC error;
- fuzz_csv: small CSV files (header, blank lines, CRLF, exponents,
  negative numbers), plus ragged rows, NaN, an empty file, junk fields;
- fuzz_alignment: small FASTA and Stockholm files (comments, blank lines,
  markup, multi-block, inserts, gzip, the named and caller alphabets),
  plus ragged, empty, headerless, NUL and high bytes, truncated, two
  alignments, bad gzip and a long line, each after its mode byte;
- fuzz_npy: np.save of u1/f4/f8 in both byte orders, 1-D and 2-D, format
  versions 1.0, 2.0 and 3.0, plus fortran_order, 3-D, an unsupported dtype,
  NaN, truncated data, bad magic and a huge shape.

Files named found-* are inputs that the fuzzers found (crashes fixed since,
or inputs worth keeping); they are not written here and are kept when the
rest is written again.
"""
import gzip
import io
import os
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
rng = np.random.default_rng(20261203)


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as fh:
        fh.write(data)


def read(*parts):
    with open(os.path.join(ROOT, *parts), "rb") as fh:
        return fh.read()


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as f:
        f.write(data)
    return buf.getvalue()


# ---- model files (docs/file-format.md) ----

def fix_crcs(b):
    """Recompute the header CRC and every section CRC (as fz_fix_crcs)."""
    b = bytearray(b)
    struct.pack_into("<I", b, 20, zlib.crc32(bytes(b[0:20])))
    off = 24
    while len(b) - off >= 24:
        (length,) = struct.unpack_from("<Q", b, off + 8)
        if length > len(b) - off - 24:
            break
        c = zlib.crc32(bytes(b[off:off + 20]))
        c = zlib.crc32(bytes(b[off + 24:off + 24 + length]), c)
        struct.pack_into("<I", b, off + 20, c)
        off += 24 + length
    return bytes(b)


def model_seeds():
    t = "fuzz_model"
    models = sorted(f for f in os.listdir(os.path.join(ROOT, "tests/data/models"))
                    if f.endswith(".rbm"))
    for f in models:
        put(t, f, read("tests/data/models", f))
    put(t, "checkpoint_exact.ckpt", read("tests/data/checkpoints/exact.ckpt"))
    bb = read("tests/data/models", "bernoulli_bernoulli_12x6.rbm")
    modl = 24 + 24  # payload of the MODL section
    put(t, "edge_truncated_header.rbm", bb[:20])
    put(t, "edge_truncated_params.rbm", bb[:len(bb) - 100])
    put(t, "edge_bad_magic.rbm", b"\x89RBN" + bb[4:])
    b = bytearray(bb); struct.pack_into("<H", b, 8, 2)
    put(t, "edge_major_2.rbm", fix_crcs(b))
    b = bytearray(bb); b[-1] ^= 0x40
    put(t, "edge_bad_crc.rbm", bytes(b))
    b = bytearray(bb); struct.pack_into("<QQ", b, modl, 1 << 40, 1 << 40)
    put(t, "edge_huge_dims.rbm", fix_crcs(b))
    b = bytearray(bb); struct.pack_into("<QQ", b, modl, 0xFFFFFFFFFFFFFFFF, 2)
    put(t, "edge_overflow_dims.rbm", fix_crcs(b))
    b = bytearray(bb); struct.pack_into("<Q", b, modl, 0)
    put(t, "edge_zero_visible.rbm", fix_crcs(b))
    b = bytearray(bb); struct.pack_into("<I", b, modl + 16, 7)
    put(t, "edge_unknown_kind.rbm", fix_crcs(b))
    b = bytearray(bb); struct.pack_into("<d", b, modl + 24, 0.0)
    put(t, "edge_sigma_zero.rbm", fix_crcs(b))
    b = bytearray(bb); struct.pack_into("<d", b, modl + 48 + 24, float("nan"))
    put(t, "edge_nan_weight.rbm", fix_crcs(b))
    b = bytearray(bb); struct.pack_into("<Q", b, modl + 48 + 8, 1 << 62)
    put(t, "edge_huge_section.rbm", fix_crcs(b))
    put(t, "edge_trailing_byte.rbm", bb + b"\0")
    put(t, "edge_empty.rbm", b"")


def checkpoint_seeds():
    t = "fuzz_checkpoint"
    for sub in ("tests/data/checkpoints", "tests/data/checkpoints/v0_1"):
        for f in sorted(os.listdir(os.path.join(ROOT, sub))):
            if f.endswith(".ckpt"):
                prefix = "v0_1_" if sub.endswith("v0_1") else ""
                put(t, prefix + f, read(sub, f))
    put(t, "model_no_trns.rbm", read("tests/data/models", "bernoulli_bernoulli_12x6.rbm"))
    ck = read("tests/data/checkpoints/pcd.ckpt")
    put(t, "edge_truncated_trns.ckpt", ck[:len(ck) - 200])
    b = bytearray(ck); b[-300] ^= 0x01
    put(t, "edge_flipped_trns.ckpt", fix_crcs(b))


# ---- IDX ----

IDX_TYPES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
             np.float32: 0x0D, np.float64: 0x0E}


def idx(a, code=None):
    a = np.asarray(a)
    code = IDX_TYPES[a.dtype.type] if code is None else code
    head = bytes([0, 0, code, a.ndim]) + b"".join(struct.pack(">I", n) for n in a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


def idx_files():
    f = {}
    f["images_u8_5x4x4.idx"] = idx(rng.integers(0, 256, (5, 4, 4), dtype=np.uint8))
    f["labels_u8_7.idx"] = idx(np.arange(7, dtype=np.uint8))
    f["rows_u8_3x6.idx"] = idx(rng.integers(0, 2, (3, 6), dtype=np.uint8))
    f["s8_4x3.idx"] = idx(rng.integers(-128, 128, (4, 3), dtype=np.int8))
    f["i16_3x2x2.idx"] = idx(rng.integers(-30000, 30000, (3, 2, 2), dtype=np.int16))
    f["i32_2x5.idx"] = idx(rng.integers(-2**31, 2**31 - 1, (2, 5), dtype=np.int32))
    f["f32_3x4.idx"] = idx(rng.standard_normal((3, 4)).astype(np.float32))
    f["f64_2x3.idx"] = idx(rng.standard_normal((2, 3)))
    f["f64_4d_2x2x2x2.idx"] = idx(rng.standard_normal((2, 2, 2, 2)))
    good = f["images_u8_5x4x4.idx"]
    f["edge_truncated.idx"] = good[:-7]
    f["edge_header_only.idx"] = good[:16]
    f["edge_bad_magic.idx"] = b"\x01\x00" + good[2:]
    f["edge_unknown_type.idx"] = idx(np.zeros((2, 2), np.uint8), code=0x0A)
    f["edge_ndim0.idx"] = bytes([0, 0, 8, 0]) + b"\x05"
    f["edge_huge_dims.idx"] = bytes([0, 0, 8, 3]) + struct.pack(">III", 0xFFFFFFFF, 0xFFFFFFFF,
                                                                0xFFFFFFFF) + b"\0" * 16
    f["edge_zero_rows.idx"] = bytes([0, 0, 8, 2]) + struct.pack(">II", 0, 4)
    f["edge_nan_f32.idx"] = idx(np.array([[1.0, np.nan], [0.5, 2.0]], np.float32))
    f["edge_inf_f64.idx"] = idx(np.array([[1.0, np.inf]]))
    f["edge_trailing.idx"] = good + b"\x00\x01"
    return f


def idx_seeds():
    files = idx_files()
    for name, data in files.items():
        put("fuzz_idx", name, data)
    for name in ("images_u8_5x4x4.idx", "labels_u8_7.idx", "s8_4x3.idx", "i16_3x2x2.idx",
                 "f32_3x4.idx", "f64_2x3.idx", "edge_truncated.idx", "edge_huge_dims.idx",
                 "edge_nan_f32.idx"):
        put("fuzz_idx_gz", name + ".gz", gz(files[name]))
    z = gz(files["images_u8_5x4x4.idx"])
    put("fuzz_idx_gz", "edge_truncated_stream.idx.gz", z[:len(z) // 2])
    b = bytearray(z); b[-6] ^= 0xFF  # CRC-32 of the trailer
    put("fuzz_idx_gz", "edge_bad_crc.idx.gz", bytes(b))
    b = bytearray(z); b[-1] ^= 0x01  # ISIZE of the trailer
    put("fuzz_idx_gz", "edge_bad_isize.idx.gz", bytes(b))
    put("fuzz_idx_gz", "edge_two_members.idx.gz",
        gz(files["labels_u8_7.idx"][:6]) + gz(files["labels_u8_7.idx"][6:]))
    put("fuzz_idx_gz", "edge_magic_only.idx.gz", b"\x1f\x8b")
    # 4 KiB of compressed zeros that inflate to 4 MiB after a header of
    # 1 x 4 MiB: a bomb must stay within the memory limit.
    bomb = bytes([0, 0, 8, 2]) + struct.pack(">II", 1, 4 << 20) + bytes(4 << 20)
    put("fuzz_idx_gz", "edge_bomb.idx.gz", gz(bomb))


# ---- CSV ----

def csv_seeds():
    t = "fuzz_csv"
    a = rng.standard_normal((4, 3))
    put(t, "plain_4x3.csv", "".join(",".join(f"{x:.17g}" for x in r) + "\n" for r in a).encode())
    put(t, "header_binary.csv", b"v0,v1,v2,v3\n0,1,1,0\n1,0,0,1\n1,1,1,1\n")
    put(t, "blank_lines_crlf.csv", b"1,2\r\n\r\n3,4\r\n\r\n5,6\r\n")
    put(t, "exponents.csv", b"1e-300,-2.5E+10,0.0\n-0,3.14159,1e308\n")
    put(t, "one_value.csv", b"42")
    put(t, "spaces.csv", b" 1 , 2 ,3\n4,5 , 6 \n")
    put(t, "edge_ragged.csv", b"1,2,3\n4,5\n")
    put(t, "edge_nan.csv", b"1,nan\n2,3\n")
    put(t, "edge_inf.csv", b"1,inf\n-inf,3\n")
    put(t, "edge_overflow.csv", b"1e999,1\n")
    put(t, "edge_empty.csv", b"")
    put(t, "edge_header_only.csv", b"a,b,c\n")
    put(t, "edge_junk.csv", b"1,2x,3\n")
    put(t, "edge_empty_field.csv", b"1,,3\n4,5,6\n")
    put(t, "edge_trailing_comma.csv", b"1,2,\n3,4,\n")
    put(t, "edge_hex.csv", b"0x10,0x1p3\n")
    put(t, "edge_nul.csv", b"1,2\n\x003,4\n")
    put(t, "edge_long_line.csv", (",".join(["1"] * 700) + "\n").encode())


# ---- NPY ----

def npy(a, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, a, allow_pickle=False)
    else:
        np.lib.format.write_array(buf, a, version=version, allow_pickle=False)
    return buf.getvalue()


def npy_seeds():
    t = "fuzz_npy"
    put(t, "u1_3x4.npy", npy(rng.integers(0, 256, (3, 4), dtype=np.uint8)))
    put(t, "f4_le_2x5.npy", npy(rng.standard_normal((2, 5)).astype("<f4")))
    put(t, "f4_be_2x5.npy", npy(rng.standard_normal((2, 5)).astype(">f4")))
    put(t, "f8_le_4x2.npy", npy(rng.standard_normal((4, 2)).astype("<f8")))
    put(t, "f8_be_3x3.npy", npy(rng.standard_normal((3, 3)).astype(">f8")))
    put(t, "f8_1d_6.npy", npy(rng.standard_normal(6)))
    put(t, "f8_v2_2x2.npy", npy(rng.standard_normal((2, 2)), version=(2, 0)))
    put(t, "f4_v3_2x3.npy", npy(rng.standard_normal((2, 3)).astype("<f4"), version=(3, 0)))
    good = npy(rng.standard_normal((4, 2)))
    put(t, "edge_fortran.npy", npy(np.asfortranarray(rng.standard_normal((3, 2)))))
    put(t, "edge_3d.npy", npy(rng.standard_normal((2, 2, 2))))
    put(t, "edge_0d.npy", npy(np.float64(1.5)))
    put(t, "edge_i4.npy", npy(np.arange(6, dtype="<i4").reshape(2, 3)))
    put(t, "edge_zero_rows.npy", npy(np.zeros((0, 3))))
    put(t, "edge_nan.npy", npy(np.array([[1.0, np.nan]])))
    put(t, "edge_truncated.npy", good[:-5])
    put(t, "edge_bad_magic.npy", b"\x93NUMPZ" + good[6:])
    put(t, "edge_header_len.npy", good[:8] + b"\xff\xff" + good[10:])
    h = (b"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }")
    h = h + b" " * (117 - len(h)) + b"\n"
    put(t, "edge_huge_shape.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + b"\0" * 16)


def alignment_seeds():
    """fuzz_alignment: the first byte picks reader, flags and alphabet
    (fuzz_alignment.c): bits 0-1 FASTA / Stockholm / by content, bit 2
    strict, bit 3 drop inserts, bits 4-6 the alphabet."""
    t = "fuzz_alignment"
    fasta = b">s1 first\nACDEF-GHIK\n>s2\nAC-EFYGHIK\n; a comment\n\n>s3\nACDEF GHIW\n"
    sto = (b"# STOCKHOLM 1.0\n#=GF ID test\n#=GS a/1-10 AC X\n"
           b"a/1-10 ACDE.FGH\nb/2-9  ACdE-FGH\n#=GR a/1-10 SS ..HH.HH.\n#=GC RF xxxx.xxx\n\n"
           b"a/1-10 IKLM\nb/2-9  IK-M\n//\n")
    put(t, "fasta_protein", b"\x00" + fasta)
    put(t, "fasta_strict", b"\x04" + fasta)
    put(t, "fasta_auto_gz", b"\x02" + gz(fasta))
    put(t, "sto_protein", b"\x01" + sto)
    put(t, "sto_drop", b"\x09" + sto)
    put(t, "sto_auto_strict", b"\x07" + sto)
    put(t, "sto_gz", b"\x01" + gz(sto))
    dna = b">x\nACGT-acgtN\n>y\nAC.TTacg-A\n"
    put(t, "fasta_dna", b"\x10" + dna)
    put(t, "fasta_rna_drop", b"\x28" + dna.replace(b"T", b"U"))
    put(t, "fasta_custom_lower", b"\x50" + dna)
    put(t, "fasta_custom_gt", b"\x60" + b">r\n>AB;-\n>s\n;;AB\n")
    put(t, "fasta_custom_nogap", b"\x70" + b">r\nxyzq\n>s\nzyxx\n")
    put(t, "fasta_custom_ab", b"\x40" + b">1\nab-ab\n>2\nba-BA\n")
    put(t, "edge_ragged", b"\x00" + b">a\nACD\n>b\nAC\n")
    put(t, "edge_empty_seq", b"\x00" + b">a\n>b\n")
    put(t, "edge_no_header", b"\x00" + b"ACDE\n>a\nACDE\n")
    put(t, "edge_nul", b"\x00" + b">a\nAC\x00D\n")
    put(t, "edge_high_byte", b"\x01" + b"# STOCKHOLM 1.0\na \xc3\xa9AC\n//\n")
    put(t, "edge_sto_truncated", b"\x01" + sto[:-3])
    put(t, "edge_sto_two", b"\x01" + sto + sto)
    put(t, "edge_sto_three_fields", b"\x01" + b"# STOCKHOLM 1.0\na AC DE\n//\n")
    put(t, "edge_bad_gzip", b"\x00" + gz(fasta)[:-6])
    put(t, "edge_long_line", b"\x00" + b">a\n" + b"A" * 70000 + b"\n")


def main():
    for sub in ("fuzz_model", "fuzz_checkpoint", "fuzz_idx", "fuzz_idx_gz", "fuzz_csv",
                "fuzz_npy", "fuzz_alignment"):
        d = os.path.join(OUT, sub)
        if os.path.isdir(d):
            for f in os.listdir(d):
                if not f.startswith("found-"):
                    os.remove(os.path.join(d, f))
    model_seeds()
    checkpoint_seeds()
    idx_seeds()
    csv_seeds()
    npy_seeds()
    alignment_seeds()


if __name__ == "__main__":
    main()
