#!/usr/bin/env python3
"""librbm — check_refs: the shipped tree cites only what users have.

Headers, sources, tests, examples, benchmarks and docs may cite the
project's own documents (docs/theory.md §N and the rest of docs/) but not
planning notes that are not shipped (the design, house-style and science
notes kept outside the repository) nor tracker issue numbers, which mean
nothing to a reader of a release. Usage: check_refs.py SOURCE_ROOT
[--self-test]. Exit status 1 lists every offending line.
"""
import os
import re
import sys

# Names are assembled so this file does not match itself.
NOTES = ["SCIENCE", "DESIGN", "HOUSE", "PEERS", "STYLE"]
PATTERNS = [
    (re.compile(r"\b(?:%s)\.md\b" % "|".join(NOTES)), "cites an unshipped note"),
    (re.compile(r"\b(?:issue|ticket)s?\s*#?\s*\d+", re.IGNORECASE), "cites an issue number"),
    (re.compile(r"(?:^|[\s(])#\d{1,4}\b(?!\s*[-+*/%<>=])"), "cites an issue number"),
    (re.compile(r"\.\./shared/"), "points outside the repository"),
]
DIRS = ["include", "lib", "tools", "tests", "examples", "bench", "docs", "python", ".ci"]
TOP_FILES = ["README.md", "meson.build", "meson_options.txt", "meson.options"]
EXTS = {".c", ".h", ".py", ".sh", ".md", ".txt", ".build", ".jl", ".map", ".in", ".toml",
        ".options", ".pyi", ""}
SKIP_DIRS = {".git", "__pycache__", "data"}


def candidates(root):
    for name in TOP_FILES:
        p = os.path.join(root, name)
        if os.path.isfile(p):
            yield p
    for d in DIRS:
        top = os.path.join(root, d)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [x for x in dirnames
                           if x not in SKIP_DIRS and not x.startswith("build")]
            for f in filenames:
                if os.path.splitext(f)[1] in EXTS:
                    yield os.path.join(dirpath, f)


def scan_text(text):
    """(line number, reason, line) for every offending line of text."""
    hits = []
    for no, line in enumerate(text.splitlines(), 1):
        for rx, why in PATTERNS:
            if rx.search(line):
                hits.append((no, why, line.strip()))
                break
    return hits


def self_test():
    bad = ["see " + NOTES[0] + ".md §3", "fixed in issue 12", "(see #14)",
           "../shared/interop/x.h5"]
    good = ["docs/theory.md §3", "#include <stdio.h>", "n = 12",
            "the issue is the shape"]
    ok = all(scan_text(s) for s in bad) and not any(scan_text(s) for s in good)
    print("self-test", "passed" if ok else "FAILED")
    return 0 if ok else 1


def main(argv):
    if len(argv) < 2:
        print("usage: check_refs.py SOURCE_ROOT [--self-test]", file=sys.stderr)
        return 2
    if "--self-test" in argv and self_test():
        return 1
    root = argv[1]
    me = os.path.abspath(__file__)
    total = 0
    for path in candidates(root):
        if os.path.abspath(path) == me:
            continue
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError as e:
            print(f"{path}: cannot read: {e}")
            total += 1
            continue
        for no, why, line in scan_text(text):
            print(f"{os.path.relpath(path, root)}:{no}: {why}: {line}")
            total += 1
    print(f"{total} reference violation(s)")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
