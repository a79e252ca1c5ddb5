"""``proxgan reproduce kernels``: soft-threshold and optimizer-step throughput against torch.

The optimizer-step tables are those of :mod:`proxgan.reproduce.optim_step` (``--quick``:
a 5% parameter mix and no cold-compile subprocesses).

Always measured on the CPU; on a GPU also the Triton kernels, their achieved bandwidth
and its share of a measured device-to-device copy (``bench/PROTOCOL.md``).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from proxgan.penalties import L1
from proxgan.reproduce._report import Table, bar, new_figure, save_figure, write_table
from proxgan.reproduce._timing import interleaved_medians

__all__ = ["soft_threshold_table", "copy_bandwidth", "run"]


def copy_bandwidth(n: int, device: str, repeats: int = 11) -> float:
    """Bytes per second of ``dst.copy_(src)`` for ``n`` float32 (read + write counted).

    Parameters
    ----------
    n : int
        Number of float32 entries.
    device : str
        Torch device.
    repeats : int
        Timed copies (median).
    """
    src = torch.randn(n, device=device)
    dst = torch.empty_like(src)
    t = interleaved_medians({"copy": lambda: dst.copy_(src)}, repeats=repeats)["copy"]
    return 8 * n / t


def soft_threshold_table(sizes: list[int], device: str = "cpu", repeats: int = 21, lam: float = 0.5) -> Table:
    """Soft-thresholding of ``n`` float32: proxgan's ``L1.prox`` against torch's ways of doing it.

    Rows give the median time and the ratio contender / proxgan (> 1: proxgan is faster),
    out of place and in place. On CUDA the Triton kernel is proxgan's path; the GB/s column
    counts 8 bytes per element (one read, one write).

    Parameters
    ----------
    sizes : list of int
        Tensor sizes.
    device : str
        Torch device.
    repeats : int
        Timed runs (median).
    lam : float
        Threshold.
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
    """Write ``kernels.md`` and CSVs into ``out_dir``; CPU always, CUDA when available.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder of the files written.
    quick : bool
        A seconds-long smoke run with tiny sizes.
    progress : bool
        Show a progress bar.
    """
    sizes = [1 << 20] if quick else [1 << 20, 1 << 24]
    repeats = 5 if quick else 21
    from proxgan.reproduce.optim_step import optim_step_tables

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    progress_bar = bar(2 * len(devices), "kernels", progress, unit="table")
    tables = [soft_threshold_table(sizes, "cpu", repeats)]
    progress_bar.update()
    step_tables = optim_step_tables(scale=0.05 if quick else 1.0, repeats=repeats, device="cpu", first=not quick)
    progress_bar.update()
    if "cuda" in devices:
        tables.append(soft_threshold_table([1 << 24, 1 << 26] if not quick else [1 << 22], "cuda", repeats))
        progress_bar.update()
        step_tables += optim_step_tables(scale=0.05 if quick else 1.0, repeats=repeats, device="cuda", first=False)
        progress_bar.update()
    progress_bar.close()
    cmd = "proxgan reproduce kernels" + (" --quick" if quick else "")
    paths = write_table(out_dir, "kernels", tables + step_tables, command=cmd, quick=quick)
    paths["png"] = _plot(tables, Path(out_dir) / "kernels.png", quick)
    return paths


def _plot(tables: list[Table], path: Path, quick: bool = False) -> Path:
    """One bar group per (table, n, mode): each contender's time relative to proxgan's (log scale)."""
    fig, ax = new_figure(figsize=(9, 4))
    labels, offset = [], 0
    for t in tables:
        keys = sorted({(r[0], r[1]) for r in t.rows}, key=lambda k: (k[0], k[1] != "out-of-place"))
        for n, mode in keys:
            rows = [r for r in t.rows if (r[0], r[1]) == (n, mode)]
            for j, r in enumerate(rows):
                ax.bar(offset + j * 0.25, r[5], width=0.25, color=f"C{j}")
                ax.text(offset + j * 0.25, r[5], r[2], rotation=90, fontsize=6, ha="center", va="bottom")
            labels.append((offset + 0.25, f"{t.title.split(',')[-1].strip()} n={n:,}\n{mode}"))
            offset += 1
    ax.set_xticks([x for x, _ in labels], [s for _, s in labels], fontsize=7)
    ax.set_yscale("log")
    ax.set_ylim(0.5, 4 * max(r[5] for t in tables for r in t.rows))
    ax.set_ylabel("time / proxgan (higher: proxgan faster)")
    ax.axhline(1.0, color="k", lw=0.6)
    return save_figure(fig, path, quick)
