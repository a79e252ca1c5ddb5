r"""Block-coordinate proximal gradient as a ``torch.optim`` optimizer.

The blocks are the parameter tensors, visited cyclically in the order of the parameter
groups. One ``step`` is one cycle: for each block :math:`b`, with the other blocks fixed,

.. math::

    w_b \leftarrow \operatorname{prox}_{s_b g}\big(w_b - s_b \nabla_b f(w)\big),

where the block's own step :math:`s_b` starts at the group's ``lr`` and is multiplied by
``shrink`` until :math:`f(w^+) \le f(w) + \langle \nabla_b f, w_b^+ - w_b\rangle +
\tfrac{1}{2 s_b}\lVert w_b^+ - w_b\rVert^2` (a block-wise backtracking line search; the step
found is kept for the next cycle and may grow again by ``1/shrink`` when it was accepted at
the first trial). ``prox`` is the group's penalty's (``penalty.prox(x, step)``). The closure,
required, zeroes the gradients, computes the loss, calls ``backward()`` and returns the loss;
it is called once per block and once more per backtracking trial.

Examples
--------
>>> import torch
>>> from proxgan.optim import CoordinateDescent
>>> from proxgan.penalties import L1
>>> g = torch.Generator().manual_seed(0)
>>> X = torch.randn(40, 6, dtype=torch.float64, generator=g); y = X[:, 0] + 1.0
>>> w = torch.zeros(6, dtype=torch.float64, requires_grad=True)
>>> b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
>>> opt = CoordinateDescent([{"params": [w], "penalty": L1(0.05)}, {"params": [b]}], lr=1.0)
>>> def closure():
...     opt.zero_grad()
...     loss = 0.5 * ((X @ w + b - y) ** 2).mean()
...     loss.backward()
...     return loss
>>> for _ in range(300):
...     _ = opt.step(closure)
>>> round(b.item(), 1), int((w == 0).sum()) > 0
(1.0, True)
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import torch

from proxgan.optim.fista import _ProxGradient
from proxgan.penalties import Penalty

__all__ = ["CoordinateDescent"]


class CoordinateDescent(_ProxGradient):
    """Cyclic block-coordinate proximal gradient (see the module docstring).

    Parameters
    ----------
    params : iterable
        Parameters or groups (``penalty``, ``lr`` per group); every tensor is one block.
    lr : float, default=1.0
        Initial step of every block.
    penalty : Penalty or None
        Default penalty :math:`g` of the groups (its ``prox`` is applied after each block's
        gradient step); None: no penalty.
    backtracking : bool, default=True
        Shrink each block's step until sufficient decrease; with ``False`` every trial is
        accepted and the step stays ``lr``.
    shrink : float, default=0.5
        Factor in ``(0, 1)`` by which a block's step is multiplied at each failed trial
        (and divided by after a step accepted at the first trial).
    max_backtracks : int, default=60
        Most step reductions per block and cycle; after that many the last trial point is
        kept.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1.0, *, penalty: Penalty | None = None,
                 backtracking: bool = True, shrink: float = 0.5, max_backtracks: int = 60) -> None:
        super().__init__(params, lr, penalty=penalty, backtracking=backtracking, shrink=shrink,
                         max_backtracks=max_backtracks)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        """One cycle over the blocks; returns the loss before the cycle."""
        first = self._closure(closure)
        loss = first
        for g, p in self._params():
            if p.grad is None:
                continue
            x0 = p.detach().clone()
            gr = p.grad.detach().clone()
            grew = False
            for trial in range(self.max_backtracks + 1):
                s = self._step_of(g, p)
                u = x0 - s * gr
                new = g["penalty"].prox(u, s) if g["penalty"] is not None else u
                p.copy_(new)
                d = (new - x0).to(torch.float64)
                bound = float(loss) + float((gr.to(torch.float64) * d).sum()) + float((d * d).sum()) / (2 * s)
                loss_new = self._closure(closure)
                if not g["backtracking"] or float(loss_new) <= bound + 1e-12 * abs(float(loss)):
                    grew = trial == 0
                    break
                self.state[p]["step_size"] = s * g["shrink"]
            loss = loss_new
            if g["backtracking"] and grew:
                self.state[p]["step_size"] = min(self._step_of(g, p) / g["shrink"], float(g["lr"]) * 1e6)
        return first
