#!/usr/bin/python3
"""Writes PyTorch reference values of MDP's pixel-to-prototype loss with sparse coding and of the
pixel-to-pixel contrast baseline (float64).

Usage: /usr/bin/python3 tools/mdp_reference.py --out DIR   ->   DIR/proto_loss.safetensors, DIR/pixel_contrast.safetensors

An independent PyTorch implementation of ../shared/docs/mdp-method.md §2.4-2.5 whose gradient comes from
autograd (mdp's comes from its analytic backward). Each case stores z (P, D), labels (P), prototypes
(C, D), filled (C, bool), optional class_dataset (C), labels2 / mix_weight (P), the loss and dz, with its
options in the metadata: tau, mode (none|pull|exclude), k, lambda, other_only.

pixel_contrast.safetensors: ContrastiveSeg's PixelContrastLoss._contrastive on fixed anchors (§2.2),
restricted to pairs within one image and skipping anchors without a positive or a negative. Each case
stores z (M, D) unit rows, labels (M), image (M), the loss and dz (autograd), with tau and base_tau in the
metadata.
"""
import argparse
import os

import torch
import torch.nn.functional as F

from torch_reference import save

IGNORE = 255


def proto_loss(z, y, P, filled, tau, mode, k, lam, class_dataset=None, y2=None, w=None):
    C = P.shape[0]
    s = z @ P.t() / tau
    masked = torch.full_like(s, -1e30)
    s_all = torch.where(filled[None, :], s, masked)
    in_range = (y >= 0) & (y < C)
    ys = torch.where(in_range, y, torch.zeros_like(y))
    valid = in_range & filled[ys]
    cand = filled[None, :].expand_as(s) & ~F.one_hot(ys, C).bool()
    if class_dataset is not None:
        cand &= class_dataset[None, :] != class_dataset[ys][:, None]
    kk = 0 if mode == "none" else min(k, C)
    s_den = s_all
    if kk:
        vals, idx = torch.where(cand, s.detach(), masked).topk(kk, dim=1)
        ok = vals > -5e29
    if mode == "exclude" and kk:
        drop = torch.zeros_like(s, dtype=torch.bool).scatter(1, idx, ok)
        s_den = torch.where(drop, masked, s_all)
    logq = F.log_softmax(s_den, dim=1)
    n = valid.sum().clamp(min=1).double()
    vf = valid.double()
    if y2 is None:
        lp = -(logq.gather(1, ys[:, None])[:, 0] * vf)
    else:
        in2 = (y2 >= 0) & (y2 < C)
        y2s = torch.where(in2, y2, torch.zeros_like(y2))
        v2 = (in2 & filled[y2s]).double() * vf
        w2 = v2 * (1 - w)
        lp = -((vf - w2) * logq.gather(1, ys[:, None])[:, 0] + w2 * logq.gather(1, y2s[:, None])[:, 0])
    loss = lp.sum() / n
    if mode == "pull" and kk:
        okf = ok.double() * vf[:, None]
        cnt = okf.sum(1).clamp(min=1)
        lsc = -((logq.gather(1, idx) * okf).sum(1) / cnt)
        loss = loss + lam * lsc.sum() / n
    return loss


def case(t, meta, name, P_, D, C, filled_idx, mode, k=5, lam=0.1, tau=0.07, ignore_frac=0.2, other=False, soft=False):
    z = F.normalize(torch.randn(P_, D, dtype=torch.float64), dim=1)
    P = F.normalize(torch.randn(C, D, dtype=torch.float64), dim=1)
    filled = torch.zeros(C, dtype=torch.bool)
    filled[filled_idx] = True
    y = torch.randint(0, C, (P_,))
    y[torch.rand(P_) < ignore_frac] = IGNORE
    cd = torch.tensor([c * 3 // C for c in range(C)]) if other else None  # three "datasets"
    y2 = w = None
    if soft:
        y2 = torch.randint(0, C, (P_,))
        y2[torch.rand(P_) < 0.3] = IGNORE
        w = torch.rand(P_, dtype=torch.float64)
    zz = z.clone().requires_grad_(True)
    loss = proto_loss(zz, y, P, filled, tau, mode, k, lam, cd, y2, w)
    loss.backward()
    t.update({f"{name}.z": z, f"{name}.labels": y, f"{name}.prototypes": P, f"{name}.filled": filled,
              f"{name}.loss": loss.detach(), f"{name}.dz": zz.grad})
    if other:
        t[f"{name}.class_dataset"] = cd
    if soft:
        t[f"{name}.labels2"], t[f"{name}.mix_weight"] = y2, w
    meta.update({f"{name}.tau": repr(tau), f"{name}.mode": mode, f"{name}.k": str(k), f"{name}.lambda": repr(lam),
                 f"{name}.other_only": "1" if other else "0"})


def pixel_contrast(z, y, img, tau, base_tau):
    """The loss over anchors z (M, D) with classes y and image ids img, as ContrastiveSeg writes it."""
    M = z.shape[0]
    same_img = (img[:, None] == img[None, :]).double()
    mask = (y[:, None] == y[None, :]).double() * same_img
    neg_mask = same_img - mask
    logits = torch.div(z @ z.t(), tau)
    logits_max, _ = torch.max(logits, dim=1, keepdim=True)
    logits = logits - logits_max.detach()
    mask = mask * (1 - torch.eye(M, dtype=torch.float64))
    neg_logits = (torch.exp(logits) * neg_mask).sum(1, keepdim=True)
    log_prob = logits - torch.log(torch.exp(logits) + neg_logits)
    valid = (mask.sum(1) > 0) & (neg_mask.sum(1) > 0)
    mean_log_prob_pos = (mask * log_prob).sum(1)[valid] / mask.sum(1)[valid]
    return -(tau / base_tau) * mean_log_prob_pos.mean()


def contrast_case(t, meta, name, sizes, D, C, tau=0.1, base_tau=0.07, singletons=0):
    """sizes: anchors per image; classes drawn in [0, C); `singletons` extra anchors of unique classes."""
    ys, imgs = [], []
    for i, m in enumerate(sizes):
        y = torch.randint(0, C, (m,))
        if i < singletons:
            y[0] = 1000 + i  # a class alone in its image: no positive
        ys.append(y)
        imgs.append(torch.full((m,), i, dtype=torch.int64))
    y, img = torch.cat(ys), torch.cat(imgs)
    z = F.normalize(torch.randn(y.shape[0], D, dtype=torch.float64), dim=1)
    zz = z.clone().requires_grad_(True)
    loss = pixel_contrast(zz, y, img, tau, base_tau)
    loss.backward()
    t.update({f"{name}.z": z, f"{name}.labels": y, f"{name}.image": img, f"{name}.loss": loss.detach(),
              f"{name}.dz": zz.grad})
    meta.update({f"{name}.tau": repr(tau), f"{name}.base_tau": repr(base_tau)})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    t, meta = {}, {}
    case(t, meta, "pull", 300, 16, 20, list(range(20)), "pull")
    case(t, meta, "pull_unfilled", 300, 16, 20, [0, 2, 3, 5, 7, 11, 13, 17, 19], "pull")
    case(t, meta, "pull_k_gt_candidates", 200, 8, 6, [1, 4, 5], "pull", k=5)
    case(t, meta, "exclude", 300, 16, 20, list(range(0, 20, 2)) + [1], "exclude", k=3)
    case(t, meta, "none", 300, 16, 20, list(range(15)), "none")
    case(t, meta, "pull_other_datasets", 300, 16, 21, list(range(21)), "pull", other=True)
    case(t, meta, "soft_targets", 300, 16, 20, list(range(18)), "pull", soft=True)
    case(t, meta, "tau_0p3", 100, 16, 12, list(range(12)), "pull", tau=0.3, k=2, lam=0.05)
    case(t, meta, "all_ignored", 50, 8, 5, [0, 1], "pull", ignore_frac=1.0)
    save(os.path.join(a.out, "proto_loss.safetensors"), t, meta)

    torch.manual_seed(1)  # after proto_loss's draws, so that file stays as it was
    t, meta = {}, {}
    contrast_case(t, meta, "one_image", [60], 16, 5)
    contrast_case(t, meta, "three_images", [40, 25, 30], 16, 6, singletons=2)
    contrast_case(t, meta, "tau_0p07", [50, 50], 8, 3, tau=0.07)
    contrast_case(t, meta, "many_classes", [80], 32, 30, tau=0.2, base_tau=0.1)
    save(os.path.join(a.out, "pixel_contrast.safetensors"), t, meta)


if __name__ == "__main__":
    main()
