"""``proxgan demo``: a short tour of what exists, on embedded data, in seconds.

Each section is a function returning Markdown; :func:`run_demo` prints them and writes
``results/demo/report.md``.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import torch

__all__ = ["run_demo", "prox_section", "lasso_section"]


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


def run_demo(out_dir: str | os.PathLike = "results/demo", sections=None) -> Path:
    """Run every demo section, print it, and write ``report.md`` in ``out_dir``."""
    sections = sections or [prox_section, lasso_section]
    parts = ["# proxgan demo", ""]
    for section in sections:
        text = section()
        print(text)
        parts.append(text)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.md"
    path.write_text("\n".join(parts))
    print(f"report written to {path}")
    return path
