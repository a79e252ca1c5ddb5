"""Optimizer step on small models, where per-step Python and call overhead shows.

Protocol (bench/PROTOCOL.md, "Small-model optimizer step"): MLPs 64→32→10 (2.4k float32
parameters in 4 tensors) and 64→256→256→10 (85k parameters in 6 tensors), fixed random
gradients, one torch thread, ``OMP_WAIT_POLICY=PASSIVE``. Each proximal optimizer and its
torch.optim twin (``Adam(fused=True)``, ``SGD(momentum=0.9, fused=True)``) run A B A B
... for ``--steps`` timed steps after 20 warm-up steps; the ratio of median step times is
printed (target: at most 1.15).

Run: ``.venv/bin/python bench/small_step_ratios.py [--steps 300] [--rounds 3]``
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import statistics  # noqa: E402

import torch  # noqa: E402

from proxgan.optim import ProxAdam, ProxSGD  # noqa: E402
from proxgan.penalties import L1  # noqa: E402
from proxgan.reproduce._report import machine_line  # noqa: E402
from proxgan.reproduce._timing import interleaved_medians  # noqa: E402

MODELS = {"mlp-2.4k": (64, 32, 10), "mlp-85k": (64, 256, 256, 10)}


def mlp(widths: tuple[int, ...]) -> list[torch.nn.Parameter]:
    """Parameters of an MLP with fixed random gradients."""
    gen = torch.Generator().manual_seed(0)
    params = []
    for a, b in zip(widths[:-1], widths[1:]):
        for shape in ((b, a), (b,)):
            p = torch.nn.Parameter(0.1 * torch.randn(shape, generator=gen))
            p.grad = torch.randn(shape, generator=gen)
            params.append(p)
    return params


def pairs(widths: tuple[int, ...]) -> dict[str, tuple]:
    """(proximal optimizer, its torch.optim twin), each on its own copy of the model."""
    mk = lambda: mlp(widths)  # noqa: E731
    return {
        "ProxAdam(L1) / Adam(fused=True)": (ProxAdam(mk(), lr=1e-3, penalty=L1(1e-4)),
                                            torch.optim.Adam(mk(), lr=1e-3, fused=True)),
        "ProxSGD(momentum, L1) / SGD(momentum, fused=True)": (
            ProxSGD(mk(), lr=1e-2, momentum=0.9, penalty=L1(1e-4)),
            torch.optim.SGD(mk(), lr=1e-2, momentum=0.9, fused=True)),
    }


def ratios(steps: int = 300, rounds: int = 3) -> list[tuple[str, str, int, float, float, float]]:
    """Rows ``(model, pair, n_params, median proxgan s, median torch s, ratio)``; the ratio is
    the median over ``rounds`` interleaved runs of ``steps`` steps each."""
    rows = []
    for name, widths in MODELS.items():
        n = sum(p.numel() for p in mlp(widths))
        for label, (prox, twin) in pairs(widths).items():
            meds = [interleaved_medians({"prox": prox.step, "torch": twin.step}, repeats=steps, warmup=20)
                    for _ in range(rounds)]
            r = statistics.median(m["prox"] / m["torch"] for m in meds)
            rows.append((name, label, n, statistics.median(m["prox"] for m in meds),
                         statistics.median(m["torch"] for m in meds), r))
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"Machine: {machine_line()}, one torch thread, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}\n")
    print("| model | ratio of medians | params | proxgan µs | torch µs | ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for model, label, n, a, b, r in ratios(args.steps, args.rounds):
        print(f"| {model} | {label} | {n} | {a * 1e6:.1f} | {b * 1e6:.1f} | {r:.2f} |")
