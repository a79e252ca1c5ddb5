r"""Compiled (numba) coordinate descent for the per-sample datafits (Huber, Poisson, Gamma, smoothed Quantile).

Solves :math:`\min_{w, b} \sum_i s_i\,\phi(y_i, x_i^\top w + b) + \sum_j g_j(w_j)` (``sw``:
the weights divided by their sum) with :math:`g_j` as in :mod:`proxgan.solvers._prox1d` and an
optional free intercept :math:`b` (the last entry of ``w``). :math:`\phi`, :math:`\phi'` and
:math:`\phi''` (in :math:`z`) are written once here, switched on ``kind``
(:data:`proxgan.datafits._glm.HUBER` ...), with the two numbers ``a, m`` of the datafit
(``epsilon``; ``quantile, smoothing``); the torch twins are the datafits' ``_phi``/``_dphi``.

Coordinate update: a proximal Newton step on one coordinate with a backtracking line search.
With :math:`g = \partial_j f`, :math:`h = \partial_{jj} f` (exact, :math:`O(\mathrm{nnz}_j)`) and
:math:`H = \max(h, H_j/4)` (:math:`H_j`: the curvature accepted at the last visit, so that a
locally flat coordinate, e.g. of the smoothed pinball, starts from a sensible step),

.. math::

    w_j^+ = \operatorname{prox}_{g_j/H}(w_j - g/H),\quad d = w_j^+ - w_j,

accepted when :math:`f(w + d e_j) \le f(w) + g d + \tfrac H2 d^2` (then :math:`F` decreases),
else :math:`H \leftarrow 2H`. The change of :math:`f` along a column costs
:math:`O(\mathrm{nnz}_j)`. Scores and the stopping rule are the driver's fixed-point violation
:math:`H|w_j - \operatorname{prox}(w_j - g/H)|` (zero exactly at a minimiser, for any
:math:`H > 0`); working sets and Anderson extrapolation are the driver's
(:func:`proxgan.solvers._cd_driver.ws_cd`). The readable twin is FISTA on the same datafit.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import overload

from proxgan.datafits._glm import GAMMA, HUBER, POISSON
from proxgan.kernels._prox_cpu import clip
from proxgan.solvers._cd_driver import (HOOK_JIT, cd_criterion, cd_epoch, cd_move, cd_refresh, cd_restore, cd_save,
                                        cd_scores, cd_value, is_state, ws_cd)
from proxgan.solvers._cd_loops import copy_into
from proxgan.solvers._cd_kernels import _axpy_col
from proxgan.solvers._prox1d import prox1d

__all__ = ["GLMState", "cd_glm_kernel", "solve_glm", "phi", "dphi", "d2phi", "dphi_step"]


@njit(cache=True, nogil=True)
def phi(kind, y, z, a, m):
    """:math:`\\phi(y, z)` of datafit ``kind`` (module docstring)."""
    if kind == HUBER:
        r = abs(y - z)
        return 0.5 * r * r if r <= a else a * r - 0.5 * a * a
    if kind == POISSON:
        return math.exp(z) - y * z
    if kind == GAMMA:
        return z + y * math.exp(-z)
    r = y - z  # smoothed pinball, quantile a, width m
    if r > a * m:
        return a * r - 0.5 * a * a * m
    if r < (a - 1.0) * m:
        return (a - 1.0) * r - 0.5 * (a - 1.0) * (a - 1.0) * m
    return 0.5 * r * r / m


@njit(cache=True, nogil=True)
def dphi(kind, y, z, a, m):
    """:math:`\\partial_z\\phi(y, z)`."""
    if kind == HUBER:
        return -clip(y - z, -a, a)
    if kind == POISSON:
        return math.exp(z) - y
    if kind == GAMMA:
        return 1.0 - y * math.exp(-z)
    return -clip((y - z) / m, a - 1.0, a)


@njit(cache=True, nogil=True)
def d2phi(kind, y, z, a, m):
    """:math:`\\partial_z^2\\phi(y, z)` (one-sided at the kinks)."""
    if kind == HUBER:
        return 1.0 if abs(y - z) <= a else 0.0
    if kind == POISSON:
        return math.exp(z)
    if kind == GAMMA:
        return y * math.exp(-z)
    r = y - z
    return 1.0 / m if (a - 1.0) * m <= r <= a * m else 0.0


@njit(cache=True, nogil=True)
def dphi_step(kind, y, z, dz, a, m):
    r""":math:`\phi(y, z + dz) - \phi(y, z)`, computed without cancellation (the line search
    compares it with :math:`g\,d + \tfrac H2 d^2`, which is tiny near the solution)."""
    if kind == POISSON:
        return math.exp(z) * math.expm1(dz) - y * dz
    if kind == GAMMA:
        return dz + y * math.exp(-z) * math.expm1(-dz)
    r0 = y - z
    r1 = r0 - dz
    if kind == HUBER:
        if abs(r0) <= a and abs(r1) <= a:
            return -r0 * dz + 0.5 * dz * dz
        if abs(r0) > a and abs(r1) > a and (r0 > 0) == (r1 > 0):
            return -a * dz if r0 > 0 else a * dz
    else:
        lo, hi = (a - 1.0) * m, a * m
        if lo <= r0 <= hi and lo <= r1 <= hi:
            return (-r0 * dz + 0.5 * dz * dz) / m
        if r0 > hi and r1 > hi:
            return -a * dz
        if r0 < lo and r1 < lo:
            return -(a - 1.0) * dz
    return phi(kind, y, z + dz, a, m) - phi(kind, y, z, a, m)


@njit(cache=True, nogil=True)
def _derivs(X, data, indices, indptr, sparse, j, p, y, sw, z, kind, a, m):
    """``(g, h)``: first and second partial derivatives of f in coordinate j (j == p: intercept)."""
    g = 0.0
    h = 0.0
    if j == p:
        for i in range(y.shape[0]):
            g += sw[i] * dphi(kind, y[i], z[i], a, m)
            h += sw[i] * d2phi(kind, y[i], z[i], a, m)
    elif sparse:
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            x = data[k]
            g += sw[i] * x * dphi(kind, y[i], z[i], a, m)
            h += sw[i] * x * x * d2phi(kind, y[i], z[i], a, m)
    else:
        for i in range(y.shape[0]):
            x = X[i, j]
            if x != 0.0:
                g += sw[i] * x * dphi(kind, y[i], z[i], a, m)
                h += sw[i] * x * x * d2phi(kind, y[i], z[i], a, m)
    return g, h


@njit(cache=True, nogil=True)
def _delta(X, data, indices, indptr, sparse, j, p, y, sw, z, kind, a, m, d):
    """:math:`f(w + d e_j) - f(w)`."""
    acc = 0.0
    if j == p:
        for i in range(y.shape[0]):
            acc += sw[i] * dphi_step(kind, y[i], z[i], d, a, m)
    elif sparse:
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            acc += sw[i] * dphi_step(kind, y[i], z[i], d * data[k], a, m)
    else:
        for i in range(y.shape[0]):
            x = X[i, j]
            if x != 0.0:
                acc += sw[i] * dphi_step(kind, y[i], z[i], d * x, a, m)
    return acc


@njit(cache=True, nogil=True)
def _target(j, p, w, g, H, code, P):
    """The proximal Newton value of coordinate j with curvature H (intercept free)."""
    if j == p:
        return w[j] - g / H
    return prox1d(w[j] - g / H, 1.0 / H, code, P, j)


@njit(cache=True, nogil=True)
def _move(X, data, indices, indptr, sparse, j, p, d, z):
    if j == p:
        for i in range(z.shape[0]):
            z[i] += d
    else:
        _axpy_col(X, data, indices, indptr, sparse, j, d, z)


class GLMState(NamedTuple):
    """The per-sample datafit for the driver: data, labels ``y``, normalised weights ``sw``,
    ``kind`` and its numbers ``a, m``, ``p`` (coordinate ``p`` is the intercept), the scores
    ``z = Xw + b`` and the last accepted curvatures ``Hs`` (both in place)."""

    X: np.ndarray
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    sparse: bool
    y: np.ndarray
    sw: np.ndarray
    kind: int
    a: float
    m: float
    p: int
    z: np.ndarray
    Hs: np.ndarray


@njit(cache=True, nogil=True)
def _scores(X, data, indices, indptr, sparse, y, sw, kind, a, m, p, z, Hs, w, idx, code, P, out):
    for t in range(idx.shape[0]):
        j = idx[t]
        g, h = _derivs(X, data, indices, indptr, sparse, j, p, y, sw, z, kind, a, m)
        H = max(h, 0.25 * Hs[j])
        out[t] = 0.0 if H <= 0.0 else H * abs(w[j] - _target(j, p, w, g, H, code, P))


@njit(cache=True, nogil=True)
def _epoch(X, data, indices, indptr, sparse, y, sw, kind, a, m, p, z, Hs, w, ws, code, P):
    for j in ws:
        g, h = _derivs(X, data, indices, indptr, sparse, j, p, y, sw, z, kind, a, m)
        H = max(h, 0.25 * Hs[j])
        if H <= 0.0:  # an empty column (or no weight): f does not depend on w_j
            if j < p:
                w[j] = clip(0.0, P[2, j], P[3, j])
            continue
        for _ in range(64):
            d = _target(j, p, w, g, H, code, P) - w[j]
            if d == 0.0:
                break
            df = _delta(X, data, indices, indptr, sparse, j, p, y, sw, z, kind, a, m, d)
            if df <= g * d + 0.5 * H * d * d + 1e-12 * abs(g * d):
                _move(X, data, indices, indptr, sparse, j, p, d, z)
                w[j] += d
                Hs[j] = H
                break
            H *= 2.0


@njit(cache=True, nogil=True)
def _loss(y, z, sw, kind, a, m):
    val = 0.0
    for i in range(y.shape[0]):
        val += sw[i] * phi(kind, y[i], z[i], a, m)
    return val


@njit(cache=True, nogil=True)
def _recompute(X, data, indices, indptr, sparse, p, w, z):
    z[:] = 0.0
    for j in range(w.shape[0]):
        if w[j] != 0.0:
            _move(X, data, indices, indptr, sparse, j, p, w[j], z)


@overload(cd_refresh, jit_options=HOOK_JIT)
def _refresh(st, w):
    if is_state(st, GLMState):
        def impl(st, w):  # z again from w: no drift over long runs at small smoothing
            _recompute(st.X, st.data, st.indices, st.indptr, st.sparse, st.p, w, st.z)
        return impl


@overload(cd_scores, jit_options=HOOK_JIT)
def _scores_hook(st, w, idx, code, P, out):
    if is_state(st, GLMState):
        def impl(st, w, idx, code, P, out):
            _scores(st.X, st.data, st.indices, st.indptr, st.sparse, st.y, st.sw, st.kind, st.a, st.m, st.p, st.z,
                    st.Hs, w, idx, code, P, out)
        return impl


@overload(cd_epoch, jit_options=HOOK_JIT)
def _epoch_hook(st, w, ws, code, P):
    if is_state(st, GLMState):
        def impl(st, w, ws, code, P):
            _epoch(st.X, st.data, st.indices, st.indptr, st.sparse, st.y, st.sw, st.kind, st.a, st.m, st.p, st.z,
                   st.Hs, w, ws, code, P)
        return impl


@overload(cd_criterion, jit_options=HOOK_JIT)
def _criterion(st, w, l1, l2, positive, use_gap, max_score):
    if is_state(st, GLMState):
        def impl(st, w, l1, l2, positive, use_gap, max_score):  # the largest fixed-point violation
            return max_score
        return impl


@overload(cd_move, jit_options=HOOK_JIT)
def _move_hook(st, j, d):
    if is_state(st, GLMState):
        def impl(st, j, d):
            _move(st.X, st.data, st.indices, st.indptr, st.sparse, j, st.p, d, st.z)
        return impl


@overload(cd_value, jit_options=HOOK_JIT)
def _value(st, w):
    if is_state(st, GLMState):
        def impl(st, w):
            return _loss(st.y, st.z, st.sw, st.kind, st.a, st.m)
        return impl


@overload(cd_save, jit_options=HOOK_JIT)
def _save(st):
    if is_state(st, GLMState):
        def impl(st):
            return st.z.copy()
        return impl


@overload(cd_restore, jit_options=HOOK_JIT)
def _restore(st, saved):
    if is_state(st, GLMState):
        def impl(st, saved):
            copy_into(st.z, saved)
        return impl


@njit(cache=True, nogil=True)
def _start_curvatures(X, data, indices, indptr, sparse, y, sw, kind, a, m, p, z, q):
    """:math:`H_j` at the start: the exact curvature, or (flat coordinates) the datafit's bound."""
    Hs = np.empty(q)
    cap = 1.0 if kind == HUBER else (1.0 / m if m > 0.0 else 1.0)
    for j in range(q):
        g, h = _derivs(X, data, indices, indptr, sparse, j, p, y, sw, z, kind, a, m)
        if h <= 0.0:
            acc = 0.0
            if j == p:
                acc = sw.sum()
            elif sparse:
                for k in range(indptr[j], indptr[j + 1]):
                    acc += sw[indices[k]] * data[k] * data[k]
            else:
                for i in range(y.shape[0]):
                    acc += sw[i] * X[i, j] * X[i, j]
            h = cap * acc
        Hs[j] = h
    return Hs


def cd_glm_kernel(X, data, indices, indptr, sparse, y, sw, w, intercept, kind, a, m,
                  code, P, tol, max_iter, p0, use_ws, K):
    """Working-set CD for a per-sample datafit; ``w`` updated in place. Returns ``(crit, n_epochs, converged)``."""
    p = int(P.shape[1])
    z = np.zeros(y.shape[0])
    _recompute(X, data, indices, indptr, bool(sparse), p, w, z)
    Hs = _start_curvatures(X, data, indices, indptr, bool(sparse), y, sw, int(kind), float(a), float(m), p, z,
                           w.shape[0])
    st = GLMState(X, data, indices, indptr, bool(sparse), y, sw, int(kind), float(a), float(m), p, z, Hs)
    empty = np.zeros(0)
    return ws_cd(st, w, int(code), P, empty, empty, False, False, float(tol), int(max_iter), int(p0), bool(use_ws),
                 int(K))


def solve_glm(datafit, penalty, *, positive=False, coef_init=None, tol=1e-8, max_iter=1000, working_set=True,
              anderson=10, p0=10):
    """:func:`proxgan.solvers.cd.solve` for a :class:`~proxgan.datafits.GLMDatafit` (its parameters;
    the intercept is the datafit's own).

    Parameters
    ----------
    datafit : GLMDatafit
    penalty : Penalty
    positive : bool
    coef_init : array of shape (datafit.n_features,), optional
    tol : float
    max_iter : int
    working_set : bool
    anderson : int
    p0 : int

    Returns
    -------
    SolverResult
    """
    from proxgan.solvers._common import SolverResult
    from proxgan.solvers._prox1d import penalty_params

    a, m = datafit.params()
    if datafit.KIND == 3 and not m > 0:
        raise ValueError("coordinate descent needs a smoothed pinball loss (smoothing > 0); "
                         "proxgan.solvers._quantile.solve solves the exact one")
    p = datafit.X.shape[1]
    q = datafit.n_features
    code, P = penalty_params(penalty, p, positive)
    w = np.zeros(q) if coef_init is None else np.array(coef_init, dtype=np.float64).ravel().copy()
    if w.shape[0] != q:
        raise ValueError(f"coef_init has {w.shape[0]} entries, expected {q}")
    w[:p] = np.clip(w[:p], P[2], P[3])
    if datafit.sparse:
        X, data, ind, ptr, sparse = np.zeros((0, 0), order="F"), datafit.X.data, datafit.X.indices, \
            datafit.X.indptr, True
    else:
        X, data, ind, ptr, sparse = datafit.X, np.zeros(0), np.zeros(1, np.int32), np.zeros(1, np.int32), False
    sw = datafit.sw / datafit.sw.sum()
    crit, n_ep, conv = cd_glm_kernel(X, data, ind, ptr, sparse, datafit.y, sw, w, datafit.intercept, datafit.KIND,
                                     a, m, code, P, tol, max_iter, p0, working_set, anderson)
    ok = bool(conv) and bool(np.isfinite(crit)) and bool(np.all(np.isfinite(w)))
    return SolverResult(w, float(crit), "optimality", int(n_ep), ok)
