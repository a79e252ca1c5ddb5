"""PNG plots of the training apps (matplotlib, Agg backend: no display needed).

matplotlib is optional: without it every function here raises
:class:`proxgan.apps.data.MissingExtraError`, which the trainers turn into a one-line
"plots skipped" note. Epoch axes have integer ticks; fractions are drawn on [0, 1].

Examples
--------
>>> import os, tempfile
>>> from proxgan.apps.plots import plot_curves
>>> path = os.path.join(tempfile.mkdtemp(), "loss.png")
>>> plot_curves([{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.0}], ["loss"], path)
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["LABELS", "plot_curves", "image_grid", "scatter_2d"]


def _plt():
    from proxgan.apps.data import MissingExtraError
    from proxgan.apps.progress import MATPLOTLIB_HINT

    try:
        import matplotlib
    except ImportError as exc:
        raise MissingExtraError(f"plots need matplotlib, which is not installed: {MATPLOTLIB_HINT}") from exc

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


#: Legend labels of the metric columns (a column not listed is shown by its name).
LABELS = {
    "train_loss": "training loss", "test_loss": "test loss", "sparsity": "exact zeros, all parameters",
    "weight_sparsity": "exact zeros, penalised weights", "d_loss": "discriminator loss", "g_loss": "generator loss",
    "g_sparsity": "exact zeros in G", "d_sparsity": "exact zeros in D", "frechet": "Fréchet distance of G's samples",
    "frechet_floor": "floor: real training vs held-out samples",
}


def plot_curves(rows: Sequence[dict[str, Any]], keys: Sequence[str], path: str, *, title: str = "",
                ylabel: str = "", logy: bool = False, ylim: tuple[float, float] | None = None) -> None:
    """One line per key in ``keys`` against ``epoch`` (integer ticks); keys missing from the rows are skipped.

    ``ylim`` fixes the y range (e.g. ``(0, 1)`` for fractions, so that small changes look small).

    Parameters
    ----------
    rows : sequence of dict
        Metric rows, each with an ``epoch`` key.
    keys : sequence of str
        Columns to draw; legends use :data:`LABELS`.
    path : str
        PNG file to write.
    title : str
        Figure title.
    ylabel : str
        Label of the y axis.
    logy : bool
        Logarithmic y axis.
    ylim : tuple of float, optional
        Fixed y range.
    """
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    for k in keys:
        pts = [(r["epoch"], r[k]) for r in rows if r.get(k) is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o", ms=3, label=LABELS.get(k, k))
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def image_grid(images: torch.Tensor, path: str, *, nrow: int = 8, title: str = "") -> None:
    """Save images in :math:`[-1, 1]`, shape ``(N, C, H, W)`` with C in {1, 3}, as a grid.

    Parameters
    ----------
    images : torch.Tensor
        Images in :math:`[-1, 1]`, shape ``(N, C, H, W)``.
    path : str
        PNG file to write.
    nrow : int
        Images per row (at most ``nrow**2`` are drawn).
    title : str
        Figure title.
    """
    plt = _plt()
    x = ((images.detach().cpu().float().clamp(-1, 1) + 1) / 2)[: nrow * nrow]
    n, c, h, w = x.shape
    rows = (n + nrow - 1) // nrow
    grid = torch.ones(c, rows * (h + 1) + 1, nrow * (w + 1) + 1)
    for i in range(n):
        r, q = divmod(i, nrow)
        grid[:, 1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + q * (w + 1): 1 + q * (w + 1) + w] = x[i]
    fig, ax = plt.subplots(figsize=(4, 4 * rows / nrow + 0.3), dpi=100)
    if c == 1:
        ax.imshow(grid[0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def scatter_2d(samples: torch.Tensor, centers: torch.Tensor, path: str, *, title: str = "") -> None:
    """Scatter of generated 2-D points with the mixture centres marked.

    Parameters
    ----------
    samples : torch.Tensor
        Points, shape ``(n, 2)``.
    centers : torch.Tensor
        Mode centres, shape ``(k, 2)``.
    path : str
        PNG file to write.
    title : str
        Figure title.
    """
    plt = _plt()
    s = samples.detach().cpu()
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.scatter(s[:, 0], s[:, 1], s=2, alpha=0.4, label="generated")
    ax.scatter(centers[:, 0], centers[:, 1], s=30, c="red", marker="x", label="modes")
    lim = float(centers.abs().max()) * 1.5
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
