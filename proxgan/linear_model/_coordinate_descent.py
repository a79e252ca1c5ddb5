r"""Lasso and elastic net estimators.

Objective (scikit-learn's):

.. math::

    \min_{w, b}\; \frac{1}{2n}\sum_i s_i (y_i - x_i^\top w - b)^2
    + \alpha\,\rho\,\lVert w\rVert_1 + \tfrac12\alpha(1-\rho)\lVert w\rVert_2^2,

with :math:`\rho` = ``l1_ratio`` (1 for the Lasso) and sample weights :math:`s` rescaled
to sum to :math:`n`; a 2-D ``y`` is one such problem per column. The estimator connects a
:class:`~proxgan.datafits.Quadratic` datafit (centred: the intercept is recovered from the
means), a penalty (:class:`~proxgan.penalties.L1` / :class:`~proxgan.penalties.ElasticNet`)
and a solver (:func:`proxgan.linear_model._quadratic.fit_quadratic`). Every solver stops when
the duality gap is at most ``tol · ‖y‖²/n`` (scikit-learn's rule); ``dual_gap_`` reports the gap
reached, and a fit that hits ``max_iter`` first warns with
:class:`~sklearn.exceptions.ConvergenceWarning`.
"""
from __future__ import annotations

import numbers
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from proxgan.linear_model import _dask
from proxgan.linear_model._base import (SOLVERS, LinearRegressorBase, check_device, check_solver, preprocess,
                                        to_numpy, warn_not_converged)
from proxgan.linear_model._quadratic import enet_penalty, fit_quadratic, gram_for

__all__ = ["Lasso", "ElasticNet", "ALPHA0_ADVICE"]

ALPHA0_ADVICE = ("With alpha=0, this algorithm does not converge well. You are advised to use the "
                 "LinearRegression estimator")


class ElasticNet(LinearRegressorBase):
    """Linear regression with combined L1 and L2 priors (scikit-learn's ``ElasticNet``).

    Minimises :math:`\\frac{1}{2n}\\lVert y - Xw - b\\rVert^2 + \\alpha\\rho\\lVert w\\rVert_1
    + \\frac{\\alpha(1-\\rho)}{2}\\lVert w\\rVert^2` (one problem per column of a 2-D ``y``).

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength (>= 0). ``alpha=0`` (least squares) warns, as scikit-learn does:
        :class:`~sklearn.linear_model.LinearRegression` solves that problem directly.
    l1_ratio : float, default=0.5
        :math:`\\rho` in [0, 1].
    fit_intercept : bool, default=True
    precompute : bool or array of shape (n_features, n_features), default=False
        Coordinate descent on the Gram matrix :math:`X^\\top X` (dense X), or that matrix itself
        (used as given when X is neither centred nor weighted; otherwise recomputed with a warning).
    max_iter : int, default=1000
        Maximal number of iterations. Coordinate descent: outer iterations, each of which checks
        the duality gap over every feature and then solves the problem restricted to a working
        set of the most violating features (more iterations never give a higher objective);
        FISTA/ISTA: gradient steps.
    copy_X : bool, default=True
        Accepted for compatibility; X is never modified.
    tol : float, default=1e-4
        Stop when the duality gap is <= ``tol·‖y‖²/n``.
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    positive : bool, default=False
        Constrain the coefficients to be >= 0.
    random_state : int, RandomState instance or None, default=None
        Accepted for compatibility with ``selection="random"``.
    selection : {"cyclic", "random"}, default="cyclic"
        Accepted for compatibility: the working-set solver chooses coordinates by their
        optimality violation whichever is given, and reaches the same solution (up to ``tol``).
    solver : {"auto", "cd", "fista", "ista"}, default="auto"
        "auto" is "cd" (numba) on CPU and "fista" (torch) on CUDA.
    device : {"cpu", "cuda"}, default="cpu"

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features), in the dtype of X
    intercept_ : float or ndarray of shape (n_targets,)
    n_iter_ : int or list of int
        Iterations run (the ones ``max_iter`` bounds), per target.
    dual_gap_ : float or ndarray of shape (n_targets,)
        Duality gap at the solution (scikit-learn's scaling).

    Examples
    --------
    >>> import numpy as np
    >>> from proxgan.linear_model import ElasticNet
    >>> X = np.random.default_rng(0).standard_normal((40, 5)); y = X @ [1.0, 0, 0, 2, 0]
    >>> ElasticNet(alpha=0.1, l1_ratio=0.7).fit(X, y).coef_.round(2)
    array([0.8 , 0.  , 0.  , 1.83, 0.  ])
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "precompute": ["boolean", "array-like"],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "copy_X": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "positive": ["boolean"],
        "random_state": ["random_state"],
        "selection": [StrOptions({"cyclic", "random"})],
        "solver": [StrOptions(set(SOLVERS))],
        "device": [str],
    }

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, precompute=False, max_iter=1000,
                 copy_X=True, tol=1e-4, warm_start=False, positive=False, random_state=None, selection="cyclic",
                 solver="auto", device="cpu"):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.copy_X = copy_X
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.solver = solver
        self.device = device

    def _l1_ratio(self) -> float:
        return float(self.l1_ratio)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, check_input=True):
        """Fit the model; ``X``: array, sparse matrix (CSC/CSR) or tensor of shape (n, p); ``y``: shape
        (n,) or (n, n_targets). ``check_input=False`` skips the input validation (the caller vouches)."""
        if _dask.is_dask(X) or _dask.is_dask(y):
            return _dask.fit_enet(self, X, y, sample_weight)
        alpha = float(self.alpha)
        device = check_device(self.device)
        solver = check_solver(self.solver, device)
        max_iter = 1000 if self.max_iter is None else self.max_iter
        if alpha == 0:
            warnings.warn(ALPHA0_ADVICE, UserWarning, stacklevel=2)
        if check_input:
            X, y, sw = self._validate_fit(X, y, sample_weight, multi_output=True)
        else:
            X, y = to_numpy(X), np.asarray(to_numpy(y))
            sw = None if sample_weight is None or isinstance(sample_weight, numbers.Number) else np.asarray(
                to_numpy(sample_weight), dtype=np.float64)
            self.n_features_in_ = X.shape[1]
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        n, p = X.shape
        t = Y.shape[1]
        W0 = None
        if self.warm_start and getattr(self, "coef_", None) is not None and np.size(self.coef_) == t * p:
            W0 = np.reshape(self.coef_, (t, p))
        coef = np.empty((t, p))
        intercept = np.empty(t)
        gaps = np.empty(t)
        n_iter = []
        for k in range(t):
            df, X_off, y_off = preprocess(X, Y[:, k], self.fit_intercept, sw)
            gram = gram_for(self.precompute, df, X_off, sw, check_input)
            tol_abs = self.tol * float(df.y @ df.y) / n
            res = fit_quadratic(df, enet_penalty(alpha, self._l1_ratio()), solver=solver, device=device,
                                tol=tol_abs, max_iter=max_iter, positive=bool(self.positive),
                                coef_init=None if W0 is None else W0[k], precompute=gram)
            if not res.converged:
                warn_not_converged(res.crit, tol_abs)
            coef[k] = res.coef
            intercept[k] = y_off - X_off @ res.coef if self.fit_intercept else 0.0
            gaps[k] = res.crit
            n_iter.append(res.n_iter)
        if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
            raise ValueError("Coordinate descent iterations resulted in non-finite parameter values. The input "
                             "data may contain large values and need to be preprocessed.")
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        if y.ndim == 1:
            self.coef_ = coef[0].astype(dtype)
            self.intercept_ = np.float64(intercept[0]) if self.fit_intercept else 0.0
            self.dual_gap_ = gaps[0]
            self.n_iter_ = n_iter[0]
        else:
            self.coef_ = coef.astype(dtype)
            self.intercept_ = intercept if self.fit_intercept else 0.0
            self.dual_gap_ = gaps
            self.n_iter_ = n_iter
        return self

    @property
    def sparse_coef_(self):
        """``coef_`` as a sparse matrix (one row per target)."""
        return sp.csr_matrix(np.atleast_2d(self.coef_))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class Lasso(ElasticNet):
    """Linear model trained with an L1 prior (scikit-learn's ``Lasso``).

    Minimises :math:`\\frac{1}{2n}\\lVert y - Xw - b\\rVert^2 + \\alpha\\lVert w\\rVert_1`.
    Attributes as :class:`ElasticNet`.

    Parameters
    ----------
    alpha : float
        Strength of the penalty.
    fit_intercept : bool
        Fit an unpenalised intercept.
    precompute : bool, 'auto' or array-like
        Use (or give) the Gram matrix.
    copy_X : bool
        Accepted for compatibility (X is never modified).
    max_iter : int
        Maximal number of iterations (outer working-set iterations of coordinate descent, as
        :class:`ElasticNet`).
    tol : float
        Stop when the duality gap is at most ``tol * ||y||² / n``.
    warm_start : bool
        Start from the previous ``coef_``.
    positive : bool
        Constrain the coefficients to be non-negative.
    random_state : int, RandomState or None
        Accepted for compatibility (the solver picks coordinates by violation).
    selection : {'cyclic', 'random'}
        Accepted for compatibility.
    solver : {'auto', 'cd', 'fista', 'ista'}
        Coordinate descent (CPU) or torch proximal gradient (CPU or CUDA); ``auto`` picks by device.
    device : str
        ``cpu`` or ``cuda``.

    Examples
    --------
    >>> import numpy as np
    >>> from proxgan.linear_model import Lasso
    >>> X = np.random.default_rng(0).standard_normal((40, 5)); y = X @ [1.0, 0, 0, 2, 0]
    >>> Lasso(alpha=0.1).fit(X, y).coef_.round(2)
    array([0.8 , 0.  , 0.  , 1.86, 0.  ])
    """

    _parameter_constraints: dict = {k: v for k, v in ElasticNet._parameter_constraints.items() if k != "l1_ratio"}

    def __init__(self, alpha=1.0, *, fit_intercept=True, precompute=False, copy_X=True, max_iter=1000, tol=1e-4,
                 warm_start=False, positive=False, random_state=None, selection="cyclic", solver="auto",
                 device="cpu"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.solver = solver
        self.device = device

    def _l1_ratio(self) -> float:
        return 1.0
