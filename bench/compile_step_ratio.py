"""Compiled optimizer step: ``torch.compile(ProxAdam.step)`` against ``torch.compile(Adam.step)``.

Protocol (bench/PROTOCOL.md, "Compiled and distributed steps"): the same model for both
(an MLP 64→256→256→10, or ``--widths``), fixed random gradients, each step compiled
with Inductor, 3 warm-up steps, then ``--steps`` interleaved timed steps; prints the
ratio of medians (target: at most 1.10), the compile time of the first steps, and the
number of recompilations after warm-up (must be 0).

Run: ``.venv/bin/python bench/compile_step_ratio.py [--steps 200] [--widths 64,256,256,10]``
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch._dynamo  # noqa: E402
from torch._dynamo.utils import counters  # noqa: E402

from proxgan.optim import ProxAdam, ProxSGD  # noqa: E402
from proxgan.penalties import L1  # noqa: E402
from proxgan.reproduce._report import machine_line  # noqa: E402
from proxgan.reproduce._timing import interleaved_medians  # noqa: E402
from small_step_ratios import mlp as params  # noqa: E402  (bench/ is on sys.path when run as a script)


def compiled(opt: torch.optim.Optimizer) -> tuple[object, float]:
    """The optimizer's compiled step after 3 warm-up calls, and the seconds those took."""
    step = torch.compile(opt.step)
    t0 = time.perf_counter()
    for _ in range(3):
        step()
    return step, time.perf_counter() - t0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--widths", default="64,256,256,10")
    args = ap.parse_args()
    widths = tuple(int(w) for w in args.widths.split(","))
    n = sum(p.numel() for p in params(widths))
    print(f"Machine: {machine_line()}; MLP {widths} ({n} float32 parameters), Inductor\n")
    print("| pair | first 3 steps (compile) s | proxgan µs | torch µs | ratio | recompiles after warm-up |")
    print("|---|---:|---:|---:|---:|---:|")
    pairs = {"ProxAdam(L1) / Adam": (lambda ps: ProxAdam(ps, lr=1e-3, penalty=L1(1e-4)),
                                     lambda ps: torch.optim.Adam(ps, lr=1e-3)),
             "ProxSGD(momentum, L1) / SGD(momentum)": (
                 lambda ps: ProxSGD(ps, lr=1e-2, momentum=0.9, penalty=L1(1e-4)),
                 lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9))}
    for label, (mk_prox, mk_torch) in pairs.items():
        torch._dynamo.reset()
        prox_step, t_prox = compiled(mk_prox(params(widths)))
        torch_step, t_torch = compiled(mk_torch(params(widths)))
        counters.clear()
        med = interleaved_medians({"prox": prox_step, "torch": torch_step}, repeats=args.steps, warmup=5)
        recompiles = sum(counters["recompiles"].values()) + counters["stats"].get("unique_graphs", 0)
        print(f"| {label} | {t_prox:.1f} / {t_torch:.1f} | {med['prox'] * 1e6:.1f} | {med['torch'] * 1e6:.1f} | "
              f"{med['prox'] / med['torch']:.2f} | {recompiles} |")
