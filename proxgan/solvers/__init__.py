"""Full-batch solvers over (X, y, datafit, penalty).

* :mod:`proxgan.solvers.ista` — proximal gradient with backtracking;
* :mod:`proxgan.solvers.fista` — accelerated, with backtracking and adaptive restart;
* :mod:`proxgan.solvers.cd` — coordinate descent (numba), working sets, Anderson acceleration.

Each exposes ``solve(datafit, penalty, ...) -> SolverResult``.
"""
from proxgan.solvers import cd, fista, ista
from proxgan.solvers._common import SolverResult

__all__ = ["SolverResult", "cd", "fista", "ista"]
