r"""Compiled (numba) coordinate descent for the logistic datafit.

Solves :math:`\min_{w, b} \frac1n\sum_i \log(1+e^{-y_i(x_i^\top w + b)}) + \sum_j g_j(w_j)`
with :math:`g_j` as in :mod:`proxgan.solvers._prox1d` and an optional unpenalised intercept
:math:`b` (stored as the last entry of ``w``). Each update is a proximal-gradient step on one
coordinate with its Lipschitz constant :math:`L_j = \sum_i s_i X_{ij}^2/(4n)`
(``norms2`` holds :math:`\sum_i s_i X_{ij}^2`; :math:`L_b = \sum_i s_i/(4n)`); ``z = Xw + b`` is kept
up to date. Working sets and Anderson
extrapolation as in :mod:`proxgan.solvers._cd_kernels`; the solver stops when the largest
fixed-point violation :math:`L_j|w_j - \operatorname{prox}(w_j - \nabla_j f/L_j)|` is ``<= tol``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from proxgan.solvers._cd_kernels import _FM, _anderson, _axpy_col, _top_k
from proxgan.solvers._prox1d import prox1d

__all__ = ["cd_logistic_kernel", "start_point"]


@njit(cache=True, nogil=True)
def _sig(t):
    if t >= 0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


@njit(cache=True, nogil=True)
def _softplus(t):
    if t > 30.0:
        return t
    if t < -30.0:
        return math.exp(t)
    return math.log1p(math.exp(t))


@njit(cache=True, fastmath=_FM, nogil=True)
def _grad_j(X, data, indices, indptr, sparse, j, p, y, z, sw):
    """∂f/∂w_j (∂f/∂b for j == p)."""
    n = y.shape[0]
    acc = 0.0
    if j == p:
        for i in range(n):
            acc -= sw[i] * y[i] * _sig(-y[i] * z[i])
    elif sparse:
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            acc -= sw[i] * data[k] * y[i] * _sig(-y[i] * z[i])
    else:
        for i in range(n):
            acc -= sw[i] * X[i, j] * y[i] * _sig(-y[i] * z[i])
    return acc / n


@njit(cache=True, nogil=True)
def _coord(j, p, w, g, L, l1, l2, lo, hi):
    """Proximal-gradient value of coordinate j (intercept unpenalised)."""
    if L == 0.0:
        return prox1d(0.0, 1.0, 0.0, 0.0, lo[j], hi[j]) if j < p else w[j]
    if j == p:
        return w[j] - g / L
    return prox1d(w[j] - g / L, 1.0 / L, l1[j], l2[j], lo[j], hi[j])


@njit(cache=True, nogil=True)
def _objective(y, z, w, ws, p, l1, l2, sw):
    val = 0.0
    for i in range(y.shape[0]):
        val += sw[i] * _softplus(-y[i] * z[i])
    val /= y.shape[0]
    for j in ws:
        if j < p:
            val += l1[j] * abs(w[j]) + 0.5 * l2[j] * w[j] * w[j]
    return val


@njit(cache=True, nogil=True)
def _move(X, data, indices, indptr, sparse, j, p, d, z):
    if j == p:
        for i in range(z.shape[0]):
            z[i] += d
    else:
        _axpy_col(X, data, indices, indptr, sparse, j, d, z)


@njit(cache=True, nogil=True)
def start_point(X, data, indices, indptr, sparse, norms2, sw, w, intercept):
    """Coordinate Lipschitz constants ``Ls`` (intercept last) and the scores ``z = Xw + b``."""
    n = sw.shape[0]
    p = norms2.shape[0]
    q = p + 1 if intercept else p
    Ls = np.empty(q)
    for j in range(p):
        Ls[j] = norms2[j] / (4.0 * n)
    if intercept:
        Ls[p] = sw.sum() / (4.0 * n)
    z = np.zeros(n)
    for j in range(q):
        if w[j] != 0.0:
            _move(X, data, indices, indptr, sparse, j, p, w[j], z)
    return Ls, z


@njit(cache=True, nogil=True)
def cd_logistic_kernel(X, data, indices, indptr, sparse, norms2, y, sw, w, intercept,
                       l1, l2, lo, hi, tol, max_iter, p0, use_ws, K):
    """Working-set CD for the logistic loss; ``w`` updated in place. Returns ``(crit, n_epochs, converged)``."""
    n = y.shape[0]
    p = norms2.shape[0]
    q = p + 1 if intercept else p
    Ls, z = start_point(X, data, indices, indptr, sparse, norms2, sw, w, intercept)
    scores = np.empty(q)
    n_epochs = 0
    crit = np.inf
    converged = False
    for _outer in range(max_iter):
        nnz = 0
        crit = 0.0
        for j in range(q):
            g = _grad_j(X, data, indices, indptr, sparse, j, p, y, z, sw)
            sc = abs(w[j] - _coord(j, p, w, g, Ls[j], l1, l2, lo, hi)) * Ls[j]
            scores[j] = sc
            if sc > crit:
                crit = sc
            if w[j] != 0.0 or j == p:
                nnz += 1
        if crit <= tol:
            converged = True
            break
        if n_epochs >= max_iter:
            break
        ws_size = min(q, max(p0, 2 * nnz)) if use_ws else q
        if ws_size < q:
            for j in range(q):
                if w[j] != 0.0 or j == p:
                    scores[j] = np.inf
            ws = _top_k(scores, ws_size)
        else:
            ws = np.arange(q)
        tol_in = 0.3 * crit
        last = np.empty((K + 1, ws_size))
        n_last = 0
        while n_epochs < max_iter:
            for j in ws:
                g = _grad_j(X, data, indices, indptr, sparse, j, p, y, z, sw)
                new = _coord(j, p, w, g, Ls[j], l1, l2, lo, hi)
                if new != w[j]:
                    _move(X, data, indices, indptr, sparse, j, p, new - w[j], z)
                    w[j] = new
            n_epochs += 1
            if K > 0:
                for t in range(ws_size):
                    last[n_last, t] = w[ws[t]]
                n_last += 1
                if n_last == K + 1:
                    n_last = 0
                    ok, w_acc = _anderson(last, K)
                    feasible = ok
                    if ok:
                        for t in range(ws_size):
                            j = ws[t]
                            if j < p and (w_acc[t] < lo[j] or w_acc[t] > hi[j]):
                                feasible = False
                    if feasible:
                        z_acc = z.copy()
                        for t in range(ws_size):
                            d = w_acc[t] - w[ws[t]]
                            if d != 0.0:
                                _move(X, data, indices, indptr, sparse, ws[t], p, d, z_acc)
                        p_cur = _objective(y, z, w, ws, p, l1, l2, sw)
                        w_old = w[ws].copy()
                        for t in range(ws_size):
                            w[ws[t]] = w_acc[t]
                        if _objective(y, z_acc, w, ws, p, l1, l2, sw) < p_cur:
                            z[:] = z_acc
                        else:
                            for t in range(ws_size):
                                w[ws[t]] = w_old[t]
            if n_epochs % 10 == 0:
                opt_ws = 0.0
                for j in ws:
                    g = _grad_j(X, data, indices, indptr, sparse, j, p, y, z, sw)
                    sc = abs(w[j] - _coord(j, p, w, g, Ls[j], l1, l2, lo, hi)) * Ls[j]
                    if sc > opt_ws:
                        opt_ws = sc
                if opt_ws <= tol_in:
                    break
    return crit, n_epochs, converged
