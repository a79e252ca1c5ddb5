r"""Compiled (numba) coordinate descent for the logistic datafit.

Solves :math:`\min_{w, b} \frac1n\sum_i \log(1+e^{-y_i(x_i^\top w + b)}) + \sum_j g_j(w_j)`
with :math:`g_j` as in :mod:`proxgan.solvers._prox1d` and an optional unpenalised intercept
:math:`b` (stored as the last entry of ``w``). Each update is a proximal-gradient step on one
coordinate with its Lipschitz constant :math:`L_j = \sum_i s_i X_{ij}^2/(4n)`
(``norms2`` holds :math:`\sum_i s_i X_{ij}^2`; :math:`L_b = \sum_i s_i/(4n)`); ``z = Xw + b`` is kept
up to date. This module holds the datafit's state and hooks for the shared driver
:func:`proxgan.solvers._cd_driver.ws_cd` (working sets, Anderson extrapolation), and the
pieces the proximal Newton solver (:mod:`proxgan.solvers._pn_logistic`) shares; the solver stops
when the largest fixed-point violation :math:`L_j|w_j - \operatorname{prox}(w_j - \nabla_j f/L_j)|`
is ``<= tol``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import overload

from proxgan.solvers._cd_driver import (HOOK_JIT, cd_criterion, cd_epoch, cd_move, cd_refresh, cd_restore, cd_save,
                                        cd_scores, cd_value, is_state, ws_cd)
from proxgan.solvers._cd_loops import copy_into
from proxgan.solvers._cd_kernels import _FM, _axpy_col
from proxgan.kernels._prox_cpu import clip
from proxgan.solvers._cd_logistic_screen import _sig, class_sums, logistic_gap_screen  # _sig: the one sigmoid
from proxgan.solvers._prox1d import prox1d, value1d

__all__ = ["LogisticState", "cd_logistic_kernel", "start_point"]


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
def _coord(j, p, w, g, L, code, P):
    """Proximal-gradient value of coordinate j (intercept unpenalised)."""
    if L == 0.0:
        return clip(0.0, P[2, j], P[3, j]) if j < p else w[j]
    if j == p:
        return w[j] - g / L
    return prox1d(w[j] - g / L, 1.0 / L, code, P, j)


@njit(cache=True, nogil=True)
def _objective(y, z, w, ws, p, code, P, sw):
    """Logistic loss plus the penalty of the working set's coordinates."""
    val = 0.0
    for i in range(y.shape[0]):
        val += sw[i] * _softplus(-y[i] * z[i])
    val /= y.shape[0]
    for j in ws:
        if j < p:
            val += value1d(w[j], code, P, j)
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


class LogisticState(NamedTuple):
    """The logistic datafit for the driver: data, ``Ls`` (coordinate Lipschitz constants,
    intercept last), labels ``y = ±1``, weights ``sw``, ``p`` (features; coordinate ``p`` is the
    intercept) and the scores ``z = Xw + b`` (in place). With ``screen`` (L1, every ``l1_j > 0``),
    each check computes the certified gap into ``gap[0]`` and screens ``active``
    (:mod:`proxgan.solvers._cd_logistic_screen`, from the class sums ``Gpm`` and column norms ``colnorm``)."""

    X: np.ndarray
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    sparse: bool
    Ls: np.ndarray
    y: np.ndarray
    sw: np.ndarray
    p: int
    z: np.ndarray
    screen: bool
    intercept: bool
    positive: bool
    l1: np.ndarray
    colnorm: np.ndarray
    active: np.ndarray
    Gpm: np.ndarray
    gap: np.ndarray


@njit(cache=True, nogil=True)
def _scores(X, data, indices, indptr, sparse, Ls, y, sw, p, z, w, idx, code, P, out, screen, active, Gpm):
    for t in range(idx.shape[0]):
        j = idx[t]
        if j < p and not active[j]:
            out[t] = 0.0
            continue
        if screen and j < p:  # the gradient from the class sums the gap needs
            g = class_sums(X, data, indices, indptr, sparse, j, y, z, sw, Gpm)
        else:
            g = _grad_j(X, data, indices, indptr, sparse, j, p, y, z, sw)
        sc = abs(w[j] - _coord(j, p, w, g, Ls[j], code, P)) * Ls[j]
        out[t] = sc


@njit(cache=True, nogil=True)
def _epoch(X, data, indices, indptr, sparse, Ls, y, sw, p, z, w, ws, code, P, active):
    for j in ws:
        if j < p and not active[j]:
            continue
        g = _grad_j(X, data, indices, indptr, sparse, j, p, y, z, sw)
        new = _coord(j, p, w, g, Ls[j], code, P)
        if new != w[j]:
            _move(X, data, indices, indptr, sparse, j, p, new - w[j], z)
            w[j] = new


@njit(cache=True, nogil=True)
def _loss(y, z, sw):
    val = 0.0
    for i in range(y.shape[0]):
        val += sw[i] * _softplus(-y[i] * z[i])
    return val / y.shape[0]


@overload(cd_refresh, jit_options=HOOK_JIT)
def _refresh(st, w):
    if is_state(st, LogisticState):
        def impl(st, w):  # z is exact up to rounding
            return None
        return impl


@overload(cd_scores, jit_options=HOOK_JIT)
def _scores_hook(st, w, idx, code, P, out):
    if is_state(st, LogisticState):
        def impl(st, w, idx, code, P, out):
            _scores(st.X, st.data, st.indices, st.indptr, st.sparse, st.Ls, st.y, st.sw, st.p, st.z, w, idx,
                    code, P, out, st.screen, st.active, st.Gpm)
        return impl


@overload(cd_epoch, jit_options=HOOK_JIT)
def _epoch_hook(st, w, ws, code, P):
    if is_state(st, LogisticState):
        def impl(st, w, ws, code, P):
            _epoch(st.X, st.data, st.indices, st.indptr, st.sparse, st.Ls, st.y, st.sw, st.p, st.z, w, ws, code,
                   P, st.active)
        return impl


@overload(cd_criterion, jit_options=HOOK_JIT)
def _criterion(st, w, l1, l2, positive, use_gap, max_score):
    if is_state(st, LogisticState):
        def impl(st, w, l1, l2, positive, use_gap, max_score):  # stops on the largest violation
            if st.screen:
                st.gap[0] = logistic_gap_screen(st.y, st.z, st.sw, w, st.l1, st.Gpm, st.colnorm, st.intercept,
                                                st.positive, st.active, True)
            return max_score
        return impl


@overload(cd_move, jit_options=HOOK_JIT)
def _move_hook(st, j, d):
    if is_state(st, LogisticState):
        def impl(st, j, d):
            _move(st.X, st.data, st.indices, st.indptr, st.sparse, j, st.p, d, st.z)
        return impl


@overload(cd_value, jit_options=HOOK_JIT)
def _value(st, w):
    if is_state(st, LogisticState):
        def impl(st, w):
            return _loss(st.y, st.z, st.sw)
        return impl


@overload(cd_save, jit_options=HOOK_JIT)
def _save(st):
    if is_state(st, LogisticState):
        def impl(st):
            return st.z.copy()
        return impl


@overload(cd_restore, jit_options=HOOK_JIT)
def _restore(st, saved):
    if is_state(st, LogisticState):
        def impl(st, saved):
            copy_into(st.z, saved)
        return impl


def cd_logistic_kernel(X, data, indices, indptr, sparse, norms2, y, sw, w, intercept,
                       code, P, tol, max_iter, p0, use_ws, K, l1=None, positive=False, colnorm=None, active=None,
                       gap_out=None):
    """Working-set CD for the logistic loss; ``w`` updated in place. Returns ``(crit, n_outer, converged)``.

    ``l1`` (every entry > 0; with ``colnorm``, the columns' Euclidean norms) turns on gap-safe
    screening of the L1 penalty ``l1_j |w_j|``: ``active`` (bool, all True on entry) is left False
    on the screened coordinates and ``gap_out[0]`` receives the last certified gap.
    """
    Ls, z = start_point(X, data, indices, indptr, sparse, norms2, sw, w, bool(intercept))
    p = int(norms2.shape[0])
    screen = l1 is not None
    st = LogisticState(X, data, indices, indptr, bool(sparse), Ls, y, sw, p, z, screen, bool(intercept),
                       bool(positive), np.zeros(p) if l1 is None else l1,
                       np.zeros(p) if colnorm is None else colnorm,
                       np.ones(p, dtype=np.bool_) if active is None else active, np.zeros((2, p)),
                       np.full(1, np.inf) if gap_out is None else gap_out)
    empty = np.zeros(0)
    return ws_cd(st, w, int(code), P, empty, empty, False, False, float(tol), int(max_iter), int(p0), bool(use_ws), int(K))
