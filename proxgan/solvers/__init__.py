"""Full-batch solvers over (X, y, datafit, penalty).

* :mod:`proxgan.solvers.ista` — proximal gradient with backtracking;
* :mod:`proxgan.solvers.fista` — accelerated, with backtracking and adaptive restart;
* :mod:`proxgan.solvers.cd` — coordinate descent (numba), working sets, Anderson acceleration;
* :mod:`proxgan.solvers.prox_newton` — proximal Newton with working sets (logistic datafit).

Each exposes ``solve(datafit, penalty, ...) -> SolverResult``. Also public: :class:`Composite`
(a penalty plus a lower bound and free trailing coordinates) and :func:`enet_gap_criterion`
(the duality gap as a stopping criterion for FISTA / ISTA).
"""
from proxgan.solvers import cd, fista, ista, prox_newton
from proxgan.solvers._common import Composite, SolverResult, enet_gap_criterion

__all__ = ["Composite", "SolverResult", "cd", "enet_gap_criterion", "fista", "ista", "prox_newton"]
