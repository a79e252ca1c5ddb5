r"""ProxSGD: SGD (with momentum) followed by the prox of a penalty at step ``lr``."""
from __future__ import annotations

from typing import Any, Iterable

import torch

from proxgan import _dispatch
from proxgan._lowering import SeparableProx
from proxgan.kernels.fused_penalty import L1 as _CODE_L1
from proxgan.kernels.fused_penalty import Code as _Code
from proxgan.kernels.fused_prox_sgd import fused_prox_sgd_multi
from proxgan.penalties import Penalty

from . import _cpu_step
from ._base import ProxOptimizer, check_flag, check_number, compute_dtype, hyper

__all__ = ["ProxSGD", "sgd_run"]


class ProxSGD(ProxOptimizer):
    r"""Stochastic proximal gradient: the update of :class:`torch.optim.SGD`, then a prox.

    With gradient :math:`g` (plus ``weight_decay * p``), momentum buffer
    :math:`b \leftarrow \mu b + (1-\tau) g` (:math:`b = g` at the first step) and direction
    :math:`d = b`, or :math:`d = g + \mu b` with Nesterov (:math:`d = g` without momentum):

    .. math::

        p \leftarrow \operatorname{prox}_{\text{lr}\cdot g}(p - \text{lr}\,d)
          = \arg\min_y \tfrac12 \lVert y - (p - \text{lr}\,d)\rVert^2 + \text{lr}\cdot g(y).

    For ``L1(lam)`` this soft-thresholds at ``lr * lam``: a zero weight stays exactly zero
    as long as :math:`|d_i| \le \lambda`, momentum included, and moves only when the
    (accumulated) gradient really exceeds the threshold.

    The signature is :class:`torch.optim.SGD`'s (same positional order and defaults),
    followed by the keyword-only ``penalty``; with ``penalty=None`` the step is SGD's.

    Parameters
    ----------
    params : iterable
        Parameters, named parameters or parameter groups (dicts); a group may set its own
        ``"penalty"``. Complex parameters step as their real view and take the penalties
        None, L1 (its prox shrinks the modulus) and L2.
    lr : float or Tensor
        Learning rate (also the prox step), finite and >= 0.
    momentum : float
        :math:`\mu \ge 0`.
    dampening : float
        :math:`\tau \ge 0`.
    weight_decay : float
        Added to the gradient as ``wd * p``.
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    maximize : bool
        Maximise the objective.
    foreach : bool or None
        ``True``: the multi-tensor path; ``False``: the for-loop reference (see ``fused``).
    differentiable : bool
        Run the for-loop reference under autograd (see :class:`proxgan.optim.ProxAdam`);
        the soft threshold's derivative at the threshold is taken from the zero side (0).
    fused : bool or None
        Implementation, as in :class:`proxgan.optim.ProxAdam` and torch.optim:
        ``fused=True`` is one pass over memory per tensor (one numba call per group on CPU
        for float32/float64, one Triton launch on CUDA) and takes GradScaler's fused
        protocol; the default (``fused`` and ``foreach`` ``None``) fuses what it can and
        uses the multi-tensor path for the rest.
    penalty : Penalty or None
        Default penalty of the groups.

    Notes
    -----
    Half-precision parameters keep a float32 momentum buffer. Sparse gradients are
    refused; parameters without ``.grad`` are skipped.

    Examples
    --------
    >>> import torch
    >>> from proxgan.optim import ProxSGD
    >>> from proxgan.penalties import L1
    >>> model = torch.nn.Linear(20, 1)
    >>> opt = ProxSGD(model.parameters(), lr=0.1, momentum=0.9, penalty=L1(1e-3))
    """

    def __init__(self, params: Iterable[Any], lr: float | torch.Tensor = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None, penalty: Penalty | None = None) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused,
                        penalty=penalty)
        self._check_hparams(defaults)
        super().__init__(params, defaults)

    def _check_hparams(self, group: dict[str, Any]) -> None:
        check_number(group["lr"], "lr", label="Invalid learning rate")
        momentum = check_number(group["momentum"], "momentum", label="Invalid momentum value")
        dampening = check_number(group["dampening"], "dampening")
        check_number(group["weight_decay"], "weight_decay", label="Invalid weight_decay value")
        check_flag(group["nesterov"], "nesterov")
        if group["nesterov"] and (momentum <= 0 or dampening != 0):
            raise ValueError(f"Nesterov momentum requires a momentum and zero dampening: nesterov=True needs "
                             f"momentum > 0 and dampening == 0, got momentum={momentum!r}, dampening={dampening!r}")

    _optional_state_keys = ("momentum_buffer",)

    def _init_state(self, p: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        pass  # the momentum buffer is made at the first step with momentum, from the gradient

    def _run(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
             states: list[dict[str, Any]], impl: str, lowering: SeparableProx | None, memo: dict) -> None:
        sgd_run(group, params, grads, states, impl, lowering, memo)

    def _prox_steps(self, group: dict[str, Any], x: torch.Tensor, state: dict[str, Any]) -> Any:
        return float(group["lr"])


def sgd_run(group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
            states: list[dict[str, Any]], impl: str, lowering: SeparableProx | None, memo: dict) -> None:
    """One ProxSGD step of ``params`` (one group, one implementation ``impl``): what
    :class:`ProxSGD` and :func:`proxgan.optim.functional.prox_sgd` both run. A momentum
    buffer is created in ``states[i]["momentum_buffer"]`` at the first step with momentum.

    Parameters
    ----------
    group : dict
        The parameter group: its hyperparameters (``lr``, ``momentum``, ``dampening``, ``nesterov``, ``weight_decay``, ``penalty``, ...)
        as the optimizer stores them, already checked.
    params : list of torch.Tensor
        The group's parameters to step (those with a gradient), updated in place.
    grads : list of torch.Tensor
        Their gradients, in the same order.
    states : list of dict
        The optimizer state of each parameter (its ``step`` count and buffers), updated in
        place.
    impl : str
        The implementation: ``"triton"``, ``"fused"`` (CPU), ``"foreach"`` or
        ``"reference"`` (see :class:`~proxgan.optim._base.ProxOptimizer`).
    lowering : SeparableProx or None
        The group penalty's lowering (:func:`proxgan._lowering.lower`): its penalty code
        and scalars for the fused paths.
    memo : dict
        Values derived from the group alone, cached between steps and emptied when the
        group changes.
    """
    if impl in ("fused", "triton"):
        _sgd_fused(group, params, grads, states, impl, lowering, memo)
    elif impl == "foreach":
        _sgd_foreach(group, params, grads, states, lowering)
    else:
        for p, g, st in zip(params, grads, states):
            _sgd_reference(group, p, g, st)


def _sgd_reference(group: dict[str, Any], p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any]) -> None:
    """The readable specification: one parameter, plain tensor expressions."""
    lr, mu, wd = hyper(group["lr"]), float(group["momentum"]), float(group["weight_decay"])
    x = (p if group.get("differentiable", False) else p.detach()).to(compute_dtype(p))  # differentiable: autograd
    g = grad.to(x.dtype)
    if group["maximize"]:
        g = -g
    if wd != 0:
        g = g + wd * x
    if mu != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = g.clone()
        else:
            buf.copy_(mu * buf + (1.0 - float(group["dampening"])) * g)
        g = g + mu * buf if group["nesterov"] else buf
    u = x - lr * g
    if group["penalty"] is not None:
        u = group["penalty"]._prox(u, lr, None)
    (p if group.get("differentiable", False) else p.detach()).copy_(u)


def _sgd_foreach(group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
                 states: list[dict[str, Any]], lowering: SeparableProx | None) -> None:
    """Multi-tensor path with ``torch._foreach_*`` ops."""
    lr, mu, wd = float(group["lr"]), float(group["momentum"]), float(group["weight_decay"])
    low = [p.dtype != compute_dtype(p) for p in params]
    xs = [p.detach().float() if lo else p.detach() for p, lo in zip(params, low)]
    gs = [g.float() if lo else g for g, lo in zip(grads, low)]
    if group["maximize"]:
        gs = torch._foreach_neg(gs)
    if wd != 0:
        gs = torch._foreach_add(gs, xs, alpha=wd)
    if mu != 0:
        new = [i for i, st in enumerate(states) if st.get("momentum_buffer") is None]
        old = [i for i, st in enumerate(states) if st.get("momentum_buffer") is not None]
        for i in new:
            states[i]["momentum_buffer"] = gs[i].clone()
        if old:
            bufs = [states[i]["momentum_buffer"] for i in old]
            torch._foreach_mul_(bufs, mu)
            torch._foreach_add_(bufs, [gs[i] for i in old], alpha=1.0 - float(group["dampening"]))
        bufs = [st["momentum_buffer"] for st in states]
        gs = torch._foreach_add(gs, bufs, alpha=mu) if group["nesterov"] else bufs
    torch._foreach_add_(xs, gs, alpha=-lr)
    penalty = group["penalty"]
    if penalty is not None:
        if lowering is not None and lowering.scalar and lowering.code == _CODE_L1:
            t = lr * lowering.a
            clamped = torch._foreach_clamp_min(xs, -t)
            torch._foreach_clamp_max_(clamped, t)
            torch._foreach_sub_(xs, clamped)
        else:
            for x in xs:
                penalty._prox(x, lr, x)
    for p, x, lo in zip(params, xs, low):
        if lo:
            p.detach().copy_(x)


def _sgd_fused(group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
               states: list[dict[str, Any]], impl: str, lowering: SeparableProx, memo: dict) -> None:
    """One pass over memory: one numba call or Triton launch per dtype (DTensors: local shards)."""
    kw = memo.get("sgd")
    if kw is None:
        code, a, b = lowering.kernel_args()
        kw = memo["sgd"] = dict(lr=hyper(group["lr"]), momentum=float(group["momentum"]),
                                dampening=hyper(group["dampening"]), nesterov=group["nesterov"],
                                weight_decay=hyper(group["weight_decay"]), maximize=group["maximize"], code=code,
                                a=a, b=b)
    mu = kw["momentum"]
    firsts = bufs = None  # no buffers without momentum
    if mu != 0:
        bufs = [st.get("momentum_buffer") for st in states]
        if any([buf is None for buf in bufs]):  # a first momentum step starts from a zero-filled buffer
            firsts = [buf is None for buf in bufs]
            for i, first in enumerate(firsts):
                if first:
                    bufs[i] = states[i]["momentum_buffer"] = torch.zeros_like(
                        params[i], dtype=compute_dtype(params[i]), memory_format=torch.contiguous_format)
        bufs = _dispatch.local_all(bufs)
    ps, gs = _dispatch.local_all(params), _dispatch.local_all(grads)  # both launchers make grads contiguous
    for idx in _launches(ps, firsts, impl == "triton"):
        if idx is None:
            lp, lg, lb, lf = ps, gs, bufs, firsts
        else:
            lp, lg = [ps[i] for i in idx], [gs[i] for i in idx]
            lb = None if bufs is None else [bufs[i] for i in idx]
            lf = None if firsts is None else [firsts[i] for i in idx]
        weights = None
        if kw["code"] == _Code.L1W:
            weights = lowering.kernel_weights(lp, compute_dtype(lp[0]), memo)
        if impl == "triton":
            fused_prox_sgd_multi([p.detach() for p in lp], lg, [None] * len(lp) if lb is None else lb,
                                 first=bool(lf and lf[0]), weights=weights, **kw)
        else:
            _cpu_step.sgd_step(lp, lg, lb, lf, memo, lowering.block_args(), kw, weights)


def _launches(ps: list[torch.Tensor], firsts: list[bool] | None, triton: bool) -> list[list[int] | None]:
    """The parameters of each launch: one per dtype (on Triton also per first momentum step),
    empty tensors left out (nothing to do); ``[None]`` when one launch takes them all."""
    dtype = ps[0].dtype
    if all([p.dtype is dtype and p.numel() for p in ps]) and not (triton and firsts and len(set(firsts)) > 1):
        return [None]
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(ps):
        if p.numel():
            groups.setdefault((p.dtype, bool(triton and firsts and firsts[i])), []).append(i)
    return list(groups.values())
