"""proxgan's L1 logistic regression as a benchopt solver (benchmark_logreg_l1:
``set_objective(X, y, lmbd)``, objective ``Σ log(1 + exp(−y_i x_iᵀβ)) + lmbd‖β‖₁``, labels ±1).

Copy this file into the ``solvers/`` folder of a clone of benchopt's benchmark_logreg_l1 (see
``bench/README.md``). One benchopt iteration is one outer iteration of proxgan's proximal Newton
solver with working sets (:func:`proxgan.solvers.prox_newton.solve`): an iteration never raises
the objective, so benchopt's iteration sampling sees a non-increasing curve.
"""
from benchopt import BaseSolver, safe_import_context

with safe_import_context() as import_ctx:
    import numpy as np
    import scipy.sparse as sp

    from proxgan.datafits import Logistic
    from proxgan.penalties import L1
    from proxgan.solvers import prox_newton

__all__ = ["Solver"]


class Solver(BaseSolver):
    """proxgan: proximal Newton with working sets (numba)."""

    name = "proxgan"
    sampling_strategy = "iteration"
    requirements = ["pip:numba", "pip:scikit-learn", "pip:scipy"]  # and proxgan itself (pip install -e .)
    references = ["proxgan: proximal optimizers for PyTorch and scikit-learn-style sparse linear models"]

    def set_objective(self, X, y, lmbd):
        """Store the problem (the datafit is built once, here).

        Parameters
        ----------
        X : ndarray or sparse matrix of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Labels in {-1, 1}.
        lmbd : float
            Penalty of benchopt's summed objective (proxgan's mean loss takes ``lmbd / n``).
        """
        X = sp.csc_matrix(X) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
        self.df = Logistic(X, np.asarray(y, dtype=np.float64))
        self.penalty = L1(lmbd / X.shape[0])
        self.beta = np.zeros(X.shape[1])

    def warm_up(self):
        """Compile the numba kernels (not timed by benchopt)."""
        self.run_once(2)

    def run(self, n_iter):
        """Solve with at most ``n_iter`` Newton iterations, from zero.

        Parameters
        ----------
        n_iter : int
        """
        if n_iter == 0:
            self.beta = np.zeros(self.df.n_features)
            return
        self.beta = prox_newton.solve(self.df, self.penalty, tol=1e-12, max_iter=int(n_iter)).coef

    def get_next(self, stop_val):
        """benchopt's next iteration count: one more Newton iteration.

        Parameters
        ----------
        stop_val : int
        """
        return stop_val + 1

    def get_result(self):
        """``dict(beta=...)``."""
        return dict(beta=self.beta)
