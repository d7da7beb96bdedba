#!/usr/bin/python3
"""Writes torchvision reference results for mdp's model parity tests.

Usage: /usr/bin/python3 tools/torchvision_reference.py --out DIR

Every run is done twice from the same initialisation (seed 0): in float64, which is stored as the truth
(rounded to float32 to keep the files small), and in float32, whose own relative error against the truth,
||torch32 - truth|| / ||truth||, is stored in the metadata as "err.<name>". The C++ test then requires mdp's
float32 error to be within a small factor of PyTorch's own: deep networks in training mode (batch-norm
statistics of every layer in the backward) amplify float32 rounding, so a fixed tolerance would either
be loose or fail for both frameworks alike.

resnet50.safetensors   torchvision resnet50 weights ("weights."), input x (1, 3, 64, 64), eval logits
deeplabv3_export.safetensors / predict_reference.safetensors  (with --predict-image) a deeplabv3_resnet50
                       export and torchvision's labels (and top-2 logit margins) for that image
resnet18_export.safetensors  a torchvision resnet18 state_dict as tools/export_torchvision.py exports it
deeplabv3.safetensors  deeplabv3_resnet50(num_classes=21, no aux) weights ("weights."), x (2, 3, 128, 128),
                       target (255 = ignore in the top rows), eval output; in train mode (the ASPP
                       Dropout(0.5) set to p = 0 so that the run is deterministic) the output, the
                       cross-entropy loss, gradients of chosen parameters ("grad.<name>"), and every
                       parameter and buffer after 3 SGD steps (lr 0.01, momentum 0.9, wd 1e-4) ("after3.")
"""
import argparse
import copy
import os

import torch
import torch.nn.functional as F
import torchvision

from export_torchvision import build, export
from torch_reference import save

GRAD_NAMES = ["backbone.conv1.weight", "backbone.layer3.0.bn1.weight", "backbone.layer3.0.bn1.bias",
              "classifier.0.convs.0.0.weight", "classifier.4.weight", "classifier.4.bias"]


def rel_err(a, truth):
    a, truth = a.double(), truth.double()
    n = truth.norm().item()
    return (a - truth).norm().item() / (n if n > 0 else 1.0)


def record(t, meta, name, v32, v64):
    t[name] = v64.detach().float() if v64.is_floating_point() else v64.detach()
    if v64.is_floating_point():
        meta["err." + name] = repr(rel_err(v32.detach(), v64.detach()))


def resnet(out):
    torch.manual_seed(0)
    m = torchvision.models.resnet50(weights=None).eval()
    x = torch.randn(1, 3, 64, 64)
    t = {"weights." + k: v.clone() for k, v in m.state_dict().items()}
    t["x"] = x
    meta = {}
    with torch.no_grad():
        record(t, meta, "logits", m(x), copy.deepcopy(m).double()(x.double()))
    save(os.path.join(out, "resnet50.safetensors"), t, meta)


def train_run(m, x, target, dtype):
    """Eval output, then three SGD steps in train mode; returns everything the test compares."""
    r = {}
    m.eval()
    with torch.no_grad():
        r["eval_out"] = m(x.to(dtype))["out"]
    m.train()
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    for step in range(3):
        opt.zero_grad()
        out_ = m(x.to(dtype))["out"]
        loss = F.cross_entropy(out_, target, ignore_index=255)
        loss.backward()
        if step == 0:
            r["train_out"], r["loss"] = out_.detach(), loss.detach()
            params = dict(m.named_parameters())
            for n in GRAD_NAMES:
                r["grad." + n] = params[n].grad.clone()
        opt.step()
    r["loss3"] = loss.detach()
    r.update({"after3." + k: v.clone() for k, v in m.state_dict().items()})
    return r


def deeplab(out):
    torch.manual_seed(0)
    m = torchvision.models.segmentation.deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21,
                                                           aux_loss=False)
    m.classifier[0].project[3].p = 0.0  # the only dropout: off, so train mode is deterministic
    x = torch.randn(2, 3, 128, 128)
    target = torch.randint(0, 21, (2, 128, 128))
    target[:, :16, :] = 255
    t = {"weights." + k: v.clone() for k, v in m.state_dict().items()}
    t.update({"x": x, "target": target})
    m64 = copy.deepcopy(m).double()
    r32, r64 = train_run(m, x, target, torch.float32), train_run(m64, x, target, torch.float64)
    meta = {"grad_names": ",".join(GRAD_NAMES)}
    for k in r64:
        record(t, meta, k, r32[k], r64[k])
    save(os.path.join(out, "deeplabv3.safetensors"), t, meta)


def predict_reference(out, image):
    """torchvision's labels for one image: deeplabv3_resnet50 (21 classes, random init under seed 1) on the
    image at its own size, ToTensor + ImageNet Normalize, eval mode; the weights exported as they are."""
    from PIL import Image
    torch.manual_seed(1)
    m = build("deeplabv3_resnet50", 21, False).eval()
    export(m, os.path.join(out, "deeplabv3_export.safetensors"), {"model": "deeplabv3_resnet50"})
    img = torch.from_numpy(__import__("numpy").asarray(Image.open(image).convert("RGB")).copy()).permute(2, 0, 1).float() / 255
    mean, std = torch.tensor([0.485, 0.456, 0.406])[:, None, None], torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    with torch.no_grad():
        logits = m(((img - mean) / std)[None])["out"][0]
    top2 = logits.topk(2, dim=0).values
    save(os.path.join(out, "predict_reference.safetensors"),
         {"labels": logits.argmax(0), "margin": (top2[0] - top2[1]).float()}, {"image": image})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--predict-image", default="", help="also write torchvision's labels for this image")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(2)
    resnet(a.out)
    deeplab(a.out)
    torch.manual_seed(0)  # a plain export, exactly as tools/export_torchvision.py writes it
    export(build("resnet18", 1000, False), os.path.join(a.out, "resnet18_export.safetensors"), {"model": "resnet18"})
    if a.predict_image:
        predict_reference(a.out, a.predict_image)


if __name__ == "__main__":
    main()
