r"""Full-batch L-BFGS and Newton–Cholesky for a smooth per-sample datafit with a squared L2 penalty.

Both minimise

.. math::

    F(w, b) = \sum_i \bar s_i\,\phi(y_i, x_i^\top w + b) + \tfrac{\lambda}2\lVert w\rVert_2^2,
    \qquad \bar s = s / \textstyle\sum_i s_i,

(scikit-learn's ``PoissonRegressor``/``GammaRegressor`` objective) on the NumPy arrays
themselves: the loss and its derivatives come vectorised from the datafit's ``loss_np``
(:mod:`proxgan.datafits`), one pass over :math:`X` for :math:`z = Xw + b` and one for the
gradient :math:`X^\top(\bar s\odot\phi')`. No design copy, no compiled code: on problems of a
few thousand rows the fixed costs are what a fit costs.

* :func:`lbfgs`: SciPy's L-BFGS-B with scikit-learn's options (``gtol=tol``, ``ftol`` = 64 ulp).
  Each iteration costs two passes over :math:`X`.
* :func:`newton_cholesky`: Newton's method with the exact Hessian :math:`A^\top\operatorname{diag}
  (\bar s\odot\phi'')A + \lambda I` (:math:`A = [X, 1]`, no penalty on :math:`b`), a Cholesky
  solve and an Armijo backtracking line search; it stops when :math:`\lVert\nabla F\rVert_\infty
  \le` ``tol`` (near the solution, where :math:`F` changes by less than its rounding, a step
  is also accepted when it shrinks :math:`\lVert\nabla F\rVert_1`, as scikit-learn's
  Newton solver does). Each iteration costs :math:`O(nq^2)`: few iterations, for small :math:`q`.

Which one is faster depends on :math:`q`: the Hessian costs about :math:`q/2` gradient
evaluations, and L-BFGS needs some tens of them. The estimators run what the user names.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

__all__ = ["smooth_objective", "lbfgs", "newton_cholesky"]


def smooth_objective(X, y, sw, loss, params, lam2: float, intercept: bool):
    """``fun(v) -> (F, grad F)`` of the module docstring (``v = (w, b)``; ``sw`` normalised).

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n, p)
    y : ndarray of shape (n,)
    sw : ndarray of shape (n,)
        Sample weights summing to one.
    loss : callable
        ``loss(y, z, a, m, order)``: a datafit's ``loss_np``.
    params : tuple of float
        The datafit's numbers ``(a, m)``.
    lam2 : float
        Strength of the squared L2 penalty.
    intercept : bool
        Whether ``v`` ends with a free intercept.

    Returns
    -------
    callable
    """
    p = X.shape[1]

    def fun(v):
        w = v[:p]
        z = X @ w
        if intercept:
            z = z + v[p]
        val, d1 = loss(y, z, *params, order=1)
        g1 = sw * d1
        grad = np.empty_like(v)
        grad[:p] = X.T @ g1 + lam2 * w
        if intercept:
            grad[p] = g1.sum()
        return float(sw @ val) + 0.5 * lam2 * float(w @ w), grad

    return fun


def lbfgs(X, y, sw, loss, params, lam2: float, w0, intercept: bool, tol: float, max_iter: int):
    """L-BFGS-B on :func:`smooth_objective` (scikit-learn's options). Returns ``(coef, n_iter, converged)``.

    Parameters
    ----------
    X, y, sw, loss, params, lam2, intercept
        As in :func:`smooth_objective`.
    w0 : ndarray of shape (p + intercept,)
        Starting point.
    tol : float
        ``gtol``: the largest gradient entry at the solution.
    max_iter : int
        Most iterations.

    Returns
    -------
    tuple
    """
    from scipy.optimize import minimize

    fun = smooth_objective(X, y, sw, loss, params, lam2, intercept)
    res = minimize(fun, np.asarray(w0, dtype=np.float64), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "maxls": 50, "gtol": tol, "ftol": 64 * np.finfo(float).eps})
    return res.x, int(res.nit), bool(res.success)


def _hessian(X, sw, d2, lam2, intercept):
    p = X.shape[1]
    h = sw * d2
    q = p + int(intercept)
    H = np.empty((q, q))
    if sp.issparse(X):
        H[:p, :p] = (X.T @ X.multiply(h[:, None])).toarray()
    else:
        Xs = X * np.sqrt(h)[:, None]
        H[:p, :p] = Xs.T @ Xs
    H[np.arange(p), np.arange(p)] += lam2
    if intercept:
        c = np.asarray(X.T @ h).ravel()
        H[:p, p] = c
        H[p, :p] = c
        H[p, p] = h.sum()
    return H


def newton_cholesky(X, y, sw, loss, params, lam2: float, w0, intercept: bool, tol: float, max_iter: int):
    """Newton's method with Cholesky solves and an Armijo line search (module docstring).

    Parameters
    ----------
    X, y, sw, loss, params, lam2, intercept
        As in :func:`smooth_objective`.
    w0 : ndarray of shape (p + intercept,)
        Starting point.
    tol : float
        Stop when the largest gradient entry is at most ``tol``.
    max_iter : int
        Most Newton iterations.

    Returns
    -------
    tuple
        ``(coef, n_iter, converged)``.
    """
    p = X.shape[1]
    fun = smooth_objective(X, y, sw, loss, params, lam2, intercept)
    w = np.array(w0, dtype=np.float64)
    F, g = fun(w)
    for it in range(max_iter + 1):
        if np.abs(g).max(initial=0.0) <= tol:
            return w, it, True
        if it == max_iter:
            break
        z = X @ w[:p] + (w[p] if intercept else 0.0)
        H = _hessian(X, sw, loss(y, z, *params, order=2)[2], lam2, intercept)
        try:
            step = -scipy.linalg.cho_solve(scipy.linalg.cho_factor(H, check_finite=False), g, check_finite=False)
        except np.linalg.LinAlgError:  # singular (a flat direction): the least-norm step
            step = -np.linalg.lstsq(H, g, rcond=None)[0]
        slope = float(g @ step)
        t = 1.0
        g_l1 = float(np.abs(g).sum())
        while True:
            F1, g1 = fun(w + t * step)
            if F1 <= F + 1e-4 * t * slope:
                break
            # near the solution F changes below its rounding: accept a step that shrinks the gradient
            if F1 - F <= 32 * np.finfo(float).eps * abs(F) and float(np.abs(g1).sum()) < g_l1:
                break
            if t < 1e-10:  # no decrease possible in float64: as close as it gets
                return w, it, bool(np.abs(g).max(initial=0.0) <= tol)
            t *= 0.5
        w, F, g = w + t * step, F1, g1
    return w, max_iter, False
