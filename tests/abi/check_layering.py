#!/usr/bin/env python3
"""The dependency rule of lib/ (suite: abi). See lib/README.md.

usage: check_layering.py SOURCE_ROOT [--self-test]

lib/ is layered  core <- numeric <- model <- data <- train <- analysis.
A file in folder F may include "G/x.h" only when G is F or a folder to F's
left, and a private struct header "G/x_impl.h" only when G is F: a struct's
layout is known to its owner only. tools/, bench/ and examples/ include no
header of lib/ at all (they use the public ABI), and tests/ include lib/
headers (an x_impl.h too) only from the white-box programs listed in
WHITE_BOX. An include is judged by the file it names, however it is
spelled ("G/x.h", "../G/x.h", "lib/G/x.h", <G/x.h>); inside lib/ it must
be spelled "G/x.h". Exits 1 listing every violation; --self-test first
checks that the rules catch a tree of known violations.
"""
import os
import re
import sys
import tempfile

ORDER = ["core", "numeric", "model", "data", "train", "analysis"]
WHITE_BOX = {
    "tests/unit/test_linear.c",
    "tests/unit/test_ode.c",
    "tests/unit/test_quadrature.c",
    "tests/unit/test_vecmath.c",
    "tests/unit/test_enumerate.c",
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')


def includes(path):
    with open(path, encoding="utf-8") as fh:
        for no, line in enumerate(fh, 1):
            m = INCLUDE.match(line)
            if m:
                yield no, m.group(1), m.group(2)


def lib_target(root, path, inc):
    """(G, "G/x.h") for the lib/ header that inc names from path, else None."""
    lib = os.path.join(root, "lib")
    for base in (os.path.dirname(path), lib, root):
        cand = os.path.normpath(os.path.join(base, inc))
        rel = os.path.relpath(cand, lib)
        parts = rel.split(os.sep)
        if len(parts) >= 2 and parts[0] in ORDER and os.path.isfile(cand):
            return parts[0], "/".join(parts)
    parts = inc.split("/")
    if len(parts) >= 2 and parts[0] in ORDER:  # a lib/ path, even if missing
        return parts[0], inc
    return None


def check(root):
    """Every violation under root, as printable lines."""
    bad = []
    lib = os.path.join(root, "lib")
    for folder in sorted(os.listdir(lib)):
        fdir = os.path.join(lib, folder)
        if not os.path.isdir(fdir):
            continue
        if folder not in ORDER:
            bad.append(f"lib/{folder}/: folder not in the layer order {ORDER}")
            continue
        for dirpath, _, names in sorted(os.walk(fdir)):
            for name in sorted(names):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                for no, quote, inc in includes(path):
                    t = lib_target(root, path, inc)
                    if t is None:
                        continue
                    g, canon = t
                    if quote != '"' or inc != canon:
                        spelled = f'"{inc}"' if quote == '"' else f"<{inc}>"
                        bad.append(f"{rel}:{no}: include \"{canon}\", not {spelled}")
                    if ORDER.index(g) > ORDER.index(folder):
                        bad.append(f"{rel}:{no}: {folder}/ may not include {canon} "
                                   f"({g}/ is a later layer)")
                    elif canon.endswith("_impl.h") and g != folder:
                        bad.append(f"{rel}:{no}: {canon} is private to {g}/")
    for top in ("tools", "bench", "examples", "tests"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if not name.endswith((".c", ".h", ".cpp")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                for no, _, inc in includes(path):
                    t = lib_target(root, path, inc)
                    if t is not None and rel not in WHITE_BOX:
                        bad.append(f"{rel}:{no}: includes the library's private {t[1]}")
    return bad


def self_test():
    """Build a small tree with known violations; the check must report
    exactly those (by file and line) and nothing else."""
    files = {
        "lib/core/internal.h": "",
        "lib/model/machine.h": '#include "core/internal.h"\n',
        "lib/model/machine_impl.h": '#include "core/internal.h"\n',
        "lib/model/machine.c": '#include "model/machine_impl.h"\n',
        "lib/train/ok.c": '#include "model/machine.h"\n#include <rbm/rbm.h>\n',
        "lib/train/impl.c": '#include "model/machine_impl.h"\n',
        "lib/train/dotdot.c": '#include "../model/machine_impl.h"\n',
        "lib/train/angle.c": "#include <model/machine_impl.h>\n",
        "lib/train/bare.h": '#include "../core/internal.h"\n',
        "lib/core/later.c": '#include "model/machine.h"\n',
        "tools/cli.c": '#include "lib/core/internal.h"\n',
        "tests/unit/test_linear.c": '#include "model/machine_impl.h"\n',
        "tests/unit/test_other.c": '#include "../../lib/model/machine_impl.h"\n',
    }
    want = {
        "lib/train/impl.c:1: model/machine_impl.h is private to model/",
        'lib/train/dotdot.c:1: include "model/machine_impl.h", not "../model/machine_impl.h"',
        "lib/train/dotdot.c:1: model/machine_impl.h is private to model/",
        'lib/train/angle.c:1: include "model/machine_impl.h", not <model/machine_impl.h>',
        "lib/train/angle.c:1: model/machine_impl.h is private to model/",
        'lib/train/bare.h:1: include "core/internal.h", not "../core/internal.h"',
        "lib/core/later.c:1: core/ may not include model/machine.h (model/ is a later layer)",
        "tools/cli.c:1: includes the library's private core/internal.h",
        "tests/unit/test_other.c:1: includes the library's private model/machine_impl.h",
    }
    with tempfile.TemporaryDirectory() as root:
        for rel, text in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        got = set(check(root))
    ok = got == want
    if not ok:
        for b in sorted(want - got):
            print(f"self-test: missed: {b}")
        for b in sorted(got - want):
            print(f"self-test: unexpected: {b}")
    print("self-test", "passed" if ok else "FAILED")
    return ok


def main(argv):
    if len(argv) < 2:
        print("usage: check_layering.py SOURCE_ROOT [--self-test]", file=sys.stderr)
        return 2
    if "--self-test" in argv and not self_test():
        return 1
    bad = check(argv[1])
    for b in bad:
        print(b)
    print(f"{len(bad)} layering violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
