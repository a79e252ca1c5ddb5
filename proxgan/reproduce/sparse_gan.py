r"""``proxgan reproduce sparse-gan``: sample quality against sparsity with L1 on G, on D, on both.

The seed experiment of this project: the same GAN trained four ways, with ProxAdam
(betas (0.5, 0.999)) for the generator G and the discriminator D, and an
:math:`\ell_1` penalty on neither, on G only, on D only, or on both, at several
:math:`\lambda`. Each run reports its Fréchet distance (on the features of a classifier
trained on the same data), and on the 2-D mixtures the number of modes covered and the
rate of high-quality samples (within 3σ of a mode), next to the exact-zero sparsity of
G's and D's penalised weights. The default data are 8 Gaussians on a ring (an MLP GAN);
``data="digits"`` trains the DCGAN-style pair on scikit-learn's 8×8 digits.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from proxgan.reproduce._report import Table, new_figure, save_figure, write_table

__all__ = ["run", "SETTINGS"]

#: label -> (L1 on G, L1 on D)
SETTINGS = {"no penalty": (False, False), "L1 on G": (True, False), "L1 on D": (False, True),
            "L1 on G and D": (True, True)}


def run(out_dir: str | Path, quick: bool = False, progress: bool = True, data: str = "ring8",
        data_root: str | None = None, epochs: int | None = None, lams=(1e-5, 1e-4)) -> dict[str, Path]:
    """Train every setting at every λ; write ``sparse-gan.md``, ``sparse-gan.csv`` and ``sparse-gan.png``."""
    from proxgan.apps.config import GANConfig, OptimConfig
    from proxgan.apps.train_gan import train_gan

    epochs = epochs or (1 if quick else 20)
    lams = lams[:1] if quick else lams
    mixture = data in ("ring8", "grid25")
    cols = ["setting", "λ", "Fréchet distance"] + (["modes covered", "high-quality rate"] if mixture else [])
    cols += ["G zero weights (%)", "D zero weights (%)", "G zero rows", "D zero rows", "G step s", "D step s", "wall s"]
    table = Table(f"GAN on {data}: ProxAdam for G and D, {epochs} epochs", cols)
    runs_dir = Path(tempfile.mkdtemp(prefix="sparse-gan-"))
    jobs = [("no penalty", 0.0)] + [(label, lam) for lam in lams for label in SETTINGS if label != "no penalty"]
    from proxgan.reproduce.glmnet_table1 import _bar

    bar = _bar(len(jobs), progress)
    points = []
    for label, lam in jobs:
        on_g, on_d = SETTINGS[label]

        def opt(on: bool) -> OptimConfig:
            return OptimConfig("proxadam", 1e-3 if mixture else 2e-4, "l1" if on else "none", lam if on else 0.0,
                               betas=(0.5, 0.999))

        cfg = GANConfig(data=data, data_root=data_root, g=opt(on_g), d=opt(on_d), epochs=epochs, batch_size=64, seed=0,
                        out=str(runs_dir / f"{label.replace(' ', '_')}-{lam:g}"), progress=False, plots=False,
                        n_train=2000 if quick else 10000, n_eval=500 if quick else 2000,
                        fid_cache=str(runs_dir / "fid"), max_steps=10 if quick else None, threads=1)
        s = train_gan(cfg)
        row = [label, lam, s["frechet"]]
        if mixture:
            row += [s["modes_covered"], s["hq_rate"]]
        row += [100 * s["g_weight_sparsity"], 100 * s["d_weight_sparsity"], s["g_zero_channels"], s["d_zero_channels"],
                s["g_step_time_s"], s["d_step_time_s"], s["wall_time_s"]]
        table.add(*row)
        points.append((label, lam, s["frechet"], s["g_weight_sparsity"], s["d_weight_sparsity"]))
        bar.update()
    bar.close()
    table.notes.append("Zero weights: exact zeros of the penalised (weight) tensors; times are those of the last "
                       "epoch on a shared CPU (compare loosely).")
    fig, axes = new_figure(1, 2, figsize=(10, 4))
    for k, (who, idx) in enumerate((("G", 3), ("D", 4))):
        ax = axes[k]
        for i, label in enumerate(SETTINGS):
            pts = [(100 * p[idx], p[2]) for p in points if p[0] == label]
            if pts:
                ax.plot(*zip(*pts), marker="o", ls="", color=f"C{i}", label=label)
        ax.set_xlabel(f"exact-zero weights of {who} (%)")
        ax.set_ylabel("Fréchet distance (lower is better)")
        ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    cmd = "proxgan reproduce sparse-gan" + (" --quick" if quick else "")
    paths = write_table(out_dir, "sparse-gan", [table], command=cmd, preamble=(__doc__ or "").split("\n\n", 1)[1])
    paths["png"] = save_figure(fig, Path(out_dir) / "sparse-gan.png")
    import shutil

    shutil.rmtree(runs_dir, ignore_errors=True)
    return paths
