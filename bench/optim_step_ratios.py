"""Optimizer step on CPU: ProxAdam / ProxSGD against torch.optim, interleaved in one process.

Protocol (bench/PROTOCOL.md, "Optimizer step"): ~23M float32 parameters in a
realistic mix (4M, 1M, 256k tensors and many small biases), fixed random gradients,
contenders run A B C ... in turn, 3 warm-ups, median of ``--repeats`` steps. Printed:
median times, ratios proxgan / baseline, and the first-step overhead (numba compile or
cache load) measured in fresh subprocesses.

The contenders and baselines are described in :mod:`proxgan.reproduce.optim_step`.

``OMP_WAIT_POLICY`` defaults to PASSIVE here (set before torch is imported): on a shared
two-core machine, spinning OpenMP threads of torch and numba otherwise steal each
other's cores and single steps take 30x longer at random.

The tables are also part of ``proxgan reproduce kernels``.

Run: ``.venv/bin/python bench/optim_step_ratios.py [--repeats 21] [--scale 1.0] [--device cuda]``
(on CUDA it also prints the achieved bandwidth as a share of a device-to-device copy).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402

import torch  # noqa: E402

from proxgan.reproduce._report import machine_line  # noqa: E402
from proxgan.reproduce.optim_step import optim_step_tables  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--scale", type=float, default=1.0, help="scale the big tensors (1.0: ~23M parameters)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                    help="cuda: also report achieved bandwidth against a device-to-device copy")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    print(f"Machine: {machine_line()}, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}\n")
    for table in optim_step_tables(args.scale, args.repeats, args.device):
        print(table.markdown())
