r"""Proximal Newton with working sets for a smooth per-sample datafit and an elastic-net penalty.

Solves :math:`\min_{w, b} f(w, b) + \sum_j l_j|w_j| + \tfrac{m_j}2 w_j^2` (:math:`f` a
:class:`~proxgan.datafits.GLMDatafit` with a second derivative: Poisson, Gamma, Huber, a smoothed
Quantile; the intercept :math:`b`, when there is one, is free), the problem of
:func:`proxgan.solvers._cd_glm.solve_glm`, with skglm's ``ProxNewton`` strategy:

1. With :math:`z = Xw + b`, the gradient :math:`g = A^\top(\bar s\odot\phi'(y, z))` and the
   Hessian diagonal :math:`h = (A\odot A)^\top(\bar s\odot\phi'')` (:math:`A = [X, 1]`), the
   fixed-point violation of every coordinate, :math:`h_j|w_j - \operatorname{prox}_{g_j/h_j}
   (w_j - g_j/h_j)|` (the stopping rule of the coordinate descent solver): stop when the largest
   is at most ``tol``.
2. A working set: the support (and the intercept) plus the most violating coordinates, at
   least ``ws_min`` and twice the support.
3. The quadratic model of :math:`f` on the working set,
   :math:`g^\top d + \tfrac12 d^\top H d` with the exact Hessian block
   :math:`H = A_W^\top\operatorname{diag}(\bar s\odot\phi'')A_W` (one BLAS product of
   :math:`n|W|^2` flops), plus the penalty, minimised by the compiled Gram coordinate descent of
   :mod:`proxgan.solvers._cd_gram` (it is a Lasso-type problem in :math:`v = w + d` with
   :math:`Q = H`, :math:`X^\top y = Hw - g`).
4. A backtracking line search on the true objective with the proximal Newton decrease
   :math:`\Delta = g^\top d + \mathrm{pen}(w + d) - \mathrm{pen}(w)`:
   :math:`F(w + t d) \le F(w) + 10^{-4}\,t\,\Delta`.

The readable twin is the coordinate descent solver on the same datafit (tests compare them).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from proxgan.solvers._common import SolverResult

__all__ = ["solve"]


def _pen(w, l1, l2):
    return float(l1 @ np.abs(w)) + 0.5 * float(l2 @ (w * w))


def solve(datafit, penalty, *, coef_init=None, tol: float = 1e-8, max_iter: int = 100, ws_min: int = 10,
          max_cd: int = 1000) -> SolverResult:
    """Minimise ``datafit + penalty`` (module docstring).

    Parameters
    ----------
    datafit : GLMDatafit
        Poisson, Gamma, Huber or a smoothed Quantile (``smoothing > 0``).
    penalty : L1, L2, ElasticNet (weighted or not), or None
        No penalty on the intercept.
    coef_init : array of shape (datafit.n_features,), optional
        Starting point (default zeros).
    tol : float
        Stop when the largest fixed-point violation is at most ``tol``.
    max_iter : int
        Most proximal Newton (outer) iterations.
    ws_min : int
        Smallest working set.
    max_cd : int
        Most passes of the inner coordinate descent.

    Returns
    -------
    SolverResult
        ``criterion="optimality"``, ``crit`` the largest fixed-point violation.
    """
    from proxgan.penalties import L1
    from proxgan.solvers._cd_gram import cd_gram_kernel
    from proxgan.solvers._prox1d import enet_rows, penalty_params, prox1d_vec

    X, y = datafit.X, datafit.y
    n, p = X.shape
    q = datafit.n_features
    sw = datafit.sw / datafit.sw.sum()
    a, m = datafit.params()
    if datafit.KIND == 3 and not m > 0:
        raise ValueError("proximal Newton needs a smoothed pinball loss (smoothing > 0)")
    code, P = penalty_params(L1(0.0) if penalty is None else penalty, p)
    rows = enet_rows(code, P)
    if rows is None or np.any(np.isfinite(P[2])) or np.any(np.isfinite(P[3])):
        raise ValueError(f"proximal Newton takes L1, L2 or ElasticNet penalties, got {type(penalty).__name__}")
    l1, l2 = (np.append(r, 0.0) if datafit.intercept else np.asarray(r, dtype=np.float64) for r in rows)
    if datafit.intercept:
        P = np.hstack([P, np.array([[0.0], [0.0], [-np.inf], [np.inf]])])
    P = np.ascontiguousarray(P)
    A = X
    if datafit.intercept:
        A = sp.hstack([X, np.ones((n, 1))], format="csc") if sp.issparse(X) else np.hstack([X, np.ones((n, 1))])
    A2 = A.multiply(A).tocsc() if sp.issparse(A) else A * A
    loss = datafit.loss_np
    w = np.zeros(q) if coef_init is None else np.array(coef_init, dtype=np.float64).ravel().copy()
    if w.shape[0] != q:
        raise ValueError(f"coef_init has {w.shape[0]} entries, expected {q}")
    z = np.asarray(A @ w).ravel()
    F = float(sw @ loss(y, z, a, m, order=0)[0]) + _pen(w, l1, l2)
    crit, it = np.inf, 0
    empty = np.zeros(0)
    for it in range(max_iter + 1):
        _, d1, d2 = loss(y, z, a, m, order=2)
        g = np.asarray(A.T @ (sw * d1)).ravel()
        hw = sw * d2
        h = np.asarray(A2.T @ hw).ravel()
        hs = np.where(h > 0, h, 1.0)
        viol = np.where(h > 0, hs * np.abs(w - prox1d_vec(w - g / hs, 1.0 / hs, code, P)), np.abs(g) * (w == 0))
        crit = float(viol.max(initial=0.0))
        if crit <= tol or it == max_iter:
            break
        supp = np.flatnonzero(w != 0)
        k = min(q, max(ws_min, 2 * supp.size))
        order = np.argsort(-viol, kind="stable")
        ws = np.union1d(supp, order[:k])
        if datafit.intercept:
            ws = np.union1d(ws, [p])
        Aw = A[:, ws]
        if sp.issparse(Aw):
            H = np.asarray((Aw.T @ Aw.multiply(hw[:, None])).todense())
        else:
            Aws = Aw * np.sqrt(hw)[:, None]
            H = Aws.T @ Aws
        H = np.ascontiguousarray(H + 1e-12 * np.eye(ws.size) * max(float(np.trace(H)) / ws.size, 1e-300))
        Pw = np.ascontiguousarray(P[:, ws])
        v = w[ws].copy()
        Xty = H @ v - g[ws]
        G = Xty - H @ v
        cd_gram_kernel(H, Xty, 0.0, 1.0, v, G, code, Pw, empty, empty, False, False, 0.1 * crit, max_cd, 10,
                       True, 0)
        d = v - w[ws]
        if not np.any(d):
            break
        delta = float(g[ws] @ d) + _pen(v, l1[ws], l2[ws]) - _pen(w[ws], l1[ws], l2[ws])
        dz = np.asarray(Aw @ d).ravel()
        t = 1.0
        for _ in range(50):
            wt = w.copy()
            wt[ws] += t * d
            Ft = float(sw @ loss(y, z + t * dz, a, m, order=0)[0]) + _pen(wt, l1, l2)
            if Ft <= F + 1e-4 * t * delta:
                break
            t *= 0.5
        else:
            break  # no decrease in float64: as close as it gets
        w, z, F = wt, z + t * dz, Ft
    return SolverResult(w, crit, "optimality", it, bool(crit <= tol))
