#!/usr/bin/env python3
"""report.py: the GPU check's loss comparison and its summary page (Python standard library only).

    python3 report.py compare-train OUT   compare OUT/train-cpu/log.jsonl with OUT/train-cuda/log.jsonl;
                                          writes OUT/train-compare.json; exit 0 match, 1 mismatch,
                                          77 nothing to compare (no CUDA run)
    python3 report.py OUT                 write OUT/gpu-report.md from what run.sh left in OUT, and print it

The loss check: the first iteration (the same weights, the same batch, before any update) must agree to
1e-3 relative, and every later iteration to 5% relative (float32 sums in a different order on each
device drift apart over the updates; a wrong kernel is off by far more). What this is not: a test of
convergence; the run is 30 iterations long.
"""
import glob
import json
import os
import sys

FIRST_TOL, LATER_TOL = 1e-3, 0.05


def read_losses(path):
    losses = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if "loss" in r and "iter" in r:
                losses[int(r["iter"])] = float(r["loss"])
    return losses


def compare_train(out):
    cpu_log, cuda_log = (os.path.join(out, f"train-{d}", "log.jsonl") for d in ("cpu", "cuda"))
    if not os.path.exists(cuda_log) or not os.path.exists(cpu_log):
        print(f"SKIPPED: no {'CUDA' if not os.path.exists(cuda_log) else 'CPU'} training log to compare")
        return 77
    cpu, cuda = read_losses(cpu_log), read_losses(cuda_log)
    iters = sorted(set(cpu) & set(cuda))
    if not iters:
        print(f"mismatch: no common iterations in {cpu_log} and {cuda_log}")
        return 1
    rel = {i: abs(cpu[i] - cuda[i]) / max(abs(cpu[i]), 1e-12) for i in iters}
    first, later = rel[iters[0]], max((rel[i] for i in iters[1:]), default=0.0)
    ok = first <= FIRST_TOL and later <= LATER_TOL and len(iters) == len(cpu) == len(cuda)
    result = {"iterations": len(iters), "first_iter_rel_diff": first, "max_later_rel_diff": later,
              "cpu_first": cpu[iters[0]], "cuda_first": cuda[iters[0]],
              "cpu_last": cpu[iters[-1]], "cuda_last": cuda[iters[-1]], "match": ok,
              "tolerances": {"first": FIRST_TOL, "later": LATER_TOL}}
    with open(os.path.join(out, "train-compare.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result))
    if not ok:
        print(f"mismatch: first iteration {first:.2e} (tolerance {FIRST_TOL}), later at most {later:.2e} "
              f"(tolerance {LATER_TOL}), iterations cpu {len(cpu)} cuda {len(cuda)}")
    return 0 if ok else 1


def last_json(path):
    try:
        with open(path) as f:
            lines = [l for l in f.read().splitlines() if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def bench_table(out):
    rows = []
    for mdp_out in sorted(glob.glob(os.path.join(out, "bench", "*.mdp.out"))):
        name = os.path.basename(mdp_out)[:-len(".mdp.out")]
        workload, precision = name.rsplit(".", 1)
        m, p = last_json(mdp_out), last_json(mdp_out.replace(".mdp.out", ".peer.out"))
        fmt = lambda r, k: "failed" if r is None else (f"{r[k]:.1f}" if r.get(k) is not None else "-")
        ratio = f"{m['images_per_s'] / p['images_per_s']:.2f}x" if m and p and p["images_per_s"] > 0 else "-"
        batch = (m or p or {}).get("batch", "?"), (m or p or {}).get("size", "?")
        rows.append(f"| {workload} | {precision} | {batch[0]} x {batch[1]}^2 | {fmt(m, 'images_per_s')} | "
                    f"{fmt(p, 'images_per_s')} | {ratio} | {fmt(m, 'peak_device_mb')} | {fmt(p, 'peak_device_mb')} |")
    if not rows:
        return "Not run.\n"
    peer = next((last_json(f) for f in glob.glob(os.path.join(out, "bench", "*.peer.out")) if last_json(f)), None)
    head = (f"mdp against {peer['framework'] if peer else 'the PyTorch peer'} (`torch_peer.py --device cuda`; "
            "10 timed steps after 3 warm-up steps; ratio = mdp images/s / PyTorch images/s). The peer allows "
            "TF32 in fp32 and uses channels-last; mdp's fp32 uses full float32 math.\n\n"
            "| workload | precision | batch x size | mdp img/s | PyTorch img/s | ratio | mdp peak MiB | PyTorch peak MiB |\n"
            "|---|---|---|---|---|---|---|---|\n")
    return head + "\n".join(rows) + "\n"


def read_text(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def write_report(out):
    build_info = read_text(os.path.join(os.path.dirname(os.path.abspath(__file__)), "payload", "BUILD_INFO")).splitlines()
    steps = [l.split("\t") for l in read_text(os.path.join(out, "steps.tsv")).splitlines() if l]
    lines = ["# GPU check report", "",
             f"- GPU: {read_text(os.path.join(out, 'gpu.txt')) or 'none found'}",
             f"- bundle: {build_info[0] if build_info else 'unknown'}",
             "- NVIDIA libraries found:", ""]
    lines += ["      " + l.strip() for l in read_text(os.path.join(out, "libs.txt")).splitlines()]
    lines += ["", "## Steps", "", "| step | status | seconds | note |", "|---|---|---|---|"]
    for s in steps:
        s += [""] * (4 - len(s))
        lines.append(f"| {s[0]} | **{s[1]}** | {s[2]} | {s[3].replace('|', '/')} |")
    failed = [s[0] for s in steps if s[1] in ("fail", "timeout")]
    lines += ["", f"{len(steps) - len(failed)} of {len(steps)} steps passed or were skipped"
              + (f"; failed: {', '.join(failed)}" if failed else "") + ". Logs: `logs/STEP.log`.", ""]
    lines += ["## Throughput", "", bench_table(out)]
    lines += ["## Training on CUDA against the CPU (same seed)", ""]
    tc = os.path.join(out, "train-compare.json")
    if os.path.exists(tc):
        r = json.load(open(tc))
        lines.append(f"{r['iterations']} iterations; first-iteration loss CPU {r['cpu_first']:.6f}, CUDA "
                     f"{r['cuda_first']:.6f} (relative difference {r['first_iter_rel_diff']:.2e}, tolerance "
                     f"{r['tolerances']['first']}); largest later relative difference {r['max_later_rel_diff']:.2e} "
                     f"(tolerance {r['tolerances']['later']}); last loss CPU {r['cpu_last']:.4f}, CUDA "
                     f"{r['cuda_last']:.4f}: **{'match' if r['match'] else 'MISMATCH'}**.")
    else:
        lines.append("Not compared (no CUDA training run).")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "gpu-report.md"), "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "compare-train":
        sys.exit(compare_train(sys.argv[2]))
    if len(sys.argv) == 2:
        sys.exit(write_report(sys.argv[1]))
    sys.exit(__doc__)
