"""Per-epoch metrics: exact-zero sparsity, mode statistics of 2-D samples, and the CSV/JSON log.

Sparsity counts exact zeros (``p == 0``), per tensor and overall, and zero output
channels (rows of a linear layer, filters of a convolution) as the benchmark protocol
asks; no threshold is involved.

Examples
--------
>>> from torch import nn
>>> from proxgan.apps.metrics import sparsity_report
>>> m = nn.Linear(4, 2)
>>> _ = nn.init.zeros_(m.weight)
>>> sparsity_report(m)["weights"]
1.0
"""
from __future__ import annotations

import csv
import json
import os
from typing import Any

import torch
from torch import nn

from proxgan import sparsity

__all__ = ["sparsity_report", "mode_stats", "MetricsLog"]


def sparsity_report(model: nn.Module) -> dict[str, Any]:
    """Exact-zero sparsity of ``model`` from :func:`proxgan.sparsity`, as flat numbers for the metrics log.

    Parameters
    ----------
    model : torch.nn.Module
        The model to count.

    Returns
    -------
    dict with
        ``overall``: zero fraction over all parameters; ``weights``: over tensors of
        dim >= 2 (the penalised ones); ``per_layer``: ``{name: zero fraction}``;
        ``zero_channels``: ``{name: number of all-zero rows along dim 0}`` for tensors of
        dim >= 2; ``zero_channels_total``; ``n_params``; ``n_zero``.
    """
    rep = sparsity(model, dim=0)
    per_layer = {name: t.fraction for name, t in rep.tensors.items()}
    channels = {name: int(t.zero_groups) for name, t in rep.tensors.items() if t.groups is not None}
    nw = sum(t.numel for t in rep.tensors.values() if t.groups is not None)
    zw = sum(t.zeros for t in rep.tensors.values() if t.groups is not None)
    return {
        "overall": rep.fraction,
        "weights": zw / nw if nw else 0.0,
        "per_layer": per_layer,
        "zero_channels": channels,
        "zero_channels_total": sum(channels.values()),
        "n_params": rep.numel,
        "n_zero": rep.zeros,
    }


def mode_stats(samples: torch.Tensor, centers: torch.Tensor, std: float, *, n_sigma: float = 3.0,
               min_share: float = 0.25) -> dict[str, float]:
    """Mode coverage and high-quality-sample rate of 2-D samples (VEEGAN / unrolled-GAN protocol).

    A sample is *high quality* when it lies within ``n_sigma * std`` of its nearest
    centre. A mode is *covered* when at least ``min_share * n / K`` high-quality samples
    fall on it (a quarter of its fair share by default), with ``K`` modes and ``n`` samples.

    Parameters
    ----------
    samples : torch.Tensor
        Generated points, shape ``(n, 2)``.
    centers : torch.Tensor
        Mode centres, shape ``(k, 2)``.
    std : float
        Standard deviation of each mode.
    n_sigma : float
        A sample within ``n_sigma * std`` of a centre is high quality.
    min_share : float
        A mode is covered when it holds at least this share of its fair number of high-quality
        samples.

    Returns
    -------
    dict with ``modes_covered`` (count), ``mode_coverage`` (fraction of K) and
    ``hq_rate`` (fraction of high-quality samples).
    """
    s = samples.detach().to(torch.float64).cpu()
    c = centers.to(torch.float64)
    d = torch.cdist(s, c)
    dist, idx = d.min(dim=1)
    hq = dist <= n_sigma * std
    counts = torch.bincount(idx[hq], minlength=len(c))
    need = max(1.0, min_share * len(s) / len(c))
    covered = int((counts >= need).sum())
    return {"modes_covered": float(covered), "mode_coverage": covered / len(c), "hq_rate": float(hq.double().mean())}


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, dict):
            for k2, v2 in _flat(v).items():
                out[f"{k}/{k2}"] = v2
        else:
            out[k] = v
    return out


class MetricsLog:
    """Rows of metrics, one per epoch, rewritten to ``metrics.csv`` and ``metrics.json`` after every row.

    Nested dictionaries (per-layer sparsity) stay nested in JSON and become
    ``outer/inner`` columns in CSV.

    Parameters
    ----------
    out_dir : str
        Folder of ``metrics.csv`` and ``metrics.json``.
    rows : list of dict, optional
        Rows already logged (a resumed run).
    """

    def __init__(self, out_dir: str, rows: list[dict[str, Any]] | None = None) -> None:
        self.out_dir = out_dir
        self.rows: list[dict[str, Any]] = list(rows or [])

    @property
    def csv_path(self) -> str:
        return os.path.join(self.out_dir, "metrics.csv")

    @property
    def json_path(self) -> str:
        return os.path.join(self.out_dir, "metrics.json")

    def append(self, row: dict[str, Any]) -> None:
        """Add one row and rewrite both files (each atomically)."""
        self.rows.append(row)
        self.write()

    def write(self) -> None:
        """Write ``metrics.csv`` and ``metrics.json`` from the rows so far."""
        os.makedirs(self.out_dir, exist_ok=True)
        flat = [_flat(r) for r in self.rows]
        cols: list[str] = []
        for r in flat:
            cols += [k for k in r if k not in cols]
        tmp = self.csv_path + ".tmp"
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(flat)
        os.replace(tmp, self.csv_path)
        tmp = self.json_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.rows, f, indent=1)
        os.replace(tmp, self.json_path)
