#!/usr/bin/env python3
"""prototype_structure.py STATE CLASSES_A CLASSES_B: what an MDP prototype bank's cosines hide.

STATE is a pretraining run's latest.state.safetensors (the bank is kept there as bank.prototypes, or
optimizer.bank.prototypes in a version-1 state: the concatenated label space's prototypes in dataset
order); CLASSES_A and CLASSES_B are the two datasets' classes.txt (one name per line). Prints the mean off-diagonal cosine as the log's cos_within/cos_across
report it, the share of it that is one common direction (the cosines after the mean prototype is removed),
and, after that removal, how well the classes that both taxonomies name (same name) align compared with the
other cross-dataset pairs: the structure that a raw cosine near 1 can hide. Reads safetensors with the
standard library and numpy only.
"""
import json
import struct
import sys

import numpy as np


def read_tensor(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        e = header[name] if name in header else header["optimizer." + name]  # version 1 kept the bank there
        assert e["dtype"] == "F32", f"{name}: dtype {e['dtype']}"
        f.seek(8 + n + e["data_offsets"][0])
        raw = f.read(e["data_offsets"][1] - e["data_offsets"][0])
    return np.frombuffer(raw, dtype=np.float32).reshape(e["shape"]).astype(np.float64)


def unit(m):
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def mean_offdiagonal(s):
    k = len(s)
    return (s.sum() - np.trace(s)) / (k * k - k)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    p = read_tensor(sys.argv[1], "bank.prototypes")
    a = [l.strip() for l in open(sys.argv[2]) if l.strip()]
    b = [l.strip() for l in open(sys.argv[3]) if l.strip()]
    if len(p) != len(a) + len(b):
        print(f"the bank holds {len(p)} prototypes, the class lists {len(a)} + {len(b)}")
        return 1
    raw = unit(p) @ unit(p).T
    c = unit(p - p.mean(0))
    centred = c @ c.T
    print(f"mean off-diagonal cosine {mean_offdiagonal(raw):.3f} (raw), {mean_offdiagonal(centred):.3f} (mean prototype removed)")
    shared = [(i, len(a) + b.index(n)) for i, n in enumerate(a) if n in b]
    other = [(i, len(a) + j) for i in range(len(a)) for j in range(len(b)) if (i, len(a) + j) not in shared]
    if shared:
        same = np.mean([centred[i, j] for i, j in shared])
        rest = np.mean([centred[i, j] for i, j in other])
        names = ", ".join(a[i] for i, _ in shared)
        print(f"centred cosine across the datasets: same class name {same:.3f} ({names}), other pairs {rest:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
