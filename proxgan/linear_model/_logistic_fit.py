r"""Binary and multinomial logistic losses and the two solvers that do not use coordinate descent.

With weights :math:`s_i` (summing to :math:`S`), scores :math:`Z = XW^\top + 1b^\top` and
penalty :math:`r`, the scaled problem is

.. math::

    \min_{W, b}\; \frac1S\sum_i s_i\,\ell(y_i, z_i) + \tfrac12\lambda_2\lVert W\rVert_F^2 + \lambda_1\lVert W\rVert_1,

with :math:`\ell(y, z) = \log(1 + e^{-yz})`, :math:`y = \pm1` (binary, one row in :math:`W`) or
:math:`\ell(y, z) = \log\sum_k e^{z_k} - z_y` (multinomial, one row per class). The intercept is
not penalised.

* :func:`fit_smooth` (:math:`\lambda_1 = 0`): L-BFGS (SciPy) on the smooth objective, stopped when
  the largest gradient entry is ``<= tol``.
* Newton's method (binary or multinomial) lives in :mod:`proxgan.linear_model._logistic_newton`.
* :func:`fit_prox` (multinomial, any :math:`\lambda_1`): FISTA (ISTA: ``accelerated=False``) with restarts and the step
  :math:`1/L`, :math:`L = \lVert \mathrm{diag}(\sqrt s)[X, 1]\rVert_2^2/(2S)` (the softmax Hessian is
  at most half the identity), stopped when the largest fixed-point violation
  :math:`L\,|W - \mathrm{prox}(W - \nabla/L)|` is ``<= tol``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.sparse.linalg import svds
from scipy.special import expit, log_expit, logsumexp

__all__ = ["loss_grad", "fit_smooth", "fit_prox"]


def _scores(X, W, b):
    return np.asarray(X @ W.T) + b


def loss_grad(W, b, X, Y, s, multinomial: bool):
    """Weighted mean loss ``(1/S)Σ s_i ℓ_i`` and its gradients w.r.t. ``W`` (K, p) and ``b`` (K,).

    ``Y``: (n, 1) labels ±1 (binary) or (n, K) one-hot (multinomial); ``s`` sums to 1.
    One pass over ``X`` for the scores and one for the gradient (matrix-vector products in the
    binary case).
    """
    if multinomial:
        Z = _scores(X, W, b)
        lse = logsumexp(Z, axis=1)
        loss = float(s @ (lse - (Y * Z).sum(axis=1)))
        G = s[:, None] * (np.exp(Z - lse[:, None]) - Y)
        return loss, np.asarray(X.T @ G).T, G.sum(axis=0)
    y = Y[:, 0]
    yz = y * (np.asarray(X @ W[0]).ravel() + b[0])
    loss = float(-(s @ log_expit(yz)))
    gz = -s * y * expit(-yz)
    return loss, np.asarray(X.T @ gz).ravel()[None, :], np.array([gz.sum()])


def _pack(W, b, fit_intercept):
    return np.concatenate([W.ravel(), b]) if fit_intercept else W.ravel().copy()


def _unpack(x, K, p, fit_intercept):
    W = x[: K * p].reshape(K, p)
    b = x[K * p:] if fit_intercept else np.zeros(K)
    return W, b


def fit_smooth(X, Y, s, lam2: float, W0, b0, *, fit_intercept: bool, multinomial: bool, tol: float, max_iter: int):
    """L-BFGS on the L2-penalised (or unpenalised) problem; ``(W, b, n_iter, converged, max |gradient|)``."""
    K, p = W0.shape
    if max_iter == 0:
        return W0.copy(), b0.copy(), 0, False, np.inf

    def fun(x):
        W, b = _unpack(x, K, p, fit_intercept)
        loss, gW, gb = loss_grad(W, b, X, Y, s, multinomial)
        loss += 0.5 * lam2 * float((W * W).sum())
        gW = gW + lam2 * W
        return loss, _pack(gW, gb, fit_intercept)

    res = minimize(fun, _pack(W0, b0, fit_intercept), method="L-BFGS-B", jac=True,
                   options={"maxiter": max_iter, "maxls": 50, "gtol": tol, "ftol": 64 * np.finfo(float).eps})
    W, b = _unpack(res.x, K, p, fit_intercept)
    g = float(np.abs(res.jac).max()) if res.x.size else 0.0  # the gradient at res.x: no extra pass
    return W.copy(), b.copy(), int(res.nit), bool(g <= tol or res.status == 0), float(g)


def _lipschitz(X, s, fit_intercept):
    Xs = sp.diags(np.sqrt(s)) @ X if sp.issparse(X) else np.sqrt(s)[:, None] * X
    if fit_intercept:
        col = np.sqrt(s)[:, None]
        Xs = sp.hstack([Xs, col]).tocsr() if sp.issparse(Xs) else np.hstack([Xs, col])
    if min(Xs.shape) <= 2 or not sp.issparse(Xs):
        sv = np.linalg.norm(Xs.toarray() if sp.issparse(Xs) else Xs, 2)
    else:
        sv = svds(Xs, k=1, return_singular_vectors=False)[0]
    return 0.5 * float(sv) ** 2 * 1.01 + 1e-12


def _prox(W, step, l1, l2):
    return np.sign(W) * np.maximum(np.abs(W) - step * l1, 0.0) / (1.0 + step * l2)


def fit_prox(X, Y, s, l1: float, l2: float, W0, b0, *, fit_intercept: bool, tol: float, max_iter: int,
             accelerated: bool = True):
    """FISTA (ISTA if not ``accelerated``) on the multinomial problem with an L1 / elastic-net penalty;
    ``(W, b, n_iter, converged, fixed-point violation)``."""
    L = _lipschitz(X, s, fit_intercept) + l2
    W, b = W0.copy(), b0.copy()
    Wy, by = W.copy(), b.copy()
    t = 1.0
    crit = np.inf
    f_old = np.inf
    for it in range(1, max_iter + 1):
        _, gW, gb = loss_grad(Wy, by, X, Y, s, True)
        W_new = _prox(Wy - gW / L, 1.0 / L, l1, l2)
        b_new = by - gb / L if fit_intercept else by
        # fixed-point violation at the new point (every 10 iterations: a full gradient)
        if it % 10 == 0 or it == max_iter:
            _, gW2, gb2 = loss_grad(W_new, b_new, X, Y, s, True)
            v = np.abs(W_new - _prox(W_new - gW2 / L, 1.0 / L, l1, l2)).max() * L
            vb = np.abs(gb2).max() if fit_intercept else 0.0
            crit = max(v, vb)
            if crit <= tol:
                return W_new, b_new, it, True, crit
        f_new = loss_grad(W_new, b_new, X, Y, s, True)[0] + l1 * np.abs(W_new).sum() + 0.5 * l2 * (W_new ** 2).sum()
        if f_new > f_old:  # restart the momentum
            t = 1.0
            Wy, by = W.copy(), b.copy()
            f_old = np.inf
            continue
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t)) if accelerated else 1.0
        Wy = W_new + (t - 1) / t_new * (W_new - W)
        by = b_new + (t - 1) / t_new * (b_new - b)
        W, b, t, f_old = W_new, b_new, t_new, f_new
    return W, b, max_iter, crit <= tol, crit
