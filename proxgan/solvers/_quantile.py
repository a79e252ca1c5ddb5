r"""Exact L1-penalised quantile regression: smoothing with continuation, a vertex polish and a duality-gap certificate.

Solves

.. math::

    \min_{w, b}\; P(w, b) = \sum_i \bar s_i\,\rho_\tau(y_i - x_i^\top w - b) + \sum_j l_j|w_j|,
    \qquad \bar s = s / \textstyle\sum_i s_i ,

(scikit-learn's ``QuantileRegressor`` objective with :math:`l_j = \alpha`), a linear program.
Its dual is

.. math::

    \max_u\; y^\top u \quad\text{s.t.}\quad \bar s_i(\tau - 1) \le u_i \le \bar s_i\tau,\quad
    |X_j^\top u| \le l_j,\quad \textstyle\sum_i u_i = 0 \ \text{(with an intercept)},

so that every feasible :math:`u` bounds the optimum from below: :math:`P(w) - y^\top u \ge
P(w) - P^\star \ge 0`. The method:

1. *Smoothing with continuation.* Minimise the Moreau envelope of the pinball loss
   (:class:`~proxgan.datafits.Quantile` with ``smoothing`` :math:`\mu`) plus the penalty, by
   coordinate descent (:mod:`proxgan.solvers._cd_glm`) or FISTA, warm-started, for
   :math:`\mu = \mu_0, \mu_0/10, \dots`.
2. *Dual point.* :math:`u_i = \bar s_i\operatorname{clip}(r_i/\mu, \tau-1, \tau)` is the
   smoothed problem's dual variable: inside the box; it is made to sum to zero by moving
   entries towards the box's far side and scaled into :math:`|X_j^\top u| \le l_j`.
3. *Vertex polish.* A solution of the LP sits on a vertex: with :math:`k` free coefficients
   (the support and the intercept), :math:`k` residuals are zero. The :math:`k` samples with
   the smallest smoothed residuals give a square system for the coefficients, and the
   stationarity conditions on those samples give their dual variables (the others are
   :math:`\bar s_i\tau` or :math:`\bar s_i(\tau - 1)` by the residual's sign): the simplex
   method's optimality test. When the polished dual point is feasible the gap is zero to
   rounding.
4. *Certificate.* Stop when the duality gap of the exact (not smoothed) problem, with the best
   primal and dual points found, is at most ``tol`` × the objective. The result reports that
   gap (``criterion="gap"``): a smoothed answer is never reported as exact.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from proxgan.solvers._common import SolverResult

__all__ = ["solve", "pinball_objective", "dual_objective", "IPM_MAX_FEATURES"]


def _l1_weights(penalty, p: int) -> np.ndarray:
    from proxgan.solvers._prox1d import enet_rows, penalty_params

    if penalty is None:
        return np.zeros(p)
    code, P = penalty_params(penalty, p)
    rows = enet_rows(code, P)
    if rows is None or np.any(rows[1] != 0) or np.any(np.isfinite(P[2])) or np.any(np.isfinite(P[3])):
        raise ValueError(f"the exact quantile solver takes an L1 penalty (weighted or not) or none, "
                         f"got {type(penalty).__name__}; use cd.solve on a smoothed Quantile datafit for others")
    return np.asarray(rows[0], dtype=np.float64)


def pinball_objective(datafit, w: np.ndarray, l1: np.ndarray) -> float:
    """:math:`P(w)` of the module docstring (exact pinball loss, normalised weights)."""
    p = datafit.X.shape[1]
    r = datafit.y - datafit.scores(w)
    t = datafit.quantile
    loss = np.maximum(t * r, (t - 1.0) * r)
    return float(datafit.sw @ loss) / float(datafit.sw.sum()) + float(l1 @ np.abs(w[:p]))


def dual_objective(datafit, u: np.ndarray, l1: np.ndarray) -> float:
    """:math:`y^\\top u'` for ``u`` made feasible (module docstring, step 2); ``-inf`` if it cannot be."""
    sw = datafit.sw / datafit.sw.sum()
    t = datafit.quantile
    lo, hi = sw * (t - 1.0), sw * t
    u = np.clip(u, lo, hi)
    if datafit.intercept:
        s = u.sum()
        if s > 0:
            slack = u - lo
            u = u - s * slack / slack.sum()
        elif s < 0:
            slack = hi - u
            u = u - s * slack / slack.sum()
    c = np.abs(np.asarray(datafit.X.T @ u).ravel())
    free = l1 == 0
    if np.any(c[free] > 1e-13 * max(1.0, float(np.abs(datafit.X).max()))):
        return -np.inf if np.any(c[free] > 1e-9) else float(datafit.y @ u)  # rounding-level violation
    pen = ~free
    scale = min(1.0, float(np.min(l1[pen] / np.maximum(c[pen], 1e-300)))) if np.any(pen) else 1.0
    return scale * float(datafit.y @ u)


def _polish(datafit, w: np.ndarray, r: np.ndarray, l1: np.ndarray):
    """The LP vertex next to ``w`` and its simplex dual point (module docstring, step 3), or ``None``."""
    p = datafit.X.shape[1]
    S = np.flatnonzero(np.abs(w[:p]) > 1e-9 * max(1.0, float(np.abs(w[:p]).max(initial=0.0))))
    k = S.size + int(datafit.intercept)
    n = datafit.n_samples
    if k == 0 or k > n:
        return None
    B = np.argsort(np.abs(r), kind="stable")[:k]
    XS = datafit.X[:, S]
    XS = XS.toarray() if sp.issparse(XS) else np.asarray(XS)
    A = np.hstack([XS, np.ones((n, 1))]) if datafit.intercept else XS
    try:
        theta = np.linalg.solve(A[B], datafit.y[B])
    except np.linalg.LinAlgError:
        return None
    wp = np.zeros_like(w)
    wp[S] = theta[: S.size]
    if datafit.intercept:
        wp[p] = theta[-1]
    rp = datafit.y - A @ theta
    sw = datafit.sw / datafit.sw.sum()
    t = datafit.quantile
    u = np.where(r > 0, sw * t, sw * (t - 1.0))
    N = np.ones(n, dtype=bool)
    N[B] = False
    rhs = np.concatenate([l1[S] * np.sign(theta[: S.size]), np.zeros(int(datafit.intercept))]) - A[N].T @ u[N]
    try:
        u[B] = np.linalg.solve(A[B].T, rhs)
    except np.linalg.LinAlgError:
        return None
    rp[B] = 0.0
    return wp, u


def _certify(datafit, l1):
    def certify(coef, u):
        P = pinball_objective(datafit, coef, l1)
        return P, max(P - dual_objective(datafit, u, l1), 0.0)
    return certify


def _solve_ipm(datafit, l1, tol, max_iter):
    """The interior point (to a gap of ``min(tol, 1e-9)``), then exact zeros: an interior point leaves the coefficients of inactive
    features at ~1e-10, not 0. Candidates, in order of preference, each kept only when the duality
    gap with the best dual point found is at most ``tol`` × its objective: the vertex of the
    linear program next to the interior point (:func:`_polish`, with the simplex dual point), the
    interior point with the coefficients its dual point marks inactive (:math:`|X_j^\top u| < l_j`
    by a margin) set to zero, the interior point itself."""
    from proxgan.solvers._quantile_ipm import frisch_newton

    p = datafit.X.shape[1]
    certify = _certify(datafit, l1)
    # to 1e-9 at least, whatever tol: the last iterations are cheap (superlinear) and make the vertex clear
    coef, u, n_iter, gap = frisch_newton(datafit, l1, tol=min(tol, 1e-9), max_iter=max_iter, certify=certify)
    P = pinball_objective(datafit, coef, l1)
    D = P - gap
    cands = [(coef, P)]
    corr = np.abs(np.asarray(datafit.X.T @ u).ravel())
    wz = coef.copy()
    wz[:p][(l1 > 0) & (corr < (1.0 - 1e-6) * l1)] = 0.0
    if np.any(wz != coef):
        cands.insert(0, (wz, pinball_objective(datafit, wz, l1)))
    pol = _polish(datafit, wz, datafit.y - datafit.scores(wz), l1)
    if pol is not None:
        Pp, gp = certify(*pol)
        D = max(D, Pp - gp)
        cands.insert(0, (pol[0], Pp))
    for wc, Pc in cands:
        if Pc - D <= tol * Pc:
            return SolverResult(wc, max(Pc - D, 0.0), "gap", n_iter, True)
    wc, Pc = min(cands, key=lambda c: c[1])
    return SolverResult(wc, max(Pc - D, 0.0), "gap", n_iter, False)


#: ``method="auto"`` runs the interior point up to this many coefficients (its q × q normal matrix
#: is dense: 2000² floats = 32 MB, a few seconds per Cholesky series), smoothing beyond.
IPM_MAX_FEATURES = 2000


def solve(datafit, penalty=None, *, coef_init=None, tol: float = 1e-8, method: str = "auto", inner: str = "cd",
          smoothing: float | None = None, max_stages: int = 12, max_iter: int = 1000) -> SolverResult:
    """Minimise the exact pinball loss plus an L1 penalty (module docstring).

    Parameters
    ----------
    datafit : Quantile
        Its ``smoothing`` is ignored (the method chooses the sequence).
    penalty : L1 or None
        L1, weighted or not (``None``: no penalty).
    coef_init : array of shape (datafit.n_features,), optional
        Warm start.
    tol : float
        Stop when the duality gap is at most ``tol`` × the objective.
    method : {"auto", "frisch-newton", "smoothing"}
        ``"frisch-newton"``: the interior-point method of :mod:`proxgan.solvers._quantile_ipm`
        (``coef_init``, ``inner``, ``smoothing`` and ``max_stages`` unused); ``"smoothing"``:
        smoothing with continuation (steps 1-4 of the module docstring); ``"auto"``: the interior
        point up to :data:`IPM_MAX_FEATURES` coefficients, smoothing beyond.
    inner : {"cd", "fista"}
        Solver of the smoothed problems.
    smoothing : float, optional
        First :math:`\\mu` (default: a tenth of the mean absolute deviation of ``y`` from its quantile).
    max_stages : int
        Largest number of smoothing levels.
    max_iter : int
        Iterations of each inner solve (``"frisch-newton"``: interior-point iterations, at most 200).

    Returns
    -------
    SolverResult
        ``crit``: the certified duality gap (``criterion="gap"``); ``converged``: gap <= tol × objective.
    """
    if method not in ("auto", "frisch-newton", "smoothing"):
        raise ValueError(f"method must be 'auto', 'frisch-newton' or 'smoothing', got {method!r}")
    if inner not in ("cd", "fista"):
        raise ValueError(f"inner must be 'cd' or 'fista', got {inner!r}")
    p = datafit.X.shape[1]
    q = datafit.n_features
    l1 = _l1_weights(penalty, p)
    if method == "frisch-newton" or (method == "auto" and q <= IPM_MAX_FEATURES):
        return _solve_ipm(datafit, l1, tol, min(int(max_iter), 200))
    from proxgan.solvers import cd, fista  # fista loads torch: only on this path

    if penalty is None:
        from proxgan.penalties import L1

        penalty = L1(0.0)
    y, t = datafit.y, datafit.quantile
    if coef_init is None:
        w = np.zeros(q)
        if datafit.intercept:
            w[p] = float(np.quantile(y, t))
    else:
        w = np.array(coef_init, dtype=np.float64).ravel()
        if w.shape[0] != q:
            raise ValueError(f"coef_init has {w.shape[0]} entries, expected {q}")
    mu = float(smoothing) if smoothing is not None else 0.1 * float(np.mean(np.abs(y - np.quantile(y, t)))) + 1e-12
    best_w, best_P = w.copy(), pinball_objective(datafit, w, l1)
    best_D = -np.inf
    n_iter = 0
    for _stage in range(max_stages):
        df = datafit.smoothed(mu)
        goal = max(tol * best_P, 1e-15)
        if inner == "cd":
            res = cd.solve(df, penalty, coef_init=w, tol=goal, max_iter=max_iter)
        else:
            from proxgan.solvers._common import Composite

            pen = Composite(penalty, n_free=1) if datafit.intercept else penalty
            res = fista.solve(df, pen, coef_init=w, tol=goal, max_iter=max_iter)
        w = res.coef
        n_iter += res.n_iter
        r = y - datafit.scores(w)
        sw = datafit.sw / datafit.sw.sum()
        candidates = [(w, sw * np.clip(r / mu, t - 1.0, t))]
        pol = _polish(datafit, w, r, l1)
        if pol is not None:
            candidates.append(pol)
        for wc, uc in candidates:
            Pc = pinball_objective(datafit, wc, l1)
            if Pc < best_P:
                best_w, best_P = wc.copy(), Pc
            best_D = max(best_D, dual_objective(datafit, uc, l1))
        gap = max(best_P - best_D, 0.0)
        if gap <= tol * best_P:
            return SolverResult(best_w, gap, "gap", n_iter, True)
        mu *= 0.1
    return SolverResult(best_w, max(best_P - best_D, 0.0), "gap", n_iter, False)
