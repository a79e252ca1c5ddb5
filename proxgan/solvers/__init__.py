"""Full-batch solvers over (X, y, datafit, penalty).

* :mod:`proxgan.solvers.ista` — proximal gradient with backtracking;
* :mod:`proxgan.solvers.fista` — accelerated, with backtracking and adaptive restart;
* :mod:`proxgan.solvers.cd` — coordinate descent (numba), working sets, Anderson acceleration;
* :mod:`proxgan.solvers.prox_newton` — proximal Newton with working sets (logistic datafit).

Each exposes ``solve(datafit, penalty, ...) -> SolverResult``. Also public: :class:`Composite`
(a penalty plus a lower bound and free trailing coordinates) and :func:`enet_gap_criterion`
(the duality gap as a stopping criterion for FISTA / ISTA). ``fista`` and ``ista`` (torch) are
imported on first use.
"""
from proxgan.solvers import cd, prox_newton
from proxgan.solvers._common import Composite, SolverResult, enet_gap_criterion

_TORCH_SOLVERS = ("fista", "ista")  # torch-based: imported on first use, so that cd / prox_newton never load torch


def __getattr__(name: str):
    if name in _TORCH_SOLVERS:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["Composite", "SolverResult", "cd", "enet_gap_criterion", "fista", "ista", "prox_newton"]
