#!/usr/bin/python3
"""pil_reference.py: decodes every PNG/JPEG sample under ../shared/data with PIL and writes, per file and
decoding mode, its size and checksums of the pixel values, for tests/data/test_codecs.cpp to compare with.
Run it with Debian's /usr/bin/python3 (python3-pil, python3-numpy); it is a test oracle, not a converter.

Output: one line per (file, mode), whitespace-separated:
    <path relative to the data dir> <mode> <width> <height> <channels> <sum> <sumsq> <wsum> <v0> .. <v15>
mode is "auto" (PngMode::Auto: palette -> RGB/RGBA, everything else as stored), "indices"
(PngMode::Indices: palette indices / gray values, unscaled) or "jpeg" (read_jpeg: RGB or gray).
sum, sumsq are the sum and sum of squares of all sample values (HWC order); wsum weights value i by
(i mod 65521) + 1 so that a channel or pixel permutation changes it; all are uint64, wrapping.
"""
import argparse
import os
import struct
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))


def png_header(path):
    """(bit depth, colour type) from the IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(33)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path}: not a PNG with a leading IHDR")
    _w, _h, depth, color_type = struct.unpack(">IIBB", head[16:26])
    return depth, color_type


def checksum_line(key, mode, arr):
    if arr.ndim == 2:
        arr = arr[:, :, None]
    h, w, c = arr.shape
    flat = arr.reshape(-1).astype(np.uint64)
    idx = np.arange(flat.size, dtype=np.uint64)
    weights = idx % np.uint64(65521) + np.uint64(1)
    with np.errstate(over="ignore"):
        s = int(flat.sum(dtype=np.uint64))
        sq = int((flat * flat).sum(dtype=np.uint64))
        ws = int((flat * weights).sum(dtype=np.uint64))
    first = " ".join(str(int(v)) for v in flat[:16])
    return f"{key} {mode} {w} {h} {c} {s} {sq} {ws} {first}"


def png_lines(key, path):
    depth, color_type = png_header(path)
    lines = []
    with Image.open(path) as im:
        im.load()
        if im.mode == "P":
            rgb = im.convert("RGBA" if "transparency" in im.info else "RGB")
            lines.append(checksum_line(key, "auto", np.asarray(rgb)))
            lines.append(checksum_line(key, "indices", np.asarray(im, dtype=np.uint8)))
        elif im.mode in ("L", "1"):
            scaled = np.asarray(im.convert("L"), dtype=np.uint8)  # 1/2/4-bit scaled to 0..255
            lines.append(checksum_line(key, "auto", scaled))
            step = 255 // (2 ** depth - 1) if depth < 8 else 1
            lines.append(checksum_line(key, "indices", scaled // step))
        elif im.mode in ("I", "I;16", "I;16B"):  # 16-bit gray: kept as 16-bit in both modes
            arr = np.asarray(im).astype(np.uint64)
            lines.append(checksum_line(key, "auto", arr))
            lines.append(checksum_line(key, "indices", arr))
        elif im.mode in ("RGB", "RGBA", "LA"):
            lines.append(checksum_line(key, "auto", np.asarray(im)))
        else:
            print(f"pil_reference: {key}: PIL mode {im.mode} not covered, skipped", file=sys.stderr)
    return lines


def jpeg_lines(key, path):
    with Image.open(path) as im:
        if im.mode not in ("RGB", "L"):
            print(f"pil_reference: {key}: JPEG mode {im.mode} not covered, skipped", file=sys.stderr)
            return []
        return [checksum_line(key, "jpeg", np.asarray(im))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="reference file to write")
    ap.add_argument("--data", default=DEFAULT_DATA, help="sample data directory (default: %(default)s)")
    args = ap.parse_args()

    if not os.path.isdir(args.data):
        sys.exit(f"pil_reference: data directory {args.data} not found")
    lines = []
    for root, dirs, files in os.walk(args.data):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            key = os.path.relpath(path, args.data).replace(os.sep, "/")
            ext = os.path.splitext(name)[1].lower()
            if ext == ".png":
                lines += png_lines(key, path)
            elif ext in (".jpg", ".jpeg"):
                lines += jpeg_lines(key, path)
    if not lines:
        sys.exit(f"pil_reference: no PNG or JPEG files under {args.data}")

    header = ("# pil_reference v1 (PIL %s, numpy %s): key mode width height channels sum sumsq wsum v0..v15\n"
              % (Image.__version__, np.__version__))
    tmp = f"{args.out}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(header + "\n".join(lines) + "\n")
    os.replace(tmp, args.out)
    print(f"pil_reference: {len(lines)} entries written to {args.out}")


if __name__ == "__main__":
    main()
