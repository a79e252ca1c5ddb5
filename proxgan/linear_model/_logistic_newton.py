r"""Newton's method for L2-penalised (or unpenalised) logistic regression, binary or multinomial.

With :math:`A = [X, 1]` (or :math:`X` without intercept), weights :math:`s_i` summing to 1 and
one row :math:`v_k` of :math:`V` per class (one row in the binary case), the objective is

.. math::

    f(V) = \sum_i s_i\,\ell(y_i, A_i V^\top) + \tfrac12\lambda_2 \sum_k \lVert D v_k\rVert^2,

:math:`D` the identity without the intercept entry. Its gradient and Hessian are

.. math::

    \nabla_{v_k} f = \sum_i s_i (p_{ik} - y_{ik}) a_i + \lambda_2 D v_k, \qquad
    \nabla^2_{v_k v_l} f = A^\top \mathrm{diag}\big(s\,(p_k\,\delta_{kl} - p_k p_l)\big) A
    + \delta_{kl}\lambda_2 D,

with :math:`p` the softmax probabilities (binary: :math:`\sigma(z)(1-\sigma(z))` on the diagonal,
labels :math:`\pm1`). Each iteration solves :math:`H d = -g` and takes an Armijo backtracking step
along :math:`d`; it stops when :math:`\max|g| \le` ``tol`` (scikit-learn's rule for its Newton
solvers). The Newton system is solved

* ``inner="cholesky"``: by a Cholesky factorisation of the full :math:`K(p+1)` square Hessian
  (scikit-learn's ``"newton-cholesky"``); the softmax Hessian is singular along "add the same
  vector to every class", a direction orthogonal to the gradient: a relative diagonal shift of
  1e-12 keeps the factorisation defined without changing the step;
* ``inner="cg"``: by conjugate gradients on Hessian-vector products, never forming :math:`H`
  (truncated Newton, scikit-learn's ``"newton-cg"``), to the relative residual
  :math:`\min(\tfrac12, \sqrt{\max|g|})`.

Multinomial solutions are returned centred over the classes (:math:`\sum_k v_k = 0`, the
symmetric parametrisation; the probabilities do not change).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.special import expit, log_expit, logsumexp, softmax

__all__ = ["fit_newton"]

_INNERS = ("cholesky", "cg")


def _design(X, fit_intercept: bool):
    """``A = [X, 1]`` (or ``X``), dense or CSR."""
    if not fit_intercept:
        return X
    col = np.ones((X.shape[0], 1))
    return sp.hstack([X, col], format="csr") if sp.issparse(X) else np.hstack([X, col])


class _Problem:
    """Loss, gradient, Hessian and Hessian-vector products of the module's objective at ``V``."""

    def __init__(self, A, Y, s, reg, multinomial: bool):
        self.A, self.Y, self.s, self.reg, self.multinomial = A, Y, s, reg, multinomial

    def scores(self, V):
        return np.asarray(self.A @ V.T)

    def value(self, V, Z) -> float:
        if self.multinomial:
            loss = float(self.s @ (logsumexp(Z, axis=1) - (self.Y * Z).sum(axis=1)))
        else:
            loss = float(-(self.s @ log_expit(self.Y[:, 0] * Z[:, 0])))
        return loss + 0.5 * float(((V * V) @ self.reg).sum())

    def curvature(self, Z):
        """``P`` (n, K): softmax probabilities, or the binary weights ``σ(1-σ)`` as one column."""
        if self.multinomial:
            return softmax(Z, axis=1)
        sig = expit(Z[:, 0])
        return (sig * (1.0 - sig))[:, None]

    def grad(self, V, Z):
        if self.multinomial:
            R = self.s[:, None] * (softmax(Z, axis=1) - self.Y)
        else:
            y = self.Y[:, 0]
            R = (-self.s * y * expit(-y * Z[:, 0]))[:, None]
        return np.asarray(self.A.T @ R).T + self.reg * V

    def _gram(self, w):
        Aw = sp.diags(w) @ self.A if sp.issparse(self.A) else self.A * w[:, None]
        G = self.A.T @ Aw
        return G.toarray() if sp.issparse(G) else G

    def hessian(self, P):
        K, q = P.shape[1], self.A.shape[1]
        H = np.empty((K * q, K * q))
        for k in range(K):
            for l in range(k, K):  # symmetric: one block per pair
                w = self.s * (P[:, k] * (k == l) - P[:, k] * P[:, l]) if self.multinomial else self.s * P[:, 0]
                B = self._gram(w)
                H[k * q:(k + 1) * q, l * q:(l + 1) * q] = B
                H[l * q:(l + 1) * q, k * q:(k + 1) * q] = B.T
        H.flat[:: K * q + 1] += np.tile(self.reg, K)
        return H

    def hessp(self, P, D):
        """:math:`H d` for a direction ``D`` of the shape of ``V``."""
        dZ = np.asarray(self.A @ D.T)
        if self.multinomial:
            PdZ = P * dZ
            R = self.s[:, None] * (PdZ - P * PdZ.sum(axis=1, keepdims=True))
        else:
            R = (self.s * P[:, 0])[:, None] * dZ
        return np.asarray(self.A.T @ R).T + self.reg * D


def _cholesky_step(prob, P, G):
    H = prob.hessian(P)
    H.flat[:: H.shape[0] + 1] += 1e-12 * max(1.0, float(np.trace(H)) / H.shape[0])
    try:
        d = -sla.cho_solve(sla.cho_factor(H, lower=False, check_finite=False), G.ravel(), check_finite=False)
    except np.linalg.LinAlgError:
        d = -np.linalg.lstsq(H, G.ravel(), rcond=None)[0]
    return d.reshape(G.shape)


def _cg_step(prob, P, G, g_max: float, max_cg: int = 250):
    """Conjugate gradients on ``H d = -G`` from ``d = 0`` to the relative residual min(1/2, sqrt(max|g|))."""
    rtol = min(0.5, np.sqrt(g_max))
    d = np.zeros_like(G)
    r = -G
    u = r.copy()
    rr = float((r * r).sum())
    stop = (rtol ** 2) * rr
    for _ in range(max_cg):
        Hu = prob.hessp(P, u)
        curv = float((u * Hu).sum())
        if curv <= 0:  # flat direction (the softmax null space): keep what we have
            break
        alpha = rr / curv
        d += alpha * u
        r -= alpha * Hu
        rr_new = float((r * r).sum())
        if rr_new <= stop:
            break
        u = r + (rr_new / rr) * u
        rr = rr_new
    return d if np.any(d) else -G


def fit_newton(X, Y, s, lam2: float, W0, b0, *, fit_intercept: bool, tol: float, max_iter: int,
               multinomial: bool = False, inner: str = "cholesky"):
    """Newton's method (module docstring) from ``(W0, b0)``; ``(W, b, n_iter, converged, max |gradient|)``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n, p)
    Y : ndarray of shape (n, 1) (labels ±1) or (n, K) (one-hot, ``multinomial=True``)
    s : ndarray of shape (n,)
        Sample weights summing to 1.
    lam2 : float
        L2 strength :math:`\\lambda_2` (the intercept is not penalised).
    W0, b0 : ndarray of shapes (K, p) and (K,)
        Starting point.
    fit_intercept : bool
    tol : float
        Stop when the largest gradient entry is ``<= tol``.
    max_iter : int
        Newton iterations at most.
    multinomial : bool, default=False
        Softmax loss over ``K`` rows instead of the binary loss on one row.
    inner : {"cholesky", "cg"}, default="cholesky"
        How the Newton system is solved (module docstring).
    """
    if inner not in _INNERS:
        raise ValueError(f"inner must be one of {_INNERS}, got {inner!r}")
    K, p = W0.shape
    A = _design(X, fit_intercept)
    reg = np.full(A.shape[1], float(lam2))
    if fit_intercept:
        reg[p] = 0.0
    prob = _Problem(A, Y, s, reg, multinomial)
    V = np.hstack([W0, b0[:, None]]) if fit_intercept else W0.copy()
    Z = prob.scores(V)
    fv = prob.value(V, Z)
    g_max = np.inf
    for it in range(max_iter + 1):
        G = prob.grad(V, Z)
        g_max = float(np.abs(G).max()) if G.size else 0.0
        if g_max <= tol or it == max_iter:
            break
        P = prob.curvature(Z)
        D = _cholesky_step(prob, P, G) if inner == "cholesky" else _cg_step(prob, P, G, g_max)
        step, slope = 1.0, float((G * D).sum())
        for _ in range(40):
            V_new = V + step * D
            Z_new = prob.scores(V_new)
            f_new = prob.value(V_new, Z_new)
            if f_new <= fv + 1e-4 * step * slope + 1e-14 * abs(fv):
                break
            step *= 0.5
        V, Z, fv = V_new, Z_new, f_new
    if multinomial:  # the symmetric solution (Σ_k v_k = 0): same probabilities, unique where L2 leaves a choice
        V = V - V.mean(axis=0)
    W = V[:, :p].copy()
    b = V[:, p].copy() if fit_intercept else np.zeros(K)
    return W, b, it, g_max <= tol, g_max
