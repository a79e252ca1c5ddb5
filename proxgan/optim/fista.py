r"""ISTA and FISTA as ``torch.optim`` optimizers for any model with a closure.

Each parameter group carries a ``penalty`` (or ``None``) and a step ``lr`` (the first
trial step of the backtracking line search). With :math:`F = f + \sum_{groups} g`,
:math:`f` the closure's loss:

* **ISTA**: :math:`w \leftarrow \operatorname{prox}_{s g}(w - s\nabla f(w))`, where every
  group's step :math:`s` is halved until the sufficient-decrease condition
  :math:`f(w^+) \le f(w) + \langle\nabla f(w), w^+ - w\rangle + \sum \tfrac{1}{2s}\lVert w^+ - w\rVert^2`
  holds (the sum runs over groups, each with its step);
* **FISTA**: the same step taken from the extrapolated point
  :math:`z = w_k + \beta_k(w_k - w_{k-1})`, :math:`\beta_k = (t_{k-1}-1)/t_k`,
  :math:`t_{k} = (1+\sqrt{1+4t_{k-1}^2})/2`, with adaptive restart (:math:`t = 1`) when
  :math:`\langle z - w_{k+1}, w_{k+1} - w_k\rangle > 0`.

The parameters always hold the iterate :math:`w_k` (the output of the prox, so exact zeros
are visible); the extrapolated point is only used inside ``step``. Backtracking needs to
evaluate the loss at trial points, so ``step`` requires a closure that zeroes the
gradients, computes the loss, calls ``backward()`` and returns the loss. Steps only shrink
(the classical monotone rule of Beck & Teboulle). ``prox`` is always the penalty's own
(``penalty.prox(x, step)`` solves :math:`\arg\min_y \tfrac12\lVert y-x\rVert^2 + s\,g(y)`).

Examples
--------
>>> import torch
>>> from proxgan.optim import FISTA
>>> from proxgan.penalties import L1
>>> X = torch.randn(50, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(0)); y = X[:, 0].clone()
>>> w = torch.zeros(10, dtype=torch.float64, requires_grad=True)
>>> opt = FISTA([w], lr=1.0, penalty=L1(0.1))
>>> def closure():
...     opt.zero_grad()
...     loss = 0.5 * ((X @ w - y) ** 2).mean()
...     loss.backward()
...     return loss
>>> for _ in range(200):
...     _ = opt.step(closure)
>>> int((w != 0).sum())
1
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import torch
from torch.optim import Optimizer

from proxgan.penalties import Penalty

__all__ = ["ISTA", "FISTA"]


def _check(group: dict[str, Any]) -> None:
    lr = group["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    sh = group["shrink"]
    if isinstance(sh, bool) or not isinstance(sh, (int, float)) or not 0 < sh < 1:
        raise ValueError(f"shrink must be a number in (0, 1), got {sh!r}")
    if group["penalty"] is not None and not isinstance(group["penalty"], Penalty):
        raise TypeError(f"penalty must be a proxgan.penalties.Penalty or None, got {type(group['penalty']).__name__}")
    if not isinstance(group["backtracking"], bool):
        raise ValueError(f"backtracking must be True or False, got {group['backtracking']!r}")


class _ProxGradient(Optimizer):
    """Shared machinery: validation, step sizes, the backtracked proximal-gradient step."""

    _needs_closure = True

    def __init__(self, params: Iterable[Any], lr: float = 1.0, *, penalty: Penalty | None = None,
                 backtracking: bool = True, shrink: float = 0.5, max_backtracks: int = 60) -> None:
        defaults = dict(lr=lr, penalty=penalty, backtracking=backtracking, shrink=shrink)
        self.max_backtracks = int(max_backtracks)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        try:
            _check(self.param_groups[-1])
            for p in self.param_groups[-1]["params"]:
                if not p.is_floating_point():
                    raise ValueError(f"{type(self).__name__} needs floating-point parameters, got {p.dtype}")
        except Exception:
            self.param_groups.pop()
            raise

    def _params(self):
        """The ``(group, param)`` pairs of a step, after checking every group's penalty parameters
        again (a bad value written since the last step is refused before anything moves)."""
        for g in self.param_groups:
            if g["penalty"] is not None:
                g["penalty"].check()
        return [(g, p) for g in self.param_groups for p in g["params"]]

    def _step_of(self, group, p):
        st = self.state[p]
        if "step_size" not in st:
            st["step_size"] = float(group["lr"])
        return st["step_size"]

    def _closure(self, closure):
        if closure is None:
            raise RuntimeError(f"{type(self).__name__}.step needs a closure that re-evaluates the model and returns "
                               "the loss (the backtracking line search evaluates the loss at trial points): "
                               "opt.step(closure)")
        with torch.enable_grad():
            return closure()

    def _prox_step(self, closure, base: list[torch.Tensor], loss_base: torch.Tensor) -> torch.Tensor:
        """From ``base`` (values, with the gradients now in ``p.grad``), take the backtracked step.

        Writes the new iterate into the parameters; returns the loss there.
        """
        pairs = self._params()
        grads = [torch.zeros_like(p) if p.grad is None else p.grad.detach().clone() for _, p in pairs]
        for _ in range(self.max_backtracks + 1):
            quad = 0.0
            lin = 0.0
            with torch.no_grad():
                for (g, p), x0, gr in zip(pairs, base, grads):
                    s = self._step_of(g, p)
                    u = x0 - s * gr
                    new = g["penalty"].prox(u, s) if g["penalty"] is not None else u
                    p.copy_(new)
                    d = (new - x0).to(torch.float64)
                    lin += float((gr.to(torch.float64) * d).sum())
                    quad += float((d * d).sum()) / (2 * s)
            loss_new = self._closure(closure)
            if not any(g["backtracking"] for g in self.param_groups):
                return loss_new
            if float(loss_new) <= float(loss_base) + lin + quad + 1e-12 * abs(float(loss_base)):
                return loss_new
            for g, p in pairs:
                if g["backtracking"]:
                    self.state[p]["step_size"] = self._step_of(g, p) * g["shrink"]
        return loss_new


class ISTA(_ProxGradient):
    """Proximal gradient descent with backtracking (see the module docstring).

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups (each group may set ``penalty``, ``lr``).
    lr : float, default=1.0
        Initial step (shrunk by ``shrink`` until sufficient decrease).
    penalty : Penalty or None
        Default penalty :math:`g` of the groups (its ``prox`` is applied after each gradient
        step); None: no penalty, plain gradient descent.
    backtracking : bool, default=True
        With ``False`` the step stays ``lr`` and the closure is optional (the gradients in
        ``.grad`` are used).
    shrink : float, default=0.5
        Factor in ``(0, 1)`` by which a step is multiplied at each failed trial.
    max_backtracks : int, default=60
        Most step reductions per step; after that many the last trial point is kept
        (accepted without sufficient decrease).
    """

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        """One proximal-gradient step; returns the loss at the starting point."""
        pairs = self._params()
        if closure is None and not any(g["backtracking"] for g in self.param_groups):
            for g, p in pairs:
                if p.grad is None:
                    continue
                s = self._step_of(g, p)
                u = p - s * p.grad
                p.copy_(g["penalty"].prox(u, s) if g["penalty"] is not None else u)
            return None
        loss = self._closure(closure)
        base = [p.detach().clone() for _, p in pairs]
        self._prox_step(closure, base, loss)
        return loss


class FISTA(_ProxGradient):
    """Accelerated proximal gradient with backtracking and adaptive restart (see the module docstring).

    Parameters as :class:`ISTA`, plus ``restart`` (default True). The closure is required.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups (each group may set ``penalty``, ``lr``).
    lr : float, default=1.0
        Initial step (shrunk by ``shrink`` until sufficient decrease).
    penalty : Penalty or None
        Default penalty :math:`g` of the groups; None: no penalty.
    backtracking : bool, default=True
        Shrink the step until sufficient decrease; with ``False`` the step stays ``lr``.
    shrink : float, default=0.5
        Factor in ``(0, 1)`` by which a step is multiplied at each failed trial.
    restart : bool, default=True
        Adaptive restart: reset the momentum (:math:`t = 1`) when the step goes against
        the previous direction.
    max_backtracks : int, default=60
        Most step reductions per step; after that many the last trial point is kept
        (accepted without sufficient decrease).
    """

    def __init__(self, params: Iterable[Any], lr: float = 1.0, *, penalty: Penalty | None = None,
                 backtracking: bool = True, shrink: float = 0.5, restart: bool = True,
                 max_backtracks: int = 60) -> None:
        self.restart = bool(restart)
        super().__init__(params, lr, penalty=penalty, backtracking=backtracking, shrink=shrink,
                         max_backtracks=max_backtracks)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        """One FISTA step; returns the loss at the extrapolated point."""
        if closure is None:
            self._closure(None)
        pairs = self._params()
        w = [p.detach().clone() for _, p in pairs]
        st0 = self.state[pairs[0][1]] if pairs else {}
        t = st0.get("t", 1.0)
        beta = st0.get("beta", 0.0)
        for (_, p), wk in zip(pairs, w):  # extrapolate: z = w_k + beta (w_k - w_{k-1})
            prev = self.state[p].get("prev")
            if prev is not None and beta != 0.0:
                p.add_(wk - prev, alpha=beta)
        z = [p.detach().clone() for _, p in pairs]
        loss_z = self._closure(closure)
        self._prox_step(closure, z, loss_z)
        dot = sum(float(((zi - p) * (p - wk)).sum()) for (_, p), zi, wk in zip(pairs, z, w))
        if self.restart and dot > 0:
            t_new, beta_new = 1.0, 0.0
        else:
            t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
            beta_new = (t - 1.0) / t_new
        for (_, p), wk in zip(pairs, w):
            st = self.state[p]
            st["prev"] = wk
            st["t"] = t_new
            st["beta"] = beta_new
        return loss_z
