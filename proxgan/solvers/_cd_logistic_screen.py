r"""Duality gap and gap-safe screening for the L1 logistic datafit (compiled, numba).

Problem (:mod:`proxgan.solvers._cd_logistic`, :math:`c_i = s_i/n`, labels :math:`y_i = \pm1`,
:math:`\lambda_j > 0`, an optional free intercept :math:`b`):

.. math::

    P(w, b) = \sum_i c_i \log(1 + e^{-y_i(x_i^\top w + b)}) + \sum_j \lambda_j|w_j|
    \quad (+\ \iota_{w\ge0} \text{ with ``positive``}).

**Dual** (Fenchel): with :math:`\theta_i = c_i y_i a_i`, :math:`a_i\in[0,1]`,
:math:`D(\theta) = \sum_i c_i H(a_i)`, :math:`H(a) = -a\log a - (1-a)\log(1-a)`, feasible when
:math:`|X_j^\top\theta| \le \lambda_j` (:math:`X_j^\top\theta\le\lambda_j` with ``positive``) and, with
an intercept, :math:`\sum_i\theta_i = 0`. The point built from the scores :math:`z`:
:math:`a_i = \sigma(-y_i z_i)` (so :math:`\theta = -\nabla_z f`); with an intercept the
:math:`a_i` of the heavier class are multiplied by :math:`\kappa\le1` so that
:math:`\sum_i\theta_i = 0` (the :math:`a_i` stay in :math:`[0,1]`); then every :math:`a_i` by the
largest :math:`s\le1` that meets the :math:`X_j` constraints. :math:`X_j^\top\theta` is
:math:`\kappa_+ G^+_j + \kappa_- G^-_j`, from the two class sums kept by the scoring pass.

**Gap-safe screening** (Ndiaye, Fercoq, Gramfort & Salmon, JMLR 2017): each :math:`c_iH` is
:math:`4/c_i`-strongly concave, so :math:`\lVert\theta-\theta^\star\rVert \le
\sqrt{2\,\mathrm{gap}/\mu}`, :math:`\mu = 4/\max_i c_i`, and a coordinate with
:math:`|X_j^\top\theta| + \lVert X_j\rVert\sqrt{2\,\mathrm{gap}/\mu} < \lambda_j` is 0 at the
optimum. It is removed for good once :math:`w_j = 0`; the problem on the other coordinates has the
same solution and value, so later gaps over them alone stay certified.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["class_sums", "logistic_gap_screen"]


@njit(cache=True, nogil=True)
def _sig(t):
    """The logistic sigmoid, overflow-free (shared with :mod:`proxgan.solvers._cd_logistic`)."""
    if t >= 0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


@njit(cache=True, nogil=True)
def _entropy(a):
    h = 0.0
    if a > 0.0:
        h -= a * math.log(a)
    if a < 1.0:
        h -= (1.0 - a) * math.log1p(-a)
    return h


@njit(cache=True, nogil=True)
def class_sums(X, data, indices, indptr, sparse, j, y, z, sw, Gpm):
    """``Gpm = (G+_j, G-_j)``: :math:`\\sum_{y_i=\\pm1} X_{ij}\\theta_i` with :math:`\\theta_i = c_i y_i\\sigma(-y_iz_i)`;
    returns :math:`\\partial f/\\partial w_j = -(G^+_j + G^-_j)`."""
    n = y.shape[0]
    gp = 0.0
    gm = 0.0
    if sparse:
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            t = data[k] * sw[i] * y[i] * _sig(-y[i] * z[i])
            if y[i] > 0:
                gp += t
            else:
                gm += t
    else:
        for i in range(n):
            t = X[i, j] * sw[i] * y[i] * _sig(-y[i] * z[i])
            if y[i] > 0:
                gp += t
            else:
                gm += t
    Gpm[0, j] = gp / n
    Gpm[1, j] = gm / n
    return -(gp + gm) / n


@njit(cache=True, nogil=True)
def logistic_gap_screen(y, z, sw, w, l1, Gpm, colnorm, intercept, positive, active, screen):
    """Certified duality gap at ``(w, b)`` (scores ``z``) with the class sums ``Gpm`` of the active
    coordinates (module docstring); screens ``active`` in place when ``screen``. Returns the gap."""
    n = y.shape[0]
    p = l1.shape[0]
    loss = 0.0
    sp_ = 0.0
    sm_ = 0.0
    cmax = 0.0
    for i in range(n):
        t = -y[i] * z[i]
        loss += sw[i] * (t if t > 30.0 else (math.exp(t) if t < -30.0 else math.log1p(math.exp(t))))
        a = _sig(t)
        if y[i] > 0:
            sp_ += sw[i] * a
        else:
            sm_ += sw[i] * a
        if sw[i] > cmax:
            cmax = sw[i]
    primal = loss / n
    for j in range(p):
        primal += l1[j] * abs(w[j])
    kp = 1.0
    km = 1.0
    if intercept:
        if sp_ > sm_:
            kp = sm_ / sp_
        elif sm_ > sp_:
            km = sp_ / sm_
    scale = 1.0
    for j in range(p):
        if active[j]:
            g = kp * Gpm[0, j] + km * Gpm[1, j]
            if not positive:
                g = abs(g)
            if g * scale > l1[j]:
                scale = l1[j] / g
    dual = 0.0
    for i in range(n):
        a = _sig(-y[i] * z[i]) * scale * (kp if y[i] > 0 else km)
        dual += sw[i] * _entropy(a)
    dual /= n
    gap = primal - dual
    if screen and gap < np.inf:
        rho = math.sqrt(2.0 * max(gap, 0.0) * cmax / (4.0 * n))  # mu = 4/max c_i = 4n/max s_i
        for j in range(p):
            if active[j] and w[j] == 0.0:
                g = scale * (kp * Gpm[0, j] + km * Gpm[1, j])
                if not positive:
                    g = abs(g)
                if g + colnorm[j] * rho < l1[j]:
                    active[j] = False
    return gap
