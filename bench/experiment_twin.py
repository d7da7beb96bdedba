#!/usr/bin/python3
"""PyTorch twin of `mdp bench --workload experiment-train | experiment-infer`: the model that
`mdp experiment paper-ablations` and `mdp demo` train, written layer for layer in PyTorch.

  DeepLabV3 with MMSegmentation's ASPPHead (64 channels, dilations 1/12/24/36, image pool, 3x3 bottleneck,
  Dropout2d 0.1, 1x1 conv_seg) on a ResNet-18 at width 1/2 (stem 7x7/2 with 32 channels, max pool, layers of
  32/64/128/256 channels, layer3 and layer4 dilated as torchvision's replace_stride_with_dilation: output
  stride 8), 12 classes (world_b), logits resized to the input (bilinear, align_corners False), pixel
  cross-entropy with ignore 255, AdamW (lr 1e-3, weight decay 0.01) as the experiment trains it.

torchvision's BasicBlock refuses dilation, so the blocks are written here as mdp's nn/resnet.cpp builds
them (the first block of a dilated layer keeps the previous dilation; conv2 is never dilated).

Prints one JSON line in the schema of ../shared/peer/torch_peer.py plus "params" and
"forward_flops_per_image", counted with mdp's rule (nn/layers.cpp layer_flops: 2 per multiply-add of a
convolution or linear layer, 2 per output element of a batch norm), so that bench/compare.py and the test
apps/bench can check that the two models are the same size. --describe prints them without timing.

Usage: /usr/bin/python3 bench/experiment_twin.py --workload experiment-train [--batch 8] [--size 64]
       [--threads 2] [--steps 3] [--warmup 1] [--precision fp32|bf16] [--describe]
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTH, DEPTH_BLOCKS, HEAD_CHANNELS, CLASSES = 0.5, (2, 2, 2, 2), 64, 12


def conv_bn(cin, cout, k, stride=1, padding=0, dilation=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding, dilation, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride, dilation, downsample):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, dilation, dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + (self.downsample(x) if self.downsample is not None else x))


class Backbone(nn.Module):  # ResNet-18 at WIDTH, replace_stride_with_dilation (False, True, True)
    def __init__(self):
        super().__init__()
        ch = lambda c: max(1, round(c * WIDTH))
        inplanes = ch(64)
        self.stem = nn.Sequential(nn.Conv2d(3, inplanes, 7, 2, 3, bias=False), nn.BatchNorm2d(inplanes),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        layers, dilation = [], 1
        for i, (blocks, dilate) in enumerate(zip(DEPTH_BLOCKS, (False, False, True, True))):
            planes, stride, previous = ch(64 << i), 1 if i == 0 else 2, dilation
            if dilate:
                dilation, stride = dilation * stride, 1
            down = conv_bn(inplanes, planes, 1, stride) if stride != 1 or inplanes != planes else None
            blocks_ = []
            for b in range(blocks):
                blocks_.append(BasicBlock(inplanes, planes, stride if b == 0 else 1, previous if b == 0 else dilation,
                                          down if b == 0 else None))
                inplanes = planes
            layers.append(nn.Sequential(*blocks_))
        self.layers = nn.Sequential(*layers)
        self.out_channels = inplanes
        for m in self.modules():  # torchvision's initialisation, as mdp's init_torchvision
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.layers(self.stem(x))


def conv_module(cin, cout, k, padding=0, dilation=1):  # mmseg ConvModule: conv (no bias), BN, ReLU
    return nn.Sequential(nn.Conv2d(cin, cout, k, 1, padding, dilation, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class ASPPHead(nn.Module):  # mmseg ASPPHead, dilations (1, 12, 24, 36)
    def __init__(self, cin, ch, classes):
        super().__init__()
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), conv_module(cin, ch, 1))
        self.aspp = nn.ModuleList([conv_module(cin, ch, 1)] +
                                  [conv_module(cin, ch, 3, d, d) for d in (12, 24, 36)])
        self.bottleneck = conv_module(5 * ch, ch, 3, 1)
        self.dropout = nn.Dropout2d(0.1)
        self.conv_seg = nn.Conv2d(ch, classes, 1)

    def forward(self, x):
        pooled = F.interpolate(self.image_pool(x), size=x.shape[2:], mode="bilinear", align_corners=False)
        y = torch.cat([pooled] + [m(x) for m in self.aspp], 1)
        return self.conv_seg(self.dropout(self.bottleneck(y)))


class ExperimentModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.decode_head = ASPPHead(self.backbone.out_channels, HEAD_CHANNELS, CLASSES)

    def forward(self, x):
        out = self.decode_head(self.backbone(x)).float()
        return F.interpolate(out, size=x.shape[2:], mode="bilinear", align_corners=False)


def forward_flops(model, size):
    """FLOPs of one image's forward pass, counted as mdp's nn::summarize counts them."""
    total = [0]

    def hook(m, inputs, out):
        n = out.numel()
        if isinstance(m, nn.Conv2d):
            total[0] += 2 * n * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total[0] += 2 * n * m.in_features
        elif isinstance(m, nn.BatchNorm2d):
            total[0] += 2 * n

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    model.train(was_training)
    for h in handles:
        h.remove()
    return total[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workload", required=True, choices=["experiment-train", "experiment-infer"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="cpu", choices=["cpu"])
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--describe", action="store_true", help="print params and FLOPs only, no timing")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ExperimentModel()
    params = sum(t.numel() for t in model.parameters())
    flops = forward_flops(model, a.size)
    if a.describe:
        print(json.dumps({"workload": a.workload, "params": params, "forward_flops_per_image": flops}))
        return
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(0, CLASSES, (a.batch, a.size, a.size))
    bf16 = a.precision == "bf16"

    def forward():
        if bf16:
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                return model(x)
        return model(x)

    if a.workload == "experiment-train":
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(forward(), y, ignore_index=255).backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                forward()

    for _ in range(a.warmup):
        step()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = (time.perf_counter() - t) / a.steps
    print(json.dumps({
        "workload": a.workload, "framework": "pytorch-" + torch.__version__, "device": a.device,
        "precision": a.precision, "batch": a.batch, "size": a.size, "threads": a.threads, "steps": a.steps,
        "ms_per_step": round(dt * 1000, 2), "images_per_s": round(a.batch / dt, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_device_mb": None, "params": params, "forward_flops_per_image": flops,
    }))


if __name__ == "__main__":
    main()
