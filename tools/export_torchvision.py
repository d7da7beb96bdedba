#!/usr/bin/python3
"""Exports a torchvision model's state_dict to safetensors, names unchanged, so mdp loads it as it is.

Usage: /usr/bin/python3 tools/export_torchvision.py --model deeplabv3_resnet50 --out weights.safetensors
           [--num-classes 21] [--aux] [--state-dict FILE.pth] [--seed 0]
With --state-dict the weights come from a file saved by torch.save (e.g. torchvision's downloaded
checkpoints, copied by hand: nothing is downloaded here); otherwise the model's own random
initialisation under --seed is exported.
"""
import argparse

import torch
import torchvision

from torch_reference import save


def build(name, num_classes, aux):
    if name.startswith("deeplabv3") or name.startswith("fcn"):
        fn = getattr(torchvision.models.segmentation, name)
        return fn(weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=aux)
    return getattr(torchvision.models, name)(weights=None, num_classes=num_classes)


def export(model, path, meta=None):
    tensors = {k: v for k, v in model.state_dict().items()}
    save(path, tensors, meta or {})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--num-classes", type=int, default=None)
    p.add_argument("--aux", action="store_true")
    p.add_argument("--state-dict")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    classes = a.num_classes or (21 if "deeplab" in a.model or "fcn" in a.model else 1000)
    m = build(a.model, classes, a.aux)
    if a.state_dict:
        m.load_state_dict(torch.load(a.state_dict, map_location="cpu"))
    export(m, a.out, {"source": "torchvision " + torchvision.__version__, "model": a.model})


if __name__ == "__main__":
    main()
