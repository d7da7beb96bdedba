#!/usr/bin/python3
"""check_doc_references.py ROOT DOC...: every reference in the guides resolves.

In each markdown file, every table row whose second and third cells are `file` and `symbol` names a
file that exists under ROOT and a symbol that occurs in it (a function, a type, a test case name: the
text before a '(' if any, searched as written). Every other backticked token that looks like a path of
this tree (a known top-level folder, a file extension) must exist. Prints each failure and exits 1 when
there is one; 0 and a count otherwise.
"""
import os
import re
import sys

TOP = ("apps/", "tensor/", "autograd/", "nn/", "cuda/", "data/", "mdp/", "tests/", "docs/", "configs/", "tools/",
       "bench/", "scripts/", "examples/")
EXT = (".h", ".cpp", ".cu", ".cuh", ".py", ".sh", ".md", ".yaml", ".txt")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    root, docs = sys.argv[1], sys.argv[2:]
    bad, rows, paths = [], 0, 0
    for doc in docs:
        text = open(doc, encoding="utf-8").read()
        for n, line in enumerate(text.splitlines(), 1):
            cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
            if len(cells) >= 3 and re.fullmatch(r"`[^`]+`", cells[1]) and re.fullmatch(r"`[^`]+`", cells[2]):
                f, sym = cells[1].strip("`"), cells[2].strip("`").split("(")[0]
                rows += 1
                full = os.path.join(root, f)
                if not os.path.isfile(full):
                    bad.append(f"{doc}:{n}: {f} does not exist")
                elif sym not in open(full, encoding="utf-8", errors="replace").read():
                    bad.append(f"{doc}:{n}: {sym} does not occur in {f}")
            for tok in re.findall(r"`([^`\s]+)`", line):
                if tok.startswith(TOP) and tok.endswith(EXT):
                    paths += 1
                    if not os.path.exists(os.path.join(root, tok)):
                        bad.append(f"{doc}:{n}: {tok} does not exist")
    for b in bad:
        print(b)
    if bad:
        return 1
    print(f"{rows} table references and {paths} paths resolve in {len(docs)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
