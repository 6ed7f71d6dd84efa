#!/usr/bin/env python3
"""Size limits of the library's layout (suite: abi).

usage: check_layout.py SOURCE_ROOT [--report]

Every C file under lib/ and tools/ has at most MAX_FILE lines, and every
function at most MAX_FUNC lines (from the line of its name to its closing
brace). Tables (initialised data) are not functions and do not count. A
function that must be longer is listed in ALLOWED with the reason.
Exits 1 listing every violation; --report prints the longest functions too.
"""
import os
import re
import sys

MAX_FILE = 800
MAX_FUNC = 100
ALLOWED = {}  # "path:function": "reason"

FUNC_START = re.compile(r"^(?!static\s+const\b)(?:[A-Za-z_][\w\s\*]*?)\b([A-Za-z_]\w*)\s*\(")


def functions(lines):
    """Yield (name, first_line, n_lines) of each top-level function body."""
    i = 0
    n = len(lines)
    while i < n:
        m = FUNC_START.match(lines[i])
        if m and not lines[i].rstrip().endswith(";") and not lines[i].startswith(("typedef", "#")):
            # find the opening brace at column 0 before any ';'
            j = i
            while j < n and not lines[j].startswith("{"):
                if lines[j].rstrip().endswith(";") or "=" in lines[j].split("(")[0]:
                    break
                j += 1
            if j < n and lines[j].startswith("{"):
                k = j + 1
                while k < n and not lines[k].startswith("}"):
                    k += 1
                yield m.group(1), i + 1, k - i + 1
                i = k + 1
                continue
        i += 1


def main():
    root = sys.argv[1]
    report = "--report" in sys.argv
    bad = []
    funcs = []
    for top in ("lib", "tools"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8") as fh:
                    lines = fh.read().split("\n")
                if len(lines) > MAX_FILE:
                    bad.append(f"{rel}: {len(lines)} lines (limit {MAX_FILE})")
                for fn, first, count in functions(lines):
                    funcs.append((count, f"{rel}:{first} {fn}"))
                    if count > MAX_FUNC and f"{rel}:{fn}" not in ALLOWED:
                        bad.append(f"{rel}:{first}: function {fn} has {count} lines (limit {MAX_FUNC})")
    if report:
        for count, where in sorted(funcs, reverse=True)[:25]:
            print(f"# {count:5d} {where}")
    for b in bad:
        print(b)
    print(f"{len(bad)} layout violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
