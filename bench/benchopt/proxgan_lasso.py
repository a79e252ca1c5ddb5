"""proxgan's Lasso as a benchopt solver (benchmark_lasso: ``set_objective(X, y, lmbd, fit_intercept)``,
objective ``½‖y − Xβ − b‖² + lmbd‖β‖₁``).

Copy this file into the ``solvers/`` folder of a clone of benchopt's benchmark_lasso (see
``bench/README.md``). One benchopt iteration is one outer working-set iteration of proxgan's
coordinate descent (``max_iter``): more iterations never give a higher objective, which is what
benchopt's iteration sampling needs. The solver runs with gap-safe screening and dual
extrapolation (:func:`proxgan.solvers.cd.solve`), on the data centred (and the intercept
recovered from the means) when ``fit_intercept``. The smallest working set is the solver's default
for least squares (:func:`proxgan.solvers.cd.default_p0`: a fifth of the largest possible support,
``max(10, min(n, p) // 5)``, when ``p <= 2n``; 10 otherwise).
"""
from benchopt import BaseSolver, safe_import_context

with safe_import_context() as import_ctx:
    import warnings

    import numpy as np
    import scipy.sparse as sp

    from proxgan.linear_model._base import preprocess
    from proxgan.penalties import L1
    from proxgan.solvers import cd

__all__ = ["Solver"]


class Solver(BaseSolver):
    """proxgan: working-set coordinate descent with Anderson extrapolation, dual extrapolation and
    gap-safe screening (numba)."""

    name = "proxgan"
    sampling_strategy = "iteration"
    requirements = ["pip:numba", "pip:scikit-learn", "pip:scipy"]  # and proxgan itself (pip install -e .)
    references = ["proxgan: proximal optimizers for PyTorch and scikit-learn-style sparse linear models"]

    def set_objective(self, X, y, lmbd, fit_intercept):
        """Store the problem (the datafit is built once, here).

        Parameters
        ----------
        X : ndarray or sparse matrix of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
        lmbd : float
            Penalty of benchopt's unnormalised objective (proxgan's alpha is ``lmbd / n``).
        fit_intercept : bool
            Fit an unpenalised intercept (returned as the last entry of ``beta``).
        """
        self.fit_intercept = bool(fit_intercept)
        X = sp.csc_matrix(X) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
        self.df, self.X_off, self.y_off = preprocess(X, np.asarray(y, dtype=np.float64), self.fit_intercept)
        n = X.shape[0]
        self.penalty = L1(lmbd / n)
        self.tol = 1e-14 * float(self.df.y @ self.df.y) / n
        self.beta = np.zeros(X.shape[1] + self.fit_intercept)

    def warm_up(self):
        """Compile the numba kernels (not timed by benchopt)."""
        self.run_once(2)

    def run(self, n_iter):
        """Solve with at most ``n_iter`` outer iterations, from zero.

        Parameters
        ----------
        n_iter : int
        """
        p = self.df.n_features
        if n_iter == 0:
            self.beta = np.zeros(p + self.fit_intercept)
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = cd.solve(self.df, self.penalty, tol=self.tol, max_iter=int(n_iter))
        coef = res.coef
        if self.fit_intercept:
            coef = np.r_[coef, self.y_off - self.X_off @ coef]
        self.beta = coef

    def get_next(self, stop_val):
        """benchopt's next iteration count: one more outer iteration.

        Parameters
        ----------
        stop_val : int
        """
        return stop_val + 1

    def get_result(self):
        """``dict(beta=...)`` (coefficients, then the intercept when fitted)."""
        return dict(beta=self.beta)
