#!/usr/bin/env python3
"""read_tfevents.py: reads TensorBoard event files on its own (no TensorFlow, TensorBoard or protobuf
package): the TFRecord framing with both CRC-32C checks, and the Event / Summary / SessionLog messages
from the protobuf wire format. Written to test nn/tensorboard.cpp independently of it.

  read_tfevents.py DIR                    prints every scalar: file, step, tag, value
  read_tfevents.py DIR --check-log FILE   the scalars TensorBoard would show (files in name order, a
                                          SessionLog START dropping the steps from there on that earlier
                                          files logged) must equal every number of the JSON lines of FILE
                                          (log.jsonl) by (key, iter), to float32 precision; exit 1 if not

Exit 1 with a message on a bad CRC, a cut record, an unknown wire type or a file that does not start with
the file_version event.
"""
import glob
import json
import math
import os
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def fields(buf):
    """(field number, wire type, value) of one protobuf message; value is an int, or bytes for type 2."""
    i, out = 0, []
    while i < len(buf):
        key, i = varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire} of field {num}")
        out.append((num, wire, v))
    return out


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def records(path):
    data = open(path, "rb").read()
    i = 0
    while i < len(data):
        if i + 12 > len(data):
            raise ValueError(f"{path}: a record cut short at byte {i}")
        head = data[i:i + 8]
        (n,) = struct.unpack("<Q", head)
        (head_crc,) = struct.unpack("<I", data[i + 8:i + 12])
        if masked(head) != head_crc:
            raise ValueError(f"{path}: bad length CRC at byte {i}")
        body = data[i + 12:i + 12 + n]
        if len(body) != n or i + 16 + n > len(data):
            raise ValueError(f"{path}: a record cut short at byte {i}")
        (body_crc,) = struct.unpack("<I", data[i + 12 + n:i + 16 + n])
        if masked(body) != body_crc:
            raise ValueError(f"{path}: bad data CRC at byte {i}")
        yield body
        i += 16 + n


def events(path):
    """Each event as a dict: step, and version / restart / scalars [(tag, value)]."""
    out = []
    for body in records(path):
        e = {"step": 0, "scalars": []}
        for num, wire, v in fields(body):
            if num == 1 and wire == 1:
                e["wall_time"] = struct.unpack("<d", v)[0]
            elif num == 2 and wire == 0:
                e["step"] = v
            elif num == 3 and wire == 2:
                e["version"] = v.decode()
            elif num == 5 and wire == 2:  # Summary: repeated Value value = 1
                for vn, vw, value in fields(v):
                    if vn != 1 or vw != 2:
                        continue
                    tag, simple = None, None
                    for fn, fw, fv in fields(value):
                        if fn == 1 and fw == 2:
                            tag = fv.decode()
                        elif fn == 2 and fw == 5:
                            simple = struct.unpack("<f", fv)[0]
                    e["scalars"].append((tag, simple))
            elif num == 7 and wire == 2:  # Event.session_log: SessionLog, status = 1 (START = 1)
                e["restart"] = any(fn == 1 and fv == 1 for fn, _, fv in fields(v))
        out.append(e)
    if not out or out[0].get("version") != "brain.Event:2":
        raise ValueError(f"{path}: does not start with the file_version event 'brain.Event:2'")
    return out


def shown(directory):
    """{(tag, step): value} as TensorBoard shows the run: a restart drops what was logged at its step and later."""
    seen = {}
    for path in sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*"))):
        for e in events(path):
            if e.get("restart"):
                seen = {k: v for k, v in seen.items() if k[1] < e["step"]}
            for tag, value in e["scalars"]:
                seen[(tag, e["step"])] = value
    return seen


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    directory = args[0]
    try:
        scalars = shown(directory)
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        print(f"read_tfevents: {e}", file=sys.stderr)
        return 1
    if not scalars:
        print(f"read_tfevents: no scalars in {directory}", file=sys.stderr)
        return 1
    if len(args) == 3 and args[1] == "--check-log":
        expected = {}
        for line in open(args[2]):
            j = json.loads(line)
            for k, v in j.items():
                if k != "iter" and isinstance(v, (int, float)) and not isinstance(v, bool):
                    expected[(k, j["iter"])] = v
        missing = sorted(set(expected) - set(scalars))
        extra = sorted(set(scalars) - set(expected))
        wrong = [(k, expected[k], scalars[k]) for k in expected if k in scalars and
                 not math.isclose(scalars[k], expected[k], rel_tol=1e-6, abs_tol=1e-6)]
        for what, items in (("missing from the events", missing), ("not in the log", extra), ("different", wrong)):
            if items:
                print(f"read_tfevents: {len(items)} scalars {what}: {items[:5]}", file=sys.stderr)
        if missing or extra or wrong:
            return 1
        print(f"read_tfevents: {len(scalars)} scalars, equal to {args[2]}")
        return 0
    for (tag, step), value in sorted(scalars.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(f"{step}\t{tag}\t{value:.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
