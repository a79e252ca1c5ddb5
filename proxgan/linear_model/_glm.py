r"""Generalised linear estimators: :class:`PoissonRegressor`, :class:`GammaRegressor` and
:class:`GeneralizedLinearEstimator` (any per-sample datafit with any penalty the solvers take).

Objective (scikit-learn's, with sample weights :math:`s` normalised to sum to one):

.. math::

    \min_{w, b}\; \sum_i \bar s_i\,\phi(y_i, x_i^\top w + b) + g(w),

where :math:`\phi` is the datafit of :mod:`proxgan.datafits` (half Poisson / Gamma deviance up
to constants, Huber, pinball) and, for the two regressors,
:math:`g(w) = \alpha\,(\rho\lVert w\rVert_1 + \tfrac{1-\rho}2\lVert w\rVert_2^2)` with
:math:`\rho` = ``l1_ratio`` (scikit-learn has :math:`\rho = 0` only).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from proxgan.datafits import Gamma, GLMDatafit, Huber, Poisson, Quantile
from proxgan.linear_model._dask import refuse_dask

__all__ = ["PoissonRegressor", "GammaRegressor", "GeneralizedLinearEstimator", "fit_glm"]


def _check_number(v, name, lo=0.0, hi=np.inf, integer=False):
    kinds = numbers.Integral if integer else numbers.Real
    if isinstance(v, bool) or not isinstance(v, kinds) or not lo <= v <= hi or not np.isfinite(v):
        raise ValueError(f"{name} must be a{'n integer' if integer else ' finite number'} in [{lo}, {hi}], got {v!r}")
    return v


def fit_glm(df: GLMDatafit, penalty, solver: str, tol: float, max_iter: int, coef_init=None):
    """Solve ``df + penalty`` with ``solver`` (``"cd"``, ``"fista"``, ``"ista"``; a Quantile datafit:
    the exact solver of :mod:`proxgan.solvers._quantile`, by ``"frisch-newton"`` (interior point) or
    smoothing with ``"cd"``/``"fista"`` inside). Returns ``(coef, n_iter, converged)``."""
    from proxgan.solvers import cd

    if isinstance(df, Quantile):
        from proxgan.solvers._quantile import solve as solve_quantile

        method = {"frisch-newton": "frisch-newton", "auto": "auto"}.get(solver, "smoothing")
        res = solve_quantile(df, penalty, coef_init=coef_init, tol=tol, method=method,
                             inner="cd" if solver == "cd" else "fista", max_iter=max_iter)
    elif solver == "frisch-newton":
        raise ValueError("solver='frisch-newton' (interior point) is for the Quantile datafit only")
    elif solver == "cd":
        res = cd.solve(df, penalty, coef_init=coef_init, tol=tol, max_iter=max_iter)
    elif solver == "prox-newton":
        from proxgan.solvers._glm_prox_newton import solve as solve_pn

        res = solve_pn(df, penalty, coef_init=coef_init, tol=tol, max_iter=max_iter)
    else:  # the torch solvers: torch loads only here
        from proxgan.solvers import fista, ista
        from proxgan.solvers._common import Composite

        pen = Composite(penalty, n_free=1) if df.intercept else penalty
        res = (fista if solver == "fista" else ista).solve(df, pen, coef_init=coef_init, tol=tol, max_iter=max_iter)
    return res.coef, res.n_iter, res.converged


class _GLMBase(RegressorMixin, BaseEstimator):
    """Input handling, fit and predict shared by the estimators of this module."""

    _inverse_link = staticmethod(lambda z: z)

    def _validate(self, X, y, sample_weight):
        refuse_dask(self, X, y, sample_weight)
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32],
                             y_numeric=True, accept_large_sparse=False)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if not sw.sum() > 0:
            raise ValueError("sample_weight must have a positive sum")
        return X, np.asarray(y, dtype=np.float64), sw

    def _set_coef(self, w, p):
        self.coef_ = np.asarray(w[:p], dtype=np.float64).copy()
        self.intercept_ = float(w[p]) if self.fit_intercept else 0.0

    def _linear(self, X):
        check_is_fitted(self)
        refuse_dask(self, X)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False, dtype=[np.float64, np.float32])
        return np.asarray(X @ self.coef_).ravel() + self.intercept_

    def predict(self, X):
        """Prediction :math:`h^{-1}(Xw + b)` (:math:`h`: the link)."""
        return self._inverse_link(self._linear(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class _LogLinkRegressor(_GLMBase):
    _datafit = None  # Poisson or Gamma
    _inverse_link = staticmethod(np.exp)

    def __init__(self, *, alpha: float = 1.0, fit_intercept: bool = True, solver: str = "lbfgs",
                 max_iter: int = 100, tol: float = 1e-4, warm_start: bool = False, verbose: int = 0,
                 l1_ratio: float = 0.0) -> None:
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose
        self.l1_ratio = l1_ratio

    def fit(self, X, y, sample_weight=None):
        """Fit the model (module docstring).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        from proxgan.penalties import ElasticNet

        alpha = float(_check_number(self.alpha, "alpha"))
        l1_ratio = float(_check_number(self.l1_ratio, "l1_ratio", 0.0, 1.0))
        tol = float(_check_number(self.tol, "tol"))
        max_iter = int(_check_number(self.max_iter, "max_iter", 1, np.inf, integer=True))
        if self.solver not in ("lbfgs", "newton-cholesky", "cd", "prox-newton", "fista", "ista"):
            raise ValueError(f"solver must be 'lbfgs' (L-BFGS-B, as scikit-learn's), 'newton-cholesky', 'cd' "
                             f"(coordinate descent), 'prox-newton', 'fista' or 'ista', got {self.solver!r}")
        if self.solver in ("lbfgs", "newton-cholesky") and l1_ratio > 0:
            raise ValueError(f"solver={self.solver!r} needs l1_ratio=0 (a smooth objective); use solver='cd' for L1")
        X, y, sw = self._validate(X, y, sample_weight)
        p = X.shape[1]
        w0 = np.zeros(p + int(self.fit_intercept))
        if self.warm_start and hasattr(self, "coef_") and self.coef_.shape == (p,):
            w0[:p] = self.coef_
            if self.fit_intercept:
                w0[p] = self.intercept_
        elif self.fit_intercept:  # the best constant: the weighted mean's link
            w0[p] = self._start_intercept(y, sw)
        if self.solver in ("lbfgs", "newton-cholesky"):  # on the arrays themselves (no datafit copy of X)
            from proxgan.solvers import _glm_smooth

            self._datafit.check_target(y)
            method = _glm_smooth.lbfgs if self.solver == "lbfgs" else _glm_smooth.newton_cholesky
            w, self.n_iter_, ok = method(X, y, sw / sw.sum(), self._datafit.loss_np, (0.0, 0.0), alpha, w0,
                                         bool(self.fit_intercept), tol, max_iter)
        else:
            df = self._datafit(X, y, sample_weight=sw, intercept=bool(self.fit_intercept))
            w, self.n_iter_, ok = fit_glm(df, ElasticNet(alpha, l1_ratio), self.solver, tol, max_iter, w0)
        if not ok:
            warnings.warn(f"{type(self).__name__} did not converge in {max_iter} iterations; increase max_iter",
                          ConvergenceWarning, stacklevel=2)
        self._set_coef(w, p)
        return self

    def _get_loss(self):
        """scikit-learn's loss object of this model (its GLM tests compute objectives with it)."""
        from sklearn._loss.loss import HalfGammaLoss, HalfPoissonLoss

        return HalfPoissonLoss() if self._power == 1 else HalfGammaLoss()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags

    @staticmethod
    def _start_intercept(y, sw):
        return float(np.log(max(np.average(y, weights=sw), 1e-300)))

    def score(self, X, y, sample_weight=None):
        """:math:`D^2`: the fraction of deviance explained (scikit-learn's score of this estimator).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        from sklearn.metrics import d2_tweedie_score

        return d2_tweedie_score(y, self.predict(X), sample_weight=sample_weight, power=self._power)


class PoissonRegressor(_LogLinkRegressor):
    r"""Poisson regression with log link: scikit-learn's ``PoissonRegressor`` plus ``l1_ratio``.

    Minimises :math:`\frac1S\sum_i s_i(e^{z_i} - y_i z_i) + \alpha(\rho\lVert w\rVert_1 +
    \tfrac{1-\rho}2\lVert w\rVert_2^2)`, :math:`z = Xw + b` (the mean half Poisson deviance up to
    a constant); predictions :math:`e^{z}`.

    Parameters
    ----------
    alpha : float
        Penalty strength (>= 0).
    fit_intercept : bool
        Fit a free intercept.
    solver : {"lbfgs", "newton-cholesky", "cd", "prox-newton", "fista", "ista"}
        ``"lbfgs"``: L-BFGS-B as scikit-learn; ``"newton-cholesky"``: Newton's method with
        Cholesky solves and a line search (both ``l1_ratio=0`` only, on the NumPy arrays:
        :mod:`proxgan.solvers._glm_smooth`); ``"cd"``: coordinate descent with Newton
        coordinate steps (:mod:`proxgan.solvers._cd_glm`); ``"prox-newton"``: proximal Newton
        with working sets and a Hessian-block inner coordinate descent
        (:mod:`proxgan.solvers._glm_prox_newton`, skglm's ``ProxNewton`` strategy; the fastest
        with ``l1_ratio > 0`` and a few hundred features or fewer); ``"fista"``, ``"ista"``.
    max_iter : int
        Iterations (outer working-set iterations for ``"cd"``, outer iterations for ``"prox-newton"``).
    tol : float
        Gradient tolerance (``"lbfgs"``: the projected gradient; ``"newton-cholesky"``: the largest
        gradient entry; else the largest fixed-point violation).
    warm_start : bool
        Start from the previous fit's coefficients.
    verbose : int
        Unused (scikit-learn's parameter).
    l1_ratio : float
        :math:`\rho \in [0, 1]`: the L1 share of the penalty (needs a solver other than ``"lbfgs"``).
    """

    _datafit = Poisson
    _power = 1


class GammaRegressor(_LogLinkRegressor):
    r"""Gamma regression with log link: scikit-learn's ``GammaRegressor`` plus ``l1_ratio``.

    Minimises :math:`\frac1S\sum_i s_i(z_i + y_i e^{-z_i}) + \alpha(\rho\lVert w\rVert_1 +
    \tfrac{1-\rho}2\lVert w\rVert_2^2)` (the mean half Gamma deviance up to a constant).

    Parameters
    ----------
    alpha : float
        Penalty strength (>= 0).
    fit_intercept : bool
        Fit a free intercept.
    solver : {"lbfgs", "newton-cholesky", "cd", "prox-newton", "fista", "ista"}
        As in :class:`PoissonRegressor`.
    max_iter : int
        Iterations (outer working-set iterations for ``"cd"``).
    tol : float
        Gradient tolerance.
    warm_start : bool
        Start from the previous fit's coefficients.
    verbose : int
        Unused (scikit-learn's parameter).
    l1_ratio : float
        :math:`\rho \in [0, 1]`.
    """

    _datafit = Gamma
    _power = 2


class GeneralizedLinearEstimator(_GLMBase):
    r"""Any per-sample datafit with any penalty (skglm's estimator of this name).

    Parameters
    ----------
    datafit : callable, optional
        ``datafit(X, y, sample_weight=..., intercept=...)`` returning a
        :class:`~proxgan.datafits.GLMDatafit`: a class (:class:`~proxgan.datafits.Poisson`) or a
        ``functools.partial`` with its parameters (``partial(Huber, epsilon=2.0)``). ``None``:
        least squares (:class:`~proxgan.datafits.Huber` with ``epsilon=inf``).
    penalty : Penalty, optional
        Any penalty of :mod:`proxgan.penalties` the solver takes (with a lowering for
        ``"cd"``, including the nonconvex ones; any for ``"fista"``/``"ista"``; L1 or none for
        the exact quantile solver). ``None``: no penalty.
    solver : {"auto", "cd", "prox-newton", "fista", "ista", "frisch-newton"}
        ``"auto"``: for the Quantile datafit ``"frisch-newton"`` (the exact interior-point method
        of :mod:`proxgan.solvers._quantile_ipm`; L1 or no penalty) up to 2,000 features and
        ``"cd"`` beyond, else ``"cd"`` when the
        penalty has a lowering, else ``"fista"``. With the Quantile datafit ``"cd"``/``"fista"``
        solve it exactly by smoothing with continuation (:mod:`proxgan.solvers._quantile`).
        ``"prox-newton"``: :mod:`proxgan.solvers._glm_prox_newton` (L1/L2/ElasticNet, a datafit
        with a second derivative).
    fit_intercept : bool
        Fit a free intercept.
    tol : float
        Stopping tolerance of the solver.
    max_iter : int
        Iterations of the solver.
    """

    def __init__(self, datafit=None, penalty=None, solver: str = "auto", *, fit_intercept: bool = True,
                 tol: float = 1e-6, max_iter: int = 1000) -> None:
        self.datafit = datafit
        self.penalty = penalty
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

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
        from proxgan._lowering import lower
        from proxgan.penalties import L1, Penalty

        tol = float(_check_number(self.tol, "tol"))
        max_iter = int(_check_number(self.max_iter, "max_iter", 1, np.inf, integer=True))
        if self.solver not in ("auto", "cd", "prox-newton", "fista", "ista", "frisch-newton"):
            raise ValueError(f"solver must be 'auto', 'cd', 'prox-newton', 'fista', 'ista' or 'frisch-newton', "
                             f"got {self.solver!r}")
        if self.penalty is not None and not isinstance(self.penalty, Penalty):
            raise TypeError(f"penalty must be a proxgan Penalty or None, got {type(self.penalty).__name__}")
        factory = self.datafit if self.datafit is not None else (lambda *a, **k: Huber(*a, epsilon=np.inf, **k))
        if not callable(factory):
            raise TypeError(f"datafit must be a datafit class or factory, got {self.datafit!r}")
        X, y, sw = self._validate(X, y, sample_weight)
        df = factory(X, y, sample_weight=sw, intercept=bool(self.fit_intercept))
        if not isinstance(df, GLMDatafit):
            raise TypeError(f"datafit must build a GLMDatafit (Huber, Poisson, Gamma, Quantile), got {type(df).__name__}")
        penalty = self.penalty if self.penalty is not None else L1(0.0)
        solver = self.solver
        if solver == "auto":
            solver = "auto" if isinstance(df, Quantile) else "cd" if lower(penalty) is not None else "fista"
        if isinstance(df, Quantile) and solver == "cd" and lower(penalty) is None:
            raise ValueError("the quantile datafit takes an L1 penalty (or none)")
        w, self.n_iter_, ok = fit_glm(df, penalty, solver, tol, max_iter)
        if not ok:
            warnings.warn(f"GeneralizedLinearEstimator did not converge in {max_iter} iterations",
                          ConvergenceWarning, stacklevel=2)
        self.log_link_ = isinstance(df, (Poisson, Gamma))
        self._set_coef(w, X.shape[1])
        return self

    def predict(self, X):
        """Prediction :math:`Xw + b`, or :math:`e^{Xw + b}` for the log-link datafits (Poisson, Gamma)."""
        z = self._linear(X)
        return np.exp(z) if self.log_link_ else z
