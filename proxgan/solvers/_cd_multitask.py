r"""Compiled (numba) block coordinate descent for the multi-task elastic net (several targets).

Solves, for ``Y`` of shape (n, T) and ``W`` of shape (p, T) (row ``W_j`` = feature ``j`` across
the targets),

.. math::

    \min_W\; \frac{1}{2n}\lVert Y - XW\rVert_F^2 + l_1\sum_j \lVert W_j\rVert_2 + \tfrac{l_2}2\lVert W\rVert_F^2,

scikit-learn's multi-task objective (``l1 = α·l1_ratio``, ``l2 = α·(1 − l1_ratio)``), which is what its
``enet_path`` solves for a 2-D ``y``. Block update of feature ``j`` (exact: the block is a group-lasso
problem with an isotropic quadratic), with :math:`L_j = \lVert X_j\rVert^2/n` and
:math:`g_j = X_j^\top R/n` (``R = Y − XW``):

.. math::

    W_j \leftarrow \frac{\max(0, 1 - l_1/(L_j\lVert u\rVert))}{1 + l_2/L_j}\,u,\qquad u = W_j + g_j/L_j .

Stopping: the duality gap (scikit-learn's, divided by ``n``) at most ``tol``, checked (like
scikit-learn) after an epoch whose largest block change is below ``rel_change`` times the largest
block, and at the last epoch. Cyclic order; no working sets (the problems are small).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["multitask_gap", "multitask_cd"]


@njit(cache=True, nogil=True)
def multitask_gap(X, Y, W, R, l1, l2):
    r"""Duality gap of the problem above at ``W`` (``R = Y − XW``), scikit-learn's dual point divided by n.

    With :math:`A_j = X_j^\top R/n - l_2 W_j` and :math:`c = \min(1, l_1/\max_j\lVert A_j\rVert)`:
    :math:`P - D = \frac{1+c^2}{2n}\lVert R\rVert^2 + l_1\sum_j\lVert W_j\rVert - \frac cn\langle R, Y\rangle
    + \frac{l_2}2(1+c^2)\lVert W\rVert^2`. Without an L1 part (``l1 = 0``) the ridge gap
    :math:`\sum_j \tfrac{l_2}2\lVert W_j - X_j^\top R/(n l_2)\rVert^2` (or, with ``l2 = 0`` too, the KKT
    residual :math:`\sum_j \lVert X_j^\top R\rVert^2/n + |\langle X_j^\top R, W_j\rangle|/n`).
    """
    n, p = X.shape
    T = Y.shape[1]
    G = X.T @ R  # (p, T)
    if l1 == 0.0:
        crit = 0.0
        for j in range(p):
            for t in range(T):
                if l2 > 0.0:
                    d = W[j, t] - G[j, t] / (n * l2)
                    crit += 0.5 * l2 * d * d
                else:
                    crit += (G[j, t] * G[j, t] + abs(G[j, t] * W[j, t])) / n
        return crit
    dnorm = 0.0
    l21 = 0.0
    wn2 = 0.0
    for j in range(p):
        a2 = 0.0
        w2 = 0.0
        for t in range(T):
            a = G[j, t] / n - l2 * W[j, t]
            a2 += a * a
            w2 += W[j, t] * W[j, t]
        dnorm = max(dnorm, math.sqrt(a2))
        l21 += math.sqrt(w2)
        wn2 += w2
    c = 1.0 if dnorm <= l1 else l1 / dnorm
    rn2 = 0.0
    ry = 0.0
    for t in range(T):
        for i in range(n):
            rn2 += R[i, t] * R[i, t]
            ry += R[i, t] * Y[i, t]
    return (0.5 * (1.0 + c * c) * rn2 / n + l1 * l21 - c * ry / n + 0.5 * l2 * (1.0 + c * c) * wn2)


@njit(cache=True, nogil=True)
def multitask_cd(X, Y, W, R, l1, l2, tol, max_iter, rel_change):
    """Cyclic block CD (module docstring); ``W`` (p, T) and ``R`` (n, T, = Y − XW) updated in place.

    ``X`` Fortran-ordered, ``R`` and ``Y`` Fortran-ordered. Returns ``(gap, n_epochs, converged)``.
    """
    n, p = X.shape
    T = Y.shape[1]
    norms = np.empty(p)
    for j in range(p):
        acc = 0.0
        for i in range(n):
            acc += X[i, j] * X[i, j]
        norms[j] = acc / n
    u = np.empty(T)
    old = np.empty(T)
    gap = np.inf
    for epoch in range(max_iter):
        w_max = 0.0
        d_max = 0.0
        for j in range(p):
            L = norms[j]
            if L == 0.0:
                continue
            un = 0.0
            for t in range(T):
                g = 0.0
                for i in range(n):
                    g += X[i, j] * R[i, t]
                old[t] = W[j, t]
                u[t] = W[j, t] + g / (n * L)
                un += u[t] * u[t]
            un = math.sqrt(un)
            scale = 0.0 if un <= l1 / L else (1.0 - l1 / (L * un)) / (1.0 + l2 / L)
            d2 = 0.0
            w2 = 0.0
            for t in range(T):
                new = scale * u[t]
                d = new - old[t]
                if d != 0.0:
                    for i in range(n):
                        R[i, t] -= d * X[i, j]
                W[j, t] = new
                d2 += d * d
                w2 += new * new
            d_max = max(d_max, math.sqrt(d2))
            w_max = max(w_max, math.sqrt(w2))
        if w_max == 0.0 or d_max / w_max <= rel_change or epoch == max_iter - 1:
            gap = multitask_gap(X, Y, W, R, l1, l2)
            if gap <= tol:
                return gap, epoch + 1, True
    return gap, max_iter, False
