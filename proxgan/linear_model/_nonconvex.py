r"""Sparse regression with non-convex penalties, and sparse logistic regression with any separable penalty.

:class:`MCPRegression` and :class:`SCADRegression` minimise skglm's objective for those names,

.. math::

    \min_{w, b}\; \frac{1}{2n}\sum_i s_i (y_i - x_i^\top w - b)^2 + \sum_j g(w_j),

with :math:`g` the minimax concave penalty (:class:`~proxgan.penalties.MCP`) or SCAD
(:class:`~proxgan.penalties.SCAD`) at strength :math:`\alpha` = ``alpha``, and sample weights
:math:`s` rescaled to sum to :math:`n` (all ones without weights). :class:`SparseLogisticRegression`
minimises

.. math::

    \min_{w, b}\; \frac1n\sum_i s_i \log\bigl(1 + e^{-y_i (x_i^\top w + b)}\bigr) + \sum_j g(w_j),
    \qquad y_i = \pm 1,

with :math:`g` = :class:`~proxgan.penalties.L1` (``alpha``) by default, or any separable penalty at
strength ``alpha``: skglm's ``SparseLogisticRegression`` objective for the L1 penalty. The intercept
:math:`b` is never penalised.

Every estimator connects a datafit, a penalty and the one coordinate-descent driver
(:func:`proxgan.solvers.cd.solve`, working sets and Anderson extrapolation). For
:class:`MCPRegression` and :class:`SCADRegression` with at least as many samples as features, the
first working set holds a tenth of the features instead of 10 (:func:`proxgan.solvers.cd.default_p0`
says why).

Stopping rule. The penalties are not convex: there is no duality gap. The solver stops when the
largest fixed-point violation of the coordinate-wise prox map,

.. math::

    \max_j\, L_j\,\bigl|w_j - \operatorname{prox}_{g/L_j}\bigl(w_j - \nabla_j f(w)/L_j\bigr)\bigr|,

is at most ``tol`` (absolute, in the units of the gradient, as skglm's ``tol``), with
:math:`L_j` the coordinate-wise Lipschitz constant of the datafit (:math:`\lVert X_j\rVert^2/n`, a
quarter of that for the logistic loss). That measure is zero exactly at a fixed point of
coordinate descent, a critical point of the objective: the result is a local minimiser, not a
certified global one, and starting points (``warm_start``) can lead to different ones.
``optimality_`` reports the violation reached; a fit that reaches ``max_iter`` first warns with
:class:`~sklearn.exceptions.ConvergenceWarning`.
"""
from __future__ import annotations

import copy
import numbers
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, _fit_context
from sklearn.linear_model._base import LinearClassifierMixin, SparseCoefMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, validate_data

from proxgan import penalties as _pen
from proxgan._lowering import SeparableProx, lower
from proxgan.datafits import Logistic
from proxgan.linear_model._base import (LinearRegressorBase, check_finite_design, preprocess, to_numpy,
                                        warn_not_converged)
from proxgan.solvers import cd as _cd

__all__ = ["MCPRegression", "SCADRegression", "SparseLogisticRegression"]

_COMMON_CONSTRAINTS: dict = {
    "alpha": [Interval(Real, 0, None, closed="left")],
    "fit_intercept": ["boolean"],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "warm_start": ["boolean"],
}


class _NonconvexRegressor(LinearRegressorBase):
    """Least squares plus a separable penalty built by :meth:`_penalty`, solved by coordinate descent."""

    _parameter_constraints: dict = {**_COMMON_CONSTRAINTS, "positive": ["boolean"]}

    def _penalty(self) -> _pen.Penalty:  # pragma: no cover - abstract
        raise NotImplementedError

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model by coordinate descent until the fixed-point violation is at most ``tol``.

        Parameters
        ----------
        X : array-like, sparse matrix or tensor of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the samples (rescaled to sum to ``n_samples``).

        Returns
        -------
        self
        """
        X, y, sw = self._validate_fit(X, y, sample_weight, finite=False)
        p = X.shape[1]
        pen = self._penalty()
        df, X_off, y_off = preprocess(X, y, self.fit_intercept, sw)
        w0 = None
        if self.warm_start and getattr(self, "coef_", None) is not None and np.shape(self.coef_) == (p,):
            w0 = np.asarray(self.coef_, dtype=np.float64)
        res = _cd.solve(df, pen, positive=bool(self.positive), coef_init=w0, tol=float(self.tol),
                        max_iter=int(self.max_iter))
        check_finite_design(df, X)  # after the solve, whose first pass formed the column norms it reads
        if not np.all(np.isfinite(res.coef)):
            raise ValueError("Coordinate descent iterations resulted in non-finite parameter values. The input "
                             "data may contain large values and need to be preprocessed.")
        if not res.converged:
            warn_not_converged(res.crit, self.tol, "fixed-point violation")
        self.coef_ = res.coef.astype(X.dtype)
        self.intercept_ = float(y_off - X_off @ res.coef) if self.fit_intercept else 0.0
        self.n_iter_ = int(res.n_iter)
        self.optimality_ = float(res.crit)
        return self


class MCPRegression(_NonconvexRegressor):
    r"""Linear regression with the minimax concave penalty (MCP; Zhang 2010), skglm's ``MCPRegression``.

    Minimises :math:`\frac{1}{2n}\lVert y - Xw - b\rVert^2 + \sum_j g(w_j)` with
    :math:`g(x) = \alpha|x| - x^2/(2\gamma)` for :math:`|x| \le \gamma\alpha` and
    :math:`\gamma\alpha^2/2` beyond (:class:`proxgan.penalties.MCP`). Small coefficients are
    shrunk as by the Lasso, coefficients above :math:`\gamma\alpha` not at all. See
    :mod:`proxgan.linear_model._nonconvex` for the solver and its stopping rule (a critical
    point, not a certified global minimiser).

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength :math:`\alpha \ge 0`.
    gamma : float, default=3.0
        Concavity :math:`\gamma > 0`: large values approach the Lasso; small ones hard thresholding.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    max_iter : int, default=1000
        Maximal number of outer iterations of coordinate descent (each checks every coordinate,
        then solves on a working set); more never give a higher objective.
    tol : float, default=1e-4
        Stop when the largest fixed-point violation (gradient units) is at most ``tol``.
    warm_start : bool, default=False
        Start from the previous ``coef_`` (else from zero).
    positive : bool, default=False
        Constrain the coefficients to be >= 0.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Outer iterations run (the ones ``max_iter`` bounds).
    optimality_ : float
        Largest fixed-point violation at the returned point.

    Examples
    --------
    >>> import numpy as np
    >>> from proxgan.linear_model import MCPRegression
    >>> X = np.random.default_rng(0).standard_normal((40, 5)); y = X @ [1.0, 0, 0, 2, 0]
    >>> MCPRegression(alpha=0.1).fit(X, y).coef_.round(2)
    array([1., 0., 0., 2., 0.])
    """

    _parameter_constraints: dict = {**_NonconvexRegressor._parameter_constraints,
                                    "gamma": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, alpha=1.0, gamma=3.0, *, fit_intercept=True, max_iter=1000, tol=1e-4, warm_start=False,
                 positive=False):
        self.alpha = alpha
        self.gamma = gamma
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive

    def _penalty(self):
        return _pen.MCP(float(self.alpha), float(self.gamma))


class SCADRegression(_NonconvexRegressor):
    r"""Linear regression with the SCAD penalty (Fan & Li 2001), skglm's ``Quadratic`` + ``SCAD`` objective.

    Minimises :math:`\frac{1}{2n}\lVert y - Xw - b\rVert^2 + \sum_j g(w_j)` with
    :math:`g(x) = \alpha|x|` for :math:`|x| \le \alpha`,
    :math:`(2\gamma\alpha|x| - x^2 - \alpha^2)/(2(\gamma - 1))` up to :math:`\gamma\alpha`, and
    :math:`\alpha^2(\gamma + 1)/2` beyond (:class:`proxgan.penalties.SCAD`). See
    :mod:`proxgan.linear_model._nonconvex` for the solver and its stopping rule.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength :math:`\alpha \ge 0`.
    gamma : float, default=3.7
        :math:`\gamma > 2` (Fan & Li's choice: 3.7).
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    max_iter : int, default=1000
        Maximal number of outer iterations of coordinate descent (each checks every coordinate,
        then solves on a working set); more never give a higher objective.
    tol : float, default=1e-4
        Stop when the largest fixed-point violation (gradient units) is at most ``tol``.
    warm_start : bool, default=False
        Start from the previous ``coef_`` (else from zero).
    positive : bool, default=False
        Constrain the coefficients to be >= 0.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Outer iterations run (the ones ``max_iter`` bounds).
    optimality_ : float
        Largest fixed-point violation at the returned point.

    Examples
    --------
    >>> import numpy as np
    >>> from proxgan.linear_model import SCADRegression
    >>> X = np.random.default_rng(0).standard_normal((40, 5)); y = X @ [1.0, 0, 0, 2, 0]
    >>> SCADRegression(alpha=0.1).fit(X, y).coef_.round(2)
    array([1., 0., 0., 2., 0.])
    """

    _parameter_constraints: dict = {**_NonconvexRegressor._parameter_constraints,
                                    "gamma": [Interval(Real, 2, None, closed="neither")]}

    def __init__(self, alpha=1.0, gamma=3.7, *, fit_intercept=True, max_iter=1000, tol=1e-4, warm_start=False,
                 positive=False):
        self.alpha = alpha
        self.gamma = gamma
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive

    def _penalty(self):
        return _pen.SCAD(float(self.alpha), float(self.gamma))


def _strength_penalty(penalty, alpha: float) -> _pen.Penalty:
    """``penalty`` (L1 when None) at strength ``alpha``: a copy whose ``lam`` is ``alpha``."""
    if penalty is None:
        return _pen.L1(alpha)
    if not isinstance(penalty, _pen.Penalty):
        raise TypeError(f"penalty must be None or a proxgan penalty instance, got {type(penalty).__name__}")
    if not isinstance(lower(penalty), SeparableProx) or not hasattr(penalty, "lam"):
        raise ValueError(f"penalty must be a separable penalty with a strength lam (L1, L2, ElasticNet, L0, MCP, "
                         f"SCAD, Lq, LogSum, ...), got {type(penalty).__name__}")
    pen = copy.deepcopy(penalty)
    pen.lam = alpha  # validated by the penalty: a bad value raises here, the user's penalty is untouched
    return pen


class SparseLogisticRegression(LinearClassifierMixin, SparseCoefMixin, BaseEstimator):
    r"""Binary logistic regression with an L1 or any separable (also non-convex) penalty.

    Minimises :math:`\frac1n\sum_i \log(1 + e^{-y_i(x_i^\top w + b)}) + \sum_j g(w_j)`
    (:math:`y = \pm1` for ``classes_[0]`` / ``classes_[1]``); with the default penalty
    :math:`g = \alpha|\cdot|`, skglm's ``SparseLogisticRegression``. Coordinate descent
    (:func:`proxgan.solvers.cd.solve`) stops at a fixed point of the coordinate-wise prox map
    (module :mod:`proxgan.linear_model._nonconvex`): the minimiser for a convex penalty, a
    critical point for a non-convex one.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the penalty (>= 0): the ``lam`` of the penalty used.
    penalty : Penalty or None, default=None
        The kind of penalty: ``None`` is :class:`~proxgan.penalties.L1`; any separable proxgan
        penalty with a ``lam`` (``L1(lam, weights=...)``, ``ElasticNet``, ``L0``, ``MCP``,
        ``SCAD``, ``Lq``, ``LogSum``, ...) is used with its other parameters (``gamma``, ``q``,
        ``eps``, ``weights``) and with ``lam`` replaced by ``alpha`` (on a copy: the instance
        given is not modified), so that ``alpha`` is the one strength a grid search tunes.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    max_iter : int, default=1000
        Maximal number of outer iterations of coordinate descent (each checks every coordinate,
        then solves on a working set); more never give a higher objective.
    tol : float, default=1e-4
        Stop when the largest fixed-point violation (gradient units) is at most ``tol``.
    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_``.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    n_iter_ : int
        Outer iterations run (the ones ``max_iter`` bounds).
    optimality_ : float
        Largest fixed-point violation at the returned point.

    Examples
    --------
    >>> import numpy as np
    >>> from proxgan.linear_model import SparseLogisticRegression
    >>> from proxgan.penalties import MCP
    >>> rng = np.random.default_rng(0); X = rng.standard_normal((200, 6))
    >>> y = (X[:, 0] - X[:, 2] + 0.5 * rng.standard_normal(200) > 0).astype(int)
    >>> clf = SparseLogisticRegression(alpha=0.1, penalty=MCP(1.0, gamma=3.0)).fit(X, y)
    >>> np.flatnonzero(clf.coef_[0]).tolist(), clf.coef_[0, [0, 2]].round(1)
    ([0, 2], array([ 3.9, -3.9]))
    """

    _parameter_constraints: dict = {**_COMMON_CONSTRAINTS, "penalty": [_pen.Penalty, None]}

    def __init__(self, alpha=1.0, penalty=None, *, fit_intercept=True, max_iter=1000, tol=1e-4, warm_start=False):
        self.alpha = alpha
        self.penalty = penalty
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model by coordinate descent until the fixed-point violation is at most ``tol``.

        Parameters
        ----------
        X : array-like, sparse matrix or tensor of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Labels of two classes.
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the samples (rescaled to mean 1).

        Returns
        -------
        self
        """
        pen = _strength_penalty(self.penalty, float(self.alpha))
        X, y = validate_data(self, to_numpy(X), to_numpy(y), accept_sparse=["csr", "csc"],
                             dtype=[np.float64, np.float32], accept_large_sparse=False)
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.size < 2:
            raise ValueError(f"This solver needs samples of at least 2 classes in the data, but the data "
                             f"contains only one class: {classes[0]!r}")
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(f"Only binary classification is supported. The type of the target is {y_type} "
                             f"({classes.size} classes); wrap the estimator in "
                             f"sklearn.multiclass.OneVsRestClassifier for more classes.")
        n, p = X.shape
        sw = None if sample_weight is None else to_numpy(sample_weight)
        if sw is not None and not isinstance(sw, numbers.Number):
            sw = _check_sample_weight(sw, X, dtype=np.float64, ensure_non_negative=True)
            if sw.sum() <= 0:
                raise ValueError("sample_weight must have a positive sum")
            sw = sw * (n / sw.sum())
        else:
            sw = None
        Xc = sp.csc_matrix(X, dtype=np.float64) if sp.issparse(X) else np.asfortranarray(X, dtype=np.float64)
        yy = np.where(y == classes[1], 1.0, -1.0)
        w0 = None
        if self.warm_start and getattr(self, "coef_", None) is not None and np.shape(self.coef_) == (1, p):
            w0 = np.asarray(self.coef_[0], dtype=np.float64)
            if self.fit_intercept:
                w0 = np.append(w0, float(np.ravel(self.intercept_)[0]))
        res = _cd.solve(Logistic(Xc, yy, sample_weight=sw), pen, coef_init=w0, tol=float(self.tol),
                        max_iter=int(self.max_iter), intercept=bool(self.fit_intercept))
        if not np.all(np.isfinite(res.coef)):
            raise ValueError("Coordinate descent iterations resulted in non-finite parameter values. The input "
                             "data may contain large values and need to be preprocessed.")
        if not res.converged:
            warn_not_converged(res.crit, self.tol, "fixed-point violation")
        self.classes_ = classes
        self.coef_ = res.coef[None, :p].astype(X.dtype)
        self.intercept_ = (res.coef[p:] if self.fit_intercept else np.zeros(1)).astype(X.dtype)
        self.n_iter_ = int(res.n_iter)
        self.optimality_ = float(res.crit)
        return self

    def predict_proba(self, X):
        """Class probabilities :math:`(1 - \\sigma(Xw + b), \\sigma(Xw + b))`.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        d = self.decision_function(to_numpy(X))
        p1 = expit(d)
        return np.column_stack([1.0 - p1, p1])

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_class = False
        # skglm's default strength alpha=1 zeroes every coefficient of a standardised problem whose
        # log-odds are O(1) (alpha_max = ||X^T y||_inf / (2n) <= max_j ||X_j||/(2 sqrt n)): a constant model
        tags.classifier_tags.poor_score = float(self.alpha) >= 0.1
        return tags
