"""N:M in the ProxAdam step on CPU: the step with ``NM(2, 4)`` against the fused L1 step, interleaved.

Protocol (as ``optim_step_ratios.py``): float32 weight matrices of 4M, 1M and 256k entries
(input dimensions multiples of 4), fixed random gradients, the contenders run A B C ... in
turn in one process after 3 warm-ups, median of ``--repeats`` steps. Contenders:

* ``ProxAdam + L1 (fused)``: the one-pass fused step, the baseline;
* ``ProxAdam + NM(2,4) (fused)``: the default dispatch, the fused CPU step with the N:M
  projection (by u²/s) in the same pass, chunk by chunk;
* ``ProxAdam + NM(2,4) (multi-tensor)``: ``fused=False``, the multi-tensor Adam step then the
  N:M projection per tensor (:func:`proxgan.kernels.nm_project.nm_project_torch`);
* ``ProxAdam, no penalty (fused)``: the floor.

Also times the projection alone against soft-thresholding the same tensors. Printed: the
medians and the ratios to the L1 step. The issue's target is NM ≤ 1.3× L1.

Run: ``.venv/bin/python bench/nm_step_ratios.py [--repeats 21] [--scale 1.0]``
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402

import torch  # noqa: E402

from proxgan.kernels.nm_project import nm_project_torch  # noqa: E402
from proxgan.kernels.soft_threshold import soft_threshold_torch  # noqa: E402
from proxgan.optim import ProxAdam  # noqa: E402
from proxgan.penalties import L1, NM  # noqa: E402
from proxgan.reproduce._report import machine_line  # noqa: E402
from proxgan.reproduce._timing import interleaved_medians  # noqa: E402


def _params(scale: float) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(0)
    shapes = [(int(2048 * scale) or 4, 2048), (int(1024 * scale) or 4, 1024), (int(256 * scale) or 4, 1024)]
    ps = [torch.nn.Parameter(torch.randn(s, generator=g)) for s in shapes]
    for p in ps:
        p.grad = torch.randn(p.shape, generator=g)
    return ps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    print(f"Machine: {machine_line()}, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}\n")
    opts = {}
    for name, pen, flags in (("ProxAdam + L1 (fused)", L1(1e-4), {}), ("ProxAdam + NM(2,4) (fused)", NM(2, 4), {}),
                             ("ProxAdam + NM(2,4) (multi-tensor)", NM(2, 4), {"fused": False}),
                             ("ProxAdam, no penalty (fused)", None, {})):
        opts[name] = ProxAdam(_params(args.scale), lr=1e-3, penalty=pen, **flags)
    fns = {k: o.step for k, o in opts.items()}
    times = interleaved_medians(fns, repeats=args.repeats, warmup=3)
    base = times["ProxAdam + L1 (fused)"]
    n = sum(p.numel() for p in opts["ProxAdam + L1 (fused)"].param_groups[0]["params"])
    print(f"| ProxAdam step, {n / 1e6:.2f}M float32 parameters | median ms | ratio to L1 fused |")
    print("|---|---|---|")
    for k, t in times.items():
        print(f"| {k} | {1e3 * t:.2f} | {t / base:.2f} |")
    xs = [p.detach().clone() for p in _params(args.scale)]
    steps = [torch.rand_like(x) + 0.1 for x in xs]
    t2 = interleaved_medians({
        "soft-threshold (scalar)": lambda: [soft_threshold_torch(x, 1e-3) for x in xs],
        "N:M 2:4 projection (|u|)": lambda: [nm_project_torch(x, 2, 4) for x in xs],
        "N:M 2:4 projection (u²/s)": lambda: [nm_project_torch(x, 2, 4, s) for x, s in zip(xs, steps)],
    }, repeats=args.repeats, warmup=3)
    b = t2["soft-threshold (scalar)"]
    print("\n| prox alone | median ms | ratio to soft-threshold |")
    print("|---|---|---|")
    for k, t in t2.items():
        print(f"| {k} | {1e3 * t:.2f} | {t / b:.2f} |")


if __name__ == "__main__":
    main()
