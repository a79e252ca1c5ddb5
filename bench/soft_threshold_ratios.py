"""Soft-thresholding on the CPU: proxgan vs softshrink vs sign*clamp, side by side.

    .venv/bin/python bench/soft_threshold_ratios.py [--repeats 21]

Interleaves the contenders (A B C A B C ...), warms up, and prints the median time of
each and its ratio to proxgan's, for 1M and 16M float32 values, out of place and in
place. The same table is part of ``proxgan reproduce kernels``.
"""
from __future__ import annotations

import argparse

from proxgan.reproduce._report import machine_line
from proxgan.reproduce.kernels_throughput import soft_threshold_table

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=21)
    args = ap.parse_args()
    print(f"Machine: {machine_line()}\n")
    print(soft_threshold_table([1 << 20, 1 << 24], "cpu", args.repeats).markdown())
