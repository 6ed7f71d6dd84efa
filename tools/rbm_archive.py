#!/usr/bin/env python3
"""Read a librbm training archive (docs/file-format.md "Training archive")
without librbm or h5py: only the standard library and NumPy.

    import rbm_archive
    ar = rbm_archive.read("run.rbma")
    ar.models[-1].W          # N_v x N_h float64 array
    ar.spectra[0].values     # singular values at ar.spectra[0].step
    ar.config                # the last configuration text

Like librbm, the reader stops at the first record that is incomplete or
fails its CRC-32 (a torn tail after kill -9) and reports the bytes it
skipped in ar.ignored_bytes.

Run as a script it prints a summary: python3 tools/rbm_archive.py FILE [--json]
"""
import json
import struct
import sys
import zlib
from dataclasses import dataclass, field

import numpy as np

MAGIC = b"RBMARCH1"
VERSION = 1
UNIT_KINDS = {0: "bernoulli", 1: "ising", 2: "gaussian"}
PRECISIONS = {0: "float64", 1: "float32"}


@dataclass
class Model:
    step: int
    seconds: float
    visible: str
    hidden: str
    precision: str
    sigma_v: float
    sigma_h: float
    W: np.ndarray
    a: np.ndarray
    b: np.ndarray


@dataclass
class Spectrum:
    step: int
    values: np.ndarray


@dataclass
class Archive:
    models: list = field(default_factory=list)
    spectra: list = field(default_factory=list)
    checkpoints: list = field(default_factory=list)  # (step, bytes of a librbm checkpoint file)
    config: str = ""
    ignored_bytes: int = 0


def _model(p):
    step, seconds, vk, hk, prec, _, nv, nh, sv, sh = struct.unpack_from("<QdIIIIQQdd", p, 0)
    if len(p) != 64 + 8 * (nv * nh + nv + nh):
        raise ValueError("model record with inconsistent sizes")
    x = np.frombuffer(p, dtype="<f8", offset=64)
    return Model(step, seconds, UNIT_KINDS.get(vk, str(vk)), UNIT_KINDS.get(hk, str(hk)),
                 PRECISIONS.get(prec, str(prec)), sv, sh,
                 x[: nv * nh].reshape(nv, nh).copy(), x[nv * nh: nv * nh + nv].copy(),
                 x[nv * nh + nv:].copy())


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 16 or data[:8] != MAGIC or \
            struct.unpack_from("<I", data, 12)[0] != zlib.crc32(data[:12]):
        raise ValueError(f"{path} is not a librbm training archive")
    (version,) = struct.unpack_from("<I", data, 8)
    if version != VERSION:
        raise ValueError(f"{path}: archive version {version}, this reader knows {VERSION}")
    ar = Archive()
    at = 16
    while len(data) - at >= 20:
        tag = data[at: at + 4]
        flags, length = struct.unpack_from("<IQ", data, at + 4)
        end = at + 16 + length
        if flags != 0 or end + 4 > len(data):
            break
        (crc,) = struct.unpack_from("<I", data, end)
        if crc != zlib.crc32(data[at:end]):
            break
        p = data[at + 16: end]
        if tag == b"MODL":
            ar.models.append(_model(p))
        elif tag == b"SPEC":
            step, n = struct.unpack_from("<QQ", p, 0)
            ar.spectra.append(Spectrum(step, np.frombuffer(p, dtype="<f8", offset=16, count=n).copy()))
        elif tag == b"CONF":
            ar.config = p.decode("utf-8")
        elif tag == b"CKPT":
            ar.checkpoints.append((struct.unpack_from("<Q", p, 0)[0], bytes(p[8:])))
        at = end + 4
    ar.ignored_bytes = len(data) - at
    return ar


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ar = read(argv[1])
    summary = {
        "models": [{"step": m.step, "seconds": m.seconds, "n_visible": m.W.shape[0],
                    "n_hidden": m.W.shape[1], "visible": m.visible, "hidden": m.hidden}
                   for m in ar.models],
        "spectra": [{"step": s.step, "top": float(s.values[0])} for s in ar.spectra],
        "checkpoints": [s for s, _ in ar.checkpoints],
        "config": ar.config,
        "ignored_bytes": ar.ignored_bytes,
    }
    if "--json" in argv:
        print(json.dumps(summary))
    else:
        for m in summary["models"]:
            print(f"model step {m['step']:>8}  {m['seconds']:10.3f} s  "
                  f"{m['n_visible']} {m['visible']} x {m['n_hidden']} {m['hidden']}")
        print(f"{len(ar.spectra)} spectra, {len(ar.checkpoints)} checkpoints, "
              f"{ar.ignored_bytes} bytes ignored")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
