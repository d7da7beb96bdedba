#!/usr/bin/python3
"""pil_reference.py: decodes every PNG/JPEG sample under ../shared/data with PIL and writes, per file and
decoding mode, its size and checksums of the pixel values, for tests/data/test_codecs.cpp to compare with.
Run it with Debian's /usr/bin/python3 (python3-pil, python3-numpy); it is a test oracle, not a converter.

It also writes small synthetic files for the formats the samples lack (1/2/4-bit gray and palette, tRNS,
gray+alpha, 16-bit colour, Adam7-interlaced PNGs; gray, progressive, 4:4:4 and 4:2:2 JPEGs) into
pil_synthetic/ next to --out, keyed "synthetic/<name>", and references them the same way.

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
import zlib

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
        elif im.mode == "RGBA" and color_type == 4:  # PIL opens 16-bit gray+alpha as RGBA (R = G = B)
            lines.append(checksum_line(key, "auto", np.asarray(im)[:, :, [0, 3]]))
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


def write_png(path, arr, color_type, depth, palette=None, trns=None, interlace=False):
    """A minimal PNG writer (filter 0), for the layouts PIL cannot save: arr is (h, w[, c]) of ints."""
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    h, w, _c = arr.shape

    def scanlines(img):
        rows = []
        for row in img:
            flat = row.reshape(-1)
            if depth == 16:
                data = flat.astype(">u2").tobytes()
            elif depth == 8:
                data = flat.astype(np.uint8).tobytes()
            else:  # 1/2/4-bit, single channel: pack MSB first
                per = 8 // depth
                padded = np.zeros(-(-flat.size // per) * per, dtype=np.uint8)
                padded[: flat.size] = flat
                packed = np.zeros(padded.size // per, dtype=np.uint8)
                for k in range(per):
                    packed |= (padded[k::per] << (8 - depth * (k + 1))).astype(np.uint8)
                data = packed.tobytes()
            rows.append(b"\x00" + data)
        return b"".join(rows)

    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b"".join(scanlines(arr[ys::yst, xs::xst]) for xs, ys, xst, yst in passes
                       if arr[ys::yst, xs::xst].size)
    else:
        raw = scanlines(arr)

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlace)))
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", bytes(trns))
    out += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(out)


def write_synthetic(folder):
    """Small files in the formats the samples lack; odd sizes so that rows do not end on byte bounds."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(4)
    h, w = 11, 13

    def rand(hi, *shape):
        return rng.integers(0, hi, shape or (h, w), dtype=np.int64)

    palette = rng.integers(0, 256, (16, 3))
    for depth in (1, 2, 4):
        write_png(f"{folder}/gray{depth}.png", rand(2 ** depth), 0, depth)
        write_png(f"{folder}/pal{depth}.png", rand(2 ** depth), 3, depth, palette=palette[: 2 ** depth])
    write_png(f"{folder}/pal4_trns.png", rand(16), 3, 4, palette=palette, trns=[0, 128, 255, 7])
    write_png(f"{folder}/pal8_interlaced.png", rand(16), 3, 8, palette=palette, interlace=True)
    write_png(f"{folder}/gray8_interlaced.png", rand(256), 0, 8, interlace=True)
    write_png(f"{folder}/gray16_interlaced.png", rand(65536), 0, 16, interlace=True)
    write_png(f"{folder}/rgb8_interlaced.png", rand(256, h, w, 3), 2, 8, interlace=True)
    write_png(f"{folder}/rgb16.png", rand(65536, h, w, 3), 2, 16)
    write_png(f"{folder}/rgba8.png", rand(256, h, w, 4), 6, 8)
    write_png(f"{folder}/rgba16.png", rand(65536, h, w, 4), 6, 16)
    write_png(f"{folder}/la8.png", rand(256, h, w, 2), 4, 8)
    write_png(f"{folder}/la16.png", rand(65536, h, w, 2), 4, 16)

    smooth = np.stack(np.meshgrid(np.arange(40) * 6, np.arange(24) * 10), -1).sum(-1)
    photo = np.stack([smooth % 256, (smooth * 3) % 256, rng.integers(0, 256, smooth.shape)], -1).astype(np.uint8)
    Image.fromarray(photo).save(f"{folder}/progressive.jpg", progressive=True, quality=85)
    Image.fromarray(photo).save(f"{folder}/yuv444.jpg", subsampling=0, quality=90)
    Image.fromarray(photo).save(f"{folder}/yuv422.jpg", subsampling=1, quality=90)
    Image.fromarray(photo[:, :, 0]).save(f"{folder}/gray.jpg", quality=90)


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

    synthetic = os.path.join(os.path.dirname(os.path.abspath(args.out)), "pil_synthetic")
    write_synthetic(synthetic)
    for name in sorted(os.listdir(synthetic)):
        path = os.path.join(synthetic, name)
        if name.endswith(".png"):
            lines += png_lines("synthetic/" + name, path)
        elif name.endswith(".jpg"):
            lines += jpeg_lines("synthetic/" + name, path)

    header = ("# pil_reference v1 (PIL %s, numpy %s): key mode width height channels sum sumsq wsum v0..v15\n"
              % (Image.__version__, np.__version__))
    tmp = f"{args.out}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(header + "\n".join(lines) + "\n")
    os.replace(tmp, args.out)
    print(f"pil_reference: {len(lines)} entries written to {args.out}")


if __name__ == "__main__":
    main()
