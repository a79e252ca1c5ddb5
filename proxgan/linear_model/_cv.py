"""Cross-validated Lasso and elastic net (scikit-learn's ``LassoCV`` / ``ElasticNetCV``).

For every ``l1_ratio`` the alpha grid is computed on the whole (centred) data, every fold's
training part is fitted along that grid with warm starts (folds in parallel with ``n_jobs``,
threads: the compiled solver releases the GIL), the mean squared error on the held-out part
is averaged over folds, and the best ``(alpha, l1_ratio)`` is refitted on all the data.
"""
from __future__ import annotations

import numbers
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import _fit_context
from sklearn.model_selection import check_cv
from sklearn.utils import check_scalar
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metadata_routing import _raise_for_params

from proxgan.linear_model import _dask
from proxgan.linear_model._base import (SOLVERS, LinearRegressorBase, check_device, check_solver, preprocess,
                                        warn_not_converged)
from proxgan.linear_model._coordinate_descent import ElasticNet
from proxgan.linear_model._quadratic import alpha_grid, enet_penalty, fit_quadratic, use_gram

__all__ = ["LassoCV", "ElasticNetCV"]


def _fold_mse(X, y, sw, tr, te, grids, ratios, fit_intercept, precompute, kw):
    """Held-out mean squared errors (n_l1_ratio, n_alphas) of one fold along the paths."""
    swt = None if sw is None else sw[tr]
    df, X_off, y_off = preprocess(X[tr], y[tr], fit_intercept, swt)
    tol_abs = kw["tol"] * float(df.y @ df.y) / len(tr)
    gram = use_gram(precompute, df) if isinstance(precompute, (bool, np.bool_, str)) else use_gram(False, df)
    mse = np.empty((len(ratios), len(grids[0])))
    for k, r in enumerate(ratios):
        w = None
        for a_i, a in enumerate(grids[k]):
            res = fit_quadratic(df, enet_penalty(float(a), r), coef_init=w, precompute=gram, tol=tol_abs,
                                solver=kw["solver"], device=kw["device"], max_iter=kw["max_iter"],
                                positive=kw["positive"])
            if not res.converged:
                warn_not_converged(res.crit, tol_abs)
            w = res.coef
            b = y_off - X_off @ w if fit_intercept else 0.0
            err = (y[te] - (np.asarray(X[te] @ w).ravel() + b)) ** 2
            mse[k, a_i] = np.average(err, weights=None if sw is None else sw[te])
    return mse


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
    precompute : "auto", bool or array, default="auto"
        Gram matrix for the fold fits ("auto": dense X with n > p); a given matrix is passed to the
        final refit (the folds recompute theirs).
    max_iter : int, default=1000
    tol : float, default=1e-4
        Duality-gap tolerance of every fit (times ``‖y‖²/n``).
    cv : int, cross-validation generator or iterable, default=None (5-fold)
    copy_X : bool, default=True
        Accepted for compatibility; X is never modified.
    verbose : bool or int, default=0
        Accepted for compatibility.
    n_jobs : int or None, default=None
        Folds fitted in parallel (threads).
    positive : bool, default=False
    random_state, selection
        Accepted for compatibility (see :class:`ElasticNet`).
    solver : {"auto", "cd", "fista", "ista"}, default="auto"
    device : {"cpu", "cuda"}, default="cpu"

    Attributes
    ----------
    alpha_, l1_ratio_, alphas_, mse_path_, coef_, intercept_, dual_gap_, n_iter_
    """

    _parameter_constraints: dict = {
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), "array-like"],
        "eps": [Interval(Real, 0, None, closed="neither")],
        "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "fit_intercept": ["boolean"],
        "precompute": [StrOptions({"auto"}), "array-like", "boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "cv": ["cv_object"],
        "copy_X": ["boolean"],
        "verbose": ["verbose"],
        "n_jobs": [Integral, None],
        "positive": ["boolean"],
        "random_state": ["random_state"],
        "selection": [StrOptions({"cyclic", "random"})],
        "solver": [StrOptions(set(SOLVERS))],
        "device": [str],
    }

    def __init__(self, *, l1_ratio=0.5, eps=1e-3, alphas=100, fit_intercept=True, precompute="auto", max_iter=1000,
                 tol=1e-4, cv=None, copy_X=True, verbose=0, n_jobs=None, positive=False, random_state=None,
                 selection="cyclic", solver="auto", device="cpu"):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.copy_X = copy_X
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.solver = solver
        self.device = device

    def _l1_ratios(self) -> tuple[list[float], bool]:
        """The l1_ratios to try, and whether a single number was given."""
        r = self.l1_ratio
        if isinstance(r, numbers.Number):
            return [float(r)], True
        ratios = [float(v) for v in np.atleast_1d(r)]
        for v in ratios:
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"l1_ratio must be a number in [0, 1], got {v!r}")
        return ratios, False

    def _grids(self, X, y, sw, ratios):
        if isinstance(self.alphas, numbers.Integral):
            df = preprocess(X, y, self.fit_intercept, sw)[0]
            return [alpha_grid(df, r, self.eps, int(self.alphas), bool(self.positive)) for r in ratios]
        for i, v in enumerate(np.ravel(np.asarray(self.alphas, dtype=object))):
            check_scalar(v, f"alphas[{i}]", target_type=Real, min_val=0.0, include_boundaries="left")
        a = np.asarray(self.alphas, dtype=np.float64).ravel()
        if a.size == 0:
            raise ValueError("alphas must be a non-empty list of finite numbers >= 0")
        return [np.sort(a)[::-1]] * len(ratios)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, **params):
        """Fit the path on every fold, choose the best alpha (and l1_ratio), refit on all data.

        ``params`` are routed to the splitter (e.g. ``groups``) when metadata routing is enabled."""
        _raise_for_params(params, self, "fit")
        if _dask.is_dask(X) or _dask.is_dask(y):  # one pass over the data for every fold's Gram matrix
            return _dask.fit_cv(self, X, y, sample_weight)
        ratios, single = self._l1_ratios()
        device = check_device(self.device)
        solver = check_solver(self.solver, device)
        y_arr = np.asarray(y) if not hasattr(y, "shape") else y
        if getattr(y_arr, "ndim", 1) > 1 and y_arr.shape[1] > 1:
            raise ValueError(f"For multi-task outputs, use MultiTask{type(self).__name__}")
        X, y, sw = self._validate_fit(X, y, sample_weight)
        grids = self._grids(X, y, sw, ratios)
        folds = list(check_cv(self.cv).split(X, y, **params))
        kw = dict(tol=self.tol, solver=solver, device=device, max_iter=self.max_iter, positive=bool(self.positive))
        mses = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(_fold_mse)(X, y, sw, tr, te, grids, ratios, self.fit_intercept, self.precompute, kw)
            for tr, te in folds)
        mse = np.stack(mses, axis=-1)  # (n_l1_ratio, n_alphas, n_folds)
        k, a_i = np.unravel_index(np.argmin(mse.mean(axis=2)), mse.shape[:2])
        self.l1_ratio_ = ratios[k]
        self.alpha_ = float(grids[k][a_i])
        # scikit-learn: one grid per l1_ratio only when the grid is computed; given alphas stay 1-D
        self.alphas_ = grids[0] if single or not isinstance(self.alphas, numbers.Integral) else np.array(grids)
        self.mse_path_ = mse[0] if single else mse
        pre = self.precompute
        if isinstance(pre, str):  # "auto": the Gram matrix when X is dense with more samples than features
            pre = not sp.issparse(X) and X.shape[0] > X.shape[1]
        model = ElasticNet(alpha=self.alpha_, l1_ratio=self.l1_ratio_, fit_intercept=self.fit_intercept,
                           precompute=pre,
                           max_iter=self.max_iter, tol=self.tol, positive=self.positive, solver=self.solver,
                           device=self.device).fit(X, y, sample_weight=sw)
        self.coef_ = model.coef_
        self.intercept_ = model.intercept_
        self.dual_gap_ = model.dual_gap_
        self.n_iter_ = model.n_iter_
        return self


class LassoCV(ElasticNetCV):
    """Lasso with ``alpha`` chosen by cross-validation (:class:`ElasticNetCV` with ``l1_ratio=1``).

    Parameters
    ----------
    eps : float
        Length of the grid: its smallest alpha is ``eps`` times the largest.
    alphas : int or array-like
        Number of alphas of the grid, or the alphas themselves.
    fit_intercept : bool
        Fit an unpenalised intercept.
    precompute : bool, 'auto' or array-like
        Use (or give) the Gram matrix.
    max_iter : int
        Maximal number of iterations (epochs of coordinate descent).
    tol : float
        Stop when the duality gap is at most ``tol * ||y||² / n``.
    copy_X : bool
        Accepted for compatibility (X is never modified).
    cv : int, cross-validation generator or iterable, optional
        The folds (default 5-fold), as in scikit-learn.
    verbose : bool or int
        Accepted for compatibility.
    n_jobs : int, optional
        Folds fitted at a time, in threads.
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
    >>> from proxgan.linear_model import LassoCV
    >>> X = np.random.default_rng(0).standard_normal((60, 8)); y = X[:, 0] + 0.1 * X[:, 1]
    >>> m = LassoCV(alphas=20).fit(X, y); bool(m.alpha_ > 0), m.coef_.shape
    (True, (8,))
    """

    _parameter_constraints: dict = {k: v for k, v in ElasticNetCV._parameter_constraints.items() if k != "l1_ratio"}

    def __init__(self, *, eps=1e-3, alphas=100, fit_intercept=True, precompute="auto", max_iter=1000, tol=1e-4,
                 copy_X=True, cv=None, verbose=False, n_jobs=None, positive=False, random_state=None,
                 selection="cyclic", solver="auto", device="cpu"):
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.copy_X = copy_X
        self.cv = cv
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.solver = solver
        self.device = device

    def _l1_ratios(self) -> tuple[list[float], bool]:
        return [1.0], True
