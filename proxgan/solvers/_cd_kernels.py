r"""Compiled (numba) coordinate descent for the quadratic datafit.

Solves

.. math::

    \min_w\; \frac{1}{2n}\lVert y - X'w\rVert^2 + \sum_j l1_j|w_j| + \tfrac12 l2_j w_j^2
    + \iota_{[lo_j, hi_j]}(w_j),
    \qquad X' = X - v\,\mu^\top ,

where ``X`` is dense (Fortran-ordered float64) or CSC (``data, indices, indptr``) and the
rank-one term implements implicit centering of a sparse design without densifying it
(``mu`` = column means, ``v`` = ones, or √(sample weights); ``mu = 0`` for no centering).
The residual is stored as ``r = r_raw + s·v`` with ``s = μᵀw``; since ``vᵀr = 0`` for a
centred problem, :math:`X'^\top_j r = X_j^\top r_{raw} + s\,c_j` with ``c = Xᵀv``.

Algorithm (the skglm recipe): an outer loop computes the full gradient, the duality gap
(stop when ``gap <= tol``) and a score per coordinate (its fixed-point violation);
the working set is the ``max(p0, 2·nnz)`` best-scored coordinates; an inner loop runs
cyclic exact coordinate updates on it, with Anderson extrapolation of the last ``K``
epochs (K = 10 by default), until its violation is below 0.3 × the outer one.

The readable twin of these loops is the FISTA solver (:mod:`proxgan.solvers.fista`), which
reaches the same minimiser; ``tests/solvers/test_cd.py`` checks they agree.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from proxgan.solvers._prox1d import prox1d

__all__ = ["cd_quadratic_kernel", "full_gradient", "enet_gap", "_top_k"]

_FM = {"reassoc", "contract", "arcp", "nsz"}


@njit(cache=True, fastmath=_FM, nogil=True)
def _dot_col(X, data, indices, indptr, sparse, j, vec):
    acc = 0.0
    if sparse:
        for k in range(indptr[j], indptr[j + 1]):
            acc += data[k] * vec[indices[k]]
    else:
        for i in range(X.shape[0]):
            acc += X[i, j] * vec[i]
    return acc


@njit(cache=True, fastmath=_FM, nogil=True)
def _axpy_col(X, data, indices, indptr, sparse, j, a, vec):
    if sparse:
        for k in range(indptr[j], indptr[j + 1]):
            vec[indices[k]] += a * data[k]
    else:
        for i in range(X.shape[0]):
            vec[i] += a * X[i, j]


@njit(cache=True, fastmath=_FM, nogil=True)
def full_gradient(X, data, indices, indptr, sparse, c, r_raw, s, G):
    """G_j = X'_jᵀ r for every j (``r = r_raw + s·v``)."""
    for j in range(G.shape[0]):
        G[j] = _dot_col(X, data, indices, indptr, sparse, j, r_raw) + s * c[j]


@njit(cache=True, nogil=True)
def enet_gap(r, y, w, G, l1, l2, positive):
    """Duality gap of the problem above (scikit-learn's formulation, divided by n).

    ``G`` = X'ᵀr. With every ``l1_j = 0`` the Ridge formulation is used, and unpenalised
    coordinates add the KKT residual ``(G_j² + |G_j w_j|)/n`` (see :func:`gap_from_scalars`). Otherwise
    coordinates with ``l1_j = 0`` are left out of the dual scaling.
    """
    rn2 = 0.0
    ry = 0.0
    for i in range(r.shape[0]):
        rn2 += r[i] * r[i]
        ry += r[i] * y[i]
    return gap_from_scalars(rn2, ry, r.shape[0], w, G, l1, l2, positive)


@njit(cache=True, nogil=True)
def gap_from_scalars(rn2, ry, n, w, G, l1, l2, positive):
    """:func:`enet_gap` from ``‖r‖²``, ``rᵀy`` and ``G = X'ᵀr`` (what the Gram variant keeps)."""
    wl1 = 0.0
    wl2 = 0.0
    any_l1 = False
    for j in range(w.shape[0]):
        wl1 += l1[j] * abs(w[j])
        wl2 += l2[j] * w[j] * w[j]
        if l1[j] > 0.0:
            any_l1 = True
    if not any_l1:
        # Ridge: with r = y − Xw, (‖r‖² − rᵀy)/n = −Σ_j G_j w_j/n, so the ridge duality gap splits
        # into Σ_j ½ l2_j (w_j − G_j/(n l2_j))² >= 0 over penalised coordinates. An unpenalised
        # coordinate has no dual bound (its term −G_j w_j/n + G_j²/n can be negative away from the
        # optimum: alpha=0 would stop at once); it contributes the KKT residual (G_j² + |G_j w_j|)/n,
        # >= 0 and zero exactly when X_jᵀr = 0.
        crit = 0.0
        for j in range(w.shape[0]):
            if l2[j] > 0.0:
                d = w[j] - G[j] / (n * l2[j])
                crit += 0.5 * l2[j] * d * d
            else:
                crit += (G[j] * G[j] + abs(G[j] * w[j])) / n
        return crit
    scale = 1.0
    for j in range(w.shape[0]):
        if l1[j] > 0.0:
            a = G[j] / n - l2[j] * w[j]
            if not positive:
                a = abs(a)
            if a * scale > l1[j]:
                scale = l1[j] / a
    primal = 0.5 * rn2 / n + wl1 + 0.5 * wl2
    dual = -0.5 * scale * scale * (rn2 / n + wl2) + scale * ry / n
    return primal - dual


@njit(cache=True, nogil=True)
def _score(wj, Gj, nrm2, n, l1, l2, lo, hi):
    """Fixed-point violation L_j·|w_j − prox(w_j + G_j/‖X_j‖², 1/L_j)| (gradient units)."""
    if nrm2 == 0.0:
        return 0.0
    L = nrm2 / n
    wp = prox1d(wj + Gj / nrm2, 1.0 / L, l1, l2, lo, hi)
    return abs(wj - wp) * L


@njit(cache=True, nogil=True)
def _primal_ws(r, n, w, ws, l1, l2):
    val = 0.0
    for i in range(r.shape[0]):
        val += r[i] * r[i]
    val *= 0.5 / n
    for j in ws:
        val += l1[j] * abs(w[j]) + 0.5 * l2[j] * w[j] * w[j]
    return val


@njit(cache=True, nogil=True)
def _anderson(last, K):
    """Anderson extrapolation of the K+1 iterates in ``last`` (rows); None if ill-posed."""
    m = last.shape[1]
    U = np.empty((K, m))
    for k in range(K):
        for i in range(m):
            U[k, i] = last[k + 1, i] - last[k, i]
    C = U @ U.T
    ones = np.ones(K)
    try:
        z = np.linalg.solve(C, ones)
    except Exception:  # noqa: BLE001 - numba only supports catching everything
        return False, np.empty(0)
    sz = z.sum()
    if not np.isfinite(sz) or sz == 0.0:
        return False, np.empty(0)
    coef = z / sz
    out = np.zeros(m)
    for k in range(K):
        for i in range(m):
            out[i] += coef[k] * last[k + 1, i]
    return True, out


@njit(cache=True, nogil=True)
def _top_k(scores, k):
    """Sorted indices of the ``k`` largest scores (ties broken by index), in O(p)."""
    neg = -scores
    kth = np.partition(neg, k - 1)[k - 1]
    out = np.empty(k, dtype=np.int64)
    m = 0
    for j in range(neg.shape[0]):
        if neg[j] < kth:
            out[m] = j
            m += 1
    for j in range(neg.shape[0]):
        if m == k:
            break
        if neg[j] == kth:
            out[m] = j
            m += 1
    out.sort()
    return out


@njit(cache=True, nogil=True)
def cd_quadratic_kernel(X, data, indices, indptr, sparse, mu, v, c, norms2, y, w, r_raw, s,
                        l1, l2, lo, hi, use_gap, positive, tol, max_iter, p0, use_ws, K):
    """Working-set coordinate descent with Anderson acceleration (see the module docstring).

    ``w`` and ``r_raw`` are updated in place. Returns ``(s, crit, n_epochs, converged)``
    where ``crit`` is the duality gap (``use_gap``) or the largest fixed-point violation.
    """
    n = y.shape[0]
    p = w.shape[0]
    G = np.empty(p)
    r = np.empty(n)
    scores = np.empty(p)
    n_epochs = 0
    crit = np.inf
    converged = False
    for _outer in range(max_iter):
        for i in range(n):
            r[i] = r_raw[i] + s * v[i]
        full_gradient(X, data, indices, indptr, sparse, c, r_raw, s, G)
        max_opt = 0.0
        nnz = 0
        for j in range(p):
            sc = _score(w[j], G[j], norms2[j], n, l1[j], l2[j], lo[j], hi[j])
            scores[j] = sc
            if sc > max_opt:
                max_opt = sc
            if w[j] != 0.0:
                nnz += 1
        if use_gap:
            crit = enet_gap(r, y, w, G, l1, l2, positive)
        else:
            crit = max_opt
        if crit <= tol or max_opt == 0.0:
            converged = crit <= tol or max_opt == 0.0
            break
        if n_epochs >= max_iter:
            break
        if use_ws:
            ws_size = min(p, max(p0, 2 * nnz))
        else:
            ws_size = p
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
                nrm = norms2[j]
                wj = w[j]
                if nrm == 0.0:
                    new = prox1d(0.0, 1.0, 0.0, 0.0, lo[j], hi[j])
                else:
                    g = _dot_col(X, data, indices, indptr, sparse, j, r_raw) + s * c[j]
                    new = prox1d(wj + g / nrm, n / nrm, l1[j], l2[j], lo[j], hi[j])
                if new != wj:
                    d = new - wj
                    w[j] = new
                    _axpy_col(X, data, indices, indptr, sparse, j, -d, r_raw)
                    s += mu[j] * d
            n_epochs += 1
            if K > 0:
                for t in range(ws_size):
                    last[n_last, t] = w[ws[t]]
                n_last += 1
                if n_last == K + 1:
                    n_last = 0
                    ok, w_acc = _anderson(last, K)
                    if ok:
                        r_acc = r_raw.copy()
                        s_acc = s
                        for t in range(ws_size):
                            j = ws[t]
                            d = w_acc[t] - w[j]
                            if d != 0.0:
                                _axpy_col(X, data, indices, indptr, sparse, j, -d, r_acc)
                                s_acc += mu[j] * d
                        for i in range(n):
                            r[i] = r_raw[i] + s * v[i]
                        p_cur = _primal_ws(r, n, w, ws, l1, l2)
                        w_old = w[ws].copy()
                        feasible = True
                        for t in range(ws_size):
                            j = ws[t]
                            if w_acc[t] < lo[j] or w_acc[t] > hi[j]:
                                feasible = False
                            w[j] = w_acc[t]
                        for i in range(n):
                            r[i] = r_acc[i] + s_acc * v[i]
                        if feasible and _primal_ws(r, n, w, ws, l1, l2) < p_cur:
                            r_raw[:] = r_acc
                            s = s_acc
                        else:
                            for t in range(ws_size):
                                w[ws[t]] = w_old[t]
            if n_epochs % 10 == 0:
                opt_ws = 0.0
                for j in ws:
                    g = _dot_col(X, data, indices, indptr, sparse, j, r_raw) + s * c[j]
                    sc = _score(w[j], g, norms2[j], n, l1[j], l2[j], lo[j], hi[j])
                    if sc > opt_ws:
                        opt_ws = sc
                if opt_ws <= tol_in:
                    break
    return s, crit, n_epochs, converged
