r"""``proxgan reproduce sparse-gan``: sample quality against sparsity with a penalty on G, on D, on both.

The seed experiment of this project. One GAN (the defaults of ``proxgan train gan``:
non-saturating loss, R1 penalty on D, the EMA of G evaluated) is trained with an
:math:`\ell_1` penalty applied by ProxAdam's prox on the generator G only, on the
discriminator D only, or on both, at four values of :math:`\lambda`, next to the same
GAN without a penalty. The second family puts an :math:`\ell_2` penalty on G and D
(again by prox) at :math:`\lambda = 10^{-2}`, with Adam's weight decay of the same
strength on both networks as its baseline (the usual way to shrink weights). On the
mixtures each run has 10 epochs of 250 steps at learning rate 2e-3 with an EMA decay of
0.998 (the defaults of ``proxgan train gan`` are 40 epochs at 1e-3 and 0.999: cut so
that 45 runs fit on a shared 2-core CPU), evaluated once at the end on 1,000 samples. A network without a penalty is trained with ``torch.optim.Adam`` (ProxAdam
without a penalty is the same update, only slower on a CPU).

Every setting is trained over several seeds (3 by default) and the table gives mean ± std
of the Fréchet distance (on the features of a classifier trained on the same data; the
same referee for every seed), of the number of modes covered and of the rate of
high-quality samples (within 3σ of a mode), next to the exact-zero sparsity of G's and D's
penalised weights. The default data are 8 Gaussians on a ring (MLP pair); any image data
set of ``proxgan train gan`` works too (``data="digits"``: DCGAN pair).
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from proxgan.reproduce._report import (Table, bar, mean_std, new_figure, note_partial, pm, run_many, save_figure,
                                      seeds_and_command, write_table)

__all__ = ["run", "settings", "L1_LAMS", "L2_LAMS"]

L1_LAMS = (1e-5, 3e-5, 1e-4, 3e-4)
L2_LAMS = (1e-2,)
#: target -> (penalise G, penalise D)
TARGETS = {"G": (True, False), "D": (False, True), "G and D": (True, True)}


def settings(quick: bool = False) -> list[tuple[str, str, str, float]]:
    """``(family, label, target, λ)`` of every setting: the baseline, L1 on each target, L2 and weight decay.

    Parameters
    ----------
    quick : bool
        The smoke run's shorter list.
    """
    l1, l2 = (L1_LAMS[2:3], L2_LAMS[:1]) if quick else (L1_LAMS, L2_LAMS)
    out = [("none", "no penalty", "", 0.0)]
    out += [("l1", f"L1 on {t}", t, lam) for t in TARGETS for lam in l1]
    out += [("l2", "L2 on G and D", "G and D", lam) for lam in l2]
    out += [("wd", "weight decay on G and D", "G and D", lam) for lam in l2]
    return out


#: the mixture runs: half the steps of the ``train gan`` defaults, at twice the learning rate
MIXTURE_RUN = dict(epochs=10, lr=2e-3, ema=0.998, n_eval=1000)


def _optims(family: str, target: str, lam: float, lr: float) -> dict[str, Any]:
    from proxgan.apps.config import OptimConfig

    on_g, on_d = TARGETS.get(target, (False, False))

    def one(on: bool) -> OptimConfig:
        if family == "wd" and on:
            return OptimConfig("adam", lr, weight_decay=lam, betas=(0.5, 0.999))
        if family in ("l1", "l2") and on:
            return OptimConfig("proxadam", lr, family, lam, betas=(0.5, 0.999))
        return OptimConfig("adam", lr, betas=(0.5, 0.999))
    return {"g": one(on_g), "d": one(on_d)}


def run(out_dir: str | Path, quick: bool = False, progress: bool = True, data: str = "ring8",
        data_root: str | None = None, epochs: int | None = None, seeds: int | None = None,
        jobs: int = 1) -> dict[str, Path]:
    """Train every setting over ``seeds`` seeds (``jobs`` runs at a time); write ``sparse-gan.md``, CSVs and a PNG.

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
    """
    from proxgan._registry import DATASETS
    from proxgan.apps.config import GANConfig, gan_defaults
    from proxgan.apps.train_gan import train_gan

    seeds, cmd = seeds_and_command("sparse-gan", seeds, quick, data=data if data != "ring8" else None, epochs=epochs)
    dflt = gan_defaults(data)
    mixture = DATASETS[data].kind == "mixture"
    epochs = epochs or (1 if quick else MIXTURE_RUN["epochs"] if mixture else dflt["epochs"])
    lr, ema = (MIXTURE_RUN["lr"], MIXTURE_RUN["ema"]) if mixture else (dflt["lr"], dflt["ema"])
    settings_ = settings(quick)
    runs_dir = Path(tempfile.mkdtemp(prefix="sparse-gan-"))
    progress_bar = bar(len(settings_) * seeds, "sparse-gan", progress)
    keys, cfgs = [], []
    for seed in range(seeds):  # seed-major: a run stopped early has every setting at its first seeds
        for family, label, target, lam in settings_:
            keys.append((label, lam, seed))
            out = runs_dir / f"{label.replace(' ', '_')}-{lam:g}-{seed}"
            cfgs.append(GANConfig(data=data, data_root=data_root, epochs=epochs, seed=seed, ema=ema,
                                  **_optims(family, target, lam, lr), out=str(out), progress=False, plots=False,
                                  n_train=(2000 if quick else dflt["n_train"]) if mixture else None,
                                  n_eval=500 if quick else MIXTURE_RUN["n_eval"] if mixture else 2000,
                                  fid_cache=str(runs_dir / "fid"), max_steps=10 if quick else None, threads=1,
                                  eval_every=epochs))
    done: dict[int, dict[str, Any]] = {}

    def emit(i: int, summary: dict[str, Any]) -> None:
        done[i] = summary
        if len(done) < len(cfgs):
            _write(out_dir, [(keys[j], done[j]) for j in sorted(done)], len(cfgs), data, seeds, epochs, mixture, cmd,
                   quick, figure=False)

    run_many(train_gan, cfgs, jobs, progress_bar, on_result=emit)
    progress_bar.close()
    shutil.rmtree(runs_dir, ignore_errors=True)
    return _write(out_dir, [(keys[j], done[j]) for j in sorted(done)], len(cfgs), data, seeds, epochs, mixture, cmd,
                  quick, figure=True)


def _write(out_dir: str | Path, runs: list[tuple[tuple[str, float, int], dict[str, Any]]], total: int, data: str,
           seeds: int, epochs: int, mixture: bool, cmd: str, quick: bool, figure: bool) -> dict[str, Path]:
    """The tables (and, when ``figure``, the PNG) of the runs finished so far."""
    results: dict[tuple[str, float], list[dict[str, Any]]] = {}
    long = Table("Every run", ["setting", "λ", "seed", "Fréchet distance", "modes covered", "high-quality rate",
                               "G zero weights (%)", "D zero weights (%)", "run s"])
    for (label, lam, seed), s in sorted(runs, key=lambda r: r[0][2]):
        results.setdefault((label, lam), []).append(s)
        long.add(label, lam, seed, s["frechet"], s.get("modes_covered", float("nan")), s.get("hq_rate", float("nan")),
                 100 * s["g_weight_sparsity"], 100 * s["d_weight_sparsity"], s["elapsed_s"])
    cols = ["setting", "λ", "seeds", "Fréchet distance"] + (["modes covered", "high-quality rate"] if mixture else [])
    cols += ["G zero weights (%)", "D zero weights (%)", "G zero rows", "D zero rows"]
    table = Table(f"GAN on {data}: mean ± std over {seeds} seed(s), {epochs} epochs "
                  f"(Fréchet distance of real train vs test samples: {runs[0][1]['frechet_floor']:.3g})", cols)
    for (label, lam), rs in results.items():
        col = lambda k, scale=1.0: [scale * r[k] for r in rs]  # noqa: E731
        row = [label, lam, len(rs), pm(col("frechet"))]
        if mixture:
            row += [pm(col("modes_covered"), 2), pm(col("hq_rate"), 2)]
        row += [pm(col("g_weight_sparsity", 100), 3), pm(col("d_weight_sparsity", 100), 3),
                pm(col("g_zero_channels"), 3), pm(col("d_zero_channels"), 3)]
        table.add(*row)
    table.notes += ["L1 and L2 by ProxAdam's prox (betas 0.5, 0.999), unpenalised networks by Adam; weight decay: "
                    "Adam's `weight_decay` of the same λ. Zero weights: exact zeros of the weight tensors of the "
                    "evaluated networks (the EMA of G keeps G's zeros).",
                    "Times per run are in the second table (shared CPU: compare loosely)."]
    note_partial(table, len(runs), total)
    paths = write_table(out_dir, "sparse-gan", [table, long], command=cmd,
                        preamble=(__doc__ or "").split("\n\n", 1)[1], quick=quick)
    if figure:
        fig, axes = new_figure(1, 2, figsize=(11, 4.2))
        _plot(axes, results, mixture)
        paths["png"] = save_figure(fig, Path(out_dir) / "sparse-gan.png", quick)
    return paths

def _sparsity(label: str, r: dict[str, Any]) -> float:
    """Exact-zero % of the penalised network(s): G, D, or the mean of both."""
    g, d = 100 * r["g_weight_sparsity"], 100 * r["d_weight_sparsity"]
    if label.endswith("G and D") or not label.endswith((" G", " D")):
        return (g + d) / 2
    return g if label.endswith(" G") else d


def _plot(axes: Any, results: dict[tuple[str, float], list[dict[str, Any]]], mixture: bool,
          panels: list[tuple[str, str]] | None = None) -> None:
    """Fréchet distance and modes covered (or ``panels``: ``(key, y label)``) against sparsity, points labelled with λ."""
    if panels is None:
        panels = [("frechet", "Fréchet distance (lower is better)")]
        panels.append(("modes_covered", "modes covered") if mixture else ("frechet", "Fréchet distance (linear axis)"))
    labels = list(dict.fromkeys(label for label, _ in results))
    for ax, (key, ylabel) in zip(axes, panels):
        for i, label in enumerate(labels):
            pts = [(lam, mean_std([_sparsity(label, r) for r in runs]), mean_std([r[key] for r in runs]))
                   for (lab, lam), runs in results.items() if lab == label]
            xs, ys = [p[1][0] for p in pts], [p[2][0] for p in pts]
            ax.errorbar(xs, ys, xerr=[p[1][1] for p in pts], yerr=[p[2][1] for p in pts], marker="o", ms=4, capsize=2,
                        ls="-" if len(pts) > 1 else "", color=f"C{i}", label=label)
            for lam, x, y in zip((p[0] for p in pts), xs, ys):
                if lam:
                    ax.annotate(f"λ={lam:g}", (x, y), textcoords="offset points", xytext=(3, 3), fontsize=6, color=f"C{i}")
        ax.set_xlabel("exact-zero weights of the penalised network(s) (%)")
        ax.set_ylabel(ylabel)
        if key == "frechet" and ylabel.endswith("better)"):
            ax.set_yscale("log")
    axes[0].legend(fontsize=6)
