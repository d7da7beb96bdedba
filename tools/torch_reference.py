#!/usr/bin/python3
"""Writes PyTorch reference results (forward and backward, float64) for mdp's parity tests.

Usage: /usr/bin/python3 tools/torch_reference.py --out DIR   (Debian's python3 with python3-torch)

One safetensors file per op family. Each case stores tensors named "<case>.<tensor>" and its arguments
in __metadata__ as "<case>.<arg>" = string (lists comma-separated, booleans "1"/"0"). The upstream
gradient gy is random normal of the output's shape and the stored gradients are those of sum(y * gy).
The file is written by hand (struct + json), since the safetensors package is not installed.
"""
import argparse
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8",
          torch.bool: "BOOL"}


def save(path, tensors, meta):
    """Writes {name: tensor} and {key: str} as a safetensors file, header padded with spaces to 8 bytes."""
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for name, t in tensors.items():
        a = t.detach().cpu().contiguous().numpy()
        data = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(tmp, path)


def ints(v):
    return ",".join(str(int(x)) for x in (v if isinstance(v, (tuple, list)) else [v]))


def flag(b):
    return "1" if b else "0"


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def backward(fn, inputs):
    """y = fn(*inputs); returns y, gy and the gradients of sum(y * gy) with respect to the inputs."""
    leaves = [t.clone().requires_grad_(True) for t in inputs]
    y = fn(*leaves)
    gy = randn(*y.shape)
    grads = torch.autograd.grad((y * gy).sum(), leaves)
    return y.detach(), gy, grads


def conv2d_file(out):
    torch.manual_seed(0)
    cases = [  # name, x shape, w shape, bias, stride, padding, dilation, groups
        ("basic", (2, 3, 9, 9), (4, 3, 3, 3), True, (1, 1), (1, 1), (1, 1), 1),
        ("strided", (2, 4, 11, 10), (6, 4, 3, 3), False, (2, 2), (1, 1), (1, 1), 1),
        ("dilated", (1, 3, 13, 13), (5, 3, 3, 3), True, (1, 1), (2, 2), (2, 2), 1),
        ("grouped", (2, 6, 8, 8), (6, 3, 3, 3), True, (1, 1), (1, 1), (1, 1), 2),
        ("depthwise", (1, 4, 7, 7), (4, 1, 3, 3), True, (2, 2), (1, 1), (1, 1), 4),
        ("pointwise", (2, 8, 5, 5), (4, 8, 1, 1), False, (1, 1), (0, 0), (1, 1), 1),
        ("stem", (1, 3, 32, 32), (8, 3, 7, 7), False, (2, 2), (3, 3), (1, 1), 1),
    ]
    tensors, meta = {}, {}
    for name, xs, ws, bias, stride, padding, dilation, groups in cases:
        x, w = randn(*xs), randn(*ws)
        inputs = [x, w] + ([randn(ws[0])] if bias else [])
        fn = lambda x, w, b=None: F.conv2d(x, w, b, stride, padding, dilation, groups)  # noqa: E731
        y, gy, grads = backward(fn, inputs)
        names = ["x", "w", "b"][:len(inputs)]
        tensors.update({f"{name}.{n}": t for n, t in zip(names, inputs)})
        tensors.update({f"{name}.y": y, f"{name}.gy": gy})
        tensors.update({f"{name}.g{n}": g for n, g in zip(names, grads)})
        meta.update({f"{name}.stride": ints(stride), f"{name}.padding": ints(padding),
                     f"{name}.dilation": ints(dilation), f"{name}.groups": ints(groups), f"{name}.bias": flag(bias)})
    save(os.path.join(out, "conv2d.safetensors"), tensors, meta)


def batch_norm_file(out):
    torch.manual_seed(0)
    momentum, eps = 0.1, 1e-5
    tensors, meta = {}, {}
    for name, shape, training in [("train", (4, 3, 5, 6), True), ("eval", (4, 3, 5, 6), False),
                                  ("train_n1", (1, 2, 3, 3), True)]:
        c = shape[1]
        x, weight, bias = randn(*shape), randn(c), randn(c)
        mean_in, var_in = randn(c), torch.rand(c, dtype=torch.float64) + 0.5
        mean, var = mean_in.clone(), var_in.clone()  # updated in place by training mode
        fn = lambda x, w, b: F.batch_norm(x, mean, var, w, b, training, momentum, eps)  # noqa: E731
        y, gy, (gx, gw, gb) = backward(fn, [x, weight, bias])
        tensors.update({f"{name}.x": x, f"{name}.weight": weight, f"{name}.bias": bias,
                        f"{name}.running_mean_in": mean_in, f"{name}.running_var_in": var_in, f"{name}.y": y,
                        f"{name}.running_mean_out": mean, f"{name}.running_var_out": var, f"{name}.gy": gy,
                        f"{name}.gx": gx, f"{name}.gweight": gw, f"{name}.gbias": gb})
        meta.update({f"{name}.momentum": repr(momentum), f"{name}.eps": repr(eps), f"{name}.training": flag(training)})
    save(os.path.join(out, "batch_norm.safetensors"), tensors, meta)


def resize_file(out):
    torch.manual_seed(0)
    cases = [  # name, x shape, output size, mode, align_corners
        ("up_ac0", (2, 3, 5, 7), (11, 13), "bilinear", False),
        ("up_ac1", (2, 3, 5, 7), (11, 13), "bilinear", True),
        ("down_ac0", (1, 2, 16, 15), (5, 6), "bilinear", False),
        ("down_ac1", (1, 2, 16, 15), (5, 6), "bilinear", True),
        ("same", (1, 1, 4, 4), (4, 4), "bilinear", False),
        ("nearest_up", (1, 1, 3, 5), (7, 9), "nearest", False),
        ("nearest_down", (1, 1, 17, 13), (5, 4), "nearest", False),
    ]
    tensors, meta = {}, {}
    for name, xs, size, mode, ac in cases:
        x = randn(*xs)
        kw = {"align_corners": ac} if mode == "bilinear" else {}
        y, gy, (gx,) = backward(lambda x: F.interpolate(x, size=size, mode=mode, **kw), [x])
        tensors.update({f"{name}.x": x, f"{name}.y": y, f"{name}.gy": gy, f"{name}.gx": gx})
        meta.update({f"{name}.size": ints(size), f"{name}.mode": mode, f"{name}.align_corners": flag(ac)})
    save(os.path.join(out, "resize.safetensors"), tensors, meta)


def pool_file(out):
    torch.manual_seed(0)

    def distinct(*shape):  # a permutation of evenly spaced values: no ties for max pooling
        n = int(np.prod(shape))
        return (torch.randperm(n).to(torch.float64) / n - 0.5).reshape(shape)

    tensors, meta = {}, {}
    max_cases = [  # name, x shape, kernel, stride, padding, ceil_mode
        ("k3s2p1", (2, 3, 9, 9), (3, 3), (2, 2), (1, 1), False),
        ("k2s2ceil", (1, 2, 7, 7), (2, 2), (2, 2), (0, 0), True),
        ("k3s2ceil_p1", (1, 1, 8, 8), (3, 3), (2, 2), (1, 1), True),
    ]
    for name, xs, k, s, p, ceil in max_cases:
        x = distinct(*xs)
        y, gy, (gx,) = backward(lambda x: F.max_pool2d(x, k, s, p, ceil_mode=ceil), [x])
        tensors.update({f"{name}.x": x, f"{name}.y": y, f"{name}.gy": gy, f"{name}.gx": gx})
        meta.update({f"{name}.kind": "max", f"{name}.kernel": ints(k), f"{name}.stride": ints(s),
                     f"{name}.padding": ints(p), f"{name}.ceil_mode": flag(ceil)})

    name, x = "avg_k3s2p1", randn(2, 3, 9, 9)
    y, gy, (gx,) = backward(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=False, count_include_pad=True), [x])
    tensors.update({f"{name}.x": x, f"{name}.y": y, f"{name}.gy": gy, f"{name}.gx": gx})
    meta.update({f"{name}.kind": "avg", f"{name}.kernel": "3,3", f"{name}.stride": "2,2", f"{name}.padding": "1,1",
                 f"{name}.ceil_mode": "0", f"{name}.count_include_pad": "1"})

    for name, size in [("adaptive", (3, 4)), ("global", (1, 1))]:
        x = randn(2, 3, 7, 9)
        y, gy, (gx,) = backward(lambda x: F.adaptive_avg_pool2d(x, size), [x])
        tensors.update({f"{name}.x": x, f"{name}.y": y, f"{name}.gy": gy, f"{name}.gx": gx})
        meta.update({f"{name}.kind": "adaptive", f"{name}.output_size": ints(size)})
    save(os.path.join(out, "pool.safetensors"), tensors, meta)


def softmax_file(out):
    torch.manual_seed(0)
    tensors, meta = {}, {}
    for name, kind, shape, dim in [("softmax_dim1", "softmax", (2, 5, 3, 4), 1),
                                   ("log_softmax_dim1", "log_softmax", (2, 5, 3, 4), 1),
                                   ("softmax_last", "softmax", (3, 7), 1)]:
        x = randn(*shape)
        fn = getattr(F, kind)
        y, gy, (gx,) = backward(lambda x: fn(x, dim=dim), [x])
        tensors.update({f"{name}.x": x, f"{name}.y": y, f"{name}.gy": gy, f"{name}.gx": gx})
        meta.update({f"{name}.kind": kind, f"{name}.dim": ints(dim)})
    save(os.path.join(out, "softmax.safetensors"), tensors, meta)


def cross_entropy_file(out):
    torch.manual_seed(0)
    ignore = 255

    def targets(shape, classes, p_ignore):
        t = torch.randint(0, classes, shape, dtype=torch.int64)
        t[torch.rand(shape) < p_ignore] = ignore
        return t

    cases = [  # name, logits, target, class weight or None
        ("nchw", randn(2, 5, 4, 6), targets((2, 4, 6), 5, 0.2), None),
        ("nchw_weighted", randn(2, 5, 4, 6), targets((2, 4, 6), 5, 0.2), torch.rand(5, dtype=torch.float64) + 0.5),
        ("nc", randn(6, 4), targets((6,), 4, 0.2), None),
        ("all_ignored", randn(2, 3, 2, 2), torch.full((2, 2, 2), ignore, dtype=torch.int64), None),
    ]
    tensors, meta = {}, {}
    for name, logits, target, weight in cases:
        if name == "all_ignored":
            # torch returns nan (0/0) for a mean over no targets; mdp defines that loss as 0 with zero gradient.
            loss, glogits = torch.zeros((), dtype=torch.float64), torch.zeros_like(logits)
        else:
            leaf = logits.clone().requires_grad_(True)
            loss = F.cross_entropy(leaf, target, weight=weight, ignore_index=ignore, reduction="mean")
            (glogits,) = torch.autograd.grad(loss, [leaf])
            loss = loss.detach()
        tensors.update({f"{name}.logits": logits, f"{name}.target": target, f"{name}.loss": loss,
                        f"{name}.glogits": glogits})
        if weight is not None:
            tensors[f"{name}.weight"] = weight
        meta.update({f"{name}.ignore_index": ints(ignore), f"{name}.reduction": "mean",
                     f"{name}.weighted": flag(weight is not None)})
    save(os.path.join(out, "cross_entropy.safetensors"), tensors, meta)


def matmul_file(out):
    torch.manual_seed(0)
    tensors, meta = {}, {}
    for name, ash, bsh in [("mm", (5, 7), (7, 3)), ("bmm", (4, 5, 6), (4, 6, 2))]:
        a, b = randn(*ash), randn(*bsh)
        y, gy, (ga, gb) = backward(torch.matmul, [a, b])
        tensors.update({f"{name}.a": a, f"{name}.b": b, f"{name}.y": y, f"{name}.gy": gy, f"{name}.ga": ga,
                        f"{name}.gb": gb})
        meta[f"{name}.op"] = name
    save(os.path.join(out, "matmul.safetensors"), tensors, meta)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory for the .safetensors files")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    for write in [conv2d_file, batch_norm_file, resize_file, pool_file, softmax_file, cross_entropy_file,
                  matmul_file]:
        write(args.out)


if __name__ == "__main__":
    main()
