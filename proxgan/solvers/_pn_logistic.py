r"""Compiled (numba) proximal Newton with working sets for the logistic datafit (skglm's recipe).

Same problem and stopping rule as :mod:`proxgan.solvers._cd_logistic` (its readable reference
is the coordinate-descent solver; ``tests/solvers/test_prox_newton.py`` checks they agree):
:math:`\min_{w,b} \frac1n\sum_i s_i\log(1+e^{-y_i(x_i^\top w+b)}) + \sum_j g_j(w_j)`, stop when the
largest fixed-point violation :math:`L_j|w_j - \operatorname{prox}(w_j - \nabla_j f/L_j)|` is ``<= tol``.

Outer iteration: full gradient and violations; a working set of the ``max(p0, 2·nnz)`` most
violating coordinates (plus the non-zeros and the intercept). Inner problem: the quadratic model
:math:`\nabla f^\top\Delta + \tfrac12\Delta^\top X^\top D X\Delta + g(w+\Delta)` with the Hessian weights
:math:`D_i = s_i\sigma_i(1-\sigma_i)/n`, solved by coordinate descent over the working set in one
of two ways:

* **Hessian block** (dense ``X``, working set of at most ``gram_max`` coordinates): form
  :math:`H = X_{ws}^\top D X_{ws}` once (:math:`O(nm^2)`), then a coordinate update
  costs :math:`O(m)`, so the model is solved accurately: passes until none moves a coordinate by
  more than ``gram_rel`` × the outer violation (in gradient units), at most ``max_cd_gram`` passes;
* **matrix-free** (sparse ``X`` or large working sets): keep :math:`X\Delta`, :math:`O(n)` per update,
  passes until none moves a coordinate by more than ``cd_rel`` × the outer violation, at most
  ``max_cd`` (an inexact Newton step, as in skglm).

Step: backtracking line search on the true objective (Armijo with the model decrease, forgiving
rounding at the 1e-14 relative level). Both inner solvers minimise the same model; the tests run
the solver with either and compare with coordinate descent.

Threads: the whole solve runs on the calling thread. It calls no BLAS routine and has no parallel
region (the column norms and the Hessian block are compiled loops), so it never wakes a thread pool
and never changes the caller's thread settings. On a busy machine a BLAS call that wakes a second
thread waits for a free core; with default threads such calls (the column norms, the Hessian blocks)
made a 500 × 2000 fit of about 1.5 ms take 10–90 ms.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from proxgan.solvers._cd_driver import top_k as _top_k
from proxgan.solvers._cd_kernels import _FM, _dot_col
from proxgan.solvers._cd_loops import gram
from proxgan.solvers._cd_logistic import _coord, _move, _objective, _sig
from proxgan.solvers._prox1d import prox1d, value1d

__all__ = ["full_pass", "gram_block", "pn_logistic_kernel"]


@njit(cache=True, fastmath=_FM, nogil=True)
def _dot_norm_col(X, data, indices, indptr, sparse, j, r, sw):
    """``(Σ_i X_ij r_i, Σ_i s_i X_ij²)``: a gradient entry and a column norm from one read of column j."""
    acc = 0.0
    nrm = 0.0
    if sparse:
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            acc += data[k] * r[i]
            nrm += sw[i] * data[k] * data[k]
    else:
        for i in range(X.shape[0]):
            acc += X[i, j] * r[i]
            nrm += sw[i] * X[i, j] * X[i, j]
    return acc, nrm


@njit(cache=True, nogil=True)
def full_pass(X, data, indices, indptr, sparse, r, sw, w, code, P, g, scores, Ls, norms2, first):
    r"""One pass over ``X``: the gradient ``g = Xᵀr`` (intercept last: ``Σ r``), the fixed-point
    violations ``scores`` and their maximum (returned). With ``first``, the same pass also fills
    ``norms2[j] = Σ_i s_i X_ij²`` and the coordinate Lipschitz constants ``Ls`` (the readable twin of
    the norms is :meth:`proxgan.datafits.Logistic.weighted_col_norms2`). A compiled loop: no BLAS
    call, no thread pool woken."""
    n = r.shape[0]
    p = norms2.shape[0]
    crit = 0.0
    for j in range(g.shape[0]):
        if j == p:
            g[j] = r.sum()
            if first:
                Ls[j] = sw.sum() / (4.0 * n)
        elif first:
            g[j], norms2[j] = _dot_norm_col(X, data, indices, indptr, sparse, j, r, sw)
            Ls[j] = norms2[j] / (4.0 * n)
        else:
            g[j] = _dot_col(X, data, indices, indptr, sparse, j, r)
        sc = abs(w[j] - _coord(j, p, w, g[j], Ls[j], code, P)) * Ls[j]
        scores[j] = sc
        if sc > crit:
            crit = sc
    return crit


@njit(cache=True, fastmath=_FM, nogil=True)
def gram_block(A):
    """``H = A Aᵀ`` (symmetric, ``m × m``) by compiled row dot products (:func:`~proxgan.solvers._cd_loops.gram`),
    on the calling thread: no BLAS thread pool is woken for these small blocks (the readable twin is ``A @ A.T``)."""
    m = A.shape[0]
    H = np.empty((m, m))
    gram(A, H)
    return H


@njit(cache=True, fastmath=_FM, nogil=True)
def _weighted_dot(X, data, indices, indptr, sparse, j, p, u, v):
    """Σ_i X_ij u_i v_i (column of ones for j == p)."""
    acc = 0.0
    if j == p:
        for i in range(u.shape[0]):
            acc += u[i] * v[i]
    elif sparse:
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            acc += data[k] * u[i] * v[i]
    else:
        for i in range(u.shape[0]):
            acc += X[i, j] * u[i] * v[i]
    return acc


@njit(cache=True, fastmath=_FM, nogil=True)
def _hess_diag(X, data, indices, indptr, sparse, j, p, D):
    acc = 0.0
    if j == p:
        for i in range(D.shape[0]):
            acc += D[i]
    elif sparse:
        for k in range(indptr[j], indptr[j + 1]):
            acc += data[k] * data[k] * D[indices[k]]
    else:
        for i in range(D.shape[0]):
            acc += X[i, j] * X[i, j] * D[i]
    return acc


@njit(cache=True, nogil=True)
def _inner_cd(X, data, indices, indptr, sparse, p, ws, D, g, w, code, P, crit, max_cd, rel, XD):
    """CD on the quadratic model, keeping ``XD = X_ws Δ`` (O(n) per coordinate update)."""
    m = ws.shape[0]
    H = np.empty(m)
    delta = np.zeros(m)
    for t in range(m):
        H[t] = _hess_diag(X, data, indices, indptr, sparse, ws[t], p, D)
    for _pass in range(max_cd):
        change = 0.0
        for t in range(m):
            j = ws[t]
            if H[t] <= 0.0:
                continue
            gj = g[j] + _weighted_dot(X, data, indices, indptr, sparse, j, p, D, XD)
            old = w[j] + delta[t]
            if j == p:
                new = old - gj / H[t]
            else:
                new = prox1d(old - gj / H[t], 1.0 / H[t], code, P, j)
            d = new - old
            if d != 0.0:
                delta[t] += d
                _move(X, data, indices, indptr, sparse, j, p, d, XD)
                if abs(d) * H[t] > change:
                    change = abs(d) * H[t]
        # inexact inner solve (skglm): a pass that moves no coordinate by more than a fraction of
        # the outer violation (both in gradient units) is good enough for this Newton step
        if change <= rel * crit:
            break
    return delta


@njit(cache=True, nogil=True)
def _inner_gram(X, p, ws, D, g, w, code, P, crit, max_cd, rel):
    """CD on the quadratic model from its Hessian block ``H = A Aᵀ``, ``A_t = √D ∘ X_{ws_t}``
    (formed once, O(n m²), by :func:`gram_block`); a coordinate update is then O(m)."""
    m = ws.shape[0]
    n = D.shape[0]
    A = np.empty((m, n))
    for t in range(m):
        j = ws[t]
        if j == p:
            for i in range(n):
                A[t, i] = math.sqrt(D[i])
        else:
            for i in range(n):
                A[t, i] = X[i, j] * math.sqrt(D[i])
    H = gram_block(A)
    delta = np.zeros(m)
    Hd = np.zeros(m)
    for _pass in range(max_cd):
        change = 0.0
        for t in range(m):
            j = ws[t]
            h = H[t, t]
            if h <= 0.0:
                continue
            gj = g[j] + Hd[t]
            old = w[j] + delta[t]
            if j == p:
                new = old - gj / h
            else:
                new = prox1d(old - gj / h, 1.0 / h, code, P, j)
            d = new - old
            if d != 0.0:
                delta[t] += d
                for u in range(m):
                    Hd[u] += d * H[t, u]
                if abs(d) * h > change:
                    change = abs(d) * h
        if change <= rel * crit:
            break
    return delta


@njit(cache=True, nogil=True)
def pn_logistic_kernel(X, data, indices, indptr, sparse, norms2, y, sw, w, intercept, code, P, tol,
                       max_iter, p0, max_cd, gram_max, max_cd_gram, gram_rel, cd_rel):
    r"""Prox-Newton for the logistic loss; ``w`` updated in place, ``norms2`` (length ``n_features``)
    filled with :math:`\sum_i s_i X_{ij}^2` by the first pass over ``X``. Returns
    ``(crit, n_outer, converged)``."""
    n = y.shape[0]
    p = norms2.shape[0]
    q = p + 1 if intercept else p
    z = np.zeros(n)
    for j in range(q):
        if w[j] != 0.0:
            _move(X, data, indices, indptr, sparse, j, p, w[j], z)
    Ls = np.empty(q)
    g = np.empty(q)
    scores = np.empty(q)
    D = np.empty(n)
    r = np.empty(n)  # ∂loss/∂z_i
    XD = np.zeros(n)
    crit = np.inf
    for it in range(max_iter):
        for i in range(n):
            s = _sig(-y[i] * z[i])
            r[i] = -sw[i] * y[i] * s / n
            D[i] = sw[i] * s * (1.0 - s) / n
        crit = full_pass(X, data, indices, indptr, sparse, r, sw, w, code, P, g, scores, Ls, norms2, it == 0)
        if crit <= tol:
            return crit, it, True
        nnz = 0
        for j in range(p):
            if w[j] != 0.0:
                nnz += 1
        ws_size = min(q, max(p0, 2 * nnz) + (1 if intercept else 0))
        if ws_size < q:
            for j in range(q):
                if (j < p and w[j] != 0.0) or j == p:
                    scores[j] = np.inf
            ws = _top_k(scores, ws_size)
        else:
            ws = np.arange(q)
        # inner: CD on the quadratic model over the working set
        m = ws.shape[0]
        for i in range(n):
            XD[i] = 0.0
        if (not sparse) and m <= gram_max:
            delta = _inner_gram(X, p, ws, D, g, w, code, P, crit, max_cd_gram, gram_rel)
            for t in range(m):
                if delta[t] != 0.0:
                    _move(X, data, indices, indptr, sparse, ws[t], p, delta[t], XD)
        else:
            delta = _inner_cd(X, data, indices, indptr, sparse, p, ws, D, g, w, code, P, crit, max_cd, cd_rel, XD)
        # line search on F(w + step·Δ), Armijo with the model decrease
        f_old = _objective(y, z, w, ws, p, code, P, sw)
        lin = 0.0
        pen_new = 0.0
        pen_old = 0.0
        for t in range(m):
            j = ws[t]
            lin += g[j] * delta[t]
            if j < p:
                wn = w[j] + delta[t]
                pen_new += value1d(wn, code, P, j)
                pen_old += value1d(w[j], code, P, j)
        decrease = lin + pen_new - pen_old
        step = 1.0
        w_old = w[ws].copy()
        z_old = z.copy()
        accepted = False
        for _ls in range(30):
            for t in range(m):
                w[ws[t]] = w_old[t] + step * delta[t]
            for i in range(n):
                z[i] = z_old[i] + step * XD[i]
            f_new = _objective(y, z, w, ws, p, code, P, sw)
            # the last term forgives rounding: near the optimum both values agree to ~1e-16 relative
            # (a kept step raises the objective by at most that rounding; a step that fails every
            # test is not kept, so more iterations never end higher)
            if f_new <= f_old + 1e-4 * step * decrease + 1e-14 * abs(f_old):
                accepted = True
                break
            step *= 0.5
        if not accepted:  # no decrease along the Newton direction: stay (the next model is the same one)
            for t in range(m):
                w[ws[t]] = w_old[t]
            z[:] = z_old
    # final criterion
    for i in range(n):
        r[i] = -sw[i] * y[i] * _sig(-y[i] * z[i]) / n
    crit = full_pass(X, data, indices, indptr, sparse, r, sw, w, code, P, g, scores, Ls, norms2, max_iter <= 0)
    return crit, max_iter, crit <= tol
