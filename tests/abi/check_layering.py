#!/usr/bin/env python3
"""The dependency rule of lib/ (suite: abi). See lib/README.md.

usage: check_layering.py SOURCE_ROOT

lib/ is layered  core <- numeric <- model <- data <- train <- analysis.
A file in folder F may include "G/x.h" only when G is F or a folder to F's
left, and a private struct header "G/x_impl.h" only when G is F: a struct's
layout is known to its owner only. tools/, bench/ and examples/ include no
header of lib/ at all (they use the public ABI), and tests/ include lib/
headers only from the white-box programs listed in WHITE_BOX.
Exits 1 listing every violation.
"""
import os
import re
import sys

ORDER = ["core", "numeric", "model", "data", "train", "analysis"]
WHITE_BOX = {
    "tests/unit/test_linear.c",
    "tests/unit/test_ode.c",
    "tests/unit/test_quadrature.c",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def includes(path):
    with open(path, encoding="utf-8") as fh:
        for no, line in enumerate(fh, 1):
            m = INCLUDE.match(line)
            if m:
                yield no, m.group(1)


def main():
    root = sys.argv[1]
    bad = []
    lib = os.path.join(root, "lib")
    for folder in sorted(os.listdir(lib)):
        fdir = os.path.join(lib, folder)
        if not os.path.isdir(fdir):
            continue
        if folder not in ORDER:
            bad.append(f"lib/{folder}/: folder not in the layer order {ORDER}")
            continue
        for name in sorted(os.listdir(fdir)):
            if not name.endswith((".c", ".h")):
                continue
            rel = f"lib/{folder}/{name}"
            for no, inc in includes(os.path.join(fdir, name)):
                if "/" not in inc:
                    if os.path.exists(os.path.join(fdir, inc)):
                        bad.append(f"{rel}:{no}: include \"{folder}/{inc}\", not \"{inc}\"")
                    continue
                g = inc.split("/")[0]
                if g not in ORDER:
                    continue
                if ORDER.index(g) > ORDER.index(folder):
                    bad.append(f"{rel}:{no}: {folder}/ may not include {inc} ({g}/ is a later layer)")
                elif inc.endswith("_impl.h") and g != folder:
                    bad.append(f"{rel}:{no}: {inc} is private to {g}/")
    for top in ("tools", "bench", "examples", "tests"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if not name.endswith((".c", ".h", ".cpp")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                for no, inc in includes(path):
                    if inc.split("/")[0] in ORDER and rel not in WHITE_BOX:
                        bad.append(f"{rel}:{no}: includes the library's private {inc}")
    for b in bad:
        print(b)
    print(f"{len(bad)} layering violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
