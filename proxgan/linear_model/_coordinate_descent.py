r"""Lasso and elastic net: estimators and regularisation paths.

Objective (scikit-learn's):

.. math::

    \min_{w, b}\; \frac{1}{2n}\sum_i s_i (y_i - x_i^\top w - b)^2
    + \alpha\,\rho\,\lVert w\rVert_1 + \tfrac12\alpha(1-\rho)\lVert w\rVert_2^2,

with :math:`\rho` = ``l1_ratio`` (1 for the Lasso) and sample weights :math:`s` rescaled
to sum to :math:`n`. The estimator connects a :class:`~proxgan.datafits.Quadratic`
datafit (centred: the intercept is recovered from the means), a penalty
(:class:`~proxgan.penalties.L1` / :class:`~proxgan.penalties.ElasticNet`) and a solver.
Every solver stops when the duality gap is at most ``tol · ‖y‖²/n`` (scikit-learn's rule);
``dual_gap_`` reports the gap reached, and a fit that hits ``max_iter`` first warns with
:class:`~sklearn.exceptions.ConvergenceWarning`.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from proxgan import penalties as _pen
from proxgan.datafits import Quadratic
from proxgan.linear_model._base import (LinearRegressorBase, check_alpha, check_device, check_l1_ratio,
                                        check_positive_int, check_solver, check_tol, preprocess, to_numpy,
                                        warn_not_converged)
from proxgan.solvers import cd as _cd
from proxgan.solvers import fista as _fista
from proxgan.solvers import ista as _ista
from proxgan.solvers._common import Composite, SolverResult, torch_enet_gap
from proxgan.solvers._prox1d import penalty_params

__all__ = ["Lasso", "ElasticNet", "enet_path", "lasso_path", "fit_quadratic", "alpha_grid", "use_gram"]


def _enet_penalty(alpha: float, l1_ratio: float) -> _pen.Penalty:
    return _pen.L1(alpha) if l1_ratio == 1.0 else _pen.ElasticNet(alpha, l1_ratio)


def use_gram(precompute, df: Quadratic) -> bool:
    """scikit-learn's ``precompute``: True, False or "auto" (Gram when dense and n > p)."""
    if isinstance(precompute, str) and precompute == "auto":
        return not df.sparse and df.n_samples > df.n_features
    if isinstance(precompute, (bool, np.bool_)):
        return bool(precompute) and not df.sparse
    raise ValueError(f"precompute must be True, False or 'auto' (a user Gram matrix is not supported), "
                     f"got {type(precompute).__name__}")


def fit_quadratic(df: Quadratic, penalty: _pen.Penalty, *, solver: str, device: str, tol: float, max_iter: int,
                  positive: bool = False, coef_init=None, precompute: bool = False) -> SolverResult:
    """Run ``solver`` on ``df + penalty`` until the duality gap is ``<= tol`` (absolute)."""
    if solver == "cd":
        return _cd.solve(df, penalty, positive=positive, coef_init=coef_init, tol=tol, max_iter=max_iter,
                         precompute=precompute)
    df.device = torch.device(device)
    df._t = None
    pen = Composite(penalty, lo=0.0) if positive else penalty

    l1, l2, _, _ = penalty_params(penalty, df.n_features, positive)
    l1_t = torch.as_tensor(l1, device=df.device)
    l2_t = torch.as_tensor(l2, device=df.device)

    def gap(w):  # on the datafit's device: no copy to the CPU at every check
        return torch_enet_gap(df, w, l1_t, l2_t, positive)

    mod = _fista if solver == "fista" else _ista
    if positive and isinstance(penalty, _pen.L2):  # no duality gap here: stop on the optimality violation
        return mod.solve(df, pen, coef_init=coef_init, tol=tol, max_iter=max_iter)
    return mod.solve(df, pen, coef_init=coef_init, tol=tol, max_iter=max_iter, criterion=gap, criterion_name="gap")


class ElasticNet(LinearRegressorBase):
    """Linear regression with combined L1 and L2 priors (scikit-learn's ``ElasticNet``).

    Minimises :math:`\\frac{1}{2n}\\lVert y - Xw - b\\rVert^2 + \\alpha\\rho\\lVert w\\rVert_1
    + \\frac{\\alpha(1-\\rho)}{2}\\lVert w\\rVert^2`.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength (>= 0).
    l1_ratio : float, default=0.5
        :math:`\\rho` in [0, 1].
    fit_intercept : bool, default=True
    max_iter : int, default=1000
        Maximal number of epochs (coordinate descent) or iterations (FISTA/ISTA).
    tol : float, default=1e-4
        Stop when the duality gap is <= ``tol·‖y‖²/n``.
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    positive : bool, default=False
        Constrain the coefficients to be >= 0.
    solver : {"auto", "cd", "fista", "ista"}, default="auto"
        "auto" is "cd" (numba) on CPU and "fista" (torch) on CUDA.
    device : {"cpu", "cuda"}, default="cpu"
    copy_X : bool, default=True
        Accepted for compatibility; X is never modified.
    precompute : bool or "auto", default=False
        Coordinate descent on the Gram matrix :math:`X^\\top X` (dense X); "auto": when n > p.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,), in the dtype of X
    intercept_ : float
    n_iter_ : int
    dual_gap_ : float
        Duality gap at the solution (scikit-learn's scaling).

    Examples
    --------
    >>> import numpy as np
    >>> from proxgan.linear_model import ElasticNet
    >>> X = np.random.default_rng(0).standard_normal((40, 5)); y = X @ [1.0, 0, 0, 2, 0]
    >>> ElasticNet(alpha=0.1, l1_ratio=0.7).fit(X, y).coef_.round(2)
    array([0.8 , 0.  , 0.  , 1.83, 0.  ])
    """

    _l1_fixed: float | None = None

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, max_iter=1000, tol=1e-4,
                 warm_start=False, positive=False, solver="auto", device="cpu", copy_X=True, precompute=False):
        self.precompute = precompute
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.solver = solver
        self.device = device
        self.copy_X = copy_X

    def _get_l1_ratio(self):
        return self.l1_ratio

    def fit(self, X, y, sample_weight=None):
        """Fit the model; ``X``: array, sparse matrix (CSC/CSR) or tensor of shape (n, p)."""
        alpha = check_alpha(self.alpha)
        l1_ratio = check_l1_ratio(self._get_l1_ratio())
        max_iter = check_positive_int(self.max_iter, "max_iter")
        tol = check_tol(self.tol)
        device = check_device(self.device)
        solver = check_solver(self.solver, device)
        X, y, sw = self._validate_fit(X, y, sample_weight)
        if alpha == 0:
            warnings.warn("With alpha=0, this algorithm does not converge well. You are advised to use "
                          "the LinearRegression estimator", stacklevel=2)
        df, X_off, y_off = preprocess(X, y, self.fit_intercept, sw)
        coef_init = None
        if self.warm_start and getattr(self, "coef_", None) is not None and self.coef_.shape == (X.shape[1],):
            coef_init = self.coef_
        tol_abs = tol * float(df.y @ df.y) / X.shape[0]
        res = fit_quadratic(df, _enet_penalty(alpha, l1_ratio), solver=solver, device=device, tol=tol_abs,
                            max_iter=max_iter, positive=bool(self.positive), coef_init=coef_init,
                            precompute=use_gram(self.precompute, df))
        if not res.converged:
            warn_not_converged(res.crit, tol_abs)
        self.coef_ = res.coef.astype(X.dtype)
        self.intercept_ = np.float64(y_off - X_off @ res.coef) if self.fit_intercept else 0.0
        self.n_iter_ = res.n_iter
        self.dual_gap_ = res.crit
        if not (np.all(np.isfinite(self.coef_)) and np.isfinite(self.intercept_)):
            raise ValueError("The solver produced non-finite coefficients; the input data may contain "
                             "very large values and need to be preprocessed.")
        return self

    @property
    def sparse_coef_(self):
        import scipy.sparse as sp
        return sp.csr_matrix(self.coef_)


class Lasso(ElasticNet):
    """Linear model trained with an L1 prior (scikit-learn's ``Lasso``).

    Minimises :math:`\\frac{1}{2n}\\lVert y - Xw - b\\rVert^2 + \\alpha\\lVert w\\rVert_1`.
    Parameters and attributes as :class:`ElasticNet` (without ``l1_ratio``).

    Examples
    --------
    >>> import numpy as np
    >>> from proxgan.linear_model import Lasso
    >>> X = np.random.default_rng(0).standard_normal((40, 5)); y = X @ [1.0, 0, 0, 2, 0]
    >>> Lasso(alpha=0.1).fit(X, y).coef_.round(2)
    array([0.8 , 0.  , 0.  , 1.86, 0.  ])
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=1000, tol=1e-4, warm_start=False,
                 positive=False, solver="auto", device="cpu", copy_X=True, precompute=False):
        self.precompute = precompute
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.solver = solver
        self.device = device
        self.copy_X = copy_X

    def _get_l1_ratio(self):
        return 1.0


def alpha_grid(df: Quadratic, l1_ratio: float = 1.0, eps: float = 1e-3, n_alphas: int = 100,
               positive: bool = False) -> np.ndarray:
    """Decreasing log-spaced grid from :math:`\\alpha_{max} = \\lVert X^\\top y\\rVert_\\infty/(n\\rho)`
    down to ``eps·α_max``; with ``positive`` :math:`\\alpha_{max} = \\max(0, \\max_j X_j^\\top y)/(n\\rho)`,
    the smallest alpha whose non-negative solution is zero."""
    if l1_ratio <= 0:
        raise ValueError("Automatic alpha grid generation is not supported for l1_ratio=0; pass alphas")
    G = np.empty(df.n_features)
    _cd.full_gradient(*_cd._parts(df), _cd._column_sums(df), df.y.copy(), 0.0, G)
    top = max(0.0, float(np.max(G))) if positive else float(np.max(np.abs(G)))
    amax = top / (df.n_samples * l1_ratio) if G.size else 0.0
    if amax <= np.finfo(float).resolution:
        return np.full(n_alphas, np.finfo(float).resolution)
    return np.geomspace(amax, amax * eps, num=n_alphas)


def enet_path(X, y, *, l1_ratio=0.5, eps=1e-3, n_alphas=100, alphas=None, precompute="auto", coef_init=None,
              positive=False, return_n_iter=False, tol=1e-4, max_iter=1000, solver="auto", device="cpu",
              check_input=True):
    """Elastic-net path with warm starts (scikit-learn's ``enet_path``; no intercept, X used as given).

    ``precompute="auto"`` runs coordinate descent on the Gram matrix (computed once for the
    whole path) when X is dense with more samples than features. Returns ``alphas``
    (decreasing), ``coefs`` of shape (n_features, n_alphas), ``dual_gaps``
    (and ``n_iters`` with ``return_n_iter``). Each fit stops at gap <= ``tol·‖y‖²/n``.
    """
    from sklearn.utils.validation import check_array, check_consistent_length
    l1_ratio = check_l1_ratio(l1_ratio)
    device = check_device(device)
    solver = check_solver(solver, device)
    X = to_numpy(X)
    y = to_numpy(y)
    if check_input:
        X = check_array(X, accept_sparse=["csc", "csr"], dtype=[np.float64, np.float32])
        y = check_array(y, ensure_2d=False, dtype=None)
        check_consistent_length(X, y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {y.shape}")
    df, _, _ = preprocess(X, y, fit_intercept=False)
    if alphas is None:
        alphas = alpha_grid(df, l1_ratio, eps, check_positive_int(n_alphas, "n_alphas"), positive)
    elif isinstance(alphas, (int, np.integer)):
        alphas = alpha_grid(df, l1_ratio, eps, check_positive_int(int(alphas), "alphas"), positive)
    else:
        alphas = np.sort(np.asarray(alphas, dtype=np.float64).ravel())[::-1]
        for a in alphas:
            check_alpha(float(a))
    tol_abs = float(tol) * float(df.y @ df.y) / X.shape[0]
    gram = use_gram(precompute, df)
    coefs = np.empty((X.shape[1], len(alphas)), dtype=X.dtype)
    gaps = np.empty(len(alphas))
    n_iters = []
    w = None if coef_init is None else np.asarray(coef_init, dtype=np.float64)
    for k, a in enumerate(alphas):
        res = fit_quadratic(df, _enet_penalty(float(a), l1_ratio), solver=solver, device=device, tol=tol_abs,
                            max_iter=max_iter, positive=positive, coef_init=w, precompute=gram)
        if not res.converged:
            warn_not_converged(res.crit, tol_abs)
        w = res.coef
        coefs[:, k] = w
        gaps[k] = res.crit
        n_iters.append(res.n_iter)
    if return_n_iter:
        return alphas, coefs, gaps, n_iters
    return alphas, coefs, gaps


def lasso_path(X, y, *, eps=1e-3, n_alphas=100, alphas=None, precompute="auto", coef_init=None, positive=False,
               return_n_iter=False, tol=1e-4, max_iter=1000, solver="auto", device="cpu", check_input=True):
    """Lasso path with warm starts: :func:`enet_path` with ``l1_ratio=1``."""
    return enet_path(X, y, l1_ratio=1.0, eps=eps, n_alphas=n_alphas, alphas=alphas, precompute=precompute,
                     coef_init=coef_init,
                     positive=positive, return_n_iter=return_n_iter, tol=tol, max_iter=max_iter, solver=solver,
                     device=device, check_input=check_input)
