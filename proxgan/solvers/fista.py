r"""FISTA: accelerated proximal gradient with backtracking and adaptive restart.

Minimises :math:`F(w) = f(w) + g(w)` for a datafit :math:`f` (``value``/``grad``, see
:mod:`proxgan.datafits`) and any penalty :math:`g` (its ``prox``):

.. math::

    w_{k+1} = \operatorname{prox}_{g/L}\big(z_k - \nabla f(z_k)/L\big),\quad
    t_{k+1} = \tfrac{1 + \sqrt{1 + 4t_k^2}}{2},\quad
    z_{k+1} = w_{k+1} + \tfrac{t_k - 1}{t_{k+1}}(w_{k+1} - w_k),

where :math:`L` doubles until the sufficient-decrease condition
:math:`f(w_{k+1}) \le f(z_k) + \langle\nabla f(z_k), w_{k+1}-z_k\rangle + \tfrac L2\lVert w_{k+1}-z_k\rVert^2`
holds (Beck & Teboulle 2009), and the momentum is reset
(:math:`t = 1`, :math:`z = w`) whenever :math:`\langle z_k - w_{k+1}, w_{k+1} - w_k\rangle > 0`
(gradient restart, O'Donoghue & Candès 2015). Runs in torch on the datafit's device.

Examples
--------
>>> import numpy as np
>>> from proxgan.datafits import Quadratic
>>> from proxgan.penalties import L1
>>> from proxgan.solvers.fista import solve
>>> X = np.random.default_rng(0).standard_normal((50, 20)); y = X[:, 0]
>>> res = solve(Quadratic(X, y), L1(0.1), tol=1e-10, max_iter=5000)
>>> bool(res.converged), int(np.count_nonzero(res.coef))
(True, 1)
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from proxgan import penalties as _pen
from proxgan.datafits import Datafit
from proxgan.solvers._common import SolverResult

__all__ = ["solve", "prox_grad_step"]


def prox_grad_step(datafit: Datafit, penalty: _pen.Penalty, z: torch.Tensor, L: float,
                   fz: torch.Tensor | None = None, gz: torch.Tensor | None = None, backtracking: bool = True):
    """One proximal-gradient step from ``z`` with backtracking on ``L``.

    Returns ``(w, L)`` where ``w = prox_{g/L}(z - ∇f(z)/L)`` satisfies the sufficient-decrease condition.

    Parameters
    ----------
    datafit : Datafit
        The smooth part :math:`f` (its ``value`` and ``grad``).
    penalty : Penalty
        The penalty :math:`g` (its ``prox``).
    z : torch.Tensor
        The point the step starts from, of shape ``(n_features,)``, on the datafit's device.
    L : float
        Initial estimate of the Lipschitz constant of the gradient of :math:`f` (the step
        is ``1/L``).
    fz : torch.Tensor, optional
        ``datafit.value(z)`` when already known (computed otherwise).
    gz : torch.Tensor, optional
        ``datafit.grad(z)`` when already known (computed otherwise).
    backtracking : bool, default True
        Double ``L`` until sufficient decrease; False takes one step with the given ``L``.

    Returns
    -------
    w : torch.Tensor
        The new iterate.
    L : float
        The accepted ``L`` (>= the given one).
    """
    fz = datafit.value(z) if fz is None else fz
    gz = datafit.grad(z) if gz is None else gz
    while True:
        w = penalty.prox(z - gz / L, 1.0 / L)
        if not backtracking:
            return w, L
        d = w - z
        if datafit.value(w) <= fz + gz @ d + 0.5 * L * (d @ d) + 1e-12 * abs(float(fz)):
            return w, L
        L *= 2.0


def _default_criterion(datafit, penalty):
    r"""``penalty.optimality(w, ∇f(w))``; for a non-convex separable penalty (L0, MCP, SCAD, Lq,
    LogSum) the fixed-point violation :math:`L\lVert w - \operatorname{prox}_{g/L}(w - \nabla f(w)/L)\rVert_\infty`
    instead (``L = datafit.lipschitz()``), zero exactly at a stationary point: the limiting
    subdifferential of L0 or Lq at 0 is all of R, so their optimality would call every zero stationary."""
    from proxgan._lowering import SeparableProx, lower
    from proxgan.solvers._prox1d import CONVEX_CODES

    low = lower(penalty)
    if isinstance(low, SeparableProx) and low.code not in CONVEX_CODES:
        L = max(datafit.lipschitz(), 1e-300)

        def fixed_point(w):
            return L * float((w - penalty.prox(w - datafit.grad(w) / L, 1.0 / L)).abs().max())
        return fixed_point

    def crit(w):
        return penalty.optimality(w, datafit.grad(w))
    return crit


def _start(datafit, coef_init, dtype=torch.float64):
    p = datafit.n_features
    if coef_init is None:
        return torch.zeros(p, dtype=dtype, device=datafit.device)
    w = torch.as_tensor(np.asarray(coef_init, dtype=np.float64)).to(datafit.device).reshape(-1)
    if w.shape[0] != p:
        raise ValueError(f"coef_init has {w.shape[0]} entries, expected {p}")
    return w


def solve(datafit: Datafit, penalty: _pen.Penalty, *, coef_init=None, tol: float = 1e-8, max_iter: int = 10000,
          criterion: Callable[[torch.Tensor], float] | None = None, criterion_name: str = "optimality",
          check_every: int = 10, restart: bool = True, backtracking: bool = True,
          callback: Callable[[int, torch.Tensor], None] | None = None) -> SolverResult:
    """Minimise ``datafit + penalty`` by FISTA (see the module docstring).

    Parameters
    ----------
    datafit : Datafit
    penalty : Penalty
    coef_init : array, optional
        Starting point (warm start).
    tol : float
        Stop when ``criterion(w) <= tol``.
    max_iter : int
        Maximal number of iterations.
    criterion : callable, optional
        Stopping measure of the iterate; default ``penalty.optimality(w, ∇f(w))``, or for a
        non-convex separable penalty the fixed-point violation of the prox-gradient map (a
        stationary point, not a global minimiser).
    criterion_name : str
        How ``criterion`` is reported (e.g. ``"gap"``).
    check_every : int
        Evaluate the criterion every this many iterations.
    restart, backtracking : bool
        Adaptive restart; backtracking line search (else the step is ``1/L`` with ``L = datafit.lipschitz()``).
    callback : callable, optional
        Called as ``callback(k, w_k)`` after every iteration (e.g. to record ``F(w_k)``).
    """
    penalty.check()
    crit_fn = criterion or _default_criterion(datafit, penalty)
    w = _start(datafit, coef_init)
    L = max(datafit.lipschitz(), 1e-300)
    L = L / 4 if backtracking else L  # the power-iteration value is an upper estimate: start lower
    z = w.clone()
    t = 1.0
    crit = float(crit_fn(w))
    it = 0
    while crit > tol and it < max_iter:
        w_new, L = prox_grad_step(datafit, penalty, z, L, backtracking=backtracking)
        if restart and float((z - w_new) @ (w_new - w)) > 0:
            t = 1.0
            z = w_new.clone()
        else:
            t_new = 0.5 * (1.0 + (1.0 + 4.0 * t * t) ** 0.5)
            z = w_new + ((t - 1.0) / t_new) * (w_new - w)
            t = t_new
        w = w_new
        it += 1
        if callback is not None:
            callback(it, w)
        if it % check_every == 0 or it == max_iter:
            crit = float(crit_fn(w))
    return SolverResult(w.detach().cpu().numpy(), crit, criterion_name, it, crit <= tol)
