r"""ISTA: proximal gradient descent with backtracking.

Minimises :math:`F(w) = f(w) + g(w)` by
:math:`w_{k+1} = \operatorname{prox}_{g/L}(w_k - \nabla f(w_k)/L)`, doubling :math:`L` until
:math:`f(w_{k+1}) \le f(w_k) + \langle\nabla f(w_k), w_{k+1}-w_k\rangle + \tfrac L2\lVert w_{k+1}-w_k\rVert^2`
and letting it shrink by 10 % after each accepted step (so that the step adapts to the
local curvature). :math:`F` decreases monotonically; the rate is :math:`O(1/k)`
(linear under strong convexity).

Examples
--------
>>> import numpy as np
>>> from proxgan.datafits import Quadratic
>>> from proxgan.penalties import L1
>>> from proxgan.solvers.ista import solve
>>> X = np.random.default_rng(0).standard_normal((50, 20)); y = X[:, 0]
>>> bool(solve(Quadratic(X, y), L1(0.1), tol=1e-10, max_iter=5000).converged)
True
"""
from __future__ import annotations

from typing import Callable

import torch

from proxgan import penalties as _pen
from proxgan.datafits import Datafit
from proxgan.solvers._common import SolverResult
from proxgan.solvers.fista import _default_criterion, _start, prox_grad_step

__all__ = ["solve"]


def solve(datafit: Datafit, penalty: _pen.Penalty, *, coef_init=None, tol: float = 1e-8, max_iter: int = 10000,
          criterion: Callable[[torch.Tensor], float] | None = None, criterion_name: str = "optimality",
          check_every: int = 10, backtracking: bool = True,
          callback: Callable[[int, torch.Tensor], None] | None = None) -> SolverResult:
    """Minimise ``datafit + penalty`` by ISTA; parameters as in :func:`proxgan.solvers.fista.solve`.

    Parameters
    ----------
    datafit : Datafit
        The smooth part :math:`f` (its ``value``, ``grad`` and ``lipschitz``).
    penalty : Penalty
        The penalty :math:`g` (its ``prox``).
    coef_init : array, optional
        Starting point (warm start), ``n_features`` values; zeros by default.
    tol : float, default 1e-8
        Stop when ``criterion(w) <= tol``.
    max_iter : int, default 10000
        Maximal number of iterations.
    criterion : callable, optional
        Stopping measure of the iterate; default ``penalty.optimality(w, ∇f(w))``.
    criterion_name : str, default "optimality"
        How ``criterion`` is reported (e.g. ``"gap"``).
    check_every : int, default 10
        Evaluate the criterion every this many iterations (and at the last).
    backtracking : bool, default True
        Backtracking line search on ``L`` (else the step is ``1/L`` with
        ``L = datafit.lipschitz()``).
    callback : callable, optional
        Called as ``callback(k, w_k)`` after every iteration.

    Returns
    -------
    SolverResult
        The coefficients, the criterion reached, its name, the iterations run and whether
        ``tol`` was reached.
    """
    penalty.check()
    crit_fn = criterion or _default_criterion(datafit, penalty)
    w = _start(datafit, coef_init)
    L = max(datafit.lipschitz(), 1e-300)
    L = L / 4 if backtracking else L
    crit = float(crit_fn(w))
    it = 0
    while crit > tol and it < max_iter:
        w, L = prox_grad_step(datafit, penalty, w, L, backtracking=backtracking)
        if backtracking:
            L *= 0.9
        it += 1
        if callback is not None:
            callback(it, w)
        if it % check_every == 0 or it == max_iter:
            crit = float(crit_fn(w))
    return SolverResult(w.detach().cpu().numpy(), crit, criterion_name, it, crit <= tol)
