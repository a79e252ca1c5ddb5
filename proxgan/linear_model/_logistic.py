r"""Logistic regression: the :class:`~proxgan.datafits.Logistic` datafit with an L1, L2 or
elastic-net penalty.

scikit-learn's objective :math:`C\sum_i s_i\log(1 + e^{-y_i(x_i^\top w + b)}) + r(w)`, with
:math:`r = \tfrac12\lVert w\rVert^2` (``"l2"``), :math:`\lVert w\rVert_1` (``"l1"``) or
:math:`\rho\lVert w\rVert_1 + \tfrac{1-\rho}{2}\lVert w\rVert^2` (``"elasticnet"``), divided by
:math:`C\sum_i s_i`, is the weighted mean loss plus the penalty with strength ``1/(C\sum_i s_i)``. The intercept is
not penalised (as with scikit-learn's lbfgs/saga solvers; liblinear penalises it).
The solver stops when the largest optimality violation of the scaled problem (distance of
:math:`-\nabla f` to :math:`\partial g`, through the coordinate-wise fixed point) is
``<= tol``; ``n_iter_`` and ``optimality_`` report it. More than two classes: one-vs-rest.
"""
from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
import torch
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from proxgan import penalties as _pen
from proxgan.datafits import Logistic
from proxgan.linear_model._base import (check_alpha, check_device, check_l1_ratio, check_positive_int, check_solver,
                                        check_tol, to_numpy, warn_not_converged)
from proxgan.solvers import cd as _cd
from proxgan.solvers import fista as _fista
from proxgan.solvers import ista as _ista
from proxgan.solvers._common import Composite

__all__ = ["LogisticRegression"]


class LogisticRegression(LinearClassifierMixin, BaseEstimator):
    """Regularised logistic regression (scikit-learn's ``LogisticRegression``, binary or one-vs-rest).

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet"}, default="l2"
    C : float, default=1.0
        Inverse regularisation strength (> 0).
    l1_ratio : float or None, default=None
        Elastic-net mixing in [0, 1]; required with ``penalty="elasticnet"``.
    fit_intercept : bool, default=True
    tol : float, default=1e-4
        Stop when the optimality violation (see the module docstring) is <= tol.
    max_iter : int, default=1000
    warm_start : bool, default=False
    solver : {"auto", "cd", "fista", "ista"}, default="auto"
    device : {"cpu", "cuda"}, default="cpu"

    Attributes
    ----------
    classes_, coef_ (n_classes or 1, n_features), intercept_, n_iter_ (per problem), optimality_

    Examples
    --------
    >>> import numpy as np
    >>> from proxgan.linear_model import LogisticRegression
    >>> X = np.random.default_rng(0).standard_normal((60, 3)); y = (X[:, 0] > 0).astype(int)
    >>> LogisticRegression(penalty="l1", C=1.0).fit(X, y).score(X, y) > 0.95
    True
    """

    def __init__(self, penalty="l2", *, C=1.0, l1_ratio=None, fit_intercept=True, tol=1e-4, max_iter=1000,
                 warm_start=False, solver="auto", device="cpu"):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.solver = solver
        self.device = device

    def _make_penalty(self, lam):
        if self.penalty == "l2":
            return _pen.L2(lam)
        if self.penalty == "l1":
            return _pen.L1(lam)
        if self.penalty == "elasticnet":
            if self.l1_ratio is None:
                raise ValueError("penalty='elasticnet' needs l1_ratio, a number in [0, 1]")
            return _pen.ElasticNet(lam, check_l1_ratio(self.l1_ratio))
        raise ValueError(f"penalty must be 'l1', 'l2' or 'elasticnet', got {self.penalty!r}")

    def _solve(self, X, yb, sw, penalty, solver, device, tol, max_iter, w0):
        df = Logistic(X, yb, sample_weight=sw)
        if solver == "cd":
            return _cd.solve(df, penalty, coef_init=w0, tol=tol, max_iter=max_iter, intercept=self.fit_intercept)
        if self.fit_intercept:
            X = sp.hstack([X, np.ones((X.shape[0], 1))], format="csc") if sp.issparse(X) else np.hstack(
                [X, np.ones((X.shape[0], 1))])
            df = Logistic(X, yb, sample_weight=sw)
        df.device = torch.device(device)
        pen = Composite(penalty, n_free=int(self.fit_intercept))
        mod = _fista if solver == "fista" else _ista
        return mod.solve(df, pen, coef_init=w0, tol=tol, max_iter=max_iter)

    def fit(self, X, y, sample_weight=None):
        """Fit the model; ``X``: array, sparse matrix (CSC/CSR) or tensor; ``y``: class labels."""
        C = check_alpha(self.C, "C")
        if C == 0:
            raise ValueError("C must be > 0, got 0")
        tol = check_tol(self.tol)
        max_iter = check_positive_int(self.max_iter, "max_iter")
        device = check_device(self.device)
        solver = check_solver(self.solver, device)
        X, y = validate_data(self, to_numpy(X), to_numpy(y), accept_sparse=["csc", "csr"],
                             dtype=[np.float64, np.float32], accept_large_sparse=False)
        check_classification_targets(y)
        n, p = X.shape
        if sample_weight is not None and not isinstance(sample_weight, numbers.Number):
            sw = _check_sample_weight(to_numpy(sample_weight), X, dtype=np.float64, ensure_non_negative=True)
        else:
            sw = None
        # C·Σ s_i loss_i + r(w) ∝ (1/n)Σ s'_i loss_i + r(w)/(C·Σs) with s' = s·n/Σs: the scaled problem
        # (and so the tolerance) is the same for weights and for repeated samples.
        s_sum = float(n if sw is None else sw.sum())
        if s_sum <= 0:
            raise ValueError("sample_weight must have a positive sum")
        if sw is not None:
            sw = sw * (n / s_sum)
        penalty = self._make_penalty(1.0 / (C * s_sum))
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(f"This solver needs samples of at least 2 classes in the data, but the data "
                             f"contains only one class: {self.classes_[0]!r}")
        targets = [self.classes_[1]] if self.classes_.size == 2 else list(self.classes_)
        q = p + int(self.fit_intercept)
        old = None
        if self.warm_start and getattr(self, "coef_", None) is not None and self.coef_.shape == (len(targets), p):
            old = np.hstack([self.coef_, np.reshape(self.intercept_, (-1, 1))]) if self.fit_intercept else self.coef_
        Xf = sp.csc_matrix(X, dtype=np.float64) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
        W = np.zeros((len(targets), q))
        self.n_iter_ = np.zeros(len(targets), dtype=np.int32)
        self.optimality_ = np.zeros(len(targets))
        for k, cls in enumerate(targets):
            yb = np.where(y == cls, 1.0, -1.0)
            res = self._solve(Xf, yb, sw, penalty, solver, device, tol, max_iter, None if old is None else old[k])
            if not res.converged:
                warn_not_converged(res.crit, tol, "optimality violation")
            W[k] = res.coef
            self.n_iter_[k] = res.n_iter
            self.optimality_[k] = res.crit
        self.coef_ = W[:, :p].astype(X.dtype)
        self.intercept_ = (W[:, p] if self.fit_intercept else np.zeros(len(targets))).astype(X.dtype)
        return self

    def decision_function(self, X):
        """:math:`Xw + b` per class (one column for two classes)."""
        return super().decision_function(to_numpy(X))

    def predict_proba(self, X):
        """Class probabilities: :math:`\\sigma(Xw + b)` (one-vs-rest scores normalised for > 2 classes)."""
        d = self.decision_function(X)
        if d.ndim == 1:
            p1 = expit(d)
            return np.column_stack([1 - p1, p1])
        prob = expit(d)
        return prob / prob.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
