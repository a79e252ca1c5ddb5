"""Build an optimizer and a penalty from an :class:`~proxgan.apps.config.OptimConfig`.

Two ways to use a penalty :math:`g` with strength :math:`\\lambda`:

``prox``
    the param groups carry the penalty and :class:`proxgan.optim.ProxSGD` /
    :class:`proxgan.optim.ProxAdam` apply :math:`\\operatorname{prox}_{s\\lambda g}` after
    each smooth step, which gives exact zeros;
``loss``
    :func:`penalty_loss` adds :math:`\\sum_p \\lambda g(p)` to the training loss and any
    optimizer follows its (sub)gradient: the baseline.

Either way the penalty covers the parameters that :func:`proxgan.optim.param_groups`
penalises (weights; biases and normalisation scales are left alone).

Examples
--------
>>> from torch import nn
>>> from proxgan.apps.config import OptimConfig
>>> from proxgan.apps.optimizers import build_optimizer
>>> opt, groups = build_optimizer(nn.Linear(3, 2), OptimConfig("adam", 1e-3, "l1", 1e-4, "loss"))
>>> type(opt).__name__
'Adam'
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from proxgan._registry import OPTIMIZERS, PENALTIES, check_name
from proxgan.apps.config import OptimConfig
from proxgan.optim import param_groups
from proxgan.penalties import Penalty

__all__ = ["make_penalty", "build_optimizer", "penalty_loss"]


def make_penalty(name: str, lam: float) -> Penalty | None:
    """The penalty registered as ``name`` (:data:`proxgan._registry.PENALTIES`), or ``None`` for ``"none"``.

    ``group`` is ``GroupL1(lam, dim=0)`` (one group per output channel / row);
    ``elasticnet`` uses ``l1_ratio=0.5``.

    Parameters
    ----------
    name : str
        A penalty name of the registry.
    lam : float
        Its strength.
    """
    check_name(name, PENALTIES, "penalty")
    return PENALTIES[name].make(lam)


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> tuple[torch.optim.Optimizer, list[dict[str, Any]]]:
    """Optimizer for ``model`` following ``cfg`` (built by its entry of :data:`proxgan._registry.OPTIMIZERS`).

    Parameters
    ----------
    model : torch.nn.Module
        The network to optimise.
    cfg : OptimConfig
        Optimizer, learning rate, penalty and how it is applied.

    Returns
    -------
    optimizer : torch.optim.Optimizer
    loss_groups : list of dict
        The param groups whose penalty :func:`penalty_loss` must add to the loss
        (empty unless ``cfg.penalty_mode == "loss"``).
    """
    cfg.validate()
    pen = make_penalty(cfg.penalty, cfg.lam)
    spec = PENALTIES[cfg.penalty]
    groups = spec.groups(model, pen) if spec.groups is not None else param_groups(model, pen)
    loss_groups: list[dict[str, Any]] = []
    if cfg.penalty_mode == "loss" or pen is None:
        loss_groups = [g for g in groups if g.get("penalty") is not None]
        groups = [{k: v for k, v in g.items() if k != "penalty"} for g in groups]
    return OPTIMIZERS[cfg.optimizer].build(groups, cfg), loss_groups


def penalty_loss(loss_groups: list[dict[str, Any]]) -> torch.Tensor | float:
    """:math:`\\sum_{\\text{groups}} \\sum_{p} g(p)` over the groups returned by :func:`build_optimizer` (0.0 if none).

    Parameters
    ----------
    loss_groups : list of dict
        The second value returned by :func:`build_optimizer` (groups whose penalty goes into the
        loss).
    """
    total: torch.Tensor | float = 0.0
    for g in loss_groups:
        pen = g["penalty"]
        for p in g["params"]:
            total = total + pen.value(p)
    return total
