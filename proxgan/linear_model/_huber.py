r""":class:`HuberRegressor`: scikit-learn's robust regression with a jointly estimated scale.

scikit-learn's objective, over the coefficients, the intercept and the scale :math:`\sigma > 0`:

.. math::

    F(w, b, \sigma) = \sum_i s_i\Big(\sigma + \sigma\,H\big(\tfrac{y_i - x_i^\top w - b}{\sigma}\big)\Big)
    + \alpha\lVert w\rVert_2^2,\qquad
    H(t) = \begin{cases} t^2 & |t| < \epsilon \\ 2\epsilon|t| - \epsilon^2 & \text{else}\end{cases},

jointly convex (a perspective function). Since :math:`\sigma H(r/\sigma) = \tfrac2\sigma
H_{\epsilon\sigma}(r)` with :math:`H_a` the Huber function of :class:`proxgan.datafits.Huber`,
the method alternates two exact block minimisations:

* :math:`\sigma` for fixed residuals: :math:`\partial_\sigma F = S - \epsilon^2\sum_{|r_i| \ge \epsilon\sigma}
  s_i - \sigma^{-2}\sum_{|r_i| < \epsilon\sigma} s_i r_i^2` is increasing; its root is found among
  the :math:`n + 1` intervals cut by the sorted :math:`|r_i|/\epsilon` (:func:`best_scale`);
* :math:`(w, b)` for fixed :math:`\sigma`: the Huber datafit with threshold :math:`\epsilon\sigma`
  and the penalty :math:`\tfrac{\alpha\sigma}{S}\cdot\tfrac12\lVert w\rVert^2` (the same problem divided by
  :math:`2S/\sigma`), by coordinate descent, warm-started.

It stops when the gradient of :math:`F` in :math:`(w, b)` after a scale update is at most ``tol``
(scikit-learn's L-BFGS stops on the same gradient). Alternation is slow along a flat direction
(many residuals at zero, the scale shrinking): after 20 rounds the remaining ``max_iter`` go to
L-BFGS-B on :math:`(w, b, \sigma)` jointly (scikit-learn's method), warm-started.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from proxgan.linear_model._glm import _check_number, _GLMBase

__all__ = ["HuberRegressor", "best_scale"]


def best_scale(r: np.ndarray, sw: np.ndarray, epsilon: float, floor: float = 1e-12) -> float:
    """:math:`\\arg\\min_{\\sigma \\ge floor} \\sum_i s_i(\\sigma + \\sigma H(r_i/\\sigma))` (module docstring).

    Parameters
    ----------
    r : ndarray of shape (n,)
        Residuals.
    sw : ndarray of shape (n,)
        Sample weights.
    epsilon : float
        Huber threshold.
    floor : float
        Smallest scale returned.

    Returns
    -------
    float
    """
    a = np.abs(r) / epsilon
    order = np.argsort(a)
    a, s, r2 = a[order], sw[order], (r[order] ** 2)
    S = s.sum()
    # interval k: sigma in (a[k-1], a[k]]: samples < k are inside (|r| < eps sigma), the others outside
    q_in = np.concatenate([[0.0], np.cumsum(s * r2)])
    w_out = S - np.concatenate([[0.0], np.cumsum(s)])
    den = S - epsilon ** 2 * w_out
    with np.errstate(divide="ignore", invalid="ignore"):
        cand = np.sqrt(np.where(den > 0, q_in / den, np.inf))
    lo = np.concatenate([[0.0], a])
    hi = np.concatenate([a, [np.inf]])
    ok = (den > 0) & (cand >= lo) & (cand <= hi)
    sigma = float(cand[np.argmax(ok)]) if ok.any() else float(a[-1])
    return max(sigma, floor)


class HuberRegressor(_GLMBase):
    r"""Huber regression with a joint scale estimate (scikit-learn's objective; module docstring).

    Parameters
    ----------
    epsilon : float
        Threshold :math:`\epsilon \ge 1` (scikit-learn's range).
    max_iter : int
        Largest number of scale updates.
    alpha : float
        Strength of the squared L2 penalty :math:`\alpha\lVert w\rVert_2^2`.
    warm_start : bool
        Start from the previous fit's coefficients and scale.
    fit_intercept : bool
        Fit a free intercept.
    tol : float
        Stop when the gradient of the objective in :math:`(w, b)` is at most ``tol``.
    """

    def __init__(self, *, epsilon: float = 1.35, max_iter: int = 100, alpha: float = 0.0001,
                 warm_start: bool = False, fit_intercept: bool = True, tol: float = 1e-05) -> None:
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.alpha = alpha
        self.warm_start = warm_start
        self.fit_intercept = fit_intercept
        self.tol = tol

    def _grad(self, X, y, sw, w, b, sigma):
        r = y - X @ w - b
        t = np.clip(r / sigma, -self.epsilon, self.epsilon)
        g = -2.0 * (X.T @ (sw * t)) + 2.0 * self.alpha * w
        gb = -2.0 * float(sw @ t) if self.fit_intercept else 0.0
        return max(float(np.abs(g).max(initial=0.0)), abs(gb))

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        from proxgan.datafits import Huber
        from proxgan.penalties import L2
        from proxgan.solvers import cd

        eps = float(_check_number(self.epsilon, "epsilon", 1.0))
        alpha = float(_check_number(self.alpha, "alpha"))
        tol = float(_check_number(self.tol, "tol"))
        max_iter = int(_check_number(self.max_iter, "max_iter", 0, np.inf, integer=True))
        X, y, sw = self._validate(X, y, sample_weight)
        n, p = X.shape
        S = float(sw.sum())
        q = p + int(self.fit_intercept)
        w = np.zeros(q)
        warm = self.warm_start and hasattr(self, "coef_") and self.coef_.shape == (p,)
        if warm:
            w[:p], sigma = self.coef_, self.scale_
            if self.fit_intercept:
                w[p] = self.intercept_
        else:  # zeros (as scikit-learn): a start that weights and repeated rows see alike
            sigma = None
        self.n_iter_ = 0
        converged = False
        df = Huber(X, y, sample_weight=sw, intercept=bool(self.fit_intercept))
        n_alt = min(max_iter, 20)
        for it in range(max(n_alt, 1)):
            b = w[p] if self.fit_intercept else 0.0
            r = y - np.asarray(X @ w[:p]).ravel() - b
            sigma = best_scale(r, sw, eps)
            if (it > 0 or warm) and self._grad(X, y, sw, w[:p], b, sigma) <= tol:
                converged = True
                break
            if it == n_alt:
                break
            df.epsilon = eps * sigma
            res = cd.solve(df, L2(alpha * sigma / S), coef_init=w, tol=0.1 * tol * sigma / (2 * S), max_iter=1000)
            w = res.coef
            self.n_iter_ = it + 1
        if not converged and max_iter > n_alt:  # slow alternation (a flat direction): finish jointly
            w, sigma, n_more, converged = self._joint_lbfgs(X, y, sw, w, sigma, eps, alpha, tol, max_iter - n_alt)
            self.n_iter_ += n_more
        if not converged and max_iter > 0:
            warnings.warn(f"HuberRegressor did not converge in {max_iter} iterations; increase max_iter",
                          ConvergenceWarning, stacklevel=2)
        self.scale_ = float(sigma)
        self._set_coef(w, p)
        r = y - self._linear_raw(X)
        self.outliers_ = np.abs(r) > eps * self.scale_
        return self

    def _joint_lbfgs(self, X, y, sw, w, sigma, eps, alpha, tol, max_iter):
        """L-BFGS-B on :math:`F(w, b, \\sigma)` from the current point (scikit-learn's method), ``gtol=tol``."""
        from scipy.optimize import minimize

        p = X.shape[1]

        def fun(v):
            coef, s = v[:-1], v[-1]
            b = coef[p] if self.fit_intercept else 0.0
            r = y - np.asarray(X @ coef[:p]).ravel() - b
            t = r / s
            inside = np.abs(t) < eps
            H = np.where(inside, t * t, 2 * eps * np.abs(t) - eps * eps)
            val = float(sw @ (s + s * H)) + alpha * float(coef[:p] @ coef[:p])
            dH = np.clip(2 * t, -2 * eps, 2 * eps)
            g = np.empty_like(v)
            g[:p] = -np.asarray(X.T @ (sw * dH)).ravel() + 2 * alpha * coef[:p]
            if self.fit_intercept:
                g[p] = -float(sw @ dH)
            g[-1] = float(sw @ (1 + H - t * dH))
            return val, g

        bounds = [(None, None)] * w.shape[0] + [(np.finfo(float).eps * 10, None)]
        res = minimize(fun, np.append(w, sigma), jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": max_iter, "gtol": tol, "iprint": -1})
        return res.x[:-1], float(res.x[-1]), int(res.nit), bool(res.success)

    def _linear_raw(self, X):
        return np.asarray(X @ self.coef_).ravel() + self.intercept_
