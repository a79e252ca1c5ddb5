r"""Exact L1-penalised quantile regression by the Frisch–Newton interior-point method.

The problem of :mod:`proxgan.solvers._quantile`,

.. math::

    \min_{w, b}\; P(w, b) = \sum_i \bar s_i\,\rho_\tau(y_i - x_i^\top w - b) + \sum_j l_j|w_j|,

is a linear program. As R's ``quantreg`` (Portnoy & Koenker, 1997, *Statistical Science* 12(4)),
the method works on its dual, multiplied by :math:`S = \sum_i s_i`,

.. math::

    \min_{u, v}\; -y^\top u \quad\text{s.t.}\quad X_j^\top u + v_j = 0\ (l_j > 0),\quad
    X_j^\top u = 0\ (l_j = 0,\ \text{and}\ \textstyle\sum_i u_i = 0 \text{ with an intercept}),

.. math::

    s_i(\tau - 1) \le u_i \le s_i\tau,\qquad -S l_j \le v_j \le S l_j,

a linear program with bounded variables whose equality constraints have one row per coefficient
(:math:`q = p` or :math:`p + 1`): the multipliers of those rows are minus the coefficients
:math:`(w, b)`. Mehrotra's predictor–corrector primal–dual method solves it. Each iteration
factors one :math:`q\times q` matrix, :math:`A\Theta A^\top = [X, 1]^\top\Theta_u[X, 1] +
\operatorname{diag}(\Theta_v)` (:math:`\Theta` diagonal, from the current point), by Cholesky
and solves with it twice (predictor and corrector): :math:`O(nq^2)` flops, and some 15–30
iterations whatever :math:`n`.

Stopping is the certificate of :mod:`proxgan.solvers._quantile`: the primal objective of
:math:`(w, b) = -y_d` against the dual objective of :math:`u / S` made exactly feasible
(:func:`~proxgan.solvers._quantile.dual_objective`); the iterations stop when that gap of the
exact problem is at most ``tol`` × :math:`P`. If the interior point stalls before that (the
normal matrix ill-conditioned at the end), the vertex of the linear program next to it, with the
simplex method's dual point (:func:`~proxgan.solvers._quantile._polish`), finishes the job.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

__all__ = ["frisch_newton"]

#: Fraction of the step to the boundary taken (Mehrotra's usual 0.99995).
STEP = 0.99995


def _normal_matrix(Xa, theta_u, pen_idx, theta_v):
    """:math:`[X,1]^\\top\\Theta_u[X,1] + \\operatorname{diag}(\\Theta_v)` on the penalised rows."""
    if sp.issparse(Xa):
        M = np.asarray((Xa.T @ Xa.multiply(theta_u[:, None])).todense())
    else:
        Xs = Xa * np.sqrt(theta_u)[:, None]
        M = Xs.T @ Xs
    M[pen_idx, pen_idx] += theta_v
    return M


def _cholesky(M):
    """Cholesky factor of ``M`` (symmetric positive semi-definite), regularised when it is singular."""
    shift = 0.0
    scale = max(float(np.abs(np.diag(M)).max(initial=0.0)), 1e-300)
    for _ in range(12):
        try:
            return scipy.linalg.cho_factor(M + shift * np.eye(M.shape[0]) if shift else M, check_finite=False)
        except np.linalg.LinAlgError:
            shift = 1e-14 * scale if shift == 0.0 else 100.0 * shift
    raise np.linalg.LinAlgError("the interior-point normal matrix could not be factored")


def _max_step(v, dv):
    """Largest ``a <= 1`` with ``v + a dv >= 0`` (``v > 0``)."""
    neg = dv < 0
    if not np.any(neg):
        return 1.0
    return min(1.0, float(np.min(-v[neg] / dv[neg])))


def frisch_newton(datafit, l1: np.ndarray, *, tol: float = 1e-8, max_iter: int = 100, certify=None):
    """Solve the L1-penalised quantile problem of ``datafit`` (module docstring).

    Parameters
    ----------
    datafit : Quantile
        Design, targets, sample weights, quantile and intercept (its ``smoothing`` is ignored).
    l1 : ndarray of shape (p,)
        The L1 weights :math:`l_j \\ge 0` (0: an unpenalised coefficient).
    tol : float
        Stop when ``certify(coef, u)`` (the certified duality gap) is at most ``tol`` × the objective.
    max_iter : int
        Most interior-point iterations.
    certify : callable
        ``certify(coef, u) -> (P, gap)``: the primal objective of ``coef`` and the certified gap with
        the dual point ``u`` (normalised weights' scale).

    Returns
    -------
    coef : ndarray of shape (datafit.n_features,)
    u : ndarray of shape (n_samples,)
        The dual point (normalised weights' scale).
    n_iter : int
    gap : float
        The certified gap of ``coef`` and ``u``.
    """
    X, y, tau = datafit.X, datafit.y, datafit.quantile
    n, p = X.shape
    sw = np.asarray(datafit.sw, dtype=np.float64)
    S = float(sw.sum())
    keep = sw > 0  # a weightless sample has u_i = 0: it leaves the program
    if not np.all(keep):
        X, y, sw = X[keep], y[keep], sw[keep]
    nk = y.shape[0]
    if datafit.intercept:
        ones = np.ones((nk, 1))
        Xa = sp.hstack([X, sp.csc_matrix(ones)], format="csc") if sp.issparse(X) else np.hstack([X, ones])
    else:
        Xa = sp.csc_matrix(X) if sp.issparse(X) else np.asarray(X)
    q = Xa.shape[1]
    pen_idx = np.flatnonzero(l1 > 0)
    m = pen_idx.size
    N = nk + m
    lo = np.concatenate([sw * (tau - 1.0), -S * l1[pen_idx]])
    ub = np.concatenate([sw, 2.0 * S * l1[pen_idx]])  # x = (u, v) - lo lies in [0, ub]
    c = np.concatenate([-y, np.zeros(m)])

    def A_mul(xv):  # A x, A = [Xa^T, E_pen]
        out = np.asarray(Xa.T @ xv[:nk]).ravel()
        out[pen_idx] += xv[nk:]
        return out

    def AT_mul(yv):
        return np.concatenate([np.asarray(Xa @ yv).ravel(), yv[pen_idx]])

    b = -A_mul(lo)
    x = 0.5 * ub
    s = ub - x
    yd = np.zeros(q)
    shift = 0.1 * (float(np.abs(y).max(initial=0.0)) + 1.0)
    z = np.maximum(c, 0.0) + shift
    w = np.maximum(-c, 0.0) + shift

    def point(x, yd):
        u = np.zeros(n)
        u[keep] = (x[:nk] + lo[:nk]) / S
        return -yd, u

    coef, u = point(x, yd)
    gap = np.inf
    best = (coef, u, np.inf)
    it = 0
    for it in range(1, max_iter + 1):
        rp = b - A_mul(x)
        rd = c - AT_mul(yd) - z + w
        mu = (x @ z + s @ w) / (2 * N)
        theta = 1.0 / (z / x + w / s)
        L = _cholesky(_normal_matrix(Xa, theta[:nk], pen_idx, theta[nk:]))

        def direction(r_xz, r_sw):
            rho = r_xz / x - r_sw / s - rd
            dy = scipy.linalg.cho_solve(L, rp - A_mul(theta * rho), check_finite=False)
            dx = theta * (AT_mul(dy) + rho)
            return dx, dy, (r_xz - z * dx) / x, (r_sw + w * dx) / s

        dx, dy, dz, dw = direction(-x * z, -s * w)  # predictor (affine scaling)
        ap = min(_max_step(x, dx), _max_step(s, -dx))
        ad = min(_max_step(z, dz), _max_step(w, dw))
        mu_aff = ((x + ap * dx) @ (z + ad * dz) + (s - ap * dx) @ (w + ad * dw)) / (2 * N)
        sigma = (mu_aff / mu) ** 3
        dx, dy, dz, dw = direction(sigma * mu - x * z - dx * dz, sigma * mu - s * w + dx * dw)  # corrector
        ap = STEP * min(_max_step(x, dx), _max_step(s, -dx))
        ad = STEP * min(_max_step(z, dz), _max_step(w, dw))
        x, s = x + ap * dx, s - ap * dx  # s = ub - x, kept apart: no cancellation near the upper bound
        yd, z, w = yd + ad * dy, z + ad * dz, w + ad * dw
        coef, u = point(x, yd)
        P, gap = certify(coef, u)
        if gap < best[2]:
            best = (coef, u, gap)
        if gap <= tol * P:
            break
    coef, u, gap = best
    return coef, u, it, gap
