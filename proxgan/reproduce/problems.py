r"""Synthetic Lasso problems of ``bench/PROTOCOL.md``, and the duality gap that judges them.

* :func:`make_problem` — the timed problems L1–L5 (equicorrelated or Toeplitz designs,
  :math:`p/10` standard-normal true coefficients, SNR 3, seed 0, float64);
* :func:`glmnet_data` — the data of Friedman, Hastie & Tibshirani (2010), Table 1:
  :math:`X_j = Z_j + b z_0` with :math:`b = \sqrt{\rho/(1-\rho)}`,
  :math:`\beta_j = (-1)^j e^{-2(j-1)/20}`, SNR 3;
* :func:`lasso_gap` — :math:`P(w) - D(\theta)` with :math:`\theta = r/\max(n\alpha, \lVert X^\top r\rVert_\infty)`,
  computed in float64 from the coefficients alone (never trust a solver's own report).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["PROBLEMS", "make_problem", "glmnet_data", "lasso_gap", "lasso_objective", "alpha_max"]

#: id -> (design, n, p, rho, alpha_max / alpha)
PROBLEMS: dict[str, tuple[str, int, int, float, int]] = {
    "L1": ("equicorrelated", 1000, 5000, 0.5, 20),
    "L2": ("equicorrelated", 5000, 500, 0.0, 20),
    "L3": ("equicorrelated", 200, 20000, 0.2, 20),
    "L4": ("toeplitz", 500, 600, 0.6, 100),
    "L5": ("toeplitz", 100, 10000, 0.6, 100),
}


def _design(kind: str, n: int, p: int, rho: float, rng: np.random.Generator) -> np.ndarray:
    if kind == "equicorrelated":  # pairwise correlation rho
        return np.sqrt(1 - rho) * rng.standard_normal((n, p)) + np.sqrt(rho) * rng.standard_normal((n, 1))
    if kind == "toeplitz":  # corr(x_i, x_j) = rho^|i-j|: a stationary AR(1) across columns
        X = np.empty((n, p))
        X[:, 0] = rng.standard_normal(n)
        innov = np.sqrt(1 - rho * rho)
        for j in range(1, p):
            X[:, j] = rho * X[:, j - 1] + innov * rng.standard_normal(n)
        return X
    raise ValueError(f"unknown design {kind!r}")


def alpha_max(X, y) -> float:
    """Smallest alpha with an all-zero Lasso solution: ``||X^T y||_inf / n``.

    Parameters
    ----------
    X : numpy.ndarray
        Design.
    y : numpy.ndarray
        Targets.
    """
    return float(np.max(np.abs(X.T @ y))) / X.shape[0]


def make_problem(pid: str, seed: int = 0, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, float]:
    """``(X, y, alpha)`` of problem ``pid`` in L1–L5; ``scale < 1`` shrinks n and p (quick runs).

    Parameters
    ----------
    pid : str
        ``L1`` ... ``L5``.
    seed : int
        Seed.
    scale : float
        Size factor (1: the protocol's sizes).
    """
    if pid not in PROBLEMS:
        raise ValueError(f"unknown problem {pid!r}; choose from {sorted(PROBLEMS)}")
    kind, n, p, rho, div = PROBLEMS[pid]
    n, p = max(int(n * scale), 10), max(int(p * scale), 10)
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(_design(kind, n, p, rho, rng))
    beta = np.zeros(p)
    k = max(p // 10, 1)
    beta[:k] = rng.standard_normal(k)
    signal = X @ beta
    y = signal + np.sqrt(signal.var() / 3.0) * rng.standard_normal(n)
    return X, y, alpha_max(X, y) / div


def glmnet_data(N: int, p: int, rho: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Data of glmnet's Table 1 (Fortran-ordered float64 ``X``, ``y``).

    Parameters
    ----------
    N : int
        Samples.
    p : int
        Features.
    rho : float
        Pairwise correlation of the features.
    seed : int
        Seed.
    """
    rng = np.random.default_rng(seed)
    b = np.sqrt(rho / (1 - rho)) if rho > 0 else 0.0
    X = np.asfortranarray(rng.standard_normal((N, p)) + b * rng.standard_normal((N, 1)))
    j = np.arange(1, p + 1)
    beta = (-1.0) ** j * np.exp(-2 * (j - 1) / 20)
    signal = X @ beta
    return X, signal + np.sqrt(signal.var() / 3.0) * rng.standard_normal(N)


def lasso_objective(X, y, w, alpha: float) -> float:
    """:math:`P(w) = \\lVert y - Xw\\rVert^2/(2n) + \\alpha\\lVert w\\rVert_1`.

    Parameters
    ----------
    X : numpy.ndarray
        Design.
    y : numpy.ndarray
        Targets.
    w : numpy.ndarray
        Coefficients.
    alpha : float
        Lasso penalty.
    """
    r = np.asarray(y, dtype=np.float64) - X @ np.asarray(w, dtype=np.float64)
    return 0.5 * float(r @ r) / X.shape[0] + alpha * float(np.abs(w).sum())


def lasso_gap(X, y, w, alpha: float) -> float:
    """Duality gap :math:`P(w) - D(\\theta)` in float64 (``bench/PROTOCOL.md``).

    Parameters
    ----------
    X : numpy.ndarray
        Design.
    y : numpy.ndarray
        Targets.
    w : numpy.ndarray
        Coefficients.
    alpha : float
        Lasso penalty.
    """
    X = X if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n = X.shape[0]
    r = y - X @ w
    theta = r / max(n * alpha, float(np.max(np.abs(X.T @ r))))
    d = y - n * alpha * theta
    dual = 0.5 * (float(y @ y) - float(d @ d)) / n
    return lasso_objective(X, y, w, alpha) - dual
