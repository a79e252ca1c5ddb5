r"""A proximal step after any torch optimizer: :class:`Prox` and TensorFlow's :class:`ProxAdagrad`.

``Prox(base, penalty)`` runs ``base.step()`` and then, for every parameter that the step
updated, the prox of the group's penalty,

.. math::

    p \leftarrow \arg\min_y \ \tfrac12 \sum_i \frac{(y_i - p_i)^2}{s_i} + g(y),

at a step :math:`s` read from the base optimizer (``prox="preconditioned"``, the
default), in the metric that the base step used where it is known (ProxGen: Yun, Lozano
& Yang, NeurIPS 2021):

============================================  ==============================================
base optimizer (``torch.optim``)              step :math:`s_i`
============================================  ==============================================
``Adam``, ``AdamW`` (AMSGrad: the maximum)    :math:`\text{lr} / (\sqrt{v_i / (1-\beta_2^t)} + \epsilon)`
``NAdam``                                     :math:`\text{lr} / (\sqrt{v_i / (1-\beta_2^t)} + \epsilon)`
``RMSprop`` (centred: :math:`v - \bar g^2`)   :math:`\text{lr} / (\sqrt{v_i} + \epsilon)`
``Adagrad``                                   :math:`\text{lr}_t / (\sqrt{G_i} + \epsilon)`, :math:`\text{lr}_t = \text{lr}/(1 + (t-1)\,\text{lr\_decay})`
any other (``SGD``, a user's optimizer)       the scalar :math:`\text{lr}` of the group
============================================  ==============================================

With ``prox="scalar"`` every optimizer takes the scalar step :math:`\text{lr}`. The
scalar step is exact for SGD; for another optimizer with its own metric it is the
"prox after the step" heuristic, not ProxGen.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterable

import torch
from torch.optim import Adagrad, Adam, NAdam, Optimizer, RMSprop

from proxgan.penalties import L1, L2, ElasticNet, Penalty

from . import _complex

__all__ = ["Prox", "ProxAdagrad", "metric_step"]

_HOOKS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
          "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
          "_optimizer_load_state_dict_post_hooks")


def _real(t: torch.Tensor) -> torch.Tensor:
    return torch.view_as_real(t) if t.is_complex() else t


def metric_step(opt: Optimizer, group: dict[str, Any], state: dict[str, Any]) -> float | torch.Tensor:
    """The prox step of one parameter after ``opt``'s step (the table of the module docstring).

    Parameters
    ----------
    opt : torch.optim.Optimizer
        The base optimizer (its class selects the metric).
    group : dict
        The parameter's group (``lr``, ``eps``, ``betas``... as the optimizer keeps them).
    state : dict
        The parameter's state after the step.

    Returns
    -------
    float or Tensor
        The group's ``lr``, or a tensor shaped like the parameter's real view.
    """
    lr = float(group["lr"])
    if isinstance(opt, (Adam, NAdam)) and "exp_avg_sq" in state:
        v = state["max_exp_avg_sq"] if group.get("amsgrad") and "max_exp_avg_sq" in state else state["exp_avg_sq"]
        bc2 = 1.0 - float(group["betas"][1]) ** float(state["step"])
        return lr / (torch.sqrt(_real(v) / bc2) + float(group["eps"]))
    if isinstance(opt, RMSprop) and "square_avg" in state:
        v = _real(state["square_avg"])
        if group.get("centered") and "grad_avg" in state:
            v = v - _real(state["grad_avg"]) ** 2
        return lr / (torch.sqrt(v) + float(group["eps"]))
    if isinstance(opt, Adagrad) and "sum" in state:
        clr = lr / (1.0 + (float(state["step"]) - 1.0) * float(group["lr_decay"]))
        return clr / (torch.sqrt(_real(state["sum"])) + float(group["eps"]))
    return lr


class Prox(Optimizer):
    r"""Add the prox of a penalty to any ``torch.optim.Optimizer``.

    ``Prox(base, penalty)`` shares the base optimizer's ``param_groups``, ``state`` and
    ``defaults`` (learning-rate schedulers, ``zero_grad`` and ``add_param_group`` act on
    the base). :meth:`step` runs ``base.step(closure)`` and then, for each parameter that
    has a gradient, the prox of its group's ``"penalty"`` (``penalty`` by default) at the
    step of :func:`metric_step` (see the module docstring for the metric of each base
    optimizer). Complex parameters take the penalties None, L1 (modulus) and L2.

    Parameters
    ----------
    base_optimizer : torch.optim.Optimizer
        The optimizer whose step comes first (its groups may carry a ``"penalty"`` key,
        e.g. built by :func:`proxgan.optim.param_groups`).
    penalty : Penalty or None
        The default penalty of the groups that set none.
    prox : {"preconditioned", "scalar"}
        The metric of the prox: the base optimizer's where known, or the scalar ``lr``.

    Examples
    --------
    >>> import torch
    >>> from proxgan.optim import Prox
    >>> from proxgan.penalties import L1
    >>> w = torch.nn.Parameter(torch.tensor([1.0, 0.001]))
    >>> opt = Prox(torch.optim.SGD([w], lr=0.1), L1(0.5))
    >>> w.grad = torch.zeros(2); _ = opt.step()
    >>> w.detach()
    tensor([0.9500, 0.0000])
    """

    def __init__(self, base_optimizer: Optimizer, penalty: Penalty | None = None, *,
                 prox: str = "preconditioned") -> None:
        if not isinstance(base_optimizer, Optimizer):
            raise TypeError(f"base_optimizer must be a torch.optim.Optimizer, got {type(base_optimizer).__name__}")
        if penalty is not None and not isinstance(penalty, Penalty):
            raise TypeError(f"penalty must be a proxgan.penalties.Penalty or None, got {type(penalty).__name__}")
        if prox not in ("preconditioned", "scalar"):
            raise ValueError(f"prox must be 'preconditioned' or 'scalar', got {prox!r}")
        for group in base_optimizer.param_groups:
            pen = group.get("penalty", penalty)
            if pen is not None and not isinstance(pen, Penalty):
                raise TypeError(f"penalty must be a proxgan.penalties.Penalty or None, got {type(pen).__name__}")
            for p in group["params"]:
                if p.is_complex():
                    _complex.check_penalty(pen, f"Prox({type(base_optimizer).__name__})")
        self.base = base_optimizer
        self.penalty = penalty
        self.prox = prox
        for name in _HOOKS:
            setattr(self, name, OrderedDict())
        self._patch_step_function()

    # the base optimizer's containers, shared (schedulers and zero_grad act on them)
    @property
    def param_groups(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return self.base.param_groups

    @param_groups.setter
    def param_groups(self, value: list[dict[str, Any]]) -> None:
        self.base.param_groups = value

    @property
    def state(self) -> Any:  # type: ignore[override]
        return self.base.state

    @state.setter
    def state(self, value: Any) -> None:
        self.base.state = value

    @property
    def defaults(self) -> dict[str, Any]:  # type: ignore[override]
        return self.base.defaults

    @defaults.setter
    def defaults(self, value: dict[str, Any]) -> None:
        self.base.defaults = value

    @property
    def _step_supports_amp_scaling(self) -> bool:
        """GradScaler's fused protocol, when the base optimizer takes it (``fused=True``)."""
        return bool(getattr(self.base, "_step_supports_amp_scaling", False))

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group to the base optimizer (it may carry its own ``"penalty"``).

        Parameters
        ----------
        param_group : dict
            As for :meth:`torch.optim.Optimizer.add_param_group`.
        """
        self.base.add_param_group(param_group)

    def state_dict(self) -> dict[str, Any]:
        """The base optimizer's state_dict (the penalties are configuration, not state)."""
        sd = self.base.state_dict()
        sd["param_groups"] = [{k: v for k, v in g.items() if k != "penalty"} for g in sd["param_groups"]]
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state_dict of the base optimizer; the configured penalties are kept.

        Parameters
        ----------
        state_dict : dict
            As returned by :meth:`state_dict` (or by the base optimizer).
        """
        pens = [g.get("penalty") for g in self.base.param_groups]
        self.base.load_state_dict(state_dict)
        for g, pen in zip(self.base.param_groups, pens):
            if pen is not None:
                g["penalty"] = pen

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """The base optimizer's step, then the prox of each group's penalty.

        Parameters
        ----------
        closure : callable, optional
            Passed to the base optimizer's step.

        Returns
        -------
        What the base step returns (the closure's loss, or ``None``).
        """
        scaled = hasattr(self, "found_inf")
        if scaled:  # GradScaler's fused protocol: the base optimizer reads them
            self.base.grad_scale, self.base.found_inf = getattr(self, "grad_scale", None), self.found_inf
        try:
            loss = self.base.step(closure) if closure is not None else self.base.step()
        finally:
            if scaled:
                del self.base.grad_scale, self.base.found_inf
        if scaled and self.found_inf is not None and bool(self.found_inf != 0):
            return loss  # the base step skipped an inf/NaN step: so does the prox
        with torch.no_grad():
            for group in self.base.param_groups:
                penalty = group.get("penalty", self.penalty)
                if penalty is None:
                    continue
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.base.state.get(p, {})
                    step = metric_step(self.base, group, state) if self.prox == "preconditioned" else \
                        float(group["lr"])
                    if p.is_complex():
                        _complex.prox_(penalty, torch.view_as_real(p), step)
                    else:
                        x = p.detach()
                        x.copy_(penalty.prox(x, step))
        return loss

    def __repr__(self) -> str:
        return f"Prox({self.base!r}, {self.penalty!r}, prox={self.prox!r})"


class ProxAdagrad(Prox):
    r"""TensorFlow's ProximalAdagrad (FOBOS with Adagrad's step sizes) on torch's Adagrad.

    TensorFlow documents the update (``tf.raw_ops.ApplyProximalAdagrad``) as

    .. math::

        G \leftarrow G + g^2, \qquad u = p - \text{lr}\, g / \sqrt{G}, \qquad
        p \leftarrow \frac{\operatorname{sign}(u)}{1 + \text{lr}\,l_2}\max(|u| - \text{lr}\,l_1, 0),

    i.e. Adagrad's step (``eps=0``, accumulator started at ``initial_accumulator_value``)
    followed by the prox of :math:`l_1|x| + \tfrac{l_2}{2}x^2` at the scalar step
    ``lr`` (``prox="scalar"``, the default here). ``prox="preconditioned"`` takes the
    prox at Adagrad's per-coordinate step :math:`\text{lr}/\sqrt{G}` instead (ProxGen).

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float
        Learning rate.
    initial_accumulator_value : float
        Starting value of the accumulator :math:`G` (TensorFlow's default 0.1).
    l1, l2 : float
        The L1 and squared-L2 strengths (:math:`l_1|x| + \tfrac{l_2}{2}x^2`, an
        :class:`~proxgan.penalties.ElasticNet`).
    eps : float
        Added to :math:`\sqrt{G}` (0 in TensorFlow).
    prox : {"scalar", "preconditioned"}
        The step of the prox: ``lr`` (TensorFlow's formula) or ``lr / (sqrt(G) + eps)``.

    Examples
    --------
    >>> import torch
    >>> from proxgan.optim import ProxAdagrad
    >>> w = torch.nn.Parameter(torch.ones(3))
    >>> opt = ProxAdagrad([w], lr=0.1, l1=0.01)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, initial_accumulator_value: float = 0.1,
                 l1: float = 0.0, l2: float = 0.0, eps: float = 0.0, *, prox: str = "scalar") -> None:
        for name, value in (("l1", l1), ("l2", l2)):
            if not (isinstance(value, (int, float)) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        lam = float(l1) + float(l2)
        penalty = None if lam == 0 else (L1(l1) if l2 == 0 else L2(l2) if l1 == 0 else
                                         ElasticNet(lam, float(l1) / lam))
        base = Adagrad(params, lr=lr, initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(base, penalty, prox=prox)
