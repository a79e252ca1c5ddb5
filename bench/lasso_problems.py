"""Problems L1–L5 of shared/BENCHMARKS.md and the independent Lasso duality gap used to check them."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["PROBLEMS", "make_problem", "lasso_gap", "alpha_max", "glmnet_data"]

# id: (design, n, p, rho, alpha_max divisor)
PROBLEMS = {
    "L1": ("equicorrelated", 1000, 5000, 0.5, 20),
    "L2": ("equicorrelated", 5000, 500, 0.0, 20),
    "L3": ("equicorrelated", 200, 20000, 0.2, 20),
    "L4": ("toeplitz", 500, 600, 0.6, 100),
    "L5": ("toeplitz", 100, 10000, 0.6, 100),
}


def _design(kind, n, p, rho, rng):
    if kind == "equicorrelated":
        return np.sqrt(1 - rho) * rng.standard_normal((n, p)) + np.sqrt(rho) * rng.standard_normal((n, 1))
    X = np.empty((n, p))  # Toeplitz correlation rho^|i-j|: an AR(1) process across columns
    X[:, 0] = rng.standard_normal(n)
    c = np.sqrt(1 - rho * rho)
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + c * rng.standard_normal(n)
    return X


def make_problem(pid: str, seed: int = 0):
    """Return (X Fortran float64, y, alpha) of problem ``pid`` (BENCHMARKS.md, seed 0)."""
    kind, n, p, rho, div = PROBLEMS[pid]
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(_design(kind, n, p, rho, rng))
    beta = np.zeros(p)
    k = max(p // 10, 1)
    beta[:k] = rng.standard_normal(k)
    signal = X @ beta
    sigma = np.sqrt(signal.var() / 3.0)
    y = signal + sigma * rng.standard_normal(n)
    return X, y, alpha_max(X, y) / div


def alpha_max(X, y):
    return float(np.max(np.abs(X.T @ y))) / X.shape[0]


def lasso_gap(X, y, w, alpha):
    """P(w) − D(θ) with θ = r / max(nα, ‖Xᵀr‖∞), all in float64 (BENCHMARKS.md)."""
    X = X if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n = X.shape[0]
    r = y - X @ w
    primal = 0.5 * (r @ r) / n + alpha * np.abs(w).sum()
    theta = r / max(n * alpha, np.max(np.abs(X.T @ r)))
    d = y - n * alpha * theta
    dual = 0.5 * ((y @ y) - (d @ d)) / n
    return primal - dual


def glmnet_data(N, p, rho, seed=0):
    """glmnet Table 1 data: X_j = Z_j + b·z0, β_j = (−1)^j exp(−2(j−1)/20), SNR 3."""
    rng = np.random.default_rng(seed)
    b = np.sqrt(rho / (1 - rho)) if rho > 0 else 0.0
    X = np.asfortranarray(rng.standard_normal((N, p)) + b * rng.standard_normal((N, 1)))
    j = np.arange(1, p + 1)
    beta = (-1.0) ** j * np.exp(-2 * (j - 1) / 20)
    signal = X @ beta
    k = np.sqrt(signal.var() / 3.0)
    return X, signal + k * rng.standard_normal(N)
