r"""ProxAdamW: AdamW (decoupled weight decay) followed by the prox of a penalty."""
from __future__ import annotations

from typing import Any, Iterable

import torch

from proxgan.penalties import Penalty

from .prox_adam import ProxAdam

__all__ = ["ProxAdamW"]


class ProxAdamW(ProxAdam):
    r""":class:`ProxAdam` with AdamW's decoupled weight decay and defaults (``weight_decay=1e-2``).

    The signature is :class:`torch.optim.AdamW`'s, followed by the keyword-only ``penalty``
    and ``prox``. One step is

    .. math::

        p \leftarrow p\,(1 - \text{lr}\cdot\text{wd}), \qquad
        u = p - \text{lr}\,\hat m / D, \qquad
        p \leftarrow \arg\min_y \ \tfrac{1}{2}\sum_i \frac{(y_i - u_i)^2}{s_i} + g(y),

    with Adam's moments and :math:`D = \sqrt{\hat v} + \epsilon` computed from the gradient
    alone, and :math:`s_i = \text{lr}/D_i` (``prox="preconditioned"``) or
    :math:`s_i = \text{lr}` (``prox="scalar"``), as in :class:`ProxAdam`. With
    ``penalty=None`` it is :class:`torch.optim.AdamW`. A ``ProxAdam`` state_dict loads
    into it (the state is the same), as torch's Adam state loads into AdamW.

    Parameters
    ----------
    params : iterable
        Parameters, named parameters or parameter groups (dicts).
    lr : float or Tensor
        Learning rate, finite and >= 0.
    betas : (float, float) or (Tensor, Tensor)
        :math:`\beta_1, \beta_2` in [0, 1).
    eps : float
        :math:`\epsilon \ge 0`.
    weight_decay : float
        Decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the step.
    amsgrad : bool
        Use the running maximum of :math:`v` (AMSGrad).
    maximize : bool
        Maximise the objective.
    foreach : bool or None
        Multi-tensor path (``True``) or for-loop reference (``False``), as in :class:`ProxAdam`.
    capturable : bool
        CUDA-graph capturable step (see :class:`ProxAdam`).
    differentiable : bool
        Run the for-loop reference under autograd (see :class:`ProxAdam`).
    fused : bool or None
        One pass over memory per tensor (see :class:`ProxAdam`).
    penalty : Penalty or None
        Default penalty of the groups.
    prox : {"preconditioned", "scalar"}
        The metric of the prox (see :class:`ProxAdam`).

    Examples
    --------
    >>> import torch
    >>> from proxgan.optim import ProxAdamW
    >>> from proxgan.penalties import L1
    >>> opt = ProxAdamW(torch.nn.Linear(4, 2).parameters(), lr=1e-2, penalty=L1(1e-3))
    >>> opt.defaults["weight_decay"], opt.defaults["decoupled_weight_decay"]
    (0.01, True)
    """

    _loads_from = ("ProxAdam",)

    def __init__(self, params: Iterable[Any], lr: float | torch.Tensor = 1e-3,
                 betas: tuple[float | torch.Tensor, float | torch.Tensor] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, penalty: Penalty | None = None, prox: str = "preconditioned") -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True, penalty=penalty, prox=prox)
