r"""``proxgan reproduce fista``: Beck & Teboulle (2009), ISTA's :math:`O(1/k)` against FISTA's :math:`O(1/k^2)`.

The problem is :math:`\ell_1`-regularised image deblurring in the pixel domain:

.. math::

    F(x) = \frac{1}{2n}\lVert b - A x\rVert_2^2 + \lambda\lVert x\rVert_1 ,

where :math:`x` is a mosaic of scikit-learn's handwritten digits (mostly black, hence
sparse), upsampled to an :math:`m \times m` image, :math:`A` a separable Gaussian blur
(9×9, :math:`\sigma = 4`, as in the paper's experiment, zero boundary), :math:`b = Ax + 10^{-3}\varepsilon`
and :math:`\lambda = \lambda_{max}/50`. The paper regularises wavelet coefficients of a
256×256 photograph; the pixel domain keeps the problem self-contained (no image
download) while keeping its structure: an ill-conditioned blur and a sparse solution.

ISTA and FISTA run with the constant step :math:`1/L` (:math:`L` from power iteration) and
FISTA again with gradient restart (O'Donoghue & Candès, 2015). :math:`F^\star` comes from
coordinate descent run to a duality gap below :math:`10^{-13}\,F(0)`. The log-log figure shows
:math:`F(x_k) - F^\star` with :math:`C/k` and :math:`C/k^2` guides.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from proxgan.datafits import Quadratic
from proxgan.penalties import L1
from proxgan.reproduce._report import Table, bar, new_figure, save_figure, write_table
from proxgan.solvers import cd as _cd
from proxgan.solvers import fista as _fista
from proxgan.solvers import ista as _ista

__all__ = ["deblur_problem", "run", "blur_matrix"]


def blur_matrix(m: int, size: int = 9, sigma: float = 4.0) -> sp.csr_matrix:
    """The 2-D Gaussian blur of an m×m image (row-major pixels) as a sparse matrix, zero boundary.

    Parameters
    ----------
    m : int
        Image side in pixels.
    size : int
        Side of the Gaussian kernel.
    sigma : float
        Its standard deviation in pixels.
    """
    half = size // 2
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    k /= k.sum()
    B = sp.diags([np.full(m - abs(o), k[o + half]) for o in range(-half, half + 1)],
                 list(range(-half, half + 1)), shape=(m, m))
    return sp.kron(B, B, format="csr")


def deblur_problem(m: int = 64, seed: int = 0):
    """``(A, b, x_true, lam)`` for an m×m mosaic of digits (m a multiple of 8).

    Parameters
    ----------
    m : int
        Image side in pixels, a multiple of 8.
    seed : int
        Seed of the noise.
    """
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    digits = load_digits().images / 16.0
    tiles = max(m // 32, 1)
    side = m // tiles
    up = side // 8
    img = np.zeros((m, m))
    for i in range(tiles):
        for j in range(tiles):
            d = digits[rng.integers(len(digits))]
            img[i * side:(i + 1) * side, j * side:(j + 1) * side][: 8 * up, : 8 * up] = np.kron(d, np.ones((up, up)))
    A = blur_matrix(m)
    x = img.ravel()
    b = A @ x + 1e-3 * rng.standard_normal(m * m)
    lam = float(np.max(np.abs(A.T @ b))) / (m * m) / 50
    return A, b, x, lam


def run(out_dir: str | Path, quick: bool = False, progress: bool = True, m: int | None = None,
        iters: int | None = None) -> dict[str, Path]:
    """Write ``fista.md``, ``fista.csv`` and ``fista.png`` into ``out_dir``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder of the files written.
    quick : bool
        A seconds-long smoke run with tiny sizes.
    progress : bool
        Show a progress bar.
    m : int, optional
        Image side (default: 64, 16 when quick).
    iters : int, optional
        Iterations of each method.
    """
    m = m or (16 if quick else 64)
    iters = iters or (300 if quick else 3000)
    progress_bar = bar(4 * iters, "fista", progress, unit="iteration")  # F* by CD (counted as iters), then 3 traces
    A, b, _, lam = deblur_problem(m)
    df = Quadratic(A, b)
    pen = L1(lam)
    f0 = float(b @ b) / (2 * b.shape[0])
    ref = _cd.solve(df, pen, tol=1e-13 * f0, max_iter=100_000)
    progress_bar.update(iters)
    w_star = torch.as_tensor(ref.coef, dtype=torch.float64)
    f_star = float(df.value(w_star) + pen.value(w_star))
    L = df.lipschitz()

    def trace(solver, **kw):
        vals = []

        def cb(k, w):
            vals.append(float(df.value(w) + pen.value(w)) - f_star)
            progress_bar.update()

        solver.solve(df, pen, tol=0.0, max_iter=iters, backtracking=False, callback=cb, check_every=iters, **kw)
        return np.maximum(np.array(vals), 0.0)

    curves = {
        "ISTA": trace(_ista),
        "FISTA": trace(_fista, restart=False),
        "FISTA + restart": trace(_fista, restart=True),
    }
    progress_bar.close()
    if f_star > min(float(c.min()) + f_star for c in curves.values()) + 1e-12 * f0:
        raise RuntimeError("the reference solution is worse than an iterate: F* is not accurate")
    table = Table(f"F(x_k) − F* relative to F(0) − F* on a {m}×{m} deblurring problem (n = p = {m * m})",
                  ["method", "k=10", "k=100", f"k={iters}", "iterations to 1e-3", "iterations to 1e-6",
                   "slope of log-log fit (k ≥ 10)"])
    scale = f0 - f_star
    ks = np.arange(1, iters + 1)
    for name, c in curves.items():
        rel = c / scale

        def first(th, rel=rel):
            idx = np.nonzero(rel <= th)[0]
            return int(idx[0]) + 1 if idx.size else f"> {iters}"

        sel = (ks >= 10) & (rel > 1e-13)
        slope = float(np.polyfit(np.log(ks[sel]), np.log(rel[sel]), 1)[0]) if sel.sum() > 5 else float("nan")
        table.add(name, rel[min(9, iters - 1)], rel[min(99, iters - 1)], rel[-1], first(1e-3), first(1e-6), slope)
    table.notes.append(f"λ = {lam:.3g} (λ_max/50), step 1/L with L = {L:.4g}; F* from coordinate descent, "
                       f"gap {ref.crit:.1e}. Expected slopes: about −1 for ISTA and −2 for FISTA while the "
                       "iterates are far from F* (faster, linear, convergence once the support is found).")
    fig, ax = new_figure(figsize=(6, 4.5))
    for name, c in curves.items():
        ax.loglog(ks, np.maximum(c / scale, 1e-16), label=name)
    c0 = curves["ISTA"][0] / scale
    ax.loglog(ks, c0 / ks, "k:", lw=0.8, label="C/k")
    ax.loglog(ks, c0 / ks ** 2, "k--", lw=0.8, label="C/k²")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("(F(x_k) − F*) / (F(0) − F*)")
    ax.set_title(f"ℓ1 deblurring, {m}×{m}")
    ax.legend()
    cmd = "proxgan reproduce fista" + (" --quick" if quick else "")
    paths = write_table(out_dir, "fista", [table], command=cmd, preamble=(__doc__ or "").split("\n\n", 1)[1], quick=quick)
    paths["png"] = save_figure(fig, Path(out_dir) / "fista.png", quick)
    paths["curves"] = Path(out_dir) / "fista_curves.csv"
    np.savetxt(paths["curves"], np.column_stack([ks] + [c for c in curves.values()]), delimiter=",",
               header="k," + ",".join(curves), comments="")
    return paths
