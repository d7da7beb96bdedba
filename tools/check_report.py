#!/usr/bin/env python3
"""check_report.py: opens an `mdp report` page in headless Chromium (Debian's package) and checks it.

  check_report.py REPORT.html --screenshot OUT.png [--tables classes,claims,...] [--min-charts N] [--min-images N]

Fails (exit 1, saying what) when the page refers to anything outside itself (a script, style, image or
font by URL), when the browser logs any console message or the page records a script error, or when
the rendered DOM lacks what the page promises: every chart container drawn as an SVG with a title, at
least one series and a legend entry per series; at least --min-charts charts; the tables named by
--tables (their class names: classes, claims, arms); at least --min-images embedded images (the
gallery). Keeps a full-page screenshot at OUT.png for a person to look at. Exit 77 (skipped) when
Chromium is not installed.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_browser(exe, url, extra, profile):
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000"] + extra + [url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report")
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--tables", default="")
    ap.add_argument("--min-charts", type=int, default=1)
    ap.add_argument("--min-images", type=int, default=0)
    a = ap.parse_args()
    problems = []
    html = open(a.report, encoding="utf-8").read()
    for pattern in (r"<(?:script|img|link|iframe)[^>]*\s(?:src|href)=[\"'](?!data:)", r"url\((?!data:)", r"@import"):
        for m in re.finditer(pattern, html):
            problems.append(f"refers to something outside the page: {html[m.start():m.start() + 80]!r}")
    exe = chromium()
    if exe is None:
        print("check_report: chromium is not installed (apt-get install chromium); skipped", file=sys.stderr)
        return 77
    url = "file://" + os.path.abspath(a.report)
    os.makedirs(os.path.dirname(os.path.abspath(a.screenshot)), exist_ok=True)
    if os.path.exists(a.screenshot):
        os.remove(a.screenshot)  # a screenshot kept from an earlier run must not pass for this one
    with tempfile.TemporaryDirectory() as profile:
        dom_run = run_browser(exe, url, ["--dump-dom"], profile)
        shot_run = run_browser(exe, url, ["--window-size=1400,3200", f"--screenshot={os.path.abspath(a.screenshot)}",
                                          "--hide-scrollbars"], profile)
    dom = dom_run.stdout
    if dom_run.returncode != 0 or "<body" not in dom:
        problems.append(f"chromium could not render the page (exit {dom_run.returncode}): {dom_run.stderr[-500:]}")
    for line in (dom_run.stderr + shot_run.stderr).splitlines():
        if "CONSOLE" in line or "Uncaught" in line:
            problems.append(f"console: {line.strip()[:300]}")
    m = re.search(r'<body[^>]*data-errors="([^"]*)"', dom)
    if m:
        problems.append(f"script errors: {m.group(1)}")
    # The chart containers, each up to the next one (or the end of the charts' section).
    parts = re.split(r'<div class="chart" data-chart="\d+">', dom)[1:]
    if len(parts) < a.min_charts:
        problems.append(f"{len(parts)} charts, expected at least {a.min_charts}")
    for i, part in enumerate(parts):
        part = part.split('<div class="chart"')[0]
        title = re.search(r'class="chart-title"[^>]*>([^<]*)<', part)
        name = title.group(1) if title else f"chart {i}"
        if "<svg" not in part or not title:
            problems.append(f"{name}: not drawn (no svg or no title)")
            continue
        if "no data" in part:
            continue
        series = len(re.findall(r'class="series"', part))
        legend = len(re.findall(r'class="legend-item"', part))
        if series == 0:
            problems.append(f"{name}: no series drawn")
        if legend != series:
            problems.append(f"{name}: {series} series but {legend} legend entries")
        if len(re.findall(r'class="tick"', part)) < 2:
            problems.append(f"{name}: no tick labels")
    for t in filter(None, a.tables.split(",")):
        if not re.search(rf'<table class="{t}"', dom):
            problems.append(f"no '{t}' table")
    images = re.findall(r'<img src="data:image/(?:png|jpeg);base64,', dom)
    if len(images) < a.min_images:
        problems.append(f"{len(images)} images, expected at least {a.min_images}")
    if not os.path.exists(a.screenshot) or os.path.getsize(a.screenshot) == 0:
        problems.append(f"no screenshot written to {a.screenshot}: {shot_run.stderr[-300:]}")
    for p in problems:
        print(f"check_report: {a.report}: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_report: {a.report}: {len(parts)} charts drawn, no console message; screenshot {a.screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
