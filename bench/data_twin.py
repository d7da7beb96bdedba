#!/usr/bin/python3
"""PyTorch twin of `bench_data --dataset voc`: VOC JPEGs and their PNG labels through MMSegmentation's training
pipeline to 512x512 crops, with torch's DataLoader, PIL and torchvision.transforms.functional, the way a
PyTorch user writes it. The same transforms in the same order as mdp's data::train_pipeline:

  RandomResize(scale (2048, 512), ratio 0.5..2.0, keep ratio; image bilinear, label nearest)
  RandomCrop(512x512, cat_max_ratio 0.75: up to 10 re-draws)  RandomFlip(0.5)
  PhotoMetricDistortion(brightness +-32, contrast 0.5..1.5 before or after, saturation 0.5..1.5 and hue +-18
  in HSV through PIL's conversions, each with probability 0.5; uint8 after every step, as MMSeg)  Normalize(ImageNet mean / std)  Pad(512x512; image 0, label 255)

batches of 4 (default collate), an endless random sampler. Unlike mdp, it resizes the whole image before
cropping (as torchvision and MMSeg do; mdp resizes the crop window only, with the same result), and PIL's
bilinear filter antialiases when it shrinks. Prints one JSON line:
  {"framework": "pytorch-...", "dataset": "voc", "workers": N, "seconds": S, "images": n, "images_per_s": x}

Usage: /usr/bin/python3 bench/data_twin.py [--data ../shared/data] [--workers N] [--seconds S]
"""
import argparse
import json
import os
import random
import time

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
CROP, SCALE, IGNORE = 512, (2048, 512), 255


class VOCTrain(torch.utils.data.Dataset):
    def __init__(self, root):
        voc = os.path.join(root, "VOCdevkit", "VOC2012")
        with open(os.path.join(voc, "ImageSets", "Segmentation", "trainval.txt")) as f:
            ids = [l.strip() for l in f if l.strip()]
        self.items = [(os.path.join(voc, "JPEGImages", i + ".jpg"), os.path.join(voc, "SegmentationClass", i + ".png"))
                      for i in ids]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        img_path, label_path = self.items[i]
        img = Image.open(img_path).convert("RGB")
        label = Image.open(label_path)  # palette PNG: the indices are the class ids, 255 the border
        return transform(img, label)


def random_resize(img, label):
    r = random.uniform(0.5, 2.0)
    long_t, short_t = max(SCALE) * r, min(SCALE) * r
    w, h = img.size
    f = min(long_t / max(w, h), short_t / min(w, h))
    size = [int(h * f + 0.5), int(w * f + 0.5)]
    return (TF.resize(img, size, TF.InterpolationMode.BILINEAR),
            TF.resize(label, size, TF.InterpolationMode.NEAREST))


def random_crop(img, label):
    w, h = img.size
    lab = np.asarray(label)
    for attempt in range(11):
        top, left = random.randint(0, max(h - CROP, 0)), random.randint(0, max(w - CROP, 0))
        window = lab[top:top + CROP, left:left + CROP]
        if attempt == 10:
            break
        counts = np.bincount(window[window != IGNORE].ravel(), minlength=256)
        counts = counts[counts > 0]
        if len(counts) > 1 and counts.max() / counts.sum() < 0.75:
            break
    ch, cw = min(CROP, h), min(CROP, w)
    return TF.crop(img, top, left, ch, cw), TF.crop(label, top, left, ch, cw)


def convert(a, alpha=1.0, beta=0.0):  # MMSeg's convert: float32 arithmetic, clipped back to uint8
    return np.clip(a.astype(np.float32) * alpha + beta, 0, 255).astype(np.uint8)


def photo_metric(img):  # MMSeg's PhotoMetricDistortion, each step with probability 0.5
    a = np.asarray(img)
    if random.randint(0, 1):
        a = convert(a, beta=random.uniform(-32, 32))
    contrast_first = random.randint(0, 1) == 1
    if contrast_first and random.randint(0, 1):
        a = convert(a, alpha=random.uniform(0.5, 1.5))
    if random.randint(0, 1):  # saturation, in HSV
        hsv = np.array(Image.fromarray(a).convert("HSV"))
        hsv[..., 1] = convert(hsv[..., 1], alpha=random.uniform(0.5, 1.5))
        a = np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"))
    if random.randint(0, 1):  # hue, in HSV (PIL's H spans 0..255 where cv2's spans 0..179)
        hsv = np.array(Image.fromarray(a).convert("HSV"))
        hsv[..., 0] = (hsv[..., 0].astype(np.int32) + round(random.randint(-18, 17) * 256 / 180)) % 256
        a = np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"))
    if not contrast_first and random.randint(0, 1):
        a = convert(a, alpha=random.uniform(0.5, 1.5))
    return Image.fromarray(a)


def transform(img, label):
    img, label = random_resize(img, label)
    img, label = random_crop(img, label)
    if random.random() < 0.5:
        img, label = TF.hflip(img), TF.hflip(label)
    img = photo_metric(img)
    x = TF.normalize(TF.pil_to_tensor(img).float(), MEAN, STD)  # (3, h, w)
    y = torch.from_numpy(np.array(label, dtype=np.int64))      # (h, w)
    pad = [0, 0, CROP - x.shape[2], CROP - x.shape[1]]          # left, top, right, bottom
    return TF.pad(x, pad, fill=0), TF.pad(y, pad, fill=IGNORE)


class Endless(torch.utils.data.Sampler):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        while True:
            yield random.randrange(self.n)


def seed_worker(worker_id):
    random.seed(torch.initial_seed() % 2**32)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data"))
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seconds", type=float, default=3)
    a = p.parse_args()
    torch.set_num_threads(1)  # the workers do the work; one thread each, as mdp's loader workers
    torch.manual_seed(1)
    random.seed(1)
    loader = torch.utils.data.DataLoader(VOCTrain(a.data), batch_size=4, sampler=Endless(len(VOCTrain(a.data))),
                                         num_workers=a.workers, worker_init_fn=seed_worker, persistent_workers=True)
    it = iter(loader)
    next(it)  # warm-up: workers started, files in the page cache
    images, start = 0, time.perf_counter()
    while True:
        x, y = next(it)
        assert x.shape[1:] == (3, CROP, CROP) and y.shape[1:] == (CROP, CROP)
        images += x.shape[0]
        elapsed = time.perf_counter() - start
        if elapsed >= a.seconds:
            break
    print(json.dumps({"framework": "pytorch-" + torch.__version__, "dataset": "voc", "workers": a.workers,
                      "seconds": round(elapsed, 3), "images": images, "images_per_s": round(images / elapsed, 2)}))


if __name__ == "__main__":
    main()
