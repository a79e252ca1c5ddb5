r"""Functional proximal steps, as :func:`torch.optim.adam.adam` and :func:`torch.optim.sgd.sgd`.

For training loops that keep the optimizer state themselves (meta-learning,
``torch.distributed.optim``-style code, a custom ``Optimizer``). Each function takes the
parameters, gradients and state tensors as lists, in torch's order and with torch's
keywords, plus ``penalty`` (and ``prox`` for Adam), and updates everything in place.

They run exactly what :class:`~proxgan.optim.ProxAdam` and :class:`~proxgan.optim.ProxSGD`
run: the same checks (a rejected call writes nothing), the same choice of implementation
per parameter (:func:`proxgan._dispatch.step_impl`: fused, multi-tensor or for-loop, from
``foreach``/``fused`` with torch.optim's meanings), the same step helpers, GradScaler's
``grad_scale``/``found_inf`` and complex parameters. A call with the class's
hyperparameters and state gives bit-for-bit the class's step.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from proxgan import _dispatch
from proxgan._lowering import lower
from proxgan.penalties import Penalty

from ._base import ProxOptimizer
from .prox_adam import ProxAdam
from .prox_sgd import ProxSGD

__all__ = ["prox_adam", "prox_sgd"]


def _run(cls: type[ProxOptimizer], group: dict[str, Any], grads: Sequence[torch.Tensor], states: list[dict],
         grad_scale: torch.Tensor | None, found_inf: torch.Tensor | None) -> None:
    """Check ``group`` and step it with the class's machinery, on the caller's states."""
    opt = object.__new__(cls)  # the class's methods, without an optimizer's bookkeeping
    params = group["params"]
    if not (len(params) == len(grads) == len(states)):
        raise ValueError(f"params, grads and the state lists must have one entry per parameter, got "
                         f"{len(params)} parameters and {len(grads)} gradients")
    opt._check_group(group, at_step=True)
    if found_inf is not None and bool(found_inf != 0):  # an inf/NaN step changes nothing
        return
    compiling = _dispatch.compiling()
    state_of = {p: st for p, st in zip(params, states)}
    work = [(group, lower(group["penalty"]), {}, list(params), list(grads))]
    grad_mode = torch.is_grad_enabled()
    torch._C._set_grad_enabled(bool(group["differentiable"]))
    try:
        opt._apply(work, state_of, compiling, grad_scale)
    finally:
        torch._C._set_grad_enabled(grad_mode)


def prox_adam(params: list[torch.Tensor], grads: list[torch.Tensor], exp_avgs: list[torch.Tensor],
              exp_avg_sqs: list[torch.Tensor], max_exp_avg_sqs: list[torch.Tensor], state_steps: list[torch.Tensor],
              foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
              fused: bool | None = None, grad_scale: torch.Tensor | None = None,
              found_inf: torch.Tensor | None = None, has_complex: bool = False, decoupled_weight_decay: bool = False,
              *, amsgrad: bool, beta1: float | torch.Tensor, beta2: float | torch.Tensor, lr: float | torch.Tensor,
              weight_decay: float, eps: float, maximize: bool, penalty: Penalty | None = None,
              prox: str = "preconditioned") -> None:
    r"""One ProxAdam step on lists of tensors (torch.optim.adam.adam's signature, plus the prox).

    The math is :class:`~proxgan.optim.ProxAdam`'s: Adam's update, then
    :math:`\arg\min_y \tfrac12\sum_i (y_i-u_i)^2/s_i + g(y)` with :math:`s_i = \text{lr}/D_i`
    (``prox="preconditioned"``) or :math:`s_i = \text{lr}` (``"scalar"``).

    Parameters
    ----------
    params, grads : list of Tensor
        The parameters (updated in place) and their gradients.
    exp_avgs, exp_avg_sqs : list of Tensor
        Adam's first and second moments (zeros before the first step), updated in place.
    max_exp_avg_sqs : list of Tensor
        AMSGrad's running maxima (used when ``amsgrad``; may be empty otherwise).
    state_steps : list of Tensor
        The step counts, 0-d float32 tensors, incremented in place.
    foreach : bool or None
        Multi-tensor implementation, with torch.optim's meaning (see
        :class:`~proxgan.optim.ProxAdam`).
    capturable : bool
        Step counts on the CUDA device, no host synchronisation.
    differentiable : bool
        Run the for-loop reference under autograd.
    fused : bool or None
        Fused implementation, with torch.optim's meaning (see
        :class:`~proxgan.optim.ProxAdam`).
    grad_scale, found_inf : Tensor or None
        GradScaler's scale (the gradients are divided by it) and inf flag (nonzero: no change).
    has_complex : bool
        Accepted for torch's signature; complex parameters are detected from their dtype.
    decoupled_weight_decay : bool
        AdamW's weight decay.
    amsgrad : bool
        Use the running maximum of the second moment.
    beta1, beta2 : float or Tensor
        Moment decay rates in [0, 1).
    lr : float or Tensor
        Learning rate (and prox scale).
    weight_decay : float
        Weight decay (coupled, or decoupled with ``decoupled_weight_decay``).
    eps : float
        Added to the square root of the second moment.
    maximize : bool
        Maximise the objective.
    penalty : Penalty or None
        The penalty whose prox ends the step.
    prox : {"preconditioned", "scalar"}
        The metric of the prox.

    Examples
    --------
    >>> import torch
    >>> from proxgan.optim.functional import prox_adam
    >>> from proxgan.penalties import L1
    >>> p, g = torch.ones(3), torch.tensor([1.0, -1.0, 0.0])
    >>> m, v, step = torch.zeros(3), torch.zeros(3), torch.tensor(0.0)
    >>> prox_adam([p], [g], [m], [v], [], [step], amsgrad=False, beta1=0.9, beta2=0.999, lr=0.1,
    ...           weight_decay=0.0, eps=1e-8, maximize=False, penalty=L1(1.0))
    >>> p
    tensor([0.8000, 1.0000, 0.0000])
    """
    del has_complex
    group = dict(params=list(params), lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                 amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
                 differentiable=differentiable, fused=fused, decoupled_weight_decay=decoupled_weight_decay,
                 penalty=penalty, prox=prox)
    n = len(group["params"])
    if len(exp_avgs) != n or len(exp_avg_sqs) != n or len(state_steps) != n or (amsgrad and len(max_exp_avg_sqs) != n):
        raise ValueError("exp_avgs, exp_avg_sqs, state_steps (and max_exp_avg_sqs with amsgrad) need one entry per "
                         f"parameter ({n})")
    states = []
    for i in range(n):
        st = {"step": state_steps[i], "exp_avg": exp_avgs[i], "exp_avg_sq": exp_avg_sqs[i]}
        if amsgrad:
            st["max_exp_avg_sq"] = max_exp_avg_sqs[i]
        states.append(st)
    _run(ProxAdam, group, grads, states, grad_scale, found_inf)


def prox_sgd(params: list[torch.Tensor], d_p_list: list[torch.Tensor],
             momentum_buffer_list: list[torch.Tensor | None], has_sparse_grad: bool = False,
             foreach: bool | None = None, fused: bool | None = None, grad_scale: torch.Tensor | None = None,
             found_inf: torch.Tensor | None = None, *, weight_decay: float, momentum: float,
             lr: float | torch.Tensor, dampening: float, nesterov: bool, maximize: bool,
             penalty: Penalty | None = None, differentiable: bool = False) -> None:
    r"""One ProxSGD step on lists of tensors (torch.optim.sgd.sgd's signature, plus the prox).

    The math is :class:`~proxgan.optim.ProxSGD`'s: SGD's update ``u = p - lr * d``, then
    :math:`\arg\min_y \tfrac12\lVert y-u\rVert^2 + \text{lr}\cdot g(y)`.

    Parameters
    ----------
    params : list of Tensor
        The parameters, updated in place.
    d_p_list : list of Tensor
        Their gradients.
    momentum_buffer_list : list of Tensor or None
        The momentum buffers; a ``None`` entry is replaced by the new buffer at a first
        step with momentum, as torch's ``sgd`` does.
    has_sparse_grad : bool
        Must be False: sparse gradients are refused.
    foreach, fused : bool or None
        Implementation, with torch.optim's meanings (see :class:`~proxgan.optim.ProxSGD`).
    grad_scale, found_inf : Tensor or None
        GradScaler's scale (the gradients are divided by it) and inf flag (nonzero: no change).
    weight_decay : float
        Added to the gradient as ``wd * p``.
    momentum : float
        Momentum factor.
    lr : float or Tensor
        Learning rate (also the prox step).
    dampening : float
        Momentum dampening.
    nesterov : bool
        Nesterov momentum.
    maximize : bool
        Maximise the objective.
    penalty : Penalty or None
        The penalty whose prox ends the step.
    differentiable : bool
        Run the for-loop reference under autograd.

    Examples
    --------
    >>> import torch
    >>> from proxgan.optim.functional import prox_sgd
    >>> from proxgan.penalties import L1
    >>> p, bufs = torch.tensor([1.0, 0.05]), [None]
    >>> prox_sgd([p], [torch.zeros(2)], bufs, weight_decay=0.0, momentum=0.0, lr=0.1, dampening=0.0,
    ...          nesterov=False, maximize=False, penalty=L1(1.0))
    >>> p
    tensor([0.9000, 0.0000])
    """
    if has_sparse_grad or any(g.layout is not torch.strided for g in d_p_list):
        raise RuntimeError("prox_sgd does not support sparse gradients; use dense gradients")
    group = dict(params=list(params), lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                 nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused,
                 penalty=penalty)
    if len(momentum_buffer_list) != len(group["params"]):
        raise ValueError(f"momentum_buffer_list needs one entry per parameter ({len(group['params'])}), got "
                         f"{len(momentum_buffer_list)}")
    states = [{} if buf is None else {"momentum_buffer": buf} for buf in momentum_buffer_list]
    _run(ProxSGD, group, d_p_list, states, grad_scale, found_inf)
    for i, st in enumerate(states):
        momentum_buffer_list[i] = st.get("momentum_buffer")
