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

from proxgan import penalties as P
from proxgan.apps.config import OptimConfig
from proxgan.optim import ProxAdam, ProxSGD, param_groups

__all__ = ["make_penalty", "build_optimizer", "penalty_loss"]


def make_penalty(name: str, lam: float) -> P.Penalty | None:
    """The penalty named on the command line, or ``None`` for ``"none"``.

    ``group`` is ``GroupL1(lam, dim=0)`` (one group per output channel / row);
    ``elasticnet`` uses ``l1_ratio=0.5``.
    """
    if name == "none":
        return None
    table = {
        "l1": lambda: P.L1(lam),
        "l2": lambda: P.L2(lam),
        "elasticnet": lambda: P.ElasticNet(lam, 0.5),
        "group": lambda: P.GroupL1(lam, dim=0),
        "l0": lambda: P.L0(lam),
        "nm": lambda: P.NM(2, 4),  # N:M 2:4 on the weights whose input dimension allows it
    }
    if name not in table:
        raise ValueError(f"penalty must be one of none, {', '.join(table)}; got {name!r}")
    return table[name]()


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> tuple[torch.optim.Optimizer, list[dict[str, Any]]]:
    """Optimizer for ``model`` following ``cfg``.

    Returns
    -------
    optimizer : torch.optim.Optimizer
    loss_groups : list of dict
        The param groups whose penalty :func:`penalty_loss` must add to the loss
        (empty unless ``cfg.penalty_mode == "loss"``).
    """
    cfg.validate()
    pen = make_penalty(cfg.penalty, cfg.lam)
    groups = param_groups(model, pen)
    if cfg.penalty == "nm":  # only weights whose input dimension is a multiple of 4 can be N:M
        from proxgan.nm import nm_param_groups

        groups = nm_param_groups(model, 2, 4)
    loss_groups: list[dict[str, Any]] = []
    if cfg.penalty_mode == "loss" or pen is None:
        loss_groups = [g for g in groups if g.get("penalty") is not None]
        groups = [{k: v for k, v in g.items() if k != "penalty"} for g in groups]
    name, lr, wd = cfg.optimizer, cfg.lr, cfg.weight_decay
    if name == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(groups, lr=lr, betas=cfg.betas, weight_decay=wd)
    elif name == "adamw":
        opt = torch.optim.AdamW(groups, lr=lr, betas=cfg.betas, weight_decay=wd)
    elif name == "sgd":
        opt = torch.optim.SGD(groups, lr=lr, momentum=cfg.momentum, weight_decay=wd)
    elif name == "proxsgd":
        opt = ProxSGD(groups, lr=lr, momentum=cfg.momentum, weight_decay=wd)
    elif name == "proxadam":
        opt = ProxAdam(groups, lr=lr, betas=cfg.betas, weight_decay=wd)
    else:
        raise ValueError(f"unknown optimizer {name!r}")
    return opt, loss_groups


def penalty_loss(loss_groups: list[dict[str, Any]]) -> torch.Tensor | float:
    """:math:`\\sum_{\\text{groups}} \\sum_{p} g(p)` over the groups returned by :func:`build_optimizer` (0.0 if none)."""
    total: torch.Tensor | float = 0.0
    for g in loss_groups:
        pen = g["penalty"]
        for p in g["params"]:
            total = total + pen.value(p)
    return total
