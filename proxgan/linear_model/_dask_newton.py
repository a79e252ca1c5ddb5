r"""Distributed proximal Newton with working sets for binary logistic regression on row chunks.

Problem (that of :class:`~proxgan.linear_model.LogisticRegression` for two classes, weights
:math:`s_i` summing to :math:`S`, labels :math:`y_i = \pm1`):

.. math::

    \min_{w,b}\; F(w, b) = \frac1S\sum_i s_i\log(1 + e^{-y_i(x_i^\top w + b)})
    + \lambda_1\lVert w\rVert_1 + \tfrac12\lambda_2\lVert w\rVert^2.

Every iteration is **one pass** over the row chunks (a map-reduce: each chunk returns sums, the
sums are tree-reduced, only vectors of length p and one m × m block travel). At the trial point
:math:`(w + \Delta, b + \Delta_b)` a chunk returns

* the loss at the ten step lengths :math:`t = 1, \frac12, \dots, 2^{-9}` along the direction
  (for the line search, from :math:`z + t\,\delta z`: no further pass),
* the gradient :math:`\nabla f` (all p coordinates and the intercept) at :math:`t = 1`,
* the Hessian block :math:`X_{ws}^\top D X_{ws}`, :math:`X_{ws}^\top D 1` and :math:`1^\top D1`,
  :math:`D = \mathrm{diag}(s_i\sigma_i(1-\sigma_i))/S`, on the working set ``ws`` chosen before the pass.

The client then checks Armijo's condition :math:`F(t) \le F(0) + 10^{-4}\,t\,\delta` (:math:`\delta`:
the model's decrease) for the largest :math:`t`; when :math:`t = 1` passes (the rule near the
solution) the gradient and Hessian of the pass are those of the new point and the next
direction needs no other pass. Otherwise one more pass evaluates them at the accepted point.

The direction minimises the quadratic model over the working set and the intercept. The
intercept is eliminated in closed form (:math:`\Delta_b = -(g_b + h^\top\Delta)/\eta`), which
leaves a least-squares problem in Gram form, :math:`Q = H - hh^\top/\eta`, solved by the same
coordinate descent on a Gram matrix as the in-memory estimators
(:func:`proxgan.linear_model._quadratic.fit_quadratic`).

Stopping: the largest fixed-point violation :math:`L_j|w_j - \mathrm{prox}_{g_j/L_j}(w_j -
\nabla_jf/L_j)|` (:math:`L_j = \sum_i s_ix_{ij}^2/(4S)`) and :math:`|\nabla_b f|` at most ``tol``,
the criterion of the in-memory solver. The working set of the next pass is the current one,
the support and the ``max(p0, |ws|)`` most violating other coordinates (all coordinates when
:math:`\lambda_1 = 0`).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit

from proxgan import penalties as _pen
from proxgan.linear_model._dask_gram import GramQuadratic, _check_finite
from proxgan.linear_model._quadratic import fit_quadratic

__all__ = ["STEPS", "chunk_newton", "NewtonResult", "prox_newton"]

#: Step lengths whose loss every pass returns (the line search needs no extra pass).
STEPS = 0.5 ** np.arange(10)


class NewtonResult(NamedTuple):
    """Solution, iterations, passes over the data, convergence and the criterion reached."""

    w: np.ndarray
    b: float
    n_iter: int
    n_passes: int
    converged: bool
    crit: float


def chunk_newton(X, y, s, r0: int, pos, w, b, dw, db, ws, first: bool) -> dict:
    """Sums of one row chunk at ``(w + dw, b + db)`` (see the module docstring); labels ``y == pos``
    count as +1, others as -1; ``first`` adds the weighted column norms and the weight total."""
    _check_finite("X", X, r0)
    y = np.asarray(y).ravel()
    ypm = np.where(y == pos, 1.0, -1.0)
    n = X.shape[0]
    s = np.ones(n) if s is None else np.asarray(s, dtype=np.float64).ravel()
    _check_finite("sample_weight", s, r0)
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64)
    else:
        X = np.asarray(X, dtype=np.float64)
    z0 = np.asarray(X @ w).ravel() + b
    dz = np.asarray(X @ dw).ravel() + db
    yz = ypm * z0
    ydz = ypm * dz
    losses = np.array([-(s @ log_expit(yz + t * ydz)) for t in STEPS])
    z = yz + ydz
    sig = expit(-z)
    gz = -s * ypm * sig
    d = s * sig * (1.0 - sig)
    Xw = X[:, ws]
    if sp.issparse(Xw):
        H = np.asarray((Xw.T @ sp.diags(d) @ Xw).toarray())
    else:
        H = (Xw * d[:, None]).T @ Xw
    out = dict(loss=losses, g=np.asarray(X.T @ gz).ravel(), gb=float(gz.sum()), H=H,
               h=np.asarray(Xw.T @ d).ravel(), eta=float(d.sum()))
    if first:
        sq = X.multiply(X) if sp.issparse(X) else X * X
        out["norms2"] = np.asarray(sq.T @ s).ravel()
        out["S"] = float(s.sum())
    return out


def add_sums(a: dict, b: dict) -> dict:
    """Entry-wise sum of two chunk results."""
    return {k: a[k] + b[k] for k in a}


def _penalty_value(w, l1, l2):
    return l1 * float(np.abs(w).sum()) + 0.5 * l2 * float(w @ w)


def _violation(w, g, L, l1, l2):
    """Largest ``L_j |w_j - prox(w_j - g_j/L_j)|`` (0 for columns that are all zero)."""
    Ls = np.where(L > 0, L, 1.0)
    u = w - g / Ls
    prox = np.sign(u) * np.maximum(np.abs(u) - l1 / Ls, 0.0) / (1.0 + l2 / Ls)
    v = np.where(L > 0, Ls * np.abs(w - prox), 0.0)
    return float(v.max(initial=0.0))


def _direction(w, ws, g, gb, H, h, eta, l1, l2, intercept, tol):
    """Minimiser of the quadratic model over ``ws`` (and the intercept): ``(dw, db, model decrease)``."""
    m = len(ws)
    gw = g[ws]
    Q, lin = H, gw
    if intercept and eta > 0:
        Q = H - np.outer(h, h) / eta
        lin = gw - gb * h / eta
    xty = Q @ w[ws] - lin
    yy = float(xty @ np.linalg.lstsq(Q, xty, rcond=None)[0]) if m else 0.0
    df = GramQuadratic(Q, xty, max(yy, 0.0), 1)
    if l1 > 0:
        pen = _pen.L1(l1) if l2 == 0 else _pen.ElasticNet(l1 + l2, l1 / (l1 + l2))
    else:
        pen = _pen.L2(l2)
    dw = np.zeros_like(w)
    if m:
        res = fit_quadratic(df, pen, solver="cd", device="cpu", tol=tol, max_iter=10_000,
                            coef_init=w[ws], precompute=True)
        dw[ws] = res.coef - w[ws]
    db = -(gb + float(h @ dw[ws])) / eta if (intercept and eta > 0) else 0.0
    delta = float(g @ dw) + gb * db + _penalty_value(w + dw, l1, l2) - _penalty_value(w, l1, l2)
    return dw, db, delta


def prox_newton(run_pass: Callable[..., dict], p: int, l1_of_S: Callable[[float], tuple[float, float]], *,
                intercept: bool, tol: float, max_iter: int, w0=None, b0: float = 0.0, p0: int = 10) -> NewtonResult:
    """Run the algorithm of the module docstring.

    Parameters
    ----------
    run_pass : callable
        ``run_pass(w, b, dw, db, ws, first)``: the tree-reduced sums of :func:`chunk_newton` over all
        row chunks (one pass over the data).
    p : int
        Number of features.
    l1_of_S : callable
        ``S -> (λ1, λ2)``: the penalty weights once the weight total :math:`S` is known.
    intercept : bool
        Fit the (unpenalised) intercept.
    tol : float
        Tolerance on the largest fixed-point violation.
    max_iter : int
        Most Newton iterations.
    w0 : ndarray of shape (p,), optional
        Starting point (zeros by default).
    b0 : float
        Starting intercept.
    p0 : int
        Smallest number of coordinates added to a working set.
    """
    w = np.zeros(p) if w0 is None else np.array(w0, dtype=np.float64)
    b = float(b0)
    zero = np.zeros(p)
    ws = np.flatnonzero(w)
    r = run_pass(w, b, zero, 0.0, ws, True)
    S = r["S"]
    l1, l2 = l1_of_S(S)
    L = r["norms2"] / (4.0 * S)
    n_passes, crit = 1, np.inf
    for it in range(max_iter + 1):
        g, gb = r["g"] / S, r["gb"] / S
        f = r["loss"][0] / S + _penalty_value(w, l1, l2)
        crit = max(_violation(w, g, L, l1, l2) if l1 > 0 else float(np.abs(g + l2 * w).max(initial=0.0)),
                   abs(gb) if intercept else 0.0)
        if crit <= tol or it == max_iter:
            return NewtonResult(w, b, it, n_passes, crit <= tol, crit)
        ws_h = ws  # the block of r is on the working set chosen before the pass
        dw, db, delta = _direction(w, ws_h, g, gb, r["H"] / S, r["h"] / S, r["eta"] / S, l1, l2, intercept,
                                   tol=1e-3 * min(crit, 1.0) ** 2)
        # next working set: current, support of the trial point, most violating others
        if l1 == 0:
            ws = np.arange(p)
        else:
            v = np.abs(g + l2 * w) - l1
            v[ws_h] = -np.inf
            k = max(p0, len(ws_h))
            extra = np.argsort(-v)[:k]
            extra = extra[v[extra] > 0]
            ws = np.union1d(np.union1d(ws_h, np.flatnonzero(w + dw)), extra).astype(np.int64)
        r_new = run_pass(w, b, dw, db, ws, False)
        n_passes += 1
        F = r_new["loss"] / S + np.array([_penalty_value(w + t * dw, l1, l2) for t in STEPS])
        ok = np.flatnonzero(F <= f + 1e-4 * STEPS * min(delta, 0.0) + 1e-14 * abs(f))
        t_i = int(ok[0]) if ok.size else len(STEPS) - 1
        w = w + STEPS[t_i] * dw
        b = b + STEPS[t_i] * db
        if t_i == 0:
            r = r_new
        else:
            r = run_pass(w, b, zero, 0.0, ws, False)
            n_passes += 1
    return NewtonResult(w, b, max_iter, n_passes, crit <= tol, crit)
