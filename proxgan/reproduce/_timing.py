"""Side-by-side timing (``bench/PROTOCOL.md``): interleave the contenders, warm up, take medians."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping

import torch

__all__ = ["interleaved_medians", "sync"]


def sync() -> None:
    """Wait for queued GPU work (a no-op on the CPU)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def interleaved_medians(fns: Mapping[str, Callable[[], object]], repeats: int = 21, warmup: int = 2,
                        progress: Callable[[], None] | None = None) -> dict[str, float]:
    """Median seconds per call of each function, timed A B C A B C ... after ``warmup`` rounds.

    Interleaving makes the ratios robust to a machine whose speed drifts (shared CPUs,
    frequency scaling): every contender sees the same conditions.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        for f in fns.values():
            f()
    sync()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            sync()
            t0 = time.perf_counter()
            f()
            sync()
            times[k].append(time.perf_counter() - t0)
        if progress is not None:
            progress()
    return {k: statistics.median(v) for k, v in times.items()}
