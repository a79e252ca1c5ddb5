r"""``proxgan reproduce nonconvex``: support recovery by L1, MCP, SCAD, L0, :math:`\ell_{1/2}` and log-sum.

The classic result (Zhang 2010, Breheny & Huang 2011): on a correlated design, the Lasso picks
the true features only together with many false ones (its shrinkage of the large coefficients
must be compensated by a small :math:`\lambda`), while the folded-concave penalties (MCP, SCAD)
leave large coefficients unbiased and recover the support.

Data. :math:`n = 200` samples, :math:`p = 1000` features with Toeplitz correlation
:math:`\operatorname{corr}(x_i, x_j) = 0.5^{|i-j|}` (unit variances); a true :math:`\beta` with
:math:`s = 10` non-zero entries at random positions, random signs and magnitudes uniform in
[0.5, 1.5]; :math:`y = X\beta + \sigma\varepsilon` with :math:`\sigma` set for
:math:`\mathrm{SNR} = \operatorname{Var}(X\beta)/\sigma^2 = 3`. A validation set of another
:math:`n` samples comes from the same model. Each seed draws new data.

Fits. :math:`\frac{1}{2n}\lVert y - Xw - b\rVert^2 + \sum_j g_\lambda(w_j)` with L1, MCP
(:math:`\gamma = 3`), SCAD (:math:`\gamma = 3.7`), L0, :math:`\ell_{1/2}` and log-sum
(:math:`\epsilon = 0.1`), each along its own path of 40 values of :math:`\lambda`, log-spaced from
:math:`\lambda_{max}` (the smallest :math:`\lambda` at which a coordinate-descent pass from zero
keeps every coefficient at zero, found by bisection on the penalty's own prox) down to
:math:`10^{-3}\lambda_{max}`, warm-started coordinate descent (:func:`proxgan.solvers.cd.solve`,
fixed-point violation :math:`\le 10^{-8}`); a path stops once more than :math:`n/2` coefficients
are non-zero.

Scores. Support F1 (:math:`2|S\cap\hat S|/(|S| + |\hat S|)`, exact zeros) and estimation error
:math:`\lVert\hat\beta - \beta\rVert_2`, at two choices of :math:`\lambda` on each path: the best
F1 on the path (an oracle: what the penalty can do at its best :math:`\lambda`), and the smallest
validation mean squared error (what a user tuning :math:`\lambda` gets). Mean ± standard deviation
over seeds (5 by default).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from proxgan.datafits import Quadratic
from proxgan.penalties import L0, L1, MCP, SCAD, LogSum, Lq, Penalty
from proxgan.reproduce._report import Table, bar, mean_std, new_figure, pm, save_figure, write_table
from proxgan.reproduce.problems import _design
from proxgan.solvers import cd as _cd

__all__ = ["PENALTIES", "simulate", "lambda_max", "fit_path", "support_f1", "run"]

#: name -> penalty at strength lam
PENALTIES: dict[str, Callable[[float], Penalty]] = {
    "L1 (Lasso)": L1,
    "MCP (γ=3)": lambda lam: MCP(lam, 3.0),
    "SCAD (γ=3.7)": lambda lam: SCAD(lam, 3.7),
    "L0": L0,
    "ℓ1/2": lambda lam: Lq(lam, 0.5),
    "LogSum (ε=0.1)": lambda lam: LogSum(lam, 0.1),
}


def simulate(n: int, p: int, s: int, rho: float, snr: float, seed: int):
    """``(X, y, X_val, y_val, beta)``: Toeplitz design, ``s`` true features (module docstring).

    Parameters
    ----------
    n : int
        Samples (training; the validation set has as many).
    p : int
        Features.
    s : int
        Size of the true support.
    rho : float
        Toeplitz correlation :math:`\\rho^{|i-j|}`.
    snr : float
        :math:`\\operatorname{Var}(X\\beta)/\\sigma^2`.
    seed : int
        Seed of everything drawn.
    """
    rng = np.random.default_rng(seed)
    X = _design("toeplitz", 2 * n, p, rho, rng)
    beta = np.zeros(p)
    support = rng.choice(p, s, replace=False)
    beta[support] = rng.choice([-1.0, 1.0], s) * rng.uniform(0.5, 1.5, s)
    signal = X @ beta
    y = signal + np.sqrt(signal.var() / snr) * rng.standard_normal(2 * n)
    return X[:n], y[:n], X[n:], y[n:], beta


def lambda_max(make: Callable[[float], Penalty], c: np.ndarray, L: np.ndarray) -> float:
    """Smallest :math:`\\lambda` at which every coordinate step from zero,
    :math:`\\operatorname{prox}_{g_\\lambda/L_j}(c_j/L_j)`, is zero (bisection to 1e-6 relative).

    Parameters
    ----------
    make : callable
        ``lam -> penalty``.
    c : numpy.ndarray
        :math:`|X_j^\\top y|/n` per coordinate (the gradient at zero).
    L : numpy.ndarray
        Coordinate-wise Lipschitz constants :math:`\\lVert X_j\\rVert^2/n`.
    """
    x, step = torch.from_numpy(c / L), torch.from_numpy(1.0 / L)

    def zero(lam):
        return bool(torch.all(make(lam).prox(x, step) == 0))

    hi = float(np.max(c)) + 1.0
    while not zero(hi):
        hi *= 4.0
    lo = hi / 4.0
    while zero(lo):
        lo /= 4.0
    while hi - lo > 1e-6 * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if zero(mid) else (mid, hi)
    return hi


def fit_path(X: np.ndarray, y: np.ndarray, make: Callable[[float], Penalty], lams: np.ndarray,
             dfmax: int, tol: float = 1e-8) -> tuple[list[np.ndarray], int]:
    """Coefficients along ``lams`` (decreasing) by warm-started coordinate descent on centred data, and
    the number of fits that stopped at ``max_iter`` above ``tol``; stops after the first fit with more
    than ``dfmax`` non-zeros.

    Parameters
    ----------
    X : numpy.ndarray
        Centred design (Fortran order is fastest).
    y : numpy.ndarray
        Centred targets.
    make : callable
        ``lam -> penalty``.
    lams : numpy.ndarray
        Decreasing strengths.
    dfmax : int
        Largest support size before the path stops.
    tol : float
        Fixed-point violation at which each fit stops.
    """
    df = Quadratic(X, y)
    w = np.zeros(X.shape[1])
    out, missed = [], 0
    for lam in lams:
        res = _cd.solve(df, make(float(lam)), coef_init=w, tol=tol, max_iter=5000)
        missed += not res.converged
        w = res.coef
        out.append(w.copy())
        if np.count_nonzero(w) > dfmax:
            break
    return out, missed


def support_f1(beta_hat: np.ndarray, beta: np.ndarray) -> float:
    """:math:`2|S\\cap\\hat S|/(|S| + |\\hat S|)` with supports of exact non-zeros.

    Parameters
    ----------
    beta_hat : numpy.ndarray
        Estimate.
    beta : numpy.ndarray
        Truth.
    """
    s_hat, s = beta_hat != 0, beta != 0
    denom = s_hat.sum() + s.sum()
    return 1.0 if denom == 0 else float(2 * np.sum(s_hat & s) / denom)


def _one_seed(seed: int, n: int, p: int, s: int, rho: float, snr: float, n_lams: int, ratio: float):
    """Per penalty: the path's λ/λ_max, F1, error, validation MSE and support size."""
    X, y, Xv, yv, beta = simulate(n, p, s, rho, snr, seed)
    xm, ym = X.mean(0), y.mean()
    Xc, yc = np.asfortranarray(X - xm), y - ym
    c = np.abs(Xc.T @ yc) / n
    L = (Xc * Xc).sum(0) / n
    out = {}
    for name, make in PENALTIES.items():
        lmax = lambda_max(make, c, L)
        lams = lmax * np.geomspace(1.0, ratio, n_lams)
        coefs, missed = fit_path(Xc, yc, make, lams, dfmax=n // 2)
        out[name] = {
            "rel_lam": lams[:len(coefs)] / lmax,
            "f1": np.array([support_f1(w, beta) for w in coefs]),
            "err": np.array([np.linalg.norm(w - beta) for w in coefs]),
            "mse": np.array([np.mean((yv - ym - (Xv - xm) @ w) ** 2) for w in coefs]),
            "size": np.array([np.count_nonzero(w) for w in coefs]),
            "missed": missed,
        }
    return out


def run(out_dir: str | Path, quick: bool = False, progress: bool = True, seeds: int | None = None) -> dict[str, Path]:
    """Write ``nonconvex.md``, ``nonconvex.csv`` (the table), ``nonconvex_paths.csv`` and ``nonconvex.png``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder of the files written.
    quick : bool
        A seconds-long smoke run: n = 60, p = 120, s = 4, SNR 10, 12 values of λ.
    progress : bool
        Show a progress bar.
    seeds : int, optional
        Number of seeds (default 5; 1 when quick).
    """
    default = 1 if quick else 5
    n_seeds = default if seeds is None else seeds
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or n_seeds < 1:
        raise ValueError(f"seeds must be an int >= 1, got {seeds!r}")
    cmd = "proxgan reproduce nonconvex" + (" --quick" if quick else "") + (
        f" --seeds {n_seeds}" if n_seeds != default else "")
    if quick:
        n, p, s, rho, snr, n_lams, ratio = 60, 120, 4, 0.5, 10.0, 12, 1e-2
    else:
        n, p, s, rho, snr, n_lams, ratio = 200, 1000, 10, 0.5, 3.0, 40, 1e-3
    progress_bar = bar(n_seeds, "nonconvex", progress, unit="seed")
    results = []
    for seed in range(n_seeds):
        results.append(_one_seed(seed, n, p, s, rho, snr, n_lams, ratio))
        progress_bar.update()
    progress_bar.close()
    table = Table(f"Support recovery, n = {n}, p = {p}, Toeplitz ρ = {rho}, s = {s}, SNR = {snr:g}, "
                  f"mean ± std over {n_seeds} seed(s)",
                  ["penalty", "best F1 on the path", "‖β̂−β‖₂ at best F1", "support size at best F1",
                   "F1 at min validation MSE", "‖β̂−β‖₂ at min validation MSE", "support size at min validation MSE"])
    paths_table = Table("Every fit of every path", ["seed", "penalty", "λ/λ_max", "F1", "‖β̂−β‖₂",
                                                    "validation MSE", "support size"])
    for name in PENALTIES:
        best, val = [], []
        for seed, res in enumerate(results):
            r = res[name]
            i, j = int(np.argmax(r["f1"])), int(np.argmin(r["mse"]))
            best.append((r["f1"][i], r["err"][i], r["size"][i]))
            val.append((r["f1"][j], r["err"][j], r["size"][j]))
            for k in range(len(r["f1"])):
                paths_table.add(seed, name, float(r["rel_lam"][k]), float(r["f1"][k]), float(r["err"][k]),
                                float(r["mse"][k]), int(r["size"][k]))
        best, val = np.array(best), np.array(val)
        table.add(name, pm(best[:, 0]), pm(best[:, 1]), pm(best[:, 2]), pm(val[:, 0]), pm(val[:, 1]), pm(val[:, 2]))
    table.notes.append("Best F1 on the path is an oracle choice of λ (it uses the true support); the validation "
                       f"choice uses {n} fresh samples from the same model. Each penalty has its own λ scale, "
                       "so paths are compared at λ/λ_max (λ_max: the smallest λ with an all-zero first CD pass).")
    missed = sum(r[name]["missed"] for r in results for name in PENALTIES)
    fits = sum(len(r[name]["f1"]) for r in results for name in PENALTIES)
    table.notes.append(f"{fits} fits in all; {missed} of them stopped at max_iter (5000 epochs) before the "
                       "fixed-point violation reached 1e-8.")
    fig, ax = new_figure(figsize=(6.5, 4.5))
    for name in PENALTIES:
        grid = np.geomspace(1.0, ratio, n_lams)
        curves = [np.interp(np.log(grid[::-1]), np.log(r[name]["rel_lam"][::-1]), r[name]["f1"][::-1],
                            left=np.nan, right=np.nan)[::-1] for r in results]
        mean = np.array([mean_std([c[k] for c in curves if c[k] == c[k]] or [np.nan])[0] for k in range(n_lams)])
        ax.semilogx(grid, mean, marker=".", label=name)
    ax.invert_xaxis()
    ax.set_xlabel("λ / λ_max (each penalty's own λ_max)")
    ax.set_ylabel(f"support F1 (mean over {n_seeds} seed(s))")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"Support recovery along the λ path (n={n}, p={p}, ρ={rho}, s={s})")
    ax.legend(fontsize=8)
    preamble = (__doc__ or "").split("\n\n", 1)[1]
    paths = write_table(out_dir, "nonconvex", [table], command=cmd, preamble=preamble, quick=quick)
    paths["paths"] = Path(out_dir) / "nonconvex_paths.csv"
    with paths["paths"].open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(paths_table.columns)
        writer.writerows(paths_table.rows)
    paths["png"] = save_figure(fig, Path(out_dir) / "nonconvex.png", quick)
    return paths
