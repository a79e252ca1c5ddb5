r"""``proxgan reproduce gan-images``: L1 / L2 penalties on an image GAN, scored on stacked MNIST.

Stacked MNIST (three MNIST digits as the colour channels, 1,000 modes) is the standard
mode-coverage benchmark of image GANs. Every run is one ``proxgan train gan --data
stacked-mnist`` with its defaults (DCGAN pair of width 32, Adam at lr 5e-4 with betas
(0.5, 0.999), batch 64, 3 epochs of 19,200 fresh stacks = 900 steps, EMA decay 0.995, R1 weight 1), scored at
the end by the shipped frozen MNIST classifier: modes covered out of 1,000 and the KL
divergence of the mode distribution to the uniform one (both on the stated number of
generated samples: 26,000, as PacGAN), the Fréchet classifier distance of each colour channel (averaged;
next to its real-vs-real floor), and the exact-zero sparsity of G's and D's weights.

Settings, each over 3 seeds (mean ± std):

* baselines: the plain DCGAN (no R1, no EMA), the default R1 + EMA, and PacGAN's packing
  of 2 samples into D (PacDCGAN2: the DCGAN with ``pack=2``);
* with the default R1 + EMA: :math:`\ell_1` by ProxAdam's prox on G, on D, and on both at
  four :math:`\lambda`; :math:`\ell_2` by prox on G and on D at three :math:`\lambda`; Adam's
  weight decay on G and D as the usual :math:`\ell_2` baseline.

Every finished run leaves ``summaries/NAME.json`` in the output folder; a rerun skips
those settings and resumes an interrupted run from its checkpoint (under ``runs/``, not
committed), so the command can be stopped and started again. The table beside ours
gives PacGAN's published figures (Lin et al., 2018, Table 2 and 3: 10 trials, 26,000
samples, their DCGAN and training length), which were measured under their own protocol.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from proxgan.reproduce._report import (Table, bar, new_figure, note_partial, pm, run_many, save_figure,
                                      seeds_and_command, write_table)
from proxgan.reproduce.sparse_gan import _optims, _plot

__all__ = ["run", "settings", "L1_LAMS", "L2_LAMS", "WD_LAM", "PUBLISHED", "LABELS"]

L1_LAMS = (1e-4, 3e-4, 1e-3, 3e-3)  # 1e-4 zeroes about 5% of G in 900 steps: the grid reaches higher
L2_LAMS = (1e-3, 1e-2, 1e-1)
WD_LAM = 1e-2
#: PacGAN (Lin et al., 2018), stacked MNIST, 10 trials: method -> (modes, KL); the last two rows use a
#: discriminator a quarter the generator's size
PUBLISHED = [("DCGAN", 99.0, 3.40), ("ALI", 16.0, 5.40), ("Unrolled GAN", 48.7, 4.32), ("VEEGAN", 150.0, 2.95),
             ("PacDCGAN2", 1000.0, 0.06), ("DCGAN (D 1/4 of G)", 78.5, 5.21), ("PacDCGAN4 (D 1/4 of G)", 667.4, 1.81)]
#: baseline label -> (R1 and EMA on, pack)
BASELINES = {"DCGAN": (False, 1), "R1 + EMA (default)": (True, 1), "PacDCGAN2 (pack 2)": (False, 2)}


def settings(quick: bool = False) -> list[tuple[str, str, str, float]]:
    """``(family, label, target, λ)`` of every setting in run order: the baselines, then L1, L2 and weight decay.

    Parameters
    ----------
    quick : bool
        The smoke run's shorter list (the default, packing, one L1 setting).
    """
    if quick:
        return [("base", "R1 + EMA (default)", "", 0.0), ("base", "PacDCGAN2 (pack 2)", "", 0.0),
                ("l1", "L1 on G", "G", L1_LAMS[2])]
    out = [("base", label, "", 0.0) for label in BASELINES]
    # run order: a middle λ of every family first, so that a stopped sweep already spans them all
    for i in range(len(L1_LAMS)):
        out += [("l1", f"L1 on {t}", t, L1_LAMS[(2 - i) % len(L1_LAMS)]) for t in ("G", "D", "G and D")]
        if i < len(L2_LAMS):
            out += [("l2", f"L2 on {t}", t, L2_LAMS[(1 - i) % len(L2_LAMS)]) for t in ("G", "D")]
        if i == 0:
            out.append(("wd", "weight decay on G and D", "G and D", WD_LAM))
    return out


LABELS = list(BASELINES) + [f"L1 on {t}" for t in ("G", "D", "G and D")] + ["L2 on G", "L2 on D",
                                                                           "weight decay on G and D"]


def _slug(label: str, lam: float, seed: int) -> str:
    keep = "".join(c if c.isalnum() else "_" for c in label).strip("_")
    return f"{keep}-{lam:g}-s{seed}"


def _config(family: str, label: str, target: str, lam: float, seed: int, runs_dir: Path, quick: bool,
            epochs: int | None) -> Any:
    from proxgan.apps.config import GANConfig, gan_defaults

    dflt = gan_defaults("stacked-mnist")
    stabilised, k = BASELINES.get(label, (True, 1))
    extra: dict[str, Any] = {} if stabilised else {"r1": 0.0, "ema": 0.0}
    if quick:
        extra.update(width=8, n_train=256, n_eval=200, n_mode_samples=500, max_steps=3)
    out = runs_dir / _slug(label, lam, seed)
    return GANConfig(data="stacked-mnist", epochs=epochs or (1 if quick else dflt["epochs"]), seed=seed, pack=k,
                     **_optims(family, target, lam, dflt["lr"]), out=str(out), progress=False, plots=False,
                     threads=1, eval_every=10**6, resume=(out / "checkpoint.pt").exists(), **extra)


def _train_one(job: tuple[Any, str]) -> dict[str, Any]:
    """Train one configuration and write its summary JSON (in the worker, so a finished run survives any stop)."""
    from proxgan.apps.train_gan import train_gan

    cfg, summary_path = job
    s = train_gan(cfg)
    keep = {k: v for k, v in s.items() if not isinstance(v, dict)}
    keep["steps"] = cfg.epochs * (cfg.max_steps or -(-cfg.n_train // cfg.batch_size))
    if s.get("status") == "done":
        tmp = Path(summary_path).with_suffix(".tmp")
        tmp.write_text(json.dumps(keep, indent=1))
        tmp.replace(summary_path)
    return keep


def run(out_dir: str | Path, quick: bool = False, progress: bool = True, epochs: int | None = None,
        seeds: int | None = None, jobs: int = 1) -> dict[str, Path]:
    """Train every missing setting × seed (``jobs`` at a time), then write ``gan-images.md``, CSVs and a PNG.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder of the files written; its ``summaries/`` hold finished runs (skipped when rerun).
    quick : bool
        A seconds-long smoke run with tiny sizes.
    progress : bool
        Show a progress bar.
    epochs : int, optional
        Epochs per run (default: those of ``proxgan train gan --data stacked-mnist``).
    seeds : int, optional
        Seeds per setting (default 3).
    jobs : int
        Training runs at a time, in worker processes.
    """
    seeds, cmd = seeds_and_command("gan-images", seeds, quick, epochs=epochs)
    out_dir = Path(out_dir)
    summaries, runs_dir = out_dir / "summaries", out_dir / "runs"
    summaries.mkdir(parents=True, exist_ok=True)
    settings_ = settings(quick)
    keys, todo = [], []
    for seed in range(seeds):  # seed-major: a stopped run has every setting at its first seeds
        for family, label, target, lam in settings_:
            keys.append((label, lam, seed))
            path = summaries / f"{_slug(label, lam, seed)}.json"
            if not path.exists():
                todo.append((_config(family, label, target, lam, seed, runs_dir, quick, epochs), str(path)))
    progress_bar = bar(len(todo), "gan-images", progress)

    def emit(i: int, summary: dict[str, Any]) -> None:
        _write(out_dir, keys, seeds, cmd, quick, figure=False)

    run_many(_train_one, todo, jobs, progress_bar, on_result=emit)
    progress_bar.close()
    return _write(out_dir, keys, seeds, cmd, quick, figure=True)


def _load(out_dir: Path, keys: list[tuple[str, float, int]]) -> list[tuple[tuple[str, float, int], dict[str, Any]]]:
    out = []
    for label, lam, seed in keys:
        path = out_dir / "summaries" / f"{_slug(label, lam, seed)}.json"
        if path.exists():
            out.append(((label, lam, seed), json.loads(path.read_text())))
    return out


def _write(out_dir: Path, keys: list[tuple[str, float, int]], seeds: int, cmd: str, quick: bool,
           figure: bool) -> dict[str, Path]:
    """The tables (and, when ``figure``, the PNG) of the runs whose summaries exist."""
    runs = _load(out_dir, keys)
    results: dict[tuple[str, float], list[dict[str, Any]]] = {}
    long = Table("Every run", ["setting", "λ", "seed", "modes (/1000)", "KL to uniform", "Fréchet distance",
                               "G zero weights (%)", "D zero weights (%)", "steps", "run min"])
    for (label, lam, seed), s in sorted(runs, key=lambda r: r[0][2]):
        results.setdefault((label, lam), []).append(s)
        long.add(label, lam, seed, s["modes_covered"], s["kl_uniform"], s["frechet"], 100 * s["g_weight_sparsity"],
                 100 * s["d_weight_sparsity"], s["steps"], s["elapsed_s"] / 60)
    first = runs[0][1] if runs else {}
    title = (f"Stacked MNIST: mean ± std over up to {seeds} seed(s); modes and KL on "
             f"{int(first.get('mode_samples', 0)):,} generated samples")
    table = Table(title, ["setting", "λ", "seeds", "modes (/1000)", "KL to uniform", "Fréchet distance",
                          "G zero weights (%)", "D zero weights (%)", "G zero rows", "D zero rows"])
    for (label, lam), rs in sorted(results.items(), key=lambda kv: (LABELS.index(kv[0][0]), kv[0][1])):
        col = lambda k, scale=1.0: [scale * r[k] for r in rs]  # noqa: E731
        table.add(label, lam, len(rs), pm(col("modes_covered"), 4), pm(col("kl_uniform"), 3), pm(col("frechet"), 3),
                  pm(col("g_weight_sparsity", 100), 3), pm(col("d_weight_sparsity", 100), 3),
                  pm(col("g_zero_channels"), 5), pm(col("d_zero_channels"), 5))
    if runs:
        table.notes.append(f"Fréchet distance: mean over the 3 colour channels of the Fréchet classifier distance "
                           f"on {first['extractor']}'s features (real-vs-real floor {first['frechet_floor']:.3g}); "
                           f"{first['steps']} steps per run.")
    table.notes += ["L1 and L2 by ProxAdam's prox (betas 0.5, 0.999), unpenalised networks by Adam; weight decay: "
                    f"Adam's `weight_decay` of {WD_LAM:g} on G and D. DCGAN and PacDCGAN2 train without R1 and EMA; "
                    "every other row with both. Zero weights: exact zeros of the weight tensors of the evaluated "
                    "networks (the EMA of G keeps G's zeros)."]
    note_partial(table, len(runs), len(keys))
    published = Table("Published (PacGAN, Lin et al. 2018, Tables 2-3): their protocol, not run here",
                      ["method", "modes (/1000)", "KL to uniform"])
    for name, modes, kl in PUBLISHED:
        published.add(name, modes, kl)
    published.notes.append("10 trials, 26,000 samples per mode count, their DCGAN architecture and training length; "
                           "figures copied from the paper, for orientation only.")
    paths = write_table(out_dir, "gan-images", [table, published, long], command=cmd,
                        preamble=(__doc__ or "").split("\n\n", 1)[1], quick=quick)
    if figure and runs:
        fig, axes = new_figure(1, 2, figsize=(11, 4.2))
        _plot(axes, results, True, panels=[("frechet", "Fréchet classifier distance (lower is better)"),
                                           ("modes_covered", "modes covered (of 1,000)")])
        paths["png"] = save_figure(fig, out_dir / "gan-images.png", quick)
    return paths
