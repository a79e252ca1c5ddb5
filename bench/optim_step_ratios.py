"""Optimizer step on CPU: ProxAdam / ProxSGD against torch.optim, interleaved in one process.

Protocol (../shared/BENCHMARKS.md, "Optimizer step"): ~23M float32 parameters in a
realistic mix (4M, 1M, 256k tensors and many small biases), fixed random gradients,
contenders run A B C ... in turn, 3 warm-ups, median of ``--repeats`` steps. Printed:
median times, ratios proxgan / baseline, and the first-step overhead (numba compile or
cache load) measured in fresh subprocesses.

Baselines
---------
* ``torch.optim.Adam(fused=True)`` (no prox at all);
* ``Adam(fused=True)`` followed by a separate pass computing the same ProxGen prox
  (threshold ``lr·lam/(sqrt(v_hat)+eps)`` from Adam's state), once with
  ``torch._foreach_*`` ops (temporaries allocated every step, as a user would write it)
  and once tensor by tensor in two preallocated scratch buffers (the careful version);
* ``Adam(fused=True)`` followed by a separate scalar ``softshrink`` pass (the cheapest
  possible second pass, but not the same prox);
* ``torch.optim.Adam(foreach=True)``; and the same for SGD(momentum=0.9).

``OMP_WAIT_POLICY`` defaults to PASSIVE here (set before torch is imported): on a shared
two-core machine, spinning OpenMP threads of torch and numba otherwise steal each
other's cores and single steps take 30x longer at random.

Run: ``.venv/bin/python bench/optim_step_ratios.py [--repeats 21] [--scale 1.0] [--device cuda]``
(on CUDA it also prints the achieved bandwidth as a share of a device-to-device copy).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from proxgan.optim import ProxAdam, ProxSGD  # noqa: E402
from proxgan.penalties import L1  # noqa: E402

LR, LAM, EPS = 1e-3, 1e-4, 1e-8
DEVICE = torch.device("cpu")


def shapes(scale: float) -> list[tuple[int, ...]]:
    big = [(2048, 2048)] * 3 + [(1024, 1024)] * 8 + [(512, 512)] * 12 + [(256, 256)] * 8
    small = [(512,)] * 40 + [(64,)] * 20
    out = [(max(1, int(a * scale)), b) for a, b in big] + small
    return out


def make(shape_list, seed=0):
    gen = torch.Generator().manual_seed(seed)
    ps = [torch.nn.Parameter((0.02 * torch.randn(s, generator=gen)).to(DEVICE)) for s in shape_list]
    for p in ps:
        p.grad = (0.01 * torch.randn(p.shape, generator=gen)).to(DEVICE)
    return ps


def separate_prox_adam_pass(opt: torch.optim.Adam, params) -> None:
    """The ProxGen soft threshold after torch's Adam, as a second pass with foreach ops."""
    group = opt.param_groups[0]
    beta2 = group["betas"][1]
    step = float(opt.state[params[0]]["step"])
    bc2s = (1 - beta2 ** step) ** 0.5
    vs = [opt.state[p]["exp_avg_sq"] for p in params]
    den = torch._foreach_sqrt(vs)
    torch._foreach_div_(den, bc2s)
    torch._foreach_add_(den, EPS)
    thr = torch._foreach_reciprocal(den)
    torch._foreach_mul_(thr, LR * LAM)
    xs = [p.detach() for p in params]
    clamped = torch._foreach_maximum(xs, torch._foreach_neg(thr))
    torch._foreach_minimum_(clamped, thr)
    torch._foreach_sub_(xs, clamped)


def separate_prox_adam_pass_scratch(opt: torch.optim.Adam, params, scratch) -> None:
    """The same ProxGen soft threshold, tensor by tensor, in two preallocated scratch buffers."""
    beta2 = opt.param_groups[0]["betas"][1]
    bc2s = (1 - beta2 ** float(opt.state[params[0]]["step"])) ** 0.5
    for p in params:
        x = p.detach().view(-1)
        t, c = scratch[0][: x.numel()], scratch[1][: x.numel()]
        torch.sqrt(opt.state[p]["exp_avg_sq"].view(-1), out=t)
        t.div_(bc2s).add_(EPS).reciprocal_().mul_(LR * LAM)  # threshold lr*lam/(sqrt(v_hat)+eps)
        torch.neg(t, out=c)
        torch.maximum(x, c, out=c)
        torch.minimum(c, t, out=c)
        x.sub_(c)


def softshrink_pass(params, thr: float) -> None:
    for p in params:
        torch.ops.aten.softshrink.out(p.detach(), thr, out=p.detach())


def contenders(shape_list):
    c = {}
    ps = make(shape_list)
    c["ProxAdam(L1) fused"] = (ProxAdam(ps, lr=LR, eps=EPS, penalty=L1(LAM)).step, None)
    ps = make(shape_list)
    c["ProxAdam(L1) foreach"] = (ProxAdam(ps, lr=LR, eps=EPS, penalty=L1(LAM), foreach=True, fused=False).step, None)
    ps = make(shape_list)
    c["Adam(fused=True)"] = (torch.optim.Adam(ps, lr=LR, eps=EPS, fused=True).step, None)
    ps = make(shape_list)
    a1 = torch.optim.Adam(ps, lr=LR, eps=EPS, fused=True)
    c["Adam(fused) + ProxGen pass"] = (lambda a1=a1, ps=ps: (a1.step(), separate_prox_adam_pass(a1, ps)), None)
    ps = make(shape_list)
    a3 = torch.optim.Adam(ps, lr=LR, eps=EPS, fused=True)
    biggest = max(p.numel() for p in ps)
    scratch = (torch.empty(biggest, device=DEVICE), torch.empty(biggest, device=DEVICE))
    c["Adam(fused) + ProxGen pass, scratch"] = (
        lambda a3=a3, ps=ps: (a3.step(), separate_prox_adam_pass_scratch(a3, ps, scratch)), None)
    ps = make(shape_list)
    a2 = torch.optim.Adam(ps, lr=LR, eps=EPS, fused=True)
    c["Adam(fused) + softshrink pass"] = (lambda a2=a2, ps=ps: (a2.step(), softshrink_pass(ps, LR * LAM)), None)
    ps = make(shape_list)
    c["Adam(foreach=True)"] = (torch.optim.Adam(ps, lr=LR, eps=EPS, foreach=True).step, None)
    ps = make(shape_list)
    c["ProxSGD(mom=0.9, L1) fused"] = (ProxSGD(ps, lr=LR, momentum=0.9, penalty=L1(LAM)).step, None)
    ps = make(shape_list)
    c["SGD(mom=0.9)"] = (torch.optim.SGD(ps, lr=LR, momentum=0.9).step, None)
    ps = make(shape_list)
    c["SGD(mom=0.9, fused=True)"] = (torch.optim.SGD(ps, lr=LR, momentum=0.9, fused=True).step, None)
    ps = make(shape_list)
    s1 = torch.optim.SGD(ps, lr=LR, momentum=0.9)
    c["SGD(mom=0.9) + softshrink pass"] = (lambda s1=s1, ps=ps: (s1.step(), softshrink_pass(ps, LR * LAM)), None)
    return {k: v[0] for k, v in c.items()}


FIRST_STEP = """
import os, time
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
t0 = time.perf_counter()
import torch
from proxgan.optim import {cls}
from proxgan.penalties import L1
ps = [torch.nn.Parameter(torch.randn(1000, 1000, device="{device}")),
      torch.nn.Parameter(torch.randn(1000, device="{device}"))]
for p in ps: p.grad = torch.randn_like(p)
opt = {cls}(ps, lr=1e-3, penalty=L1(1e-4){extra})
sync = torch.cuda.synchronize if "{device}" == "cuda" else (lambda: None)
sync(); t1 = time.perf_counter(); opt.step(); sync(); t2 = time.perf_counter()
opt.step(); sync(); t3 = time.perf_counter()
print(t2 - t1, t3 - t2)
"""


def first_step(cls: str, extra: str, cold: bool) -> tuple[float, float]:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as d:
        if cold:
            env["NUMBA_CACHE_DIR"] = d  # empty cache: numba compiles
        code = FIRST_STEP.format(cls=cls, extra=extra, device=DEVICE.type)
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"first-step subprocess failed:\n{proc.stderr}")
        out = proc.stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--scale", type=float, default=1.0, help="scale the big tensors (1.0: ~23M parameters)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                    help="cuda: also report achieved bandwidth against a device-to-device copy")
    args = ap.parse_args()
    global DEVICE
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    DEVICE = torch.device(args.device)
    shape_list = shapes(args.scale)
    n = sum(torch.Size(s).numel() for s in shape_list)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    print(f"parameters: {n / 1e6:.1f}M float32 in {len(shape_list)} tensors; median of {args.repeats} steps "
          "after 3 warm-ups, contenders interleaved")
    sync = torch.cuda.synchronize if DEVICE.type == "cuda" else (lambda: None)
    fns = contenders(shape_list)
    for f in fns.values():
        for _ in range(3):
            f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(args.repeats):
        for k, f in fns.items():
            sync()
            t = time.perf_counter()
            f()
            sync()
            times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print()
    print("| contender | median ms | GB/s (28 B/param Adam, 20 B SGD) |")
    print("|---|---:|---:|")
    for k, v in med.items():
        nbytes = 20 if "SGD" in k else 28
        print(f"| {k} | {v * 1e3:.2f} | {nbytes * n / v / 1e9:.1f} |")
    print()
    rows = [
        ("ProxAdam(L1) fused / Adam(fused=True)", med["ProxAdam(L1) fused"] / med["Adam(fused=True)"], "<= 1.10"),
        ("(Adam(fused) + ProxGen pass) / ProxAdam(L1) fused",
         med["Adam(fused) + ProxGen pass"] / med["ProxAdam(L1) fused"], ">= 3"),
        ("(Adam(fused) + ProxGen pass in scratch buffers) / ProxAdam(L1) fused",
         med["Adam(fused) + ProxGen pass, scratch"] / med["ProxAdam(L1) fused"], ">= 3"),
        ("(Adam(fused) + softshrink pass) / ProxAdam(L1) fused",
         med["Adam(fused) + softshrink pass"] / med["ProxAdam(L1) fused"], "(not the same prox)"),
        ("ProxAdam(L1) fused / Adam(foreach=True)", med["ProxAdam(L1) fused"] / med["Adam(foreach=True)"], ""),
        ("ProxAdam(L1) foreach / Adam(fused=True)", med["ProxAdam(L1) foreach"] / med["Adam(fused=True)"], ""),
        ("ProxSGD(L1) fused / SGD(mom=0.9)", med["ProxSGD(mom=0.9, L1) fused"] / med["SGD(mom=0.9)"], "<= 1.10"),
        ("ProxSGD(L1) fused / SGD(mom=0.9, fused=True)",
         med["ProxSGD(mom=0.9, L1) fused"] / med["SGD(mom=0.9, fused=True)"], ""),
        ("(SGD(mom=0.9) + softshrink pass) / ProxSGD(L1) fused",
         med["SGD(mom=0.9) + softshrink pass"] / med["ProxSGD(mom=0.9, L1) fused"], ">= 3"),
    ]
    if DEVICE.type == "cuda":
        a, b = torch.empty(n, device=DEVICE), torch.empty(n, device=DEVICE)
        ts = []
        for _ in range(args.repeats):
            sync()
            t = time.perf_counter()
            b.copy_(a)
            sync()
            ts.append(time.perf_counter() - t)
        copy_bw = 8 * n / statistics.median(ts)
        print(f"device-to-device copy: {copy_bw / 1e9:.0f} GB/s ({torch.cuda.get_device_name()})")
        for k, nbytes in (("ProxAdam(L1) fused", 28), ("ProxSGD(mom=0.9, L1) fused", 20)):
            bw = nbytes * n / med[k]
            print(f"{k}: {bw / 1e9:.0f} GB/s = {100 * bw / copy_bw:.0f}% of the copy (target >= 85%)")
        print()
    print("| ratio | value | target |")
    print("|---|---:|---|")
    for name, val, target in rows:
        print(f"| {name} | {val:.3f} | {target} |")
    print()
    for cls, extra in (("ProxAdam", ""), ("ProxSGD", ", momentum=0.9")):
        cold, after = first_step(cls, extra, cold=True)
        warm, _ = first_step(cls, extra, cold=False)
        print(f"first step {cls} (1M params): cold numba compile {cold:.2f} s, with the on-disk cache "
              f"{warm:.2f} s, next step {after * 1e3:.1f} ms (target <= 30 s)")


if __name__ == "__main__":
    main()
