r"""Ridge regression: the quadratic datafit with an :class:`~proxgan.penalties.L2` penalty.

scikit-learn's objective :math:`\sum_i s_i (y_i - x_i^\top w - b)^2 + \alpha\lVert w\rVert^2`
equals :math:`2n\,[f(w) + \tfrac12(\alpha/n)\lVert w\rVert^2]` with the datafit
:math:`f(w) = \frac{1}{2n}\sum_i s_i(\dots)^2`, so the penalty is ``L2(alpha / n)``.
The solver stops on the ridge duality gap (``tol·‖y‖²/n``), or, with ``positive=True``,
on the optimality violation.
"""
from __future__ import annotations

import numpy as np

from proxgan import penalties as _pen
from proxgan.linear_model._base import (LinearRegressorBase, check_alpha, check_device, check_positive_int,
                                        check_solver, check_tol, preprocess, warn_not_converged)
from proxgan.linear_model._coordinate_descent import fit_quadratic

__all__ = ["Ridge"]


class Ridge(LinearRegressorBase):
    """Linear least squares with L2 regularisation (scikit-learn's ``Ridge``).

    Minimises :math:`\\lVert y - Xw - b\\rVert^2 + \\alpha\\lVert w\\rVert^2` (weighted by
    ``sample_weight``).

    Parameters
    ----------
    alpha : float, default=1.0
    fit_intercept : bool, default=True
    max_iter : int or None, default=None
        None means 10000 epochs / iterations.
    tol : float, default=1e-4
        Stop when the duality gap is <= ``tol·‖y‖²/n``.
    positive : bool, default=False
    solver : {"auto", "cd", "fista", "ista"}, default="auto"
    device : {"cpu", "cuda"}, default="cpu"
    copy_X : bool, default=True
        Accepted for compatibility; X is never modified.

    Attributes
    ----------
    coef_, intercept_, n_iter_, dual_gap_

    Examples
    --------
    >>> import numpy as np
    >>> from proxgan.linear_model import Ridge
    >>> X = np.random.default_rng(0).standard_normal((40, 3)); y = X @ [1.0, 0, 2]
    >>> Ridge(alpha=1.0, tol=1e-10).fit(X, y).coef_.round(2)
    array([ 0.99, -0.01,  1.93])
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, copy_X=True, max_iter=None, tol=1e-4, positive=False,
                 solver="auto", device="cpu"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.positive = positive
        self.solver = solver
        self.device = device

    def fit(self, X, y, sample_weight=None):
        """Fit the model; ``X``: array, sparse matrix (CSC/CSR) or tensor of shape (n, p)."""
        alpha = check_alpha(self.alpha)
        max_iter = 10000 if self.max_iter is None else check_positive_int(self.max_iter, "max_iter")
        tol = check_tol(self.tol)
        device = check_device(self.device)
        solver = check_solver(self.solver, device)
        X, y, sw = self._validate_fit(X, y, sample_weight)
        n = X.shape[0]
        df, X_off, y_off = preprocess(X, y, self.fit_intercept, sw, normalize_weights=False)
        tol_abs = tol * float(df.y @ df.y) / n
        res = fit_quadratic(df, _pen.L2(alpha / n), solver=solver, device=device, tol=tol_abs, max_iter=max_iter,
                            positive=bool(self.positive))
        if not res.converged:
            warn_not_converged(res.crit, tol_abs, res.criterion.replace("gap", "duality gap"))
        self.coef_ = res.coef.astype(X.dtype)
        self.intercept_ = float(y_off - X_off @ res.coef) if self.fit_intercept else 0.0
        self.n_iter_ = res.n_iter
        self.dual_gap_ = res.crit
        return self
