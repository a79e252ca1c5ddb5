"""Lasso solvers to race: proxgan's and, when installed, scikit-learn's, skglm's and celer's.

Every contender solves the same problem, :math:`\\min_w \\lVert y-Xw\\rVert^2/(2n) + \\alpha\\lVert w\\rVert_1`
without intercept, and returns coefficients of shape ``(p, len(alphas))`` for a path or
``(p,)`` for one alpha. A contender that is not installed is reported, not raised.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

__all__ = ["path_contenders", "single_contenders", "MISSING"]

#: name -> why it is missing (filled by the factories below)
MISSING: dict[str, str] = {}


def _quiet(fn):
    def wrapped(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return wrapped


def path_contenders(solvers=("cd", "fista", "ista"), max_iter: int = 100_000) -> dict[str, Callable | str]:
    """name -> ``f(X, y, alphas, tol) -> coefs (p, n_alphas)``, or a string saying why it is missing."""
    from proxgan.linear_model import lasso_path

    out: dict[str, Callable | str] = {}
    for s in solvers:
        out[f"proxgan {s}"] = _quiet(lambda X, y, a, tol, s=s: lasso_path(
            X, y, alphas=a, tol=tol, solver=s, max_iter=max_iter)[1])
    try:
        from sklearn.linear_model import lasso_path as sk_path

        out["scikit-learn"] = _quiet(lambda X, y, a, tol: sk_path(X, y, alphas=a, tol=tol, max_iter=max_iter)[1])
    except ImportError:  # pragma: no cover - sklearn is a core dependency
        out["scikit-learn"] = "not installed"
    try:
        from skglm import Lasso as SkglmLasso

        out["skglm"] = _quiet(lambda X, y, a, tol: SkglmLasso(fit_intercept=False, tol=tol, max_iter=1000)
                              .path(X, y, a)[1])
    except ImportError:
        out["skglm"] = "not installed (pip install 'proxgan[bench]')"
    try:
        from celer import celer_path

        out["celer"] = _quiet(lambda X, y, a, tol: celer_path(X, y, "lasso", alphas=a, tol=tol)[1])
    except ImportError:
        out["celer"] = "not installed (pip install 'proxgan[bench]')"
    return out


def single_contenders(solvers=("cd",), max_iter: int = 100_000) -> dict[str, Callable | str]:
    """name -> ``f(X, y, alpha, tol) -> coef (p,)``, or a string saying why it is missing."""
    from proxgan.linear_model import Lasso

    out: dict[str, Callable | str] = {}
    for s in solvers:
        out[f"proxgan {s}"] = _quiet(lambda X, y, a, tol, s=s: Lasso(
            alpha=a, fit_intercept=False, tol=tol, max_iter=max_iter, solver=s).fit(X, y).coef_)
    from sklearn.linear_model import Lasso as SkLasso

    out["scikit-learn"] = _quiet(lambda X, y, a, tol: SkLasso(alpha=a, fit_intercept=False, tol=tol,
                                                              max_iter=max_iter).fit(X, y).coef_)
    try:
        from skglm import Lasso as SkglmLasso

        out["skglm"] = _quiet(lambda X, y, a, tol: SkglmLasso(alpha=a, fit_intercept=False, tol=tol,
                                                              max_iter=1000).fit(X, y).coef_)
    except ImportError:
        out["skglm"] = "not installed (pip install 'proxgan[bench]')"
    try:
        from celer import Lasso as CelerLasso

        out["celer"] = _quiet(lambda X, y, a, tol: CelerLasso(alpha=a, fit_intercept=False, tol=tol)
                              .fit(X, y).coef_)
    except ImportError:
        out["celer"] = "not installed (pip install 'proxgan[bench]')"
    return out


def as_path_coefs(coefs) -> np.ndarray:
    c = np.asarray(coefs)
    return c.reshape(c.shape[-2], c.shape[-1]) if c.ndim == 3 else c
