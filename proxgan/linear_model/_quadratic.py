r"""Least-squares fitting shared by the Lasso, elastic-net and Ridge estimators and the paths.

One place decides how a :class:`~proxgan.datafits.Quadratic` problem plus an L1 / L2 / elastic-net
penalty is solved (:func:`fit_quadratic`), when the Gram matrix is used (:func:`use_gram`) and
where the automatic alpha grid starts (:func:`alpha_grid`).
"""
from __future__ import annotations

import importlib
import warnings

import numpy as np

from proxgan import penalties as _pen
from proxgan.datafits import Quadratic
from proxgan.solvers import Composite, SolverResult, enet_gap_criterion
from proxgan.solvers import cd as _cd

__all__ = ["enet_penalty", "use_gram", "gram_for", "fit_quadratic", "alpha_grid", "cd_anderson"]


def enet_penalty(alpha: float, l1_ratio: float) -> _pen.Penalty:
    r""":math:`\alpha(\rho\lVert w\rVert_1 + \tfrac{1-\rho}2\lVert w\rVert^2)` as a proxgan penalty."""
    return _pen.L1(alpha) if l1_ratio == 1.0 else _pen.ElasticNet(alpha, l1_ratio)


def use_gram(precompute, df: Quadratic) -> bool:
    """scikit-learn's ``precompute``: True, False, "auto" (Gram when dense and n > p) or a Gram
    matrix (already given to the datafit with :meth:`~proxgan.datafits.Quadratic.set_gram`)."""
    if isinstance(precompute, str):
        if precompute == "auto":
            return not df.sparse and df.n_samples > df.n_features
        raise ValueError(f"precompute must be True, False, 'auto' or a Gram matrix, got {precompute!r}")
    if isinstance(precompute, (bool, np.bool_)):
        return bool(precompute) and not df.sparse
    return not df.sparse  # an array: the Gram matrix


def gram_for(precompute, df: Quadratic, X_off, sw=None, check: bool = True) -> bool | np.ndarray:
    """What the solver gets as ``precompute`` for the problem ``df`` (centred by ``X_off``, weighted
    by ``sw``): False, True (form the Gram matrix from ``df``) or the user's Gram matrix.

    A user's matrix is used only when it describes the problem solved; otherwise (scikit-learn's
    rule: centring or weighting changes the Gram) this warns and returns True, so that it is
    recomputed. With ``check``, one entry is compared with the data. ``df`` is not modified.
    """
    use = use_gram(precompute, df)
    if not use or isinstance(precompute, (bool, np.bool_, str)):
        return use
    gram = precompute
    if sw is not None or not np.allclose(X_off, 0):
        what = "centered to fit intercept" if sw is None else "weighted"
        warnings.warn(f"Gram matrix was provided but X was {what}: recomputing Gram matrix.", UserWarning,
                      stacklevel=4)
        return True
    gram = np.asarray(gram, dtype=np.float64)
    p = df.n_features
    if check and gram.shape == (p, p) and p > 0:
        i = p // 2
        j = min(i + 1, p - 1)
        expected = float(df.X[:, i] @ df.X[:, j])
        if not np.isclose(expected, gram[i, j], rtol=1e-4, atol=1e-5):
            raise ValueError(f"Gram matrix passed in via 'precompute' parameter did not pass validation when a "
                             f"single element was checked - please check that it was computed properly. For "
                             f"element ({i},{j}) we computed {expected} but the user-supplied value was "
                             f"{gram[i, j]}.")
    if gram.shape != (p, p):
        raise ValueError(f"the Gram matrix must have shape ({p}, {p}), got {gram.shape}")
    return gram


def cd_anderson(df: Quadratic) -> int:
    """Anderson depth of the estimators' coordinate descent: 5 where a solution may hold a large share
    of the features (:func:`proxgan.solvers.cd.dense_support`, ``p <= 2n``), else 10 (the solver's default).

    There the working sets reach a large share of ``X`` and are checked after epochs 3 and 6, so their
    inner solves usually end at the 3rd or 6th epoch, before a depth of 10 (11 epochs) ever
    extrapolates; a depth of 5 tries at the 6th. benchopt's 500 x 600 Lasso at 0.05·alpha_max went from
    6 to 5 outer iterations (23.7 -> 17.5 reads of each column), L4 of ``bench/bench_lasso.py`` from 7
    to 6; L2 (5000 x 500) did not change. Where ``p > 2n`` (L1, L3, L5) a depth of 5 took more outer
    iterations (11, 15, 16 instead of 10, 14, 14). The estimators run without dual extrapolation, whose
    residual windows an extrapolation every 6 epochs would break (``tests/solvers/test_cd_screening.py``),
    which is why this is the estimators' choice and not the solver's default.

    Parameters
    ----------
    df : Quadratic
        The (centred, weighted) least-squares datafit.

    Returns
    -------
    int
    """
    return 5 if _cd.dense_support(df) else 10


def fit_quadratic(df: Quadratic, penalty: _pen.Penalty, *, solver: str, device: str, tol: float, max_iter: int,
                  positive: bool = False, coef_init=None, precompute: bool | np.ndarray = False) -> SolverResult:
    """Run ``solver`` ("cd", "fista" or "ista") on ``df + penalty`` until the duality gap is ``<= tol``
    (absolute), or, for a non-negative ridge (no duality gap), the optimality violation.
    ``precompute`` (coordinate descent only): as returned by :func:`gram_for`."""
    if solver == "cd":  # scikit-learn's stopping rule and dual_gap_: the rescaled residual as dual point
        # (dual extrapolation and screening certify a smaller gap, so they stop earlier, at points that
        # scikit-learn's own tests find too far from its coefficients; proxgan.solvers.cd.solve has them)
        return _cd.solve(df, penalty, positive=positive, coef_init=coef_init, tol=tol, max_iter=max_iter,
                         precompute=precompute, screening=False, dual_extrapolation=0, anderson=cd_anderson(df))
    df.to(device)
    pen = Composite(penalty, lo=0.0) if positive else penalty
    mod = importlib.import_module(f"proxgan.solvers.{solver}")  # fista / ista: torch, imported when used
    if positive and isinstance(penalty, _pen.L2):
        return mod.solve(df, pen, coef_init=coef_init, tol=tol, max_iter=max_iter)
    return mod.solve(df, pen, coef_init=coef_init, tol=tol, max_iter=max_iter,
                     criterion=enet_gap_criterion(df, penalty, positive), criterion_name="gap")


def alpha_grid(dfs, l1_ratio: float = 1.0, eps: float = 1e-3, n_alphas: int = 100,
               positive: bool = False) -> np.ndarray:
    r"""Decreasing log-spaced grid from :math:`\alpha_{max}` down to ``eps·α_max``.

    ``dfs``: one datafit, or one per target (same design). :math:`\alpha_{max}`, the smallest
    alpha whose solution is zero, is :math:`\max_j \lVert (X'^\top Y)_{j\cdot}\rVert_2/(n\rho)`
    (:math:`\lVert X'^\top y\rVert_\infty/(n\rho)` for one target); with ``positive``
    :math:`\max(0, \max_j X_j'^\top y)/(n\rho)`.
    """
    if l1_ratio <= 0:
        raise ValueError("Automatic alpha grid generation is not supported for l1_ratio=0. Please supply a grid "
                         "by providing your estimator with the appropriate `alphas=` argument.")
    dfs = dfs if isinstance(dfs, (list, tuple)) else [dfs]
    G = np.column_stack([df.correlation() for df in dfs])
    if G.size == 0:
        top = 0.0
    elif positive:
        top = max(0.0, float(np.max(G)))
    else:
        top = float(np.sqrt(np.max((G * G).sum(axis=1))))
    amax = top / (dfs[0].n_samples * l1_ratio)
    if amax <= np.finfo(float).resolution:
        return np.full(n_alphas, np.finfo(float).resolution)
    return np.geomspace(amax, amax * eps, num=n_alphas)
