"""``proxgan reproduce kernels``: soft-threshold and optimizer-step throughput against torch.

Always measured on the CPU; on a GPU also the Triton kernels, their achieved bandwidth
and its share of a measured device-to-device copy (BENCHMARKS.md).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from proxgan.penalties import L1
from proxgan.reproduce._report import Table, write_table
from proxgan.reproduce._timing import interleaved_medians

__all__ = ["soft_threshold_table", "copy_bandwidth", "run"]


def copy_bandwidth(n: int, device: str, repeats: int = 11) -> float:
    """Bytes per second of ``dst.copy_(src)`` for ``n`` float32 (read + write counted)."""
    src = torch.randn(n, device=device)
    dst = torch.empty_like(src)
    t = interleaved_medians({"copy": lambda: dst.copy_(src)}, repeats=repeats)["copy"]
    return 8 * n / t


def soft_threshold_table(sizes: list[int], device: str = "cpu", repeats: int = 21, lam: float = 0.5) -> Table:
    """Soft-thresholding of ``n`` float32: proxgan's ``L1.prox`` against torch's ways of doing it.

    Rows give the median time and the ratio contender / proxgan (> 1: proxgan is faster),
    out of place and in place. On CUDA the Triton kernel is proxgan's path; the GB/s column
    counts 8 bytes per element (one read, one write).
    """
    pen = L1(lam)
    table = Table(f"Soft-thresholding, float32, {device}",
                  ["n", "mode", "contender", "median ms", "GB/s", "time / proxgan"])
    for n in sizes:
        x = torch.randn(n, generator=torch.Generator().manual_seed(0)).to(device)
        buf = x.clone()
        groups: dict[str, dict[str, Callable[[], object]]] = {
            "out-of-place": {
                "proxgan L1.prox": lambda: pen.prox(x, 1.0),
                "F.softshrink": lambda: torch.nn.functional.softshrink(x, lam),
                "sign*clamp": lambda: torch.sign(x) * torch.clamp(x.abs() - lam, min=0),
            },
            "in-place": {
                "proxgan L1.prox(out=x)": lambda: pen.prox(buf, 1.0, out=buf),
                "x.sub_(x.clamp(-t, t))": lambda: buf.sub_(buf.clamp(-lam, lam)),
                "sign*clamp, copy_": lambda: buf.copy_(torch.sign(buf) * torch.clamp(buf.abs() - lam, min=0)),
            },
        }
        for mode, fns in groups.items():
            med = interleaved_medians(fns, repeats)
            base = next(iter(med.values()))
            for name, t in med.items():
                table.add(n, mode, name, t * 1e3, 8 * n / t / 1e9, t / base)
    if device != "cpu":
        bw = copy_bandwidth(max(sizes), device)
        table.notes.append(f"device-to-device copy of {max(sizes):,} float32: {bw / 1e9:.1f} GB/s")
    return table


def run(out_dir: str | Path, quick: bool = False, progress: bool = True) -> dict[str, Path]:
    """Write ``kernels.md`` and CSVs into ``out_dir``; CPU always, CUDA when available."""
    sizes = [1 << 20] if quick else [1 << 20, 1 << 24]
    repeats = 5 if quick else 21
    tables = [soft_threshold_table(sizes, "cpu", repeats)]
    if torch.cuda.is_available():
        tables.append(soft_threshold_table([1 << 24, 1 << 26] if not quick else [1 << 22], "cuda", repeats))
    cmd = "proxgan reproduce kernels" + (" --quick" if quick else "")
    return write_table(out_dir, "kernels", tables, command=cmd)
