"""``proxgan demo``: a short tour of what exists, on embedded data, in seconds.

Each section is a function returning Markdown; :func:`run_demo` prints them and writes
``results/demo/report.md``.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import torch

__all__ = ["run_demo", "prox_section", "lasso_section", "cnn_section", "gan_section", "reproductions_section"]


def _fmt(t: torch.Tensor) -> str:
    return "[" + ", ".join(f"{v:+.3f}" for v in t.tolist()) + "]"


def prox_section() -> str:
    """Each prox operator on one small vector, with the Triton kernel checked against PyTorch."""
    from proxgan import kernels
    from proxgan.penalties import L0, L1, L2, Box, ElasticNet, GroupL1, NonNegative

    x = torch.tensor([-2.0, -0.6, -0.2, 0.0, 0.3, 0.5, 1.1, 3.0], dtype=torch.float64)
    lines = ["## Prox operators (step = 1)", "", f"x = {_fmt(x)}", "", "| penalty | prox(x) | zeros |", "|---|---|---|"]
    for pen in (L1(0.5), L2(1.0), ElasticNet(0.8, 0.5), L0(0.5), Box(-1.0, 1.0), NonNegative()):
        y = pen.prox(x, 1.0)
        lines.append(f"| `{pen!r}` | {_fmt(y)} | {int((y == 0).sum())} |")
    g = GroupL1(1.0).prox(x.reshape(4, 2), 1.0)
    lines.append(f"| `GroupL1(lam=1.0)` on 4 rows of 2 | {_fmt(g.reshape(-1))} | {int((g.abs().sum(1) == 0).sum())} rows |")
    lines.append("")
    # Triton path vs PyTorch path on an awkward size
    z = torch.randn(100_003, generator=torch.Generator().manual_seed(0))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if not kernels.triton_available():
        lines.append("Triton is not installed: the kernels were not run (pip install triton).")
    else:
        if device == "cpu":
            os.environ.setdefault("TRITON_INTERPRET", "1")
        zd = z.to(device)
        t0 = time.perf_counter()
        checks = [
            ("soft_threshold", kernels.soft_threshold(zd, 0.7), kernels.soft_threshold_ref(zd, 0.7)),
            ("hard_threshold", kernels.hard_threshold(zd, 0.7), kernels.hard_threshold_ref(zd, 0.7)),
            ("group_soft_threshold", kernels.group_soft_threshold(zd[:100_000].reshape(1000, 100), 3.0),
             kernels.group_soft_threshold_ref(zd[:100_000].reshape(1000, 100), 3.0)),
        ]
        where = "CUDA" if device == "cuda" else "CPU, Triton interpreter"
        lines += [f"Triton kernels ({where}, {time.perf_counter() - t0:.2f} s) against the PyTorch reference:", "",
                  "| kernel | max abs difference | exact zeros |", "|---|---|---|"]
        for name, a, b in checks:
            lines.append(f"| {name} | {float((a - b).abs().max()):.1e} | {int((a == 0).sum())} of {a.numel()} |")
    return "\n".join(lines) + "\n"


def lasso_section() -> str:
    """proxgan's Lasso against scikit-learn's on the diabetes data: same coefficients, time ratio."""
    import warnings

    import numpy as np
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Lasso as SkLasso

    from proxgan.linear_model import Lasso
    from proxgan.reproduce._timing import interleaved_medians

    X, y = load_diabetes(return_X_y=True)
    lines = ["## Lasso against scikit-learn (diabetes: 442 samples, 10 features; tol 1e-10)", "",
             "| alpha | non-zeros | max abs coef difference | proxgan objective - sklearn's | time sklearn / proxgan |",
             "|---|---|---|---|---|"]
    n = X.shape[0]
    amax = float(np.max(np.abs((X - X.mean(0)).T @ (y - y.mean())))) / n
    for frac in (0.1, 0.01, 0.001):
        a = amax * frac
        ours = Lasso(alpha=a, tol=1e-10, max_iter=100_000)
        theirs = SkLasso(alpha=a, tol=1e-10, max_iter=100_000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            med = interleaved_medians({"ours": lambda: ours.fit(X, y), "sk": lambda: theirs.fit(X, y)}, repeats=5)

        def obj(m):
            r = y - X @ m.coef_ - m.intercept_
            return 0.5 * float(r @ r) / n + a * float(np.abs(m.coef_).sum())

        lines.append(f"| {a:.3g} | {int(np.count_nonzero(ours.coef_))} | "
                     f"{float(np.max(np.abs(ours.coef_ - theirs.coef_))):.1e} | {obj(ours) - obj(theirs):+.1e} | "
                     f"{med['sk'] / med['ours']:.2f} |")
    return "\n".join(lines) + "\n"


def cnn_section(out: Path, epochs: int = 10) -> str:
    """The LeNet-style CNN on digits, trained with Adam and with ProxAdam(L1): accuracy, exact zeros, time.

    Parameters
    ----------
    out : pathlib.Path
        Folder for the section's plot.
    epochs : int
        Training epochs.
    """
    from proxgan.apps.config import CNNConfig, OptimConfig
    from proxgan.apps.train_cnn import train_cnn

    lines = [f"## A sparse CNN on digits ({epochs} epochs, batch 32)", "",
             "| optimizer | test accuracy | exact-zero weights | zero channels | optimizer step s | wall s | plots |",
             "|---|---|---|---|---|---|---|"]
    for label, opt, pen, lam in (("Adam", "adam", "none", 0.0), ("ProxAdam(L1(5e-4))", "proxadam", "l1", 5e-4)):
        run_dir = out / f"cnn_{opt}"
        s = train_cnn(CNNConfig(data="digits", optim=OptimConfig(opt, 1e-3, pen, lam), epochs=epochs, batch_size=32,
                                seed=0, out=str(run_dir), progress=False, measure_compaction=False, threads=1))
        lines.append(f"| {label} | {s['test_acc']:.3f} | {s['weight_sparsity']:.1%} | {s['zero_channels']} | "
                     f"{s['step_time_s']:.2f} | {s['wall_time_s']:.1f} | [loss]({run_dir.name}/loss.png), "
                     f"[sparsity]({run_dir.name}/sparsity.png) |")
    lines += ["", "Swapping the optimizer is the only change: `ProxAdam(param_groups(model, L1(5e-4)), lr=1e-3)` "
              "instead of `Adam(model.parameters(), lr=1e-3)`. Times are those of the last epoch."]
    return "\n".join(lines) + "\n"


def gan_section(out: Path, epochs: int = 16, lam: float = 1e-5) -> str:
    """A short GAN run on 8 Gaussians on a ring (R1 and the EMA of G, as ``proxgan train gan``), L1 on G and D.

    Parameters
    ----------
    out : pathlib.Path
        Folder for the section's plot.
    epochs : int
        Training epochs.
    lam : float
        Strength of the L1 penalty.
    """
    from proxgan.apps.config import GANConfig, OptimConfig
    from proxgan.apps.train_gan import train_gan

    opt = OptimConfig("proxadam", 2e-3, "l1", lam, betas=(0.5, 0.999))
    run_dir = out / "gan_ring8"
    s = train_gan(GANConfig(data="ring8", g=opt, d=opt, epochs=epochs, ema=0.998, seed=0, out=str(run_dir),
                            progress=False, n_eval=1000, fid_cache=str(out / "fid_cache"), threads=1))
    steps = epochs * 250
    return "\n".join([
        f"## A GAN with L1({lam:g}) on G and D (8 Gaussians on a ring, {steps} steps, ProxAdam lr 2e-3)", "",
        "| Fréchet distance | floor (real vs real) | modes covered | high-quality samples | G exact zeros | D exact zeros | run s |",
        "|---|---|---|---|---|---|---|",
        f"| {s['frechet']:.3g} | {s['frechet_floor']:.3g} | {int(s['modes_covered'])}/8 | {s['hq_rate']:.1%} | "
        f"{s['g_weight_sparsity']:.1%} | {s['d_weight_sparsity']:.1%} | {s['elapsed_s']:.0f} |", "",
        f"Samples: [{run_dir.name}/samples.png]({run_dir.name}/samples.png). The discriminator carries the R1 "
        "gradient penalty and the generator evaluated is the moving average of G's weights (restricted to G's "
        "non-zeros), the defaults of `proxgan train gan`. A short run, with a doubled learning rate; the "
        "full-length defaults are in `results/apps/gan_baselines.md` and the λ sweep in `proxgan reproduce sparse-gan`.", ""])


def reproductions_section() -> str:
    """Where the full reproductions are."""
    from proxgan.reproduce import REPRODUCTIONS

    lines = ["## Full reproductions", "", "Each writes a Markdown table, CSVs and a PNG into `results/NAME/` "
             "(add `--quick` for a seconds-long smoke run, written to a temporary folder); the committed ones are "
             "indexed in `results/README.md`.", ""]
    lines += [f"- `proxgan reproduce {name}`" for name in REPRODUCTIONS]
    return "\n".join(lines) + "\n"


def run_demo(out_dir: str | os.PathLike = "results/demo", sections=None) -> Path:
    """Run every demo section, print it, and write ``report.md`` (with its plots) in ``out_dir``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder of ``report.md`` and its plots.
    sections : sequence of callable, optional
        The sections to run (default: all), each returning Markdown.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sections = sections or [prox_section, lasso_section, lambda: cnn_section(out), lambda: gan_section(out),
                            reproductions_section]
    t0 = time.perf_counter()
    parts = ["# proxgan demo", ""]
    for section in sections:
        text = section()
        print(text)
        parts.append(text)
    parts.append(f"Demo time: {time.perf_counter() - t0:.0f} s.")
    path = out / "report.md"
    path.write_text("\n".join(parts))
    print(f"report written to {path}")
    return path
