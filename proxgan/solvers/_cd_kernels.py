r"""Compiled (numba) coordinate descent for the quadratic datafit: the state and hooks of the
shared driver :func:`proxgan.solvers._cd_driver.ws_cd`.

Solves

.. math::

    \min_w\; \frac{1}{2n}\lVert y - X'w\rVert^2 + \sum_j g_j(w_j)
    + \iota_{[lo_j, hi_j]}(w_j),
    \qquad X' = X - v\,\mu^\top ,

with :math:`g_j` given per coordinate as ``(code, P)`` (:mod:`proxgan.solvers._prox1d`), where ``X`` is dense (Fortran-ordered float64) or CSC (``data, indices, indptr``) and the
rank-one term implements implicit centering of a sparse design without densifying it
(``mu`` = column means, ``v`` = ones, or √(sample weights); ``mu = 0`` for no centering).
The residual is stored as ``r = r_raw + s·v`` with ``s = μᵀw``; since ``vᵀr = 0`` for a
centred problem, :math:`X'^\top_j r = X_j^\top r_{raw} + s\,c_j` with ``c = Xᵀv``.

Coordinate update (exact): :math:`w_j \leftarrow \operatorname{prox}_{g_j n/\lVert X'_j\rVert^2}
(w_j + X_j'^\top r/\lVert X'_j\rVert^2)`; stopping criterion: the duality gap (``use_gap``, see
:func:`enet_gap`) or the largest fixed-point violation. Working sets and Anderson extrapolation
are the driver's. The readable twin of these loops is the FISTA solver
(:mod:`proxgan.solvers.fista`), which reaches the same minimiser; ``tests/solvers/test_solvers_cd.py``
checks they agree.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import overload

from proxgan.solvers._cd_driver import (HOOK_JIT, cd_criterion, cd_epoch, cd_move, cd_refresh, cd_restore, cd_save,
                                        cd_scores, cd_value, is_state, ws_cd)
from proxgan.solvers._cd_columns import FM, axpy_dense, axpy_sparse, dot_dense, dot_sparse, dot_sq_dense, grad_cols
from proxgan.solvers._cd_columns import axpy_col as _axpy_col
from proxgan.solvers._cd_columns import dot_col as _dot_col
from proxgan.solvers._cd_loops import code_in, copy_into
from proxgan.kernels._prox_cpu import clip
from proxgan.kernels.fused_penalty import Code
from proxgan.solvers._cd_screen import extrapolated_residual, lasso_check
from proxgan.solvers._prox1d import prox1d

__all__ = ["QuadraticState", "cd_quadratic_kernel", "full_gradient", "raw_residual", "enet_gap", "gap_from_scalars",
           "SOFT_CODES", "is_soft", "soft1d"]

_FM = FM


@njit(cache=True, fastmath=_FM, nogil=True)
def full_gradient(X, data, indices, indptr, sparse, c, r_raw, s, G):
    """G_j = X'_jᵀ r for every j (``r = r_raw + s·v``)."""
    for j in range(G.shape[0]):
        G[j] = _dot_col(X, data, indices, indptr, sparse, j, r_raw) + s * c[j]


@njit(cache=True, fastmath=_FM, nogil=True)
def raw_residual(X, data, indices, indptr, sparse, y, w, out):
    """``out = y − X w`` over the nonzero ``w_j`` only (O(n·nnz); no BLAS call, whose threads
    would have to be woken at every solve)."""
    for i in range(y.shape[0]):
        out[i] = y[i]
    for j in range(w.shape[0]):
        if w[j] != 0.0:
            _axpy_col(X, data, indices, indptr, sparse, j, -w[j], out)


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


#: penalty codes whose 1-D prox is the soft threshold at ``P[0, j]`` followed by the bounds (L1, and
#: weighted L1, whose ``P[0, j]`` already holds the coordinate's weight times lam)
SOFT_CODES = (int(Code.L1), int(Code.L1W))


@njit(cache=True, nogil=True)
def is_soft(code):
    """Whether ``code`` is one of :data:`SOFT_CODES` (the epochs and scores then use :func:`soft1d`)."""
    return code_in(code, SOFT_CODES)


@njit(cache=True, nogil=True)
def soft1d(x, step, a, lo, hi):
    """:func:`~proxgan.solvers._prox1d.prox1d` for a code of :data:`SOFT_CODES`, without the switch over
    every code, on scalars (``a, lo, hi = P[0, j], P[2, j], P[3, j]``): ``clip(x − clip(x, −t, t), lo, hi)``
    with ``t = step·a`` (the same operations,
    hence the same bits; ``tests/solvers/test_cd_soft.py``). The Lasso's epochs and scores spent about
    as long in the generic switch as in the column's dot product on a 100-row design (17 ns against
    5 ns per coordinate for a full scoring pass)."""
    t = step * a
    return clip(x - clip(x, -t, t), lo, hi)


@njit(cache=True, nogil=True)
def _score(wj, Gj, nrm2, n, code, P, j):
    """Fixed-point violation L_j·|w_j − prox(w_j + G_j/‖X_j‖², 1/L_j)| (gradient units)."""
    if nrm2 == 0.0:
        return 0.0
    L = nrm2 / n
    wp = prox1d(wj + Gj / nrm2, 1.0 / L, code, P, j)
    return abs(wj - wp) * L


@njit(cache=True, nogil=True)
def _violations(w, G, norms2, n, code, P, idx, out, active):
    """``out[t]`` = :func:`_score` of coordinate ``j = idx[t]`` from ``G[j]`` (0 for screened ones). For a
    code of :data:`SOFT_CODES` a loop of its own through :func:`soft1d`: one loop holding both
    branches ran at the generic switch's speed (13 ns a coordinate against 4)."""
    if is_soft(code):
        for t in range(idx.shape[0]):
            j = idx[t]
            nrm2 = norms2[j]
            if not active[j] or nrm2 == 0.0:
                out[t] = 0.0
                continue
            L = nrm2 / n
            out[t] = abs(w[j] - soft1d(w[j] + G[j] / nrm2, 1.0 / L, P[0, j], P[2, j], P[3, j])) * L
        return
    for t in range(idx.shape[0]):
        j = idx[t]
        out[t] = _score(w[j], G[j], norms2[j], n, code, P, j) if active[j] else 0.0


class QuadraticState(NamedTuple):
    """The quadratic datafit for :func:`~proxgan.solvers._cd_driver.ws_cd` (module docstring).

    ``r_raw`` and ``s`` (one entry) are updated in place; ``G`` receives :math:`X'^\\top r` of each
    scored coordinate (for the gap). The rest serves the Lasso's certified gap
    (:mod:`proxgan.solvers._cd_screen`, used when ``lasso``: every ``l1_j > 0``, no ``l2``):
    ``active`` (False: screened out, never scored or updated again), ``screen`` (screen at each
    check), ``R`` (ring of the residuals of the last epochs, one row per epoch; fewer than 2 rows:
    no dual extrapolation), ``pushed`` (rows written), ``best`` / ``u_best`` / ``Gu_best`` (best dual
    value, point and :math:`X'^\\top u` so far), ``acc`` / ``Ga`` / ``acc_state`` (the extrapolated
    residual formed at the refresh, and :math:`X'^\\top` of it computed by the full scoring pass in
    the same read of ``X``: state 0 none, 1 ``acc`` ready, 2 ``Ga`` ready too), ``norms_todo`` (one
    entry; dense ``X`` without offset only: ``norms2`` is still to be formed, by the first scoring pass
    in the same read of ``X`` as the gradient, :func:`_first_scores`).
    """

    X: np.ndarray
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    sparse: bool
    mu: np.ndarray
    v: np.ndarray
    c: np.ndarray
    norms2: np.ndarray
    y: np.ndarray
    r_raw: np.ndarray
    s: np.ndarray
    G: np.ndarray
    lasso: bool
    active: np.ndarray
    screen: bool
    R: np.ndarray
    pushed: np.ndarray
    best: np.ndarray
    u_best: np.ndarray
    Gu_best: np.ndarray
    acc: np.ndarray
    Ga: np.ndarray
    acc_state: np.ndarray
    norms_todo: np.ndarray

    #: the driver also checks the working set after epochs 3 and 6 (:func:`~proxgan.solvers._cd_driver.cd_early_checks`)
    EARLY_CHECKS = True


@njit(cache=True, fastmath=_FM, nogil=True)
def _grads(X, data, indices, indptr, sparse, c, r_raw, s, idx, G, active):
    """``G[j] = X'_jᵀr`` for the active coordinates of ``idx`` (a loop of its own, with fastmath: inside
    the scoring loop the dot products ran about half as fast on a 100-row design)."""
    for t in range(idx.shape[0]):
        j = idx[t]
        if active[j]:
            G[j] = _dot_col(X, data, indices, indptr, sparse, j, r_raw) + s * c[j]


@njit(cache=True, nogil=True)
def _scores(X, data, indices, indptr, sparse, c, norms2, r_raw, s, w, idx, code, P, out, G, active):
    """Violations of the coordinates ``idx`` into ``out`` (and X'_jᵀ r into ``G[j]``); 0 for screened ones."""
    _grads(X, data, indices, indptr, sparse, c, r_raw, s, idx, G, active)
    _violations(w, G, norms2, r_raw.shape[0], code, P, idx, out, active)


@njit(cache=True, nogil=True)
def _full_grads(X, data, indices, indptr, sparse, mu, v, c, r_raw, s, G, active, two, acc, Ga):
    """``G = X'ᵀr`` over every active column and, when ``two``, ``Ga = X'ᵀacc`` in the same
    read of each column (0 for screened ones): :func:`~proxgan.solvers._cd_columns.grad_cols`."""
    vu = 0.0
    if two:
        for i in range(acc.shape[0]):
            vu += v[i] * acc[i]
    grad_cols(X, data, indices, indptr, sparse, mu, c, r_raw, s, G, active, two, acc, vu, Ga, 0, G.shape[0])


@njit(cache=True, nogil=True)
def _full_scores(X, data, indices, indptr, sparse, mu, v, c, norms2, r_raw, s, w, code, P, out, G, active, two,
                 acc, Ga):
    """:func:`_scores` over every coordinate (the outer check), and ``Ga_j = X'_jᵀacc`` when ``two``, in
    the same read of each column (:func:`_full_grads`): with dual extrapolation the check needs both,
    and on a wide X the second pass over X cost as much as the first."""
    _full_grads(X, data, indices, indptr, sparse, mu, v, c, r_raw, s, G, active, two, acc, Ga)
    _violations(w, G, norms2, r_raw.shape[0], code, P, np.arange(w.shape[0]), out, active)


@njit(cache=True, nogil=True)
def _first_scores(X, r_raw, w, code, P, out, G, norms2, active):
    """:func:`_full_scores` of a dense ``X`` without offset whose ``norms2`` are not formed yet: ``G_j = X_jᵀr``
    and ``norms2_j = ‖X_j‖²`` in one read of each column, then the violations (the estimators' first
    check: one pass over ``X`` instead of two, 1 ms of a 9 ms fit of a 5000 x 500 problem)."""
    for j in range(w.shape[0]):
        G[j], norms2[j] = dot_sq_dense(X, j, r_raw)
    _violations(w, G, norms2, r_raw.shape[0], code, P, np.arange(w.shape[0]), out, active)


@njit(cache=True, nogil=True)
def _epoch_soft(X, data, indices, indptr, sparse, mu, c, norms2, r_raw, s, w, ws, P, active):
    """:func:`_epoch` for a code of :data:`SOFT_CODES`, through :func:`soft1d` (the Lasso's epochs). The
    update's last lines repeat :func:`_epoch`'s: moved into a shared helper they made the epoch 5-20%
    slower (100 x 10,000 and 500 x 600, even inlined)."""
    n = r_raw.shape[0]
    for j in ws:
        nrm = norms2[j]
        if not active[j]:
            continue
        wj = w[j]
        if nrm == 0.0:
            new = clip(0.0, P[2, j], P[3, j])
        else:
            g = (dot_sparse(data, indices, indptr, j, r_raw) if sparse else dot_dense(X, j, r_raw)) + s * c[j]
            new = soft1d(wj + g / nrm, n / nrm, P[0, j], P[2, j], P[3, j])
        if new != wj:
            d = new - wj
            w[j] = new
            if sparse:  # the leaves called here, not the dispatchers (see proxgan.solvers._cd_columns)
                axpy_sparse(data, indices, indptr, j, -d, r_raw)
            else:
                axpy_dense(X, j, -d, r_raw)
            s += mu[j] * d
    return s


@njit(cache=True, nogil=True)
def _epoch(X, data, indices, indptr, sparse, mu, c, norms2, r_raw, s, w, ws, code, P, active):
    """One pass of exact coordinate updates over the active coordinates of ``ws``; returns the new ``s``."""
    n = r_raw.shape[0]
    if is_soft(code):
        return _epoch_soft(X, data, indices, indptr, sparse, mu, c, norms2, r_raw, s, w, ws, P, active)
    for j in ws:
        if not active[j]:
            continue
        nrm = norms2[j]
        wj = w[j]
        if nrm == 0.0:
            new = clip(0.0, P[2, j], P[3, j])
        else:
            g = (dot_sparse(data, indices, indptr, j, r_raw) if sparse else dot_dense(X, j, r_raw)) + s * c[j]
            new = prox1d(wj + g / nrm, n / nrm, code, P, j)
        if new != wj:
            d = new - wj
            w[j] = new
            if sparse:  # the leaves called here, not the dispatchers (see proxgan.solvers._cd_columns)
                axpy_sparse(data, indices, indptr, j, -d, r_raw)
            else:
                axpy_dense(X, j, -d, r_raw)
            s += mu[j] * d
    return s


@njit(cache=True, nogil=True)
def _push_residual(R, row, r_raw, s, v):
    for i in range(r_raw.shape[0]):
        R[row, i] = r_raw[i] + s * v[i]


@njit(cache=True, nogil=True)
def _residual_scalars(r_raw, s, v, y):
    """``(‖r‖², rᵀy)`` with ``r = r_raw + s·v``."""
    rn2 = 0.0
    ry = 0.0
    for i in range(r_raw.shape[0]):
        ri = r_raw[i] + s * v[i]
        rn2 += ri * ri
        ry += ri * y[i]
    return rn2, ry


@overload(cd_refresh, jit_options=HOOK_JIT)
def _refresh(st, w):
    if is_state(st, QuadraticState):
        def impl(st, w):  # the residual is exact up to rounding; form the extrapolated residual
            st.acc_state[0] = 0
            m = st.R.shape[0]
            if m > 1 and st.pushed[0] >= m:
                ok, acc = extrapolated_residual(st.R, st.pushed[0])
                if ok:
                    copy_into(st.acc, acc)
                    st.acc_state[0] = 1
        return impl


@overload(cd_scores, jit_options=HOOK_JIT)
def _scores_hook(st, w, idx, code, P, out):
    if is_state(st, QuadraticState):
        def impl(st, w, idx, code, P, out):
            if idx.shape[0] == w.shape[0]:  # the full pass of the outer check
                if st.norms_todo[0]:  # the first one, forming the column norms too (dense X, no offset)
                    _first_scores(st.X, st.r_raw, w, code, P, out, st.G, st.norms2, st.active)
                    st.norms_todo[0] = False
                    return
                pre = st.acc_state[0] == 1  # the extrapolated residual formed at the refresh: X'ᵀ of it too
                _full_scores(st.X, st.data, st.indices, st.indptr, st.sparse, st.mu, st.v, st.c, st.norms2,
                             st.r_raw, st.s[0], w, code, P, out, st.G, st.active, pre, st.acc, st.Ga)
                if pre:
                    st.acc_state[0] = 2
                return
            _scores(st.X, st.data, st.indices, st.indptr, st.sparse, st.c, st.norms2, st.r_raw, st.s[0], w,
                    idx, code, P, out, st.G, st.active)
        return impl


@overload(cd_epoch, jit_options=HOOK_JIT)
def _epoch_hook(st, w, ws, code, P):
    if is_state(st, QuadraticState):
        def impl(st, w, ws, code, P):
            st.s[0] = _epoch(st.X, st.data, st.indices, st.indptr, st.sparse, st.mu, st.c, st.norms2, st.r_raw,
                             st.s[0], w, ws, code, P, st.active)
            m = st.R.shape[0]
            if m > 1:  # keep this epoch's residual for the dual extrapolation
                _push_residual(st.R, st.pushed[0] % m, st.r_raw, st.s[0], st.v)
                st.pushed[0] += 1
        return impl


@overload(cd_criterion, jit_options=HOOK_JIT)
def _criterion(st, w, l1, l2, positive, use_gap, max_score):
    if is_state(st, QuadraticState):
        def impl(st, w, l1, l2, positive, use_gap, max_score):
            if not use_gap:
                return max_score
            if st.lasso:
                if not st.screen and st.R.shape[0] == 0:
                    # no screening, no extrapolation (the estimators): scikit-learn's gap, whose dual
                    # point is the current rescaled residual only, not the best one seen so far
                    st.best[0] = -np.inf
                r = st.r_raw + st.s[0] * st.v
                ready = st.acc_state[0] == 2
                st.acc_state[0] = 0
                return lasso_check(st.X, st.data, st.indices, st.indptr, st.sparse, st.mu, st.v, st.norms2, st.y,
                                   r, st.G, w, l1, positive, st.active, st.screen, st.R, st.pushed[0], st.best,
                                   st.u_best, st.Gu_best, st.acc, st.Ga, ready)
            rn2, ry = _residual_scalars(st.r_raw, st.s[0], st.v, st.y)
            return gap_from_scalars(rn2, ry, st.y.shape[0], w, st.G, l1, l2, positive)
        return impl


@overload(cd_move, jit_options=HOOK_JIT)
def _move_hook(st, j, d):
    if is_state(st, QuadraticState):
        def impl(st, j, d):
            _axpy_col(st.X, st.data, st.indices, st.indptr, st.sparse, j, -d, st.r_raw)
            st.s[0] += st.mu[j] * d
        return impl


@overload(cd_value, jit_options=HOOK_JIT)
def _value(st, w):
    if is_state(st, QuadraticState):
        def impl(st, w):
            return 0.5 * _residual_scalars(st.r_raw, st.s[0], st.v, st.y)[0] / st.r_raw.shape[0]
        return impl


@overload(cd_save, jit_options=HOOK_JIT)
def _save(st):
    if is_state(st, QuadraticState):
        def impl(st):
            return st.r_raw.copy(), st.s[0]
        return impl


@overload(cd_restore, jit_options=HOOK_JIT)
def _restore(st, saved):
    if is_state(st, QuadraticState):
        def impl(st, saved):
            copy_into(st.r_raw, saved[0])
            st.s[0] = saved[1]
        return impl


def cd_quadratic_kernel(X, data, indices, indptr, sparse, mu, v, c, norms2, y, w, r_raw, s,
                        code, P, l1, l2, use_gap, positive, tol, max_iter, p0, use_ws, K, screening=True,
                        dual_extrapolation=5, dual_out=None, active=None, norms_todo=False):
    """Working-set coordinate descent with Anderson acceleration on the quadratic datafit.

    ``w`` and ``r_raw`` are updated in place. Returns ``(s, crit, n_outer, converged)``
    where ``crit`` is the duality gap (``use_gap``) or the largest fixed-point violation. For the
    Lasso (``use_gap``, every ``l1_j > 0``, no ``l2``) the gap is certified
    (:mod:`proxgan.solvers._cd_screen`): ``screening`` enables gap-safe screening,
    ``dual_extrapolation`` is the number of extrapolated residual differences (0: none), and
    ``dual_out`` (shape ``(n,)``) receives the best dual point (residual units; zeros otherwise),
    ``active`` (bool, shape ``(p,)``, all True on entry) is left False on the screened coordinates.
    ``norms_todo`` (dense ``X`` with ``mu = 0`` only): ``norms2`` is not filled yet; the first scoring
    pass forms it (:func:`_first_scores`).
    """
    n, p = y.shape[0], w.shape[0]
    lasso = bool(use_gap) and p > 0 and bool(np.all(l1 > 0)) and not np.any(l2)
    m = int(dual_extrapolation) + 1 if lasso and dual_extrapolation > 0 else 0
    u_best = np.zeros(n) if dual_out is None else dual_out
    st = QuadraticState(X, data, indices, indptr, bool(sparse), mu, v, c, norms2, y, r_raw,
                        np.array([float(s)]), np.zeros(p), lasso, np.ones(p, dtype=np.bool_) if active is None else active,
                        bool(screening) and lasso, np.zeros((m, n if m else 0)), np.zeros(1, dtype=np.int64),
                        np.array([-np.inf]), u_best, np.zeros(p), np.zeros(n if m else 0), np.zeros(p if m else 0),
                        np.zeros(1, dtype=np.int64), np.array([bool(norms_todo)]))
    crit, n_ep, conv = ws_cd(st, w, int(code), P, l1, l2, bool(use_gap), bool(positive), float(tol), int(max_iter),
                             int(p0), bool(use_ws), int(K))
    return float(st.s[0]), crit, n_ep, conv
