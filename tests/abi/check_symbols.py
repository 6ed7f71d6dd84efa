#!/usr/bin/python3
"""ABI hygiene: the exported symbols of librbm.so, the RBM_API declarations of
the public headers and the names in lib/librbm.map must be the same set.

usage: check_symbols.py LIBRARY INCLUDE_DIR MAP_FILE

LIBRARY      the built librbm.so (any of its names)
INCLUDE_DIR  include/rbm in the source tree; every *.h and *.h.in is read
             (version.h is generated from version.h.in)
MAP_FILE     lib/librbm.map, the linker version script

Exits 0 when the three sets agree, 1 on any difference (each one printed),
2 on a usage or tool error. Also checks that every exported symbol is
versioned by a LIBRBM_* node and starts with rbm_.

If this fails after adding a function: declare it with RBM_API in its header
and add its name to the newest node of lib/librbm.map (see docs/abi-policy.md).
"""

import os
import re
import subprocess
import sys


def strip_c_comments(text):
    """Remove /* */ and // comments, keeping string literals intact enough
    for declaration scanning (public headers hold no tricky literals)."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return text


def header_symbols(include_dir):
    """Names of functions declared with RBM_API, mapped to the header that
    declares them."""
    names = {}
    files = sorted(f for f in os.listdir(include_dir)
                   if f.endswith(".h") or f.endswith(".h.in"))
    if not files:
        raise RuntimeError(f"no headers in {include_dir}")
    decl = re.compile(r"\bRBM_API\b([^;{}()]*?)\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
    for f in files:
        with open(os.path.join(include_dir, f), encoding="utf-8") as fh:
            text = strip_c_comments(fh.read())
        # Drop preprocessor lines (with continuations): the RBM_API definition
        # itself lives there.
        text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
        for m in decl.finditer(text):
            name = m.group(2)
            if name in names and names[name] != f:
                print(f"note: {name} declared in both {names[name]} and {f}")
            names.setdefault(name, f)
    return names


def map_symbols(map_path):
    """Names listed under global: in any node of the version script, and the
    node names."""
    with open(map_path, encoding="utf-8") as fh:
        text = fh.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"#[^\n]*", " ", text)
    names, nodes, problems = set(), [], []
    for node in re.finditer(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\{(.*?)\}\s*([A-Za-z0-9_.]*)\s*;",
                            text, flags=re.S):
        nodes.append(node.group(1))
        scope = None
        for tok in re.split(r"[\s;]+", node.group(2)):
            if not tok:
                continue
            if tok.endswith(":"):
                scope = tok[:-1]
                continue
            if scope == "global":
                if any(c in tok for c in "*?["):
                    problems.append(f"map: wildcard '{tok}' in a global: section")
                else:
                    names.add(tok)
            elif scope == "local" and tok != "*":
                problems.append(f"map: unexpected local entry '{tok}'")
    if not nodes:
        problems.append("map: no version node found")
    return names, nodes, problems


def library_symbols(lib_path):
    """Defined dynamic symbols of the library: {name: version}."""
    try:
        out = subprocess.run(["nm", "-D", "--defined-only", lib_path],
                             check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise RuntimeError(f"nm failed on {lib_path}: {e}")
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        version = ""
        if "@" in name:
            name, _, version = name.partition("@")
            version = version.lstrip("@")
        # Version definition entries (type A, named like the node) are not
        # functions.
        if kind == "A" and (version == name or not version):
            continue
        syms[name] = (kind, version)
    return syms


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    lib_path, include_dir, map_path = argv[1:]
    try:
        headers = header_symbols(include_dir)
        mapped, nodes, problems = map_symbols(map_path)
        exported = library_symbols(lib_path)
    except (OSError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    hdr, lib = set(headers), set(exported)
    print(f"headers: {len(hdr)} RBM_API functions; map: {len(mapped)} names in "
          f"{', '.join(nodes) or 'no node'}; library: {len(lib)} exported symbols")

    def report(title, names, where=None):
        if names:
            problems.append(f"{title}: {len(names)}")
            print(f"{title}:")
            for n in sorted(names):
                extra = f"  ({where[n]})" if where and n in where else ""
                print(f"  {n}{extra}")

    report("exported by the library but not declared RBM_API in a header", lib - hdr)
    report("declared RBM_API but not exported by the library", hdr - lib, headers)
    report("declared RBM_API but missing from the map", hdr - mapped, headers)
    report("in the map but not declared RBM_API in a header", mapped - hdr)

    for name, (kind, version) in sorted(exported.items()):
        if not name.startswith("rbm_"):
            problems.append(f"exported symbol without the rbm_ prefix: {name}")
        elif name.startswith("rbm__"):
            problems.append(f"internal (rbm__) symbol exported: {name}")
        if not version.startswith("LIBRBM_"):
            problems.append(f"exported symbol not versioned by a LIBRBM_ node: "
                            f"{name}@{version or '(none)'}")
        if kind not in ("T", "W", "i"):
            problems.append(f"exported symbol is not a function (nm type {kind}): {name}")

    if problems:
        for p in problems:
            print(f"FAIL: {p}")
        print("fix: declare public functions with RBM_API in include/rbm/*.h and list "
              "them in lib/librbm.map (docs/abi-policy.md)")
        return 1
    print(f"OK: {len(lib)} symbols agree")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
