r"""Ridge regression: the quadratic datafit with an :class:`~proxgan.penalties.L2` penalty.

scikit-learn's objective :math:`\sum_i s_i (y_i - x_i^\top w - b)^2 + \alpha\lVert w\rVert^2`
equals :math:`2n\,[f(w) + \tfrac12(\alpha/n)\lVert w\rVert^2]` with the datafit
:math:`f(w) = \frac{1}{2n}\sum_i s_i(\dots)^2`, so the penalty is ``L2(alpha / n)``.
The solver stops on the ridge duality gap (``tol·‖y‖²/n``), or, with ``positive=True``,
on the optimality violation.
"""
from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from proxgan import penalties as _pen
from proxgan.linear_model import _dask
from proxgan.linear_model import _ridge_direct as _direct
from proxgan.linear_model._base import (LinearRegressorBase, center_scale, check_device, check_solver,
                                        preprocess, warn_not_converged)
from proxgan.linear_model._quadratic import fit_quadratic

__all__ = ["Ridge"]

ITERATIVE = ("cd", "fista", "ista")
SKLEARN_SOLVERS = ("auto", "svd", "cholesky", "lsqr", "sparse_cg", "sag", "saga", "lbfgs")


class Ridge(LinearRegressorBase):
    r"""Linear least squares with L2 regularisation (scikit-learn's ``Ridge``).

    Minimises :math:`\lVert y - Xw - b\rVert^2 + \alpha\lVert w\rVert^2` (weighted by
    ``sample_weight``), one problem per column of a 2-D ``y``.

    Parameters
    ----------
    alpha : float or array of shape (n_targets,), default=1.0
        One penalty for all targets or one per target (>= 0).
    fit_intercept : bool, default=True
    copy_X : bool, default=True
        Accepted for compatibility; X is never modified.
    max_iter : int or None, default=None
        Iterative solvers only; None means 10000 epochs / iterations.
    tol : float, default=1e-4
        Iterative solvers only: ``"lsqr"``/``"sparse_cg"`` pass it to LSQR as ``atol``/``btol``;
        ``"cd"``/``"fista"``/``"ista"`` stop when the duality gap is <= ``tol·‖y‖²/n``.
    solver : str, default="auto"
        How the normal equations :math:`(X^\top X + \alpha I)w = X^\top y` (centred) are solved
        (see :mod:`proxgan.linear_model._ridge_direct`):

        * ``"auto"``, ``"cholesky"``: exact, a Cholesky factorisation of the p × p system (or the
          n × n kernel system when a dense X has more features than samples);
        * ``"svd"``: exact, through the thin SVD of a dense X;
        * ``"lsqr"``, ``"sparse_cg"``: SciPy's LSQR (sparse X stays sparse), stopped at ``tol``;
        * ``"sag"``, ``"saga"``: scikit-learn's stochastic solvers are not implemented; these names
          run the exact Cholesky solver (the answer they converge to);
        * ``"lbfgs"`` (``positive=True`` only) and any solver with ``positive=True``: exact
          non-negative least squares (SciPy's NNLS on the augmented system);
        * ``"cd"``, ``"fista"``, ``"ista"``: proxgan's iterative solvers (``"fista"``/``"ista"`` run on
          ``device``, also CUDA), stopped on the duality gap.
    positive : bool, default=False
        Constrain the coefficients to be >= 0.
    random_state : int, RandomState instance or None, default=None
        Accepted for compatibility (scikit-learn's sag/saga); every solver here is deterministic.
    device : {"cpu", "cuda"}, default="cpu"
        ``"cuda"`` needs ``solver="fista"`` or ``"ista"``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    n_iter_ : None (direct solvers), ndarray of shape (n_targets,) (LSQR) or int (proxgan solvers)
    solver_ : str
        The solver that ran (after resolving "auto").

    Examples
    --------
    >>> import numpy as np
    >>> from proxgan.linear_model import Ridge
    >>> X = np.random.default_rng(0).standard_normal((40, 3)); y = X @ [1.0, 0, 2]
    >>> Ridge(alpha=1.0).fit(X, y).coef_.round(2)
    array([ 0.99, -0.01,  1.93])
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left"), np.ndarray],
        "fit_intercept": ["boolean"],
        "copy_X": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions(set(SKLEARN_SOLVERS + ITERATIVE))],
        "positive": ["boolean"],
        "random_state": ["random_state"],
        "device": [str],
    }

    def __init__(self, alpha=1.0, *, fit_intercept=True, copy_X=True, max_iter=None, tol=1e-4, solver="auto",
                 positive=False, random_state=None, device="cpu"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.positive = positive
        self.random_state = random_state
        self.device = device

    def _resolve_solver(self, device, sparse_X):
        solver = self.solver
        if self.positive and solver not in ("auto", "lbfgs") + ITERATIVE:
            raise ValueError(f"solver='{solver}' does not support positive fitting. Please set the solver to "
                             f"'auto' or 'lbfgs', or set `positive=False`")
        if solver == "lbfgs" and not self.positive:
            raise ValueError("'lbfgs' solver can be used only when positive=True. Please use another solver.")
        if device != "cpu" and solver not in ("fista", "ista"):
            return check_solver("auto", device)
        if sparse_X and self.fit_intercept and solver not in ("auto", "lbfgs", "lsqr", "sag", "sparse_cg") + ITERATIVE:
            raise ValueError(f"solver='{solver}' does not support fitting the intercept on sparse data. Please set "
                             f"the solver to 'auto' or 'lsqr', 'sparse_cg', 'sag', 'lbfgs' or set "
                             f"`fit_intercept=False`")
        if sparse_X and self.fit_intercept and solver == "sag" and self.max_iter is None and self.tol > 1e-4:
            # scikit-learn's advice, kept for code that expects it (the exact solver runs here)
            warnings.warn('"sag" solver requires many iterations to fit an intercept with sparse inputs. Either set '
                          'the solver to "auto" or "sparse_cg", or set a low "tol" and a high "max_iter" (especially '
                          'if inputs are not standardized).', UserWarning, stacklevel=3)
        if solver == "svd" and sparse_X:
            raise TypeError("SVD solver does not support sparse inputs currently")
        if solver in ITERATIVE:
            return check_solver(solver, device)
        if self.positive:
            return "lbfgs"
        if solver in ("auto", "sag", "saga"):
            return "cholesky"
        return "lsqr" if solver == "sparse_cg" else solver

    def _alphas(self, n_targets):
        alpha = np.asarray(self.alpha, dtype=np.float64).ravel()
        if alpha.size not in (1, n_targets):
            raise ValueError(f"Number of targets and number of penalties do not correspond: "
                             f"{alpha.size} != {n_targets}")
        if not np.all(np.isfinite(alpha)) or np.any(alpha < 0):
            raise ValueError(f"alpha must hold finite numbers >= 0, got {self.alpha!r}")
        return np.broadcast_to(alpha, (n_targets,))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model; ``X``: array, sparse matrix (CSC/CSR) or tensor of shape (n, p);
        ``y``: shape (n,) or (n, n_targets)."""
        if _dask.is_dask(X) or _dask.is_dask(y):
            return _dask.fit_ridge(self, X, y, sample_weight)
        device = check_device(self.device)
        X, y, sw = self._validate_fit(X, y, sample_weight, multi_output=True)
        solver = self._resolve_solver(device, sp.issparse(X))
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        alphas = self._alphas(Y.shape[1])
        self.n_iter_ = None
        if solver in ITERATIVE:
            coef, y_off, X_off = self._fit_iterative(X, Y, sw, alphas, solver, device)
        else:
            Xc, Yc, X_off, y_off, sq = center_scale(X, Y, self.fit_intercept, sw, normalize_weights=False)
            if solver == "lbfgs":
                coef = _direct.solve_positive(Xc, Yc, alphas, X_off, sq)
            elif solver == "svd":
                coef = _direct.solve_svd(Xc, Yc, alphas)
            elif solver == "lsqr":
                max_iter = None if self.max_iter is None else self.max_iter
                coef, self.n_iter_ = _direct.solve_lsqr(Xc, Yc, alphas, X_off, sq, self.tol, max_iter)
            else:
                coef = _direct.solve_cholesky(Xc, Yc, alphas, X_off, sq)
        # the name the user chose (scikit-learn reports "sag" for sag even where it is mapped here)
        self.solver_ = self.solver if self.solver not in ("auto", "lbfgs") else solver
        coef_ = coef.T.astype(X.dtype)
        intercept = np.asarray(y_off - X_off @ coef, dtype=X.dtype)
        if y.ndim == 1:
            self.coef_ = coef_[0]
            self.intercept_ = intercept[0] if self.fit_intercept else 0.0
        else:  # scikit-learn: a single column keeps a 1-D coef_ but a (1,) intercept_
            self.coef_ = coef_[0] if Y.shape[1] == 1 else coef_
            self.intercept_ = intercept if self.fit_intercept else 0.0
        return self

    def _fit_iterative(self, X, Y, sw, alphas, solver, device):
        """proxgan's cd / fista / ista, one duality-gap-certified problem per target."""
        max_iter = 10000 if self.max_iter is None else self.max_iter
        n, t = Y.shape
        coef = np.empty((X.shape[1], t))
        y_off = np.empty(t)
        gaps = np.empty(t)
        n_iter = 0
        for k in range(t):
            df, X_off, y_off[k] = preprocess(X, Y[:, k], self.fit_intercept, sw, normalize_weights=False)
            tol_abs = self.tol * float(df.y @ df.y) / n
            res = fit_quadratic(df, _pen.L2(alphas[k] / n), solver=solver, device=device, tol=tol_abs,
                                max_iter=max_iter, positive=bool(self.positive))
            if not res.converged:
                warn_not_converged(res.crit, tol_abs, res.criterion.replace("gap", "duality gap"))
            coef[:, k] = res.coef
            gaps[k] = res.crit
            n_iter = max(n_iter, res.n_iter)
        self.n_iter_ = n_iter
        self.dual_gap_ = gaps[0] if t == 1 else gaps
        return coef, y_off, X_off

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
