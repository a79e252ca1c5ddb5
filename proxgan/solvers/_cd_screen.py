r"""Dual extrapolation and gap-safe screening for the quadratic datafit (compiled, numba).

Problem (the Lasso on the centred, weighted design :math:`X' = X - v\mu^\top` of
:mod:`proxgan.solvers._cd_kernels`; intercepts and sample weights are folded into :math:`X'` and
:math:`y` by centring and row scaling, so they need nothing here):

.. math::

    P(w) = \frac1{2n}\lVert y - X'w\rVert^2 + \sum_j \lambda_j |w_j| \quad (+\ \iota_{w\ge0}
    \text{ with ``positive``}),\qquad \lambda_j > 0 .

**Dual.** With :math:`u\in\mathbb R^n` (residual units),
:math:`D(u) = (u^\top y - \tfrac12\lVert u\rVert^2)/n`, feasible when
:math:`|X_j'^\top u|/n \le \lambda_j` for every :math:`j` (one-sided, :math:`X_j'^\top u/n \le
\lambda_j`, with ``positive``). Any residual :math:`r` rescaled by
:math:`s = \min(1, \min_j n\lambda_j/|X_j'^\top r|)` is feasible, and :math:`P(w) - D(s\,r)
\ge P(w) - P^\star \ge 0` is a certified gap.

**Dual extrapolation** (Massias, Gramfort & Salmon, "Celer", ICML 2018). The residuals
:math:`r^{(t)}` of the last :math:`K+1` coordinate-descent epochs behave like a vector
autoregressive sequence; their extrapolation :math:`r_{acc} = \sum_k c_k r^{(k+1)}`, with
:math:`c = z / 1^\top z`, :math:`(UU^\top) z = 1`, :math:`U_k = r^{(k+1)} - r^{(k)}`, is
usually much closer to the dual optimum than the last residual. Both are rescaled into the
feasible set, and the gap uses the best of: the rescaled residual, the rescaled extrapolation and
the best dual point found so far (:math:`D` is evaluated exactly for each, so the gap stays
certified whatever the extrapolation gives).

**Gap-safe screening** (Ndiaye, Fercoq, Gramfort & Salmon, JMLR 2017). :math:`D` is
:math:`1/n`-strongly concave, so the dual optimum lies in the ball of radius
:math:`\rho = \sqrt{2n\,\mathrm{gap}}` around any feasible :math:`u`. A coordinate with
:math:`|X_j'^\top u|/n + \rho\lVert X_j'\rVert/n < \lambda_j` (without the absolute value with
``positive``) has :math:`|X_j'^\top u^\star|/n < \lambda_j`, hence :math:`w_j^\star = 0`: it is
removed for good (when :math:`w_j` is already 0, so that removing it never raises the objective).
The problem on the remaining coordinates has the same solution and the same optimal value, so
the gap computed over them alone stays a certified bound. Along a path the first check of each
fit starts from the previous solution (warm start), which is sequential screening.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from proxgan.solvers._cd_columns import FM
from proxgan.solvers._cd_loops import anderson

__all__ = ["extrapolated_residual", "dual_scale", "lasso_dual", "lasso_check"]

#: fastmath flags of the dot products (the column loops' flags): reassociation lets LLVM vectorise
#: the sums (without it a dot product is one dependent chain of additions, about 4x slower here)
_FM = FM


@njit(cache=True, nogil=True)
def extrapolated_residual(R, n_pushed):
    """``(ok, r_acc)``: the extrapolation of the residuals in the ring ``R`` (``n_pushed`` rows
    written, the oldest at ``n_pushed % m``) by :func:`~proxgan.solvers._cd_loops.anderson`, the
    same weights as the driver's Anderson step (module docstring); ``ok`` False when the system is
    singular. Plain loops, no BLAS/LAPACK: a multithreaded BLAS called once per check wakes its
    threads each time, which cost milliseconds per solve on a loaded machine."""
    m = R.shape[0]
    rows = np.empty_like(R)
    for k in range(m):
        rows[k] = R[(n_pushed + k) % m]
    return anderson(rows, m - 1)


@njit(cache=True, nogil=True)
def dual_scale(Gu, n, l1, positive, active):
    """Largest ``s <= 1`` with ``|s·Gu_j|/n <= l1_j`` over the active coordinates (``Gu = X'ᵀu``)."""
    scale = 1.0
    for j in range(Gu.shape[0]):
        if active[j]:
            a = Gu[j] / n
            if not positive:
                a = abs(a)
            if a * scale > l1[j]:
                scale = l1[j] / a
    return scale


@njit(cache=True, nogil=True)
def lasso_dual(uy, uu, n):
    """:math:`D(u) = (u^\\top y - \\tfrac12\\lVert u\\rVert^2)/n` from ``uᵀy`` and ``‖u‖²``."""
    return (uy - 0.5 * uu) / n


@njit(cache=True, fastmath=_FM, nogil=True)
def _xt(X, data, indices, indptr, sparse, mu, v, u, active, out):
    """``out_j = X'_jᵀu = X_jᵀu − μ_j vᵀu`` for the active coordinates."""
    vu = 0.0
    for i in range(u.shape[0]):
        vu += v[i] * u[i]
    for j in range(out.shape[0]):
        if active[j]:
            acc = 0.0
            if sparse:
                for k in range(indptr[j], indptr[j + 1]):
                    acc += data[k] * u[indices[k]]
            else:
                for i in range(X.shape[0]):
                    acc += X[i, j] * u[i]
            out[j] = acc - mu[j] * vu


@njit(cache=True, nogil=True)
def lasso_check(X, data, indices, indptr, sparse, mu, v, norms2, y, r, G, w, l1, positive, active, screen,
                R, n_pushed, best, u_best, Gu_best, acc_pre, Ga_pre, have_pre):
    """Certified gap at ``w`` (residual ``r``, ``G = X'ᵀr`` on the active coordinates) and
    screening (module docstring). ``best[0]`` / ``u_best`` / ``Gu_best``: the best dual value, point and
    ``X'ᵀu`` so far, updated in place; ``R``: the ring of the last residuals (``n_pushed`` written);
    ``active`` updated in place when ``screen``. When ``have_pre``, ``acc_pre`` is the extrapolated
    residual of this ring and ``Ga_pre`` its ``X'ᵀ`` on the active coordinates (computed by the caller
    in its pass over ``X``), used instead of computing them here. Returns the gap."""
    n = y.shape[0]
    pen = 0.0
    for j in range(w.shape[0]):
        pen += l1[j] * abs(w[j])
    rr = 0.0
    ry = 0.0
    for i in range(n):
        rr += r[i] * r[i]
        ry += r[i] * y[i]
    primal = 0.5 * rr / n + pen
    s = dual_scale(G, n, l1, positive, active)
    d = lasso_dual(s * ry, s * s * rr, n)
    if d > best[0]:
        best[0] = d
        for i in range(n):
            u_best[i] = s * r[i]
        for j in range(G.shape[0]):
            Gu_best[j] = s * G[j]
    m = R.shape[0]
    if m > 1 and n_pushed >= m:
        if have_pre:
            ok, acc, Ga = True, acc_pre, Ga_pre
        else:
            ok, acc = extrapolated_residual(R, n_pushed)
            Ga = np.zeros(G.shape[0])
            if ok:
                _xt(X, data, indices, indptr, sparse, mu, v, acc, active, Ga)
        if ok:
            aa = 0.0
            ay = 0.0
            for i in range(n):
                aa += acc[i] * acc[i]
                ay += acc[i] * y[i]
            sa = dual_scale(Ga, n, l1, positive, active)
            da = lasso_dual(sa * ay, sa * sa * aa, n)
            if np.isfinite(da) and da > best[0]:
                best[0] = da
                for i in range(n):
                    u_best[i] = sa * acc[i]
                for j in range(G.shape[0]):
                    Gu_best[j] = sa * Ga[j]
    gap = primal - best[0]
    if screen:
        rho = math.sqrt(2.0 * n * max(gap, 0.0))
        for j in range(w.shape[0]):
            if active[j] and w[j] == 0.0:
                a = Gu_best[j] / n
                if not positive:
                    a = abs(a)
                if a + rho * math.sqrt(norms2[j]) / n < l1[j]:
                    active[j] = False
    return gap
