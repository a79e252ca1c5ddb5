"""Soft-thresholding on the CPU: proxgan vs softshrink vs sign*clamp, side by side.

    .venv/bin/python bench/soft_threshold_ratios.py [--repeats 21]

Interleaves the contenders (A B C A B C ...), warms up, and prints the median time of
each and its ratio to proxgan's, for 1M and 16M float32 values, out of place and in place.
"""
from __future__ import annotations

import argparse
import platform
import torch

from proxgan.penalties import L1
from proxgan.reproduce._timing import interleaved_medians


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=21)
    args = ap.parse_args()
    lam = 0.5
    pen = L1(lam)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print("| n | mode | contender | median ms | time / proxgan |")
    print("|---|---|---|---|---|")
    for n in (1 << 20, 1 << 24):
        x = torch.randn(n, generator=torch.Generator().manual_seed(0))
        out_of_place = {
            "proxgan L1.prox": lambda: pen.prox(x, 1.0),
            "F.softshrink": lambda: torch.nn.functional.softshrink(x, lam),
            "sign*clamp": lambda: torch.sign(x) * torch.clamp(x.abs() - lam, min=0),
        }
        buf = x.clone()
        in_place = {
            "proxgan L1.prox(out=x)": lambda: pen.prox(buf, 1.0, out=buf),
            "sign*clamp, copy_": lambda: buf.copy_(torch.sign(buf) * torch.clamp(buf.abs() - lam, min=0)),
            "x.sub_(x.clamp(-t, t))": lambda: buf.sub_(buf.clamp(-lam, lam)),
        }
        for mode, fns in (("out-of-place", out_of_place), ("in-place", in_place)):
            med = interleaved_medians(fns, args.repeats)
            base = next(iter(med.values()))
            for k, v in med.items():
                print(f"| {n:,} | {mode} | {k} | {v * 1e3:.2f} | {v / base:.2f} |")


if __name__ == "__main__":
    main()
