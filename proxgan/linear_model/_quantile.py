r""":class:`QuantileRegressor`: L1-penalised quantile regression (scikit-learn's objective).

.. math::

    \min_{w, b}\; \frac1S\sum_i s_i\,\rho_\tau(y_i - x_i^\top w - b) + \alpha\lVert w\rVert_1 .

``solver="frisch-newton"`` (and ``"auto"`` up to 2,000 features, see
:data:`proxgan.solvers._quantile.IPM_MAX_FEATURES`; smoothing with coordinate descent beyond)
runs the Frisch–Newton interior-point method of
:mod:`proxgan.solvers._quantile_ipm` (R quantreg's method: one :math:`q\times q` Cholesky per
iteration, some 15–30 iterations); ``"cd"`` and ``"fista"`` the smoothing with continuation of
:mod:`proxgan.solvers._quantile` with that inner solver. All three stop on the duality gap of the
exact problem (never on a smoothed one). scikit-learn's solver names (``"highs"``,
``"highs-ds"``, ``"highs-ipm"``; ``"interior-point"`` and ``"revised simplex"`` are refused as
SciPy >= 1.11 no longer has them) run that linear program with :func:`scipy.optimize.linprog` and that method, as scikit-learn does.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from proxgan.linear_model._glm import _check_number, _GLMBase

__all__ = ["QuantileRegressor"]

_LP = ("highs", "highs-ds", "highs-ipm")
_GONE = ("interior-point", "revised simplex")  # removed from SciPy 1.11


def _linprog(X, y, sw, tau, alpha, fit_intercept, method, options):
    """The LP with variables ``(w+, w-, b+, b-, u, v)``, ``Xw + b + u - v = y`` (scikit-learn's formulation)."""
    from scipy.optimize import linprog

    n, p = X.shape
    S = sw.sum()
    ones = np.ones((n, 1))
    Xd = sp.csc_matrix(X) if sp.issparse(X) else X
    blocks = [Xd, -Xd] + ([ones, -ones] if fit_intercept else [])
    eye = sp.eye(n, format="csc") if sp.issparse(X) else np.eye(n)
    A = sp.hstack(blocks + [eye, -eye], format="csc") if sp.issparse(X) else np.hstack(blocks + [eye, -eye])
    nb = 2 * int(fit_intercept)
    c = np.concatenate([np.full(2 * p, alpha * S), np.zeros(nb), sw * tau, sw * (1 - tau)])
    res = linprog(c, A_eq=A, b_eq=y, method=method, options=options or {})
    x = res.x if res.x is not None else np.zeros(c.shape[0])
    w = x[:p] - x[p:2 * p]
    b = x[2 * p] - x[2 * p + 1] if fit_intercept else 0.0
    return w, b, int(getattr(res, "nit", 0)), res.status == 0


class QuantileRegressor(_GLMBase):
    r"""Quantile regression with an L1 penalty (module docstring).

    Parameters
    ----------
    quantile : float
        :math:`\tau \in (0, 1)`.
    alpha : float
        Strength of the L1 penalty (>= 0).
    fit_intercept : bool
        Fit a free intercept.
    solver : str
        ``"frisch-newton"``: the interior-point method (module docstring); ``"auto"``: that
        method up to 2,000 features, ``"cd"`` beyond;
        ``"cd"``/``"fista"``: smoothing with continuation, coordinate descent or FISTA on the
        smoothed problems; scikit-learn's LP names: that LP method of :func:`scipy.optimize.linprog`.
    solver_options : dict, optional
        Options of :func:`scipy.optimize.linprog` (LP solvers only).
    tol : float
        Exact solvers: stop when the duality gap is at most ``tol`` × the objective.
    """

    def __init__(self, *, quantile: float = 0.5, alpha: float = 1.0, fit_intercept: bool = True,
                 solver: str = "auto", solver_options=None, tol: float = 1e-8) -> None:
        self.quantile = quantile
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.solver_options = solver_options
        self.tol = tol

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
        from proxgan.datafits import Quantile
        from proxgan.penalties import L1
        from proxgan.solvers._quantile import solve

        tau = float(_check_number(self.quantile, "quantile", 0.0, 1.0))
        if not 0 < tau < 1:
            raise ValueError(f"quantile must be strictly between 0.0 and 1.0, got {self.quantile!r}")
        alpha = float(_check_number(self.alpha, "alpha"))
        tol = float(_check_number(self.tol, "tol"))
        if self.solver in _GONE:
            raise ValueError(f"Solver {self.solver} is not anymore available in SciPy >= 1.11.0.")
        if self.solver not in ("auto", "frisch-newton", "cd", "fista") + _LP:
            raise ValueError(f"solver must be 'auto', 'frisch-newton', 'cd', 'fista' or one of {_LP}, "
                             f"got {self.solver!r}")
        if self.solver_options is not None and not isinstance(self.solver_options, dict):
            raise ValueError(f"solver_options must be a dict or None, got {self.solver_options!r}")
        X, y, sw = self._validate(X, y, sample_weight)
        p = X.shape[1]
        if self.solver in _LP:
            keep = sw > 0
            w, b, self.n_iter_, ok = _linprog(X[keep], y[keep], sw[keep], tau, alpha, self.fit_intercept,
                                              self.solver, self.solver_options)
            coef = np.append(w, b) if self.fit_intercept else w
        else:
            if self.solver_options is not None:
                raise ValueError("solver_options are for the LP solvers of scipy.optimize.linprog")
            df = Quantile(X, y, tau, sample_weight=sw, intercept=bool(self.fit_intercept))
            method = {"cd": "smoothing", "fista": "smoothing"}.get(self.solver, self.solver)  # auto, frisch-newton
            res = solve(df, L1(alpha), tol=tol, method=method, inner="fista" if self.solver == "fista" else "cd")
            coef, self.n_iter_, ok = res.coef, res.n_iter, res.converged
            self.duality_gap_ = res.crit
        if not ok:
            warnings.warn("QuantileRegressor did not reach its tolerance; the result may be inexact",
                          ConvergenceWarning, stacklevel=2)
        self._set_coef(coef, p)
        return self
