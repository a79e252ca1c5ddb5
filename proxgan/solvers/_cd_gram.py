r"""Compiled (numba) coordinate descent for the quadratic datafit from the Gram matrix: the state
and hooks of the shared driver :func:`proxgan.solvers._cd_driver.ws_cd`.

Same problem and stopping rule as :mod:`proxgan.solvers._cd_kernels`, but the state is the
gradient :math:`G = X^\top r = X^\top y - Qw` with :math:`Q = X^\top X` instead of the residual:
a coordinate update costs :math:`O(p)` instead of :math:`O(n)`, which pays off when
:math:`n > p` and ``Q`` is reused along a regularisation path (scikit-learn's
``precompute``). ``G`` is recomputed from ``w`` at every outer iteration (no drift). The scalars of
the duality gap follow from ``G``: :math:`r^\top y = \lVert y\rVert^2 - w^\top X^\top y` and
:math:`\lVert r\rVert^2 = \lVert y\rVert^2 - w^\top X^\top y - w^\top G`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import overload

from proxgan.solvers._cd_driver import (HOOK_JIT, cd_criterion, cd_epoch, cd_move, cd_refresh, cd_restore, cd_save,
                                        cd_scores, cd_value, is_state, ws_cd)
from proxgan.solvers._cd_loops import copy_into
from proxgan.solvers._cd_kernels import _FM, _score, gap_from_scalars
from proxgan.kernels._prox_cpu import clip
from proxgan.solvers._prox1d import prox1d

__all__ = ["GramState", "cd_gram_kernel"]


class GramState(NamedTuple):
    """``Q = XᵀX`` (C-ordered), ``Xty = Xᵀy``, ``yy = ‖y‖²``, ``n`` and the gradient ``G`` (in place)."""

    Q: np.ndarray
    Xty: np.ndarray
    yy: float
    n: float
    G: np.ndarray


@njit(cache=True, fastmath=_FM, nogil=True)
def _col_update(Q, j, d, G):
    """G -= d · Q[:, j] (read as the row Q[j, :]: Q is symmetric and C-ordered)."""
    for i in range(G.shape[0]):
        G[i] -= d * Q[j, i]


@njit(cache=True, nogil=True)
def _rnorms(yy, Xty, w, G):
    """``(‖r‖², rᵀy)`` from the gradient."""
    wy = 0.0
    wg = 0.0
    for j in range(w.shape[0]):
        wy += w[j] * Xty[j]
        wg += w[j] * G[j]
    return yy - wy - wg, yy - wy


@overload(cd_refresh, jit_options=HOOK_JIT)
def _refresh(st, w):
    if is_state(st, GramState):
        def impl(st, w):
            copy_into(st.G, st.Xty - st.Q @ w)
        return impl


@njit(cache=True, nogil=True)
def _scores(Q, G, n, w, idx, code, P, out):
    for t in range(idx.shape[0]):
        j = idx[t]
        sc = _score(w[j], G[j], Q[j, j], n, code, P, j)
        out[t] = sc


@njit(cache=True, nogil=True)
def _epoch(Q, G, n, w, ws, code, P):
    for j in ws:
        nrm = Q[j, j]
        wj = w[j]
        if nrm == 0.0:
            new = clip(0.0, P[2, j], P[3, j])
        else:
            new = prox1d(wj + G[j] / nrm, n / nrm, code, P, j)
        if new != wj:
            w[j] = new
            _col_update(Q, j, new - wj, G)


@overload(cd_scores, jit_options=HOOK_JIT)
def _scores_hook(st, w, idx, code, P, out):
    if is_state(st, GramState):
        def impl(st, w, idx, code, P, out):
            _scores(st.Q, st.G, st.n, w, idx, code, P, out)
        return impl


@overload(cd_epoch, jit_options=HOOK_JIT)
def _epoch_hook(st, w, ws, code, P):
    if is_state(st, GramState):
        def impl(st, w, ws, code, P):
            _epoch(st.Q, st.G, st.n, w, ws, code, P)
        return impl


@overload(cd_criterion, jit_options=HOOK_JIT)
def _criterion(st, w, l1, l2, positive, use_gap, max_score):
    if is_state(st, GramState):
        def impl(st, w, l1, l2, positive, use_gap, max_score):
            if not use_gap:
                return max_score
            rn2, ry = _rnorms(st.yy, st.Xty, w, st.G)
            return gap_from_scalars(rn2, ry, st.n, w, st.G, l1, l2, positive)
        return impl


@overload(cd_move, jit_options=HOOK_JIT)
def _move_hook(st, j, d):
    if is_state(st, GramState):
        def impl(st, j, d):
            _col_update(st.Q, j, d, st.G)
        return impl


@overload(cd_value, jit_options=HOOK_JIT)
def _value(st, w):
    if is_state(st, GramState):
        def impl(st, w):
            return 0.5 * _rnorms(st.yy, st.Xty, w, st.G)[0] / st.n
        return impl


@overload(cd_save, jit_options=HOOK_JIT)
def _save(st):
    if is_state(st, GramState):
        def impl(st):
            return st.G.copy()
        return impl


@overload(cd_restore, jit_options=HOOK_JIT)
def _restore(st, saved):
    if is_state(st, GramState):
        def impl(st, saved):
            copy_into(st.G, saved)
        return impl


def cd_gram_kernel(Q, Xty, yy, n, w, G, code, P, l1, l2, use_gap, positive, tol, max_iter, p0, use_ws, K):
    """Working-set CD on the Gram matrix; ``w`` and ``G`` (= Xᵀy − Qw) updated in place.

    Returns ``(crit, n_epochs, converged)``.
    """
    st = GramState(Q, Xty, float(yy), float(n), G)
    return ws_cd(st, w, int(code), P, l1, l2, bool(use_gap), bool(positive), float(tol), int(max_iter), int(p0),
                 bool(use_ws), int(K))
