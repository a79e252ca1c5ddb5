r"""Distributed proximal Newton with working sets for logistic regression on row chunks.

Problem (that of :class:`~proxgan.linear_model.LogisticRegression`, weights :math:`s_i` summing
to :math:`S`, scores :math:`z_i = Wx_i + b` with one row of :math:`W` for two classes, one per class
for more):

.. math::

    \min_{W,b}\; F(W, b) = \frac1S\sum_i s_i\,\ell(y_i, z_i)
    + \lambda_1\lVert W\rVert_1 + \tfrac12\lambda_2\lVert W\rVert_F^2,

:math:`\ell(y, z) = \log(1 + e^{-yz})` with :math:`y = \pm1` (binary) or
:math:`\ell(y, z) = \log\sum_k e^{z_k} - z_y` (multinomial, Hessian in the scores
:math:`\mathrm{diag}(\pi) - \pi\pi^\top`, :math:`\pi` the softmax).

Every iteration is **one pass** over the row chunks (a map-reduce: each chunk returns sums, the
sums are tree-reduced, only vectors of length p and one m × m block travel). At the trial point
:math:`(w + \Delta, b + \Delta_b)` a chunk returns

* the loss at the ten step lengths :math:`t = 1, \frac12, \dots, 2^{-9}` along the direction
  (for the line search, from :math:`z + t\,\delta z`: no further pass),
* the gradient :math:`\nabla f` (all p coordinates and the intercept) at :math:`t = 1`,
* the Hessian block on the working set ``ws`` (features chosen before the pass, all classes):
  :math:`X_{ws}^\top D_{kl} X_{ws}`, :math:`X_{ws}^\top D_{kl} 1` and :math:`1^\top D_{kl}1` for every pair of
  classes, :math:`D_{kl} = \mathrm{diag}(s_i\,\partial^2\ell_i/\partial z_k\partial z_l)/S` (binary:
  :math:`s_i\sigma_i(1-\sigma_i)/S`); :math:`(Km)^2` numbers for K score columns and m features.

The client then checks Armijo's condition :math:`F(t) \le F(0) + 10^{-4}\,t\,\delta` (:math:`\delta`:
the model's decrease) for the largest :math:`t`; when :math:`t = 1` passes (the rule near the
solution) the gradient and Hessian of the pass are those of the new point and the next
direction needs no other pass. Otherwise one more pass evaluates them at the accepted point.

The direction minimises the quadratic model over the working set and the intercept. The
intercept is eliminated in closed form (:math:`\Delta_b = -\eta^+(g_b + h^\top\Delta)`; the
pseudo-inverse because the softmax is unchanged by adding a constant to every score), which
leaves a least-squares problem in Gram form, :math:`Q = H - h\eta^+h^\top`, solved by the same
coordinate descent on a Gram matrix as the in-memory estimators
(:func:`proxgan.linear_model._quadratic.fit_quadratic`).

Stopping: the largest fixed-point violation :math:`L_j|w_j - \mathrm{prox}_{g_j/L_j}(w_j -
\nabla_jf/L_j)|` (:math:`L_j = \sum_i s_ix_{ij}^2/(4S)`, :math:`/(2S)` for the softmax) and
:math:`|\nabla_b f|` at most ``tol`` (the criterion of the in-memory binary solver). The working set of the next pass is the current one,
the support and the ``max(p0, |ws|)`` most violating other coordinates (all coordinates when
:math:`\lambda_1 = 0`).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit, logsumexp, softmax

from proxgan import penalties as _pen
from proxgan.linear_model._dask_gram import GramQuadratic, _check_finite
from proxgan.linear_model._quadratic import fit_quadratic

__all__ = ["STEPS", "chunk_newton", "add_sums", "NewtonResult", "prox_newton"]

#: Step lengths whose loss every pass returns (the line search needs no extra pass).
STEPS = 0.5 ** np.arange(10)


class NewtonResult(NamedTuple):
    """Solution (``W`` of shape (K, p), ``b`` of shape (K,)), iterations, passes over the data,
    convergence and the criterion reached."""

    W: np.ndarray
    b: np.ndarray
    n_iter: int
    n_passes: int
    converged: bool
    crit: float


def _loss_derivatives(y, s, classes, Z):
    """Per-row gradient (n, K) and Hessian (n, K, K) of ``s_i ℓ(y_i, z_i)`` in the scores."""
    if Z.shape[1] == 1:
        ypm = np.where(y == classes[1], 1.0, -1.0)
        sig = expit(-ypm * Z[:, 0])
        return (-s * ypm * sig)[:, None], (s * sig * (1.0 - sig))[:, None, None]
    P = softmax(Z, axis=1)
    Y = (y[:, None] == classes[None, :]).astype(np.float64)
    Hd = -P[:, :, None] * P[:, None, :]
    Hd[:, np.arange(P.shape[1]), np.arange(P.shape[1])] += P
    return s[:, None] * (P - Y), s[:, None, None] * Hd


def _losses(y, s, classes, Z0, dZ):
    """Σ s_i ℓ(y_i, z_i + t δz_i) for every t of STEPS."""
    if Z0.shape[1] == 1:
        ypm = np.where(y == classes[1], 1.0, -1.0)
        return np.array([-(s @ log_expit(ypm * (Z0[:, 0] + t * dZ[:, 0]))) for t in STEPS])
    idx = np.searchsorted(classes, y)
    rows = np.arange(y.shape[0])
    out = []
    for t in STEPS:
        Z = Z0 + t * dZ
        out.append(float(s @ (logsumexp(Z, axis=1) - Z[rows, idx])))
    return np.array(out)


def chunk_newton(X, y, s, r0: int, classes, W, b, dW, db, ws, first: bool) -> dict:
    """Sums of one row chunk at ``(W + dW, b + db)`` (see the module docstring). ``W`` has one row
    (binary: labels ``== classes[1]`` count as +1) or one per class; ``first`` adds the weighted
    column norms and the weight total."""
    _check_finite("X", X, r0)
    y = np.asarray(y).ravel()
    n = X.shape[0]
    s = np.ones(n) if s is None else np.asarray(s, dtype=np.float64).ravel()
    _check_finite("sample_weight", s, r0)
    X = sp.csr_matrix(X, dtype=np.float64) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    K, m = W.shape[0], len(ws)
    Z0 = np.asarray(X @ W.T) + b
    dZ = np.asarray(X @ dW.T) + db
    gz, Hd = _loss_derivatives(y, s, classes, Z0 + dZ)
    Xw = X[:, ws]
    H = np.empty((K * m, K * m))
    h = np.empty((K * m, K))
    for k in range(K):
        for l in range(k, K):
            d = Hd[:, k, l]
            B = np.asarray((Xw.T @ sp.diags(d) @ Xw).toarray()) if sp.issparse(Xw) else (Xw * d[:, None]).T @ Xw
            H[k * m:(k + 1) * m, l * m:(l + 1) * m] = B
            H[l * m:(l + 1) * m, k * m:(k + 1) * m] = B.T
        h[k * m:(k + 1) * m] = np.asarray(Xw.T @ Hd[:, k, :])
    out = dict(loss=_losses(y, s, classes, Z0, dZ), g=np.asarray(X.T @ gz).T, gb=gz.sum(axis=0), H=H, h=h,
               eta=Hd.sum(axis=0))
    if first:
        sq = X.multiply(X) if sp.issparse(X) else X * X
        out["norms2"] = np.asarray(sq.T @ s).ravel()
        out["S"] = float(s.sum())
    return out


def add_sums(a: dict, b: dict) -> dict:
    """Entry-wise sum of two chunk results."""
    return {k: a[k] + b[k] for k in a}


def _penalty_value(W, l1, l2):
    return l1 * float(np.abs(W).sum()) + 0.5 * l2 * float((W * W).sum())


def _violation(W, G, L, l1, l2):
    """Largest ``L_j |w_kj - prox(w_kj - g_kj/L_j)|`` (0 for columns that are all zero)."""
    Ls = np.where(L > 0, L, 1.0)
    U = W - G / Ls
    prox = np.sign(U) * np.maximum(np.abs(U) - l1 / Ls, 0.0) / (1.0 + l2 / Ls)
    return float(np.where(L > 0, Ls * np.abs(W - prox), 0.0).max(initial=0.0))


def _direction(W, ws, G, gb, H, h, eta, l1, l2, intercept, tol):
    """Minimiser of the quadratic model over the features ``ws`` of every class (and the intercepts):
    ``(dW, db, model decrease)``."""
    K, m = W.shape[0], len(ws)
    cur = W[:, ws].ravel()
    Q, lin = H, G[:, ws].ravel()
    eta_pinv = np.linalg.pinv(eta) if intercept else None
    if intercept:
        Q = H - h @ eta_pinv @ h.T
        lin = lin - h @ (eta_pinv @ gb)
    xty = Q @ cur - lin
    yy = float(xty @ np.linalg.lstsq(Q, xty, rcond=None)[0]) if m else 0.0
    if l1 > 0:
        pen = _pen.L1(l1) if l2 == 0 else _pen.ElasticNet(l1 + l2, l1 / (l1 + l2))
    else:
        pen = _pen.L2(l2)
    dW = np.zeros_like(W)
    if m:
        res = fit_quadratic(GramQuadratic(Q, xty, max(yy, 0.0), 1), pen, solver="cd", device="cpu", tol=tol,
                            max_iter=10_000, coef_init=cur, precompute=True)
        dW[:, ws] = (res.coef - cur).reshape(K, m)
    db = -eta_pinv @ (gb + h.T @ dW[:, ws].ravel()) if intercept else np.zeros(K)
    delta = float((G * dW).sum() + gb @ db) + _penalty_value(W + dW, l1, l2) - _penalty_value(W, l1, l2)
    return dW, db, delta


def prox_newton(run_pass: Callable[..., dict], shape: tuple[int, int], penalty_of_S: Callable[[float], tuple],
                *, intercept: bool, tol: float, max_iter: int, W0=None, b0=None, p0: int = 10) -> NewtonResult:
    """Run the algorithm of the module docstring.

    Parameters
    ----------
    run_pass : callable
        ``run_pass(W, b, dW, db, ws, first)``: the tree-reduced sums of :func:`chunk_newton` over all
        row chunks (one pass over the data).
    shape : (int, int)
        ``(K, p)``: score columns (1 for two classes) and features.
    penalty_of_S : callable
        ``S -> (λ1, λ2)``: the penalty weights once the weight total :math:`S` is known.
    intercept : bool
        Fit the (unpenalised) intercepts.
    tol : float
        Tolerance on the largest fixed-point violation.
    max_iter : int
        Most Newton iterations.
    W0 : ndarray of shape (K, p), optional
        Starting point (zeros by default).
    b0 : ndarray of shape (K,), optional
        Starting intercepts (zeros by default).
    p0 : int
        Smallest number of features added to a working set.
    """
    K, p = shape
    W = np.zeros(shape) if W0 is None else np.array(W0, dtype=np.float64).reshape(shape)
    b = np.zeros(K) if b0 is None else np.array(b0, dtype=np.float64).ravel()
    zW, zb = np.zeros(shape), np.zeros(K)
    ws = np.flatnonzero(np.any(W != 0, axis=0))
    r = run_pass(W, b, zW, zb, ws, True)
    S = r["S"]
    l1, l2 = penalty_of_S(S)
    L = r["norms2"] / ((4.0 if K == 1 else 2.0) * S)
    n_passes, crit = 1, np.inf
    for it in range(max_iter + 1):
        G, gb = r["g"] / S, r["gb"] / S
        f = r["loss"][0] / S + _penalty_value(W, l1, l2)
        crit = max(_violation(W, G, L, l1, l2) if l1 > 0 else float(np.abs(G + l2 * W).max(initial=0.0)),
                   float(np.abs(gb).max()) if intercept else 0.0)
        if crit <= tol or it == max_iter:
            return NewtonResult(W, b, it, n_passes, crit <= tol, crit)
        ws_h = ws  # the block of r is on the working set chosen before the pass
        dW, db, delta = _direction(W, ws_h, G, gb, r["H"] / S, r["h"] / S, r["eta"] / S, l1, l2, intercept,
                                   tol=1e-3 * min(crit, 1.0) ** 2)
        if l1 == 0:  # next working set: every feature, or the current one, the trial support and violators
            ws = np.arange(p)
        else:
            v = (np.abs(G + l2 * W) - l1).max(axis=0)
            v[ws_h] = -np.inf
            extra = np.argsort(-v)[:max(p0, len(ws_h))]
            extra = extra[v[extra] > 0]
            support = np.flatnonzero(np.any(W + dW != 0, axis=0))
            ws = np.union1d(np.union1d(ws_h, support), extra).astype(np.int64)
        r_new = run_pass(W, b, dW, db, ws, False)
        n_passes += 1
        F = r_new["loss"] / S + np.array([_penalty_value(W + t * dW, l1, l2) for t in STEPS])
        ok = np.flatnonzero(F <= f + 1e-4 * STEPS * min(delta, 0.0) + 1e-14 * abs(f))
        t_i = int(ok[0]) if ok.size else len(STEPS) - 1
        W, b = W + STEPS[t_i] * dW, b + STEPS[t_i] * db
        if t_i == 0:
            r = r_new
        else:
            r = run_pass(W, b, zW, zb, ws, False)
            n_passes += 1
    return NewtonResult(W, b, max_iter, n_passes, crit <= tol, crit)
