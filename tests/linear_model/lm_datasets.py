"""Datasets and independent objective/gap formulas shared by the linear-model tests."""
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits


@lru_cache(maxsize=None)
def dataset(name):
    """(X, y) float64; sparse ones as CSC (CSR for '-csr')."""
    rng = np.random.default_rng(0)
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
        return X, y / y.std()
    if name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
        X = (X - X.mean(0)) / X.std(0)
        return X, y.astype(float)
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X[:600] / 16.0, y[:600].astype(float)
    if name == "dense-n>>p":
        X = rng.standard_normal((300, 30)) + 0.5
        return X, X[:, :5] @ rng.standard_normal(5) + 0.3 * rng.standard_normal(300) + 2.0
    if name == "dense-p>>n":
        X = rng.standard_normal((40, 200))
        return X, X[:, :5] @ rng.standard_normal(5) + 0.3 * rng.standard_normal(40) - 1.0
    if name in ("sparse-n>>p", "sparse-csr"):
        X = sp.random(200, 60, density=0.15, random_state=1, format="csc", data_rvs=rng.standard_normal)
        y = X @ np.r_[rng.standard_normal(6), np.zeros(54)] + 0.1 * rng.standard_normal(200) + 1.0
        return (X.tocsr() if name == "sparse-csr" else X), y
    if name == "sparse-p>>n":
        X = sp.random(50, 300, density=0.1, random_state=2, format="csc", data_rvs=rng.standard_normal)
        return X, X @ np.r_[rng.standard_normal(5), np.zeros(295)] + 0.1 * rng.standard_normal(50)
    raise KeyError(name)


def dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def centered(X, y, fit_intercept):
    Xd = dense(X).astype(np.float64)
    y = np.asarray(y, dtype=np.float64)
    if fit_intercept:
        return Xd - Xd.mean(0), y - y.mean()
    return Xd, y


def enet_objective(X, y, coef, intercept, alpha, l1_ratio=1.0):
    """scikit-learn's ElasticNet objective, in float64."""
    Xd = dense(X).astype(np.float64)
    coef = np.asarray(coef, dtype=np.float64)
    r = np.asarray(y, dtype=np.float64) - Xd @ coef - intercept
    return (0.5 * r @ r / len(r) + alpha * l1_ratio * np.abs(coef).sum()
            + 0.5 * alpha * (1 - l1_ratio) * coef @ coef)


def alpha_max(X, y, fit_intercept, l1_ratio=1.0):
    Xc, yc = centered(X, y, fit_intercept)
    return np.abs(Xc.T @ yc).max() / (len(yc) * l1_ratio)
