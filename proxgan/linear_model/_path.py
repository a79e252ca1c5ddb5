"""Regularisation paths of the Lasso and the elastic net (scikit-learn's ``lasso_path`` / ``enet_path``)."""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, check_consistent_length

from proxgan.linear_model import _dask
from proxgan.linear_model._base import (check_alpha, check_device, check_l1_ratio, check_positive_int, check_solver,
                                        preprocess, to_numpy, warn_not_converged)
from proxgan.linear_model._quadratic import alpha_grid, enet_penalty, fit_quadratic, gram_for
from proxgan.solvers.cd import solve_multitask

__all__ = ["enet_path", "lasso_path"]

_PARAMS = ("tol", "max_iter", "random_state", "selection", "solver", "device")


def _grid(df, alphas, n_alphas, l1_ratio, eps, positive):
    if n_alphas != "deprecated":
        warnings.warn("'n_alphas' was deprecated in 1.9 and will be removed in 1.11. 'alphas' now accepts an "
                      "integer value which removes the need to pass 'n_alphas'.", FutureWarning, stacklevel=4)
    if alphas is None:
        warnings.warn("'alphas=None' is deprecated and will be removed in 1.11, at which point the default value "
                      "will be set to 100. Set 'alphas=100' to silence this warning.", FutureWarning, stacklevel=4)
    if alphas is None or (isinstance(alphas, str) and alphas == "warn"):
        alphas = 100 if n_alphas == "deprecated" else n_alphas
    if isinstance(alphas, (int, np.integer)):
        return alpha_grid(df, l1_ratio, eps, check_positive_int(int(alphas), "alphas"), positive)
    alphas = np.sort(np.asarray(alphas, dtype=np.float64).ravel())[::-1]
    for a in alphas:
        check_alpha(float(a))
    return alphas


def enet_path(X, y, *, l1_ratio=0.5, eps=1e-3, n_alphas="deprecated", alphas="warn", precompute="auto", Xy=None,
              copy_X=True, coef_init=None, verbose=False, return_n_iter=False, positive=False, check_input=True,
              **params):
    r"""Elastic-net path with warm starts (scikit-learn's ``enet_path``; no intercept, X used as given).

    ``alphas``: a number of alphas for the automatic grid (default 100, from the smallest alpha
    whose solution is zero down to ``eps`` times it) or the alphas themselves (sorted decreasing).
    ``precompute="auto"`` runs coordinate descent on the Gram matrix (computed once for the
    whole path) when X is dense with more samples than features; ``precompute`` may also be that
    matrix. ``Xy``, ``copy_X`` and ``verbose`` are accepted for compatibility (X is never modified).
    ``params``: ``tol`` (1e-4; each fit stops at duality gap <= ``tol·‖y‖²/n``), ``max_iter`` (1000),
    ``random_state`` and ``selection`` (accepted, see :class:`~proxgan.linear_model.ElasticNet`),
    ``solver`` and ``device``.

    Returns ``alphas`` (decreasing), ``coefs`` of shape (n_features, n_alphas), ``dual_gaps``
    (and ``n_iters`` with ``return_n_iter``).

    A 2-D ``y`` (n_samples, n_targets) is scikit-learn's multi-task problem
    :math:`\frac{1}{2n}\lVert Y - XW\rVert_F^2 + \alpha\rho\sum_j\lVert W_j\rVert_2 + \frac{\alpha(1-\rho)}2\lVert W\rVert_F^2`
    (one group per feature across the targets), solved by block coordinate descent
    (:func:`proxgan.solvers.cd.solve_multitask`, CPU); ``coefs`` then has shape
    (n_targets, n_features, n_alphas), ``coef_init`` shape (n_targets, n_features), and the grid
    starts at :math:`\max_j\lVert X_j^\top Y\rVert_2/(n\rho)`. ``positive`` is not allowed there.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Design: NumPy array, SciPy sparse matrix (CSC/CSR) or torch tensor.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets; 2-D is the multi-task problem.
    l1_ratio : float
        Mix of L1 (1) and L2 (0) in the penalty.
    eps : float
        Length of the automatic grid: its smallest alpha is ``eps`` times the largest.
    n_alphas : int
        Deprecated (as in scikit-learn): give the number of alphas as ``alphas``.
    alphas : int or array-like
        Number of alphas of the automatic grid (default 100), or the alphas themselves.
    precompute : 'auto', bool or array-like
        Use (or give) the Gram matrix; ``auto`` when X is dense with more samples than features.
    Xy : array-like, optional
        Accepted for compatibility.
    copy_X : bool
        Accepted for compatibility (X is never modified).
    coef_init : array-like, optional
        Starting coefficients of the first fit.
    verbose : bool or int
        Accepted for compatibility.
    return_n_iter : bool
        Also return the iterations of each fit.
    positive : bool
        Constrain the coefficients to be non-negative.
    check_input : bool
        Accepted for compatibility.
    **params
        ``tol``, ``max_iter``, ``random_state``, ``selection``, ``solver`` and ``device`` (see
        above).
    """
    unknown = set(params) - set(_PARAMS)
    if unknown:
        raise ValueError("Unexpected parameters in params", unknown)
    tol = float(params.get("tol", 1e-4))
    max_iter = int(params.get("max_iter", 1000))
    device = check_device(params.get("device", "cpu"))
    solver = check_solver(params.get("solver", "auto"), device)
    l1_ratio = check_l1_ratio(l1_ratio)
    if _dask.is_dask(X) or _dask.is_dask(y):  # one pass for the Gram matrix, then the path
        return _dask.enet_path(X, y, l1_ratio=l1_ratio, eps=eps, n_alphas=n_alphas, alphas=alphas, coef_init=coef_init,
                               return_n_iter=return_n_iter, positive=positive, tol=tol, max_iter=max_iter,
                               solver=params.get("solver", "auto"), device=device)
    X = to_numpy(X)
    y = to_numpy(y)
    if check_input:
        X = check_array(X, accept_sparse=["csc", "csr"], dtype=[np.float64, np.float32])
        y = check_array(y, ensure_2d=False, dtype=None)
        check_consistent_length(X, y)
    y = np.asarray(y)
    if y.ndim == 2:
        if positive:
            raise ValueError("positive=True is not allowed for multi-output (y.ndim != 1)")
        return _multitask_path(X, y, l1_ratio, eps, n_alphas, alphas, coef_init, return_n_iter, tol, max_iter)
    Y = y.reshape(-1, 1)
    n, p = X.shape
    dfs = [preprocess(X, y, fit_intercept=False)[0]]
    grid = _grid(dfs, alphas, n_alphas, l1_ratio, eps, positive)
    coefs = np.empty((Y.shape[1], p, len(grid)), dtype=X.dtype)
    gaps = np.empty((Y.shape[1], len(grid)))
    n_iters = []
    for k, df in enumerate(dfs):
        gram = gram_for(precompute, df, np.zeros(p), None, check_input)
        tol_abs = tol * float(df.y @ df.y) / n
        w = None if coef_init is None else np.asarray(coef_init, dtype=np.float64).reshape(Y.shape[1], p)[k]
        for a_i, a in enumerate(grid):
            res = fit_quadratic(df, enet_penalty(float(a), l1_ratio), solver=solver, device=device, tol=tol_abs,
                                max_iter=max_iter, positive=positive, coef_init=w, precompute=gram)
            if not res.converged:
                warn_not_converged(res.crit, tol_abs)
            w = res.coef
            coefs[k, :, a_i] = w
            gaps[k, a_i] = res.crit
            n_iters.append(res.n_iter)
    coefs, gaps = coefs[0], gaps[0]
    if return_n_iter:
        return grid, coefs, gaps, n_iters
    return grid, coefs, gaps


def _multitask_path(X, Y, l1_ratio, eps, n_alphas, alphas, coef_init, return_n_iter, tol, max_iter):
    """The 2-D ``y`` case of :func:`enet_path`."""
    n, p = X.shape
    T = Y.shape[1]
    Xd = np.asfortranarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    Yd = np.asfortranarray(Y, dtype=np.float64)
    dfs = [preprocess(Xd, Yd[:, k], fit_intercept=False)[0] for k in range(T)]
    grid = _grid(dfs, alphas, n_alphas, l1_ratio, eps, False)
    coefs = np.empty((T, p, len(grid)), dtype=X.dtype)
    gaps = np.empty(len(grid))
    n_iters = []
    tol_abs = tol * float((Yd * Yd).sum()) / n
    W = None if coef_init is None else np.asarray(coef_init, dtype=np.float64).reshape(T, p).T
    for a_i, a in enumerate(grid):
        res = solve_multitask(Xd, Yd, float(a) * l1_ratio, float(a) * (1.0 - l1_ratio), coef_init=W, tol=tol_abs,
                              max_iter=max_iter, rel_change=tol)
        if not res.converged:
            warn_not_converged(res.crit, tol_abs)
        W = res.coef
        coefs[:, :, a_i] = W.T
        gaps[a_i] = res.crit
        n_iters.append(res.n_iter)
    if return_n_iter:
        return grid, coefs, gaps, n_iters
    return grid, coefs, gaps


def lasso_path(X, y, *, eps=1e-3, n_alphas="deprecated", alphas="warn", precompute="auto", Xy=None, copy_X=True,
               coef_init=None, verbose=False, return_n_iter=False, positive=False, **params):
    """Lasso path with warm starts: :func:`enet_path` with ``l1_ratio=1``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Design: NumPy array, SciPy sparse matrix (CSC/CSR) or torch tensor.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets; 2-D is the multi-task problem.
    eps : float
        Length of the automatic grid: its smallest alpha is ``eps`` times the largest.
    n_alphas : int
        Deprecated (as in scikit-learn): give the number of alphas as ``alphas``.
    alphas : int or array-like
        Number of alphas of the automatic grid (default 100), or the alphas themselves.
    precompute : 'auto', bool or array-like
        Use (or give) the Gram matrix; ``auto`` when X is dense with more samples than features.
    Xy : array-like, optional
        Accepted for compatibility.
    copy_X : bool
        Accepted for compatibility (X is never modified).
    coef_init : array-like, optional
        Starting coefficients of the first fit.
    verbose : bool or int
        Accepted for compatibility.
    return_n_iter : bool
        Also return the iterations of each fit.
    positive : bool
        Constrain the coefficients to be non-negative.
    **params
        ``tol``, ``max_iter``, ``random_state``, ``selection``, ``solver`` and ``device`` (see
        above).
    """
    return enet_path(X, y, l1_ratio=1.0, eps=eps, n_alphas=n_alphas, alphas=alphas, precompute=precompute, Xy=Xy,
                     copy_X=copy_X, coef_init=coef_init, verbose=verbose, return_n_iter=return_n_iter,
                     positive=positive, **params)
