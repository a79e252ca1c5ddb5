r"""Compiled (numba) coordinate descent for the quadratic datafit from the Gram matrix.

Same problem, working sets, Anderson extrapolation and stopping rule as
:mod:`proxgan.solvers._cd_kernels`, but the state is the gradient
:math:`G = X^\top r = X^\top y - Qw` with :math:`Q = X^\top X` instead of the residual:
a coordinate update costs :math:`O(p)` instead of :math:`O(n)`, which pays off when
:math:`n > p` and ``Q`` is reused along a regularisation path (scikit-learn's
``precompute``). The scalars of the duality gap follow from ``G``:
:math:`r^\top y = \lVert y\rVert^2 - w^\top X^\top y` and
:math:`\lVert r\rVert^2 = \lVert y\rVert^2 - w^\top X^\top y - w^\top G`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from proxgan.solvers._cd_kernels import _FM, _anderson, _score, _top_k, gap_from_scalars
from proxgan.solvers._prox1d import prox1d

__all__ = ["cd_gram_kernel"]


@njit(cache=True, fastmath=_FM, nogil=True)
def _col_update(Q, j, d, G):
    """G -= d · Q[:, j] (read as the row Q[j, :]: Q is symmetric and C-ordered)."""
    for i in range(G.shape[0]):
        G[i] -= d * Q[j, i]


@njit(cache=True, nogil=True)
def _rnorms(yy, Xty, w, G):
    wy = 0.0
    wg = 0.0
    for j in range(w.shape[0]):
        wy += w[j] * Xty[j]
        wg += w[j] * G[j]
    return yy - wy - wg, yy - wy


@njit(cache=True, nogil=True)
def _objective(yy, Xty, n, w, G, ws, l1, l2):
    rn2, _ = _rnorms(yy, Xty, w, G)
    val = 0.5 * rn2 / n
    for j in ws:
        val += l1[j] * abs(w[j]) + 0.5 * l2[j] * w[j] * w[j]
    return val


@njit(cache=True, nogil=True)
def cd_gram_kernel(Q, Xty, yy, n, w, G, l1, l2, lo, hi, use_gap, positive, tol, max_iter, p0, use_ws, K):
    """Working-set CD on the Gram matrix; ``w`` and ``G`` (= Xᵀy − Qw) updated in place.

    Returns ``(crit, n_epochs, converged)``.
    """
    p = w.shape[0]
    scores = np.empty(p)
    n_epochs = 0
    crit = np.inf
    converged = False
    for _outer in range(max_iter):
        G[:] = Xty - Q @ w  # refresh: no drift from the incremental updates
        max_opt = 0.0
        nnz = 0
        for j in range(p):
            sc = _score(w[j], G[j], Q[j, j], n, l1[j], l2[j], lo[j], hi[j])
            scores[j] = sc
            if sc > max_opt:
                max_opt = sc
            if w[j] != 0.0:
                nnz += 1
        if use_gap:
            rn2, ry = _rnorms(yy, Xty, w, G)
            crit = gap_from_scalars(rn2, ry, n, w, G, l1, l2, positive)
        else:
            crit = max_opt
        if crit <= tol or max_opt == 0.0:
            converged = crit <= tol or max_opt == 0.0
            break
        if n_epochs >= max_iter:
            break
        ws_size = min(p, max(p0, 2 * nnz)) if use_ws else p
        if ws_size < p:
            for j in range(p):
                if w[j] != 0.0:
                    scores[j] = np.inf
            ws = _top_k(scores, ws_size)
        else:
            ws = np.arange(p)
        tol_in = 0.3 * max_opt
        last = np.empty((K + 1, ws_size))
        n_last = 0
        while n_epochs < max_iter:
            for j in ws:
                nrm = Q[j, j]
                wj = w[j]
                if nrm == 0.0:
                    new = prox1d(0.0, 1.0, 0.0, 0.0, lo[j], hi[j])
                else:
                    new = prox1d(wj + G[j] / nrm, n / nrm, l1[j], l2[j], lo[j], hi[j])
                if new != wj:
                    w[j] = new
                    _col_update(Q, j, new - wj, G)
            n_epochs += 1
            if K > 0:
                for t in range(ws_size):
                    last[n_last, t] = w[ws[t]]
                n_last += 1
                if n_last == K + 1:
                    n_last = 0
                    ok, w_acc = _anderson(last, K)
                    if ok:
                        feasible = True
                        for t in range(ws_size):
                            j = ws[t]
                            if w_acc[t] < lo[j] or w_acc[t] > hi[j]:
                                feasible = False
                        if feasible:
                            p_cur = _objective(yy, Xty, n, w, G, ws, l1, l2)
                            G_acc = G.copy()
                            w_old = w[ws].copy()
                            for t in range(ws_size):
                                d = w_acc[t] - w[ws[t]]
                                if d != 0.0:
                                    _col_update(Q, ws[t], d, G_acc)
                                w[ws[t]] = w_acc[t]
                            if _objective(yy, Xty, n, w, G_acc, ws, l1, l2) < p_cur:
                                G[:] = G_acc
                            else:
                                for t in range(ws_size):
                                    w[ws[t]] = w_old[t]
            if n_epochs % 10 == 0:
                opt_ws = 0.0
                for j in ws:
                    sc = _score(w[j], G[j], Q[j, j], n, l1[j], l2[j], lo[j], hi[j])
                    if sc > opt_ws:
                        opt_ws = sc
                if opt_ws <= tol_in:
                    break
    return crit, n_epochs, converged
