#!/usr/bin/python3
"""Runs `mdp bench` and the PyTorch peer (../shared/peer/torch_peer.py) side by side and prints the ratio table.

Usage: /usr/bin/python3 bench/compare.py [--mdp build/release/apps/mdp] [--runs 3] [--threads 2]
                                         [--workloads resnet50-train,...] [--device cpu] [--precision fp32]
                                         [--keep-openblas-env]
       /usr/bin/python3 bench/compare.py --ranks 2 [--threads 2] [--workloads deeplabv3-train,...]
       /usr/bin/python3 bench/compare.py --data [--threads 2] [--runs 3] [--seconds 5]

experiment-train / experiment-infer (the model of `mdp experiment paper-ablations`) run against its twin
bench/experiment_twin.py, after checking that both count the same parameters and forward FLOPs.

Each workload runs `runs` times per side, the two sides interleaved (mdp, peer, mdp, peer, ...), with the
same threads; the table shows medians of images/s and peak RSS and the ratio mdp / PyTorch. mdp's achieved
GFLOP/s (from its stderr line) is shown too, with its fraction of the machine's measured sgemm peak: the
median of 5 timings of a 2048^3 float32 matrix product through PyTorch (OpenBLAS) on the same threads,
measured before the workloads. With --precision bf16 also the fraction of the bf16 peak: mdp's own oneDNN
bf16 matrix product (build/release/bench/bench_ops --matmul-peak bfloat16), timed in the same run. A
benchmark, not a test: machines are noisy.

--data compares the data loaders instead: `bench_data --dataset voc` (VOC JPEGs through MMSeg's training
pipeline to 512x512 crops, batches of 4) against bench/data_twin.py (torch's DataLoader, PIL, torchvision,
the same transforms), with 1 worker and with --threads workers, interleaved; images/s per worker is the
1-worker number (a worker is one thread or process on one core). Both do the same transforms with the same
probabilities; how differs: mdp resizes the image inside the chosen crop window only (bit-identical to
resizing it whole), the twin resizes it whole as torchvision does, and PIL's bilinear filter widens when it
shrinks (antialiasing; cv2's and mdp's does not).

--ranks N compares mdp with itself instead: N data-parallel ranks (`mpirun -np N mdp bench`, threads / N
each, batch B per rank, SyncBN) against one process with all the threads at batch N x B, interleaved, and
shows each side's images/s, their ratio and the gradient all-reduce time per step.

Some machines set OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) for every process, pinning OpenBLAS to an
older kernel (e.g. Haswell's AVX2 one on an AVX-512 machine). The peer and the peak measurement run
without those two variables, so that PyTorch gets OpenBLAS's own choice for the machine (its name is
printed; checked against float64 products before use); --keep-openblas-env keeps them.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = {"resnet50-train": (8, 224), "resnet50-infer": (8, 224), "deeplabv3-train": (2, 256),
         "deeplabv3-infer": (1, 512), "mdp-pretrain": (2, 256), "experiment-train": (8, 64), "experiment-infer": (8, 64)}
# The experiment's model (mdp experiment paper-ablations) is not in the shared peer: its PyTorch twin is here.
TWIN = os.path.join(HERE, "experiment_twin.py")


def run(cmd, env=None):  # -> (the last JSON line of stdout, GFLOP/s from stderr)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    line = [l for l in p.stdout.splitlines() if l.startswith("{")][-1]
    gf = re.search(r"([0-9.]+) GFLOP/s", p.stderr)
    return json.loads(line), float(gf.group(1)) if gf else None


SGEMM = """
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
torch.mm(a, b)
times = []
for _ in range(5):
    t = time.perf_counter(); torch.mm(a, b); times.append(time.perf_counter() - t)
times.sort()
print(2 * 2048 ** 3 / times[2] / 1e9)
"""


CORE = """
import ctypes, glob, torch
name = "unknown"
for lib in glob.glob("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas*.so*"):
    try:
        f = ctypes.CDLL(lib).openblas_get_corename
        f.restype = ctypes.c_char_p
        name = f().decode()
        break
    except (OSError, AttributeError):
        pass
a, b = torch.randn(1000, 700), torch.randn(700, 900)
ref = a.double() @ b.double()
err = ((a @ b).double() - ref).abs().max().item() / ref.abs().max().item()
print(name, err)
"""


def openblas_core(env):
    """OpenBLAS's kernel name under env, after checking its float32 products against float64 ones."""
    p = subprocess.run(["/usr/bin/python3", "-c", CORE], capture_output=True, text=True, check=True, env=env)
    name, err = p.stdout.split()
    if float(err) > 1e-5:
        sys.exit(f"OpenBLAS ({name}) computes wrong float32 products here (relative error {err}); "
                 "rerun with --keep-openblas-env")
    return name


def sgemm_peak(threads, env):
    p = subprocess.run(["/usr/bin/python3", "-c", SGEMM, str(threads)], capture_output=True, text=True, check=True,
                       env=env)
    return float(p.stdout.strip())


def distributed(o):
    """mpirun -np N mdp bench (threads / N each, batch b) against one process (threads, batch N b)."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    per_rank = max(1, o.threads // o.ranks)
    rows = []
    for w in o.workloads.split(","):
        b, s = SIZES[w]
        common = ["--workload", w, "--size", str(s), "--steps", str(o.steps), "--device", o.device,
                  "--precision", o.precision]
        one, many = [], []
        for _ in range(o.runs):
            one.append(run([o.mdp, "bench", "--batch", str(b * o.ranks), "--threads", str(o.threads)] + common, env)[0])
            many.append(run(["mpirun", "-np", str(o.ranks), "--oversubscribe", o.mdp, "bench", "--batch", str(b),
                             "--threads", str(per_rank)] + common, env)[0])
        ratios = [m["images_per_s"] / n["images_per_s"] for m, n in zip(many, one)]
        med = lambda xs, k: statistics.median(x[k] for x in xs)
        ar = [m["allreduce_ms_per_step"] for m in many if m.get("allreduce_ms_per_step") is not None]
        rows.append((w, b, s, med(one, "images_per_s"), med(many, "images_per_s"), statistics.median(ratios),
                     statistics.median(ar) if ar else None, med(many, "ms_per_step")))
        print(f"{w}: done", file=sys.stderr)
    print(f"{'workload':<16} {'global batch':>12} {'size':>5} {'1 rank img/s':>13} {f'{o.ranks} ranks img/s':>14} "
          f"{'ratio':>6} {'all-reduce ms':>14} {'step ms':>8}")
    for w, b, s, i1, iN, r, ar, ms in rows:
        art = f"{ar:.1f}" if ar is not None else "-"
        print(f"{w:<16} {b * o.ranks:>12} {s:>5} {i1:>13.3f} {iN:>14.3f} {r:>6.2f} {art:>14} {ms:>8.0f}")
    print(f"1 rank x {o.threads} threads against {o.ranks} ranks x {per_rank} thread(s), the same global batch, "
          f"precision {o.precision}; medians of {o.runs} interleaved runs (ratio: the median of the per-pair ratios)")


def data_loaders(o):
    """bench_data --dataset voc against bench/data_twin.py, 1 worker and o.threads workers."""
    bench_data = os.path.join(os.path.dirname(o.mdp), "..", "bench", "bench_data")
    data = os.path.join(HERE, "..", "..", "shared", "data")
    rows = []
    for workers in sorted({1, o.threads}):
        common = ["--workers", str(workers), "--seconds", str(o.seconds), "--data", data]
        m, p = [], []
        for _ in range(o.runs):
            m.append(run([bench_data, "--dataset", "voc", "--json"] + common)[0]["images_per_s"])
            p.append(run(["/usr/bin/python3", os.path.join(HERE, "data_twin.py")] + common)[0]["images_per_s"])
        rows.append((workers, statistics.median(m), statistics.median(p),
                     statistics.median(a / b for a, b in zip(m, p))))
    print(f"{'workers':>7} {'mdp img/s':>10} {'torch img/s':>12} {'ratio':>6} {'mdp img/s per worker':>21} "
          f"{'torch img/s per worker':>23}")
    for w, mi, pi, r in rows:
        print(f"{w:>7} {mi:>10.1f} {pi:>12.1f} {r:>6.2f} {mi / w:>21.1f} {pi / w:>23.1f}")
    print(f"VOC samples, MMSeg training pipeline to 512x512 crops, batches of 4; medians of {o.runs} interleaved "
          f"runs of {o.seconds:g} s (ratio: the median of the per-pair ratios)")


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--mdp", default=os.path.join(HERE, "..", "build", "release", "apps", "mdp"))
    a.add_argument("--peer", default=os.path.join(HERE, "..", "..", "shared", "peer", "torch_peer.py"))
    a.add_argument("--runs", type=int, default=3)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--steps", type=int, default=3)
    a.add_argument("--workloads", default=None, help="default: all (on cuda: those of the shared peer)")
    a.add_argument("--device", default="cpu")
    a.add_argument("--precision", default="fp32")
    a.add_argument("--keep-openblas-env", action="store_true")
    a.add_argument("--ranks", type=int, default=1, help="> 1: data-parallel mdp against one mdp process")
    a.add_argument("--data", action="store_true", help="the data loaders instead of the models")
    a.add_argument("--seconds", type=float, default=5, help="--data: seconds per run")
    o = a.parse_args()
    if o.workloads is None:  # the experiment's twin runs on the CPU only
        o.workloads = ",".join(w for w in SIZES if o.device == "cpu" or not w.startswith("experiment-"))
    if o.data:
        return data_loaders(o)
    if o.ranks > 1:
        return distributed(o)
    peer_env = dict(os.environ)
    if not o.keep_openblas_env:
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            peer_env.pop(k, None)
    core = openblas_core(peer_env)
    peak = sgemm_peak(o.threads, peer_env)
    print(f"sgemm peak (PyTorch/OpenBLAS {core}, 2048^3 float32, {o.threads} threads): {peak:.1f} GFLOP/s",
          file=sys.stderr)
    bf16 = None  # bf16 runs: mdp's own oneDNN bf16 matmul, 2048^3, the same threads, measured now
    if o.precision == "bf16":
        bench_ops = os.path.join(os.path.dirname(o.mdp), "..", "bench", "bench_ops")
        bf16 = run([bench_ops, "--matmul-peak", "bfloat16", str(o.threads)])[0]
        print(f"bf16 peak (oneDNN matmul 2048^3, {o.threads} threads): {bf16['gflops']:.1f} GFLOP/s"
              + ("" if bf16["bf16_kernels"] else " (no bf16 kernels on this CPU: float32 on widened operands)"),
              file=sys.stderr)
    rows = []
    for w in o.workloads.split(","):
        b, s = SIZES[w]
        common = ["--workload", w, "--batch", str(b), "--size", str(s), "--threads", str(o.threads), "--steps",
                  str(o.steps), "--device", o.device, "--precision", o.precision]
        m, p, g = [], [], []
        for _ in range(o.runs):
            r, gf = run([o.mdp, "bench"] + common)
            m.append(r)
            g.append(gf)
            peer = TWIN if w.startswith("experiment-") else o.peer
            p.append(run(["/usr/bin/python3", peer] + common, peer_env)[0])
            if "params" in p[-1]:  # a twin: the same model, or the comparison means nothing
                same = all(p[-1][k] == r[k] for k in ("params", "forward_flops_per_image"))
                if not same:
                    sys.exit(f"{w}: the twin's params / FLOPs ({p[-1]['params']}, {p[-1]['forward_flops_per_image']}) "
                             f"differ from mdp's ({r['params']}, {r['forward_flops_per_image']})")
        med = lambda xs, k: statistics.median(x[k] for x in xs)
        rows.append((w, b, s, med(m, "images_per_s"), med(p, "images_per_s"), med(m, "peak_rss_mb"), med(p, "peak_rss_mb"),
                     statistics.median(g)))
        print(f"{w}: done", file=sys.stderr)
    print(f"{'workload':<16} {'batch':>5} {'size':>5} {'mdp img/s':>10} {'torch img/s':>12} {'ratio':>6} "
          f"{'mdp RSS MB':>11} {'torch RSS MB':>13} {'mdp GFLOP/s':>12} {'of sgemm':>9}"
          + (f" {'of bf16':>8}" if bf16 else ""))
    for w, b, s, mi, pi, mr, pr, gf in rows:
        print(f"{w:<16} {b:>5} {s:>5} {mi:>10.3f} {pi:>12.3f} {mi / pi:>6.2f} {mr:>11.0f} {pr:>13.0f} {gf:>12.1f} "
              f"{100 * gf / peak:>8.0f}%" + (f" {100 * gf / bf16['gflops']:>7.0f}%" if bf16 else ""))
    print(f"precision {o.precision}, {o.threads} threads, medians of {o.runs} interleaved runs; sgemm peak {peak:.1f} "
          f"GFLOP/s (OpenBLAS {core})" + (f"; bf16 peak {bf16['gflops']:.1f} GFLOP/s (oneDNN matmul"
                                          + ("" if bf16["bf16_kernels"] else ", no bf16 kernels here") + ")" if bf16 else ""))


if __name__ == "__main__":
    main()
