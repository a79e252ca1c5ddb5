"""N:M in the ProxAdam step on CPU: the step with ``NM(2, 4)`` against the fused L1 step, interleaved.

Protocol (as ``optim_step_ratios.py``): float32 weight matrices of 4M, 1M and 256k entries
(input dimensions multiples of 4), fixed random gradients, the contenders run A B C ... in
turn in one process after 3 warm-ups, median of ``--repeats`` steps. Contenders:

* ``ProxAdam + L1 (fused)``: the one-pass fused step, the baseline;
* ``ProxAdam + NM(2,4)``: today's dispatch, the multi-tensor Adam step then the N:M
  projection per tensor (:func:`proxgan.kernels.nm_project.nm_project_torch`, by u²/s);
* ``fused Adam + N:M kernel``: :func:`proxgan.kernels.nm_project.fused_adam_nm_cpu`, the
  same step in one numba pass per tensor (what the fused dispatch would call for NM);
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

from proxgan.kernels import adam_step_scalars  # noqa: E402
from proxgan.kernels.nm_project import fused_adam_nm_cpu, nm_project_torch  # noqa: E402
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
    for name, pen in (("ProxAdam + L1 (fused)", L1(1e-4)), ("ProxAdam + NM(2,4)", NM(2, 4)),
                      ("ProxAdam, no penalty (fused)", None)):
        opts[name] = ProxAdam(_params(args.scale), lr=1e-3, penalty=pen)
    fps = _params(args.scale)
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in fps]
    counter = [0]

    def fused_nm() -> None:
        counter[0] += 1
        fused_adam_nm_cpu(fps, [p.grad for p in fps], [a for a, _ in moments], [b for _, b in moments], 2, 4,
                          adam_step_scalars(1e-3, 0.9, 0.999, 1e-8, 0.0, False, counter[0]))

    fns = {k: o.step for k, o in opts.items()}
    fns["fused Adam + N:M kernel"] = fused_nm
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
