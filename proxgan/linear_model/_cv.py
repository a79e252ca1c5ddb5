"""Cross-validated Lasso and elastic net (scikit-learn's ``LassoCV`` / ``ElasticNetCV``).

For every ``l1_ratio`` the alpha grid is computed on the whole (centred) data, every fold's
training part is fitted along that grid with warm starts, the mean squared error on the
held-out part is averaged over folds, and the best ``(alpha, l1_ratio)`` is refitted on
all the data.
"""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.model_selection import check_cv

from proxgan.linear_model._base import (LinearRegressorBase, check_device, check_l1_ratio, check_positive_int,
                                        check_solver, check_tol, preprocess, warn_not_converged)
from proxgan.linear_model._coordinate_descent import ElasticNet, _enet_penalty, alpha_grid, fit_quadratic, use_gram

__all__ = ["LassoCV", "ElasticNetCV"]


class ElasticNetCV(LinearRegressorBase):
    """Elastic net with the regularisation chosen by cross-validation.

    Parameters
    ----------
    l1_ratio : float or list of float, default=0.5
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the automatic grid.
    alphas : int or array-like, default=100
        Number of alphas of the automatic grid, or the alphas themselves.
    fit_intercept : bool, default=True
    max_iter : int, default=1000
    tol : float, default=1e-4
        Duality-gap tolerance of every fit (times ``‖y‖²/n``).
    cv : int, cross-validation generator or iterable, default=None (5-fold)
    positive : bool, default=False
    solver : {"auto", "cd", "fista", "ista"}, default="auto"
    device : {"cpu", "cuda"}, default="cpu"
    copy_X : bool, default=True

    Attributes
    ----------
    alpha_, l1_ratio_, alphas_, mse_path_, coef_, intercept_, dual_gap_, n_iter_
    """

    def __init__(self, *, l1_ratio=0.5, eps=1e-3, alphas=100, fit_intercept=True, max_iter=1000, tol=1e-4, cv=None,
                 positive=False, solver="auto", device="cpu", copy_X=True):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.positive = positive
        self.solver = solver
        self.device = device
        self.copy_X = copy_X

    def _l1_ratios(self):
        r = self.l1_ratio
        return [check_l1_ratio(v) for v in (np.atleast_1d(r) if not isinstance(r, numbers.Number) else [r])]

    def fit(self, X, y, sample_weight=None):
        """Fit the path on every fold, choose the best alpha (and l1_ratio), refit on all data."""
        ratios = self._l1_ratios()
        max_iter = check_positive_int(self.max_iter, "max_iter")
        tol = check_tol(self.tol)
        device = check_device(self.device)
        solver = check_solver(self.solver, device)
        if not (isinstance(self.eps, numbers.Real) and 0 < self.eps <= 1):
            raise ValueError(f"eps must be a number in (0, 1], got {self.eps!r}")
        X, y, sw = self._validate_fit(X, y, sample_weight)
        grids = []
        for r in ratios:
            if isinstance(self.alphas, numbers.Integral):
                df, _, _ = preprocess(X, y, self.fit_intercept, sw)
                grids.append(alpha_grid(df, r, self.eps, check_positive_int(int(self.alphas), "alphas"),
                                          bool(self.positive)))
            else:
                a = np.sort(np.asarray(self.alphas, dtype=np.float64).ravel())[::-1]
                if a.size == 0 or np.any(a < 0) or not np.all(np.isfinite(a)):
                    raise ValueError("alphas must be a non-empty list of finite numbers >= 0")
                grids.append(a)
        folds = list(check_cv(self.cv).split(X, y))
        mse = np.empty((len(ratios), len(grids[0]), len(folds)))
        for f, (tr, te) in enumerate(folds):
            swt = None if sw is None else sw[tr]
            df, X_off, y_off = preprocess(X[tr], y[tr], self.fit_intercept, swt)
            tol_abs = tol * float(df.y @ df.y) / len(tr)
            gram = use_gram("auto", df)
            for k, r in enumerate(ratios):
                w = None
                for a_i, a in enumerate(grids[k]):
                    res = fit_quadratic(df, _enet_penalty(float(a), r), solver=solver, device=device, tol=tol_abs,
                                        max_iter=max_iter, positive=bool(self.positive), coef_init=w,
                                        precompute=gram)
                    if not res.converged:
                        warn_not_converged(res.crit, tol_abs)
                    w = res.coef
                    b = y_off - X_off @ w if self.fit_intercept else 0.0
                    err = (y[te] - (np.asarray(X[te] @ w).ravel() + b)) ** 2
                    mse[k, a_i, f] = np.average(err, weights=None if sw is None else sw[te])
        mean = mse.mean(axis=2)
        k, a_i = np.unravel_index(np.argmin(mean), mean.shape)
        self.l1_ratio_ = ratios[k]
        self.alpha_ = float(grids[k][a_i])
        single = isinstance(self.l1_ratio, numbers.Number)
        # scikit-learn: one grid per l1_ratio only when the grid is computed; given alphas stay 1-D
        self.alphas_ = grids[0] if single or not isinstance(self.alphas, numbers.Integral) else np.array(grids)
        self.mse_path_ = mse[0] if single else mse
        model = ElasticNet(alpha=self.alpha_, l1_ratio=self.l1_ratio_, fit_intercept=self.fit_intercept,
                           max_iter=max_iter, tol=tol, positive=self.positive, solver=self.solver,
                           device=self.device).fit(X, y, sample_weight=sw)
        self.coef_ = model.coef_
        self.intercept_ = model.intercept_
        self.dual_gap_ = model.dual_gap_
        self.n_iter_ = model.n_iter_
        return self


class LassoCV(ElasticNetCV):
    """Lasso with ``alpha`` chosen by cross-validation (:class:`ElasticNetCV` with ``l1_ratio=1``).

    Examples
    --------
    >>> import numpy as np
    >>> from proxgan.linear_model import LassoCV
    >>> X = np.random.default_rng(0).standard_normal((60, 8)); y = X[:, 0] + 0.1 * X[:, 1]
    >>> m = LassoCV(alphas=20).fit(X, y); bool(m.alpha_ > 0), m.coef_.shape
    (True, (8,))
    """

    def __init__(self, *, eps=1e-3, alphas=100, fit_intercept=True, max_iter=1000, tol=1e-4, cv=None,
                 positive=False, solver="auto", device="cpu", copy_X=True):
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.positive = positive
        self.solver = solver
        self.device = device
        self.copy_X = copy_X

    def _l1_ratios(self):
        return [1.0]

    def fit(self, X, y, sample_weight=None):
        """Fit the path on every fold, choose the best alpha, refit on all data."""
        self.l1_ratio = 1.0
        try:
            return super().fit(X, y, sample_weight)
        finally:
            del self.l1_ratio
