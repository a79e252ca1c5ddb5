"""Fused ProxAdam step on the CPU with a non-convex penalty, against the same step with L1.

Each penalty's prox runs inside the one-pass numba kernel (``proxgan.kernels._prox_cpu``); the
target is at most 1.1x the L1 step. Parameters: float32 tensors of an MLP-like mix (about
``--mparams`` million), fixed random gradients; the contenders run interleaved (A B C ...), 3
warm-up rounds, median of ``--steps`` timed steps, and the ratio of medians is printed.

With ``--weighted`` the contenders are L1 and weighted L1 (``L1(lam, weights=w)``, one weight per
entry: the fused code ``L1W``, which reads one more tensor), for ProxAdam and ProxSGD; the target
is the same, at most 1.1x the L1 step.

``OMP_WAIT_POLICY`` defaults to PASSIVE, as in ``bench/optim_step_ratios.py``: on a loaded
two-core machine spinning OpenMP threads otherwise make the wall time of a step mostly waiting.
With ``--cpu`` the medians are of CPU time (``time.process_time``), which the load of a shared
machine disturbs less than wall time; use it with ``--threads 1``.

Run: ``.venv/bin/python bench/nonconvex_step_ratios.py [--mparams 2] [--steps 20] [--threads N] [--weighted] [--cpu]``
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as bench/optim_step_ratios.py: no spinning threads

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from proxgan.optim import ProxAdam, ProxSGD  # noqa: E402
from proxgan.penalties import L1, MCP, SCAD, LogSum, Lq  # noqa: E402
from proxgan.reproduce._report import machine_line  # noqa: E402
from proxgan.reproduce._timing import interleaved_medians  # noqa: E402

PENALTIES = {
    "L1": lambda: L1(1e-3),
    "MCP": lambda: MCP(1e-3, 3.0),
    "SCAD": lambda: SCAD(1e-3, 3.7),
    "Lq(1/2)": lambda: Lq(1e-3, 0.5),
    "Lq(2/3)": lambda: Lq(1e-3, 2 / 3),
    "LogSum": lambda: LogSum(1e-3, 0.1),
}


def params(mparams: float) -> list[torch.nn.Parameter]:
    """Square-ish float32 matrices of 1M entries plus biases, about ``mparams`` million in all."""
    gen = torch.Generator().manual_seed(0)
    out = []
    for _ in range(max(1, round(mparams))):
        for shape in ((1024, 1024), (1024,)):
            p = torch.nn.Parameter(0.05 * torch.randn(shape, generator=gen))
            p.grad = torch.randn(shape, generator=gen)
            out.append(p)
    return out


def weighted_penalties() -> dict:
    """L1 and weighted L1 (weights of the 1024 columns, broadcast to every tensor: the kernel
    reads one weight per entry)."""
    w = 2.0 * torch.rand(1024, generator=torch.Generator().manual_seed(1))
    return {"L1": lambda: L1(1e-3), "L1(weights)": lambda: L1(1e-3, weights=w)}


def cpu_medians(fns: dict, repeats: int, warmup: int = 3) -> dict[str, float]:
    """Median CPU seconds (``time.process_time``) per call, the contenders interleaved as in
    ``interleaved_medians``; meaningful with one thread, where the load disturbs it less than wall time."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.process_time()
            f()
            times[k].append(time.process_time() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def ratios(mparams: float, steps: int, penalties: dict | None = None,
           optimizer: type = ProxAdam, cpu: bool = False) -> dict[str, tuple[float, float]]:
    """``{penalty: (median seconds per step, ratio to L1)}`` (wall time, or CPU time with ``cpu``)."""
    penalties = PENALTIES if penalties is None else penalties
    opts = {name: optimizer(params(mparams), lr=1e-3, penalty=make(), fused=True) for name, make in penalties.items()}
    fns = {k: o.step for k, o in opts.items()}
    meds = cpu_medians(fns, steps) if cpu else interleaved_medians(fns, repeats=steps, warmup=3)
    return {k: (t, t / meds["L1"]) for k, t in meds.items()}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mparams", type=float, default=2.0)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--weighted", action="store_true", help="weighted L1 against L1, ProxAdam and ProxSGD")
    ap.add_argument("--cpu", action="store_true",
                    help="CPU time (process_time) instead of wall time; use with --threads 1")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"Machine: {machine_line()}, {torch.get_num_threads()} torch threads, {args.mparams:g}M float32 "
          f"parameters, median of {args.steps} interleaved steps, "
          f"{'CPU' if args.cpu else 'wall'} time, load average {os.getloadavg()[0]:.1f}\n")
    print("| optimizer | penalty | step ms | ratio to L1 (target <= 1.1) |")
    print("|---|---|---:|---:|")
    runs = [(ProxAdam, weighted_penalties()), (ProxSGD, weighted_penalties())] if args.weighted else [(ProxAdam, None)]
    for cls, pens in runs:
        for name, (t, r) in ratios(args.mparams, args.steps, pens, cls, args.cpu).items():
            print(f"| {cls.__name__} | {name} | {t * 1e3:.2f} | {r:.2f} |")
