"""``param_groups``: split a model's parameters into a penalised and an unpenalised group."""
from __future__ import annotations

import fnmatch
from typing import Any, Callable, Iterable

import torch
from torch import nn

from proxgan.penalties import Penalty

__all__ = ["param_groups", "default_exclude"]

_NORMS: tuple[type, ...] = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)
if hasattr(nn, "RMSNorm"):
    _NORMS = _NORMS + (nn.RMSNorm,)


def default_exclude(name: str, module: nn.Module, param: torch.Tensor) -> bool:
    """The default rule: biases and the parameters of normalisation layers are not penalised.

    ``name`` is the parameter's full name, ``module`` the module that owns it.
    """
    return name.rsplit(".", 1)[-1] == "bias" or isinstance(module, _NORMS)


def param_groups(model: nn.Module, penalty: Penalty | None,
                 exclude: Callable[[str, nn.Module, torch.Tensor], bool] | str | Iterable[str] | None = None,
                 **group_options: Any) -> list[dict[str, Any]]:
    """Parameter groups for a proximal optimizer: ``penalty`` on the weights, nothing on the rest.

    Parameters
    ----------
    model : nn.Module
        The model; shared parameters appear once.
    penalty : Penalty or None
        Penalty of the penalised group.
    exclude : callable, str, iterable of str or None
        Which parameters stay unpenalised. ``None``: :func:`default_exclude` (biases and
        normalisation scales/shifts). Glob patterns on the full names (``"head.*"``) are
        excluded *in addition* to the default. A callable ``exclude(name, module, param)``
        replaces the default rule (``lambda *a: False`` penalises everything).
    **group_options
        Extra keys for both groups (e.g. ``lr=1e-3``).

    Returns
    -------
    list of dict
        ``[{"params": [...], "penalty": penalty, ...}, {"params": [...], "penalty": None, ...}]``,
        empty groups left out, each group's parameters in ``model.named_parameters()`` order.

    Examples
    --------
    >>> import torch
    >>> from proxgan.optim import ProxAdam, param_groups
    >>> from proxgan.penalties import L1
    >>> model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.LayerNorm(4))
    >>> groups = param_groups(model, L1(1e-4))
    >>> [len(g["params"]) for g in groups]   # the Linear weight; its bias and the LayerNorm
    [1, 3]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if penalty is not None and not isinstance(penalty, Penalty):
        raise TypeError(f"penalty must be a proxgan.penalties.Penalty or None, got {type(penalty).__name__}")
    if callable(exclude):
        rule = exclude
    else:
        patterns = [exclude] if isinstance(exclude, str) else list(exclude or ())
        for pat in patterns:
            if not isinstance(pat, str):
                raise TypeError(f"exclude patterns must be strings, got {pat!r}")

        def rule(name: str, module: nn.Module, param: torch.Tensor) -> bool:
            return default_exclude(name, module, param) or any(fnmatch.fnmatchcase(name, p) for p in patterns)

    owners = {}
    for mod_name, module in model.named_modules():
        for pname, _ in module.named_parameters(recurse=False):
            owners[f"{mod_name}.{pname}" if mod_name else pname] = module
    penalised, free = [], []
    for name, param in model.named_parameters():
        (free if rule(name, owners.get(name, model), param) else penalised).append(param)
    groups = []
    if penalised:
        groups.append({"params": penalised, "penalty": penalty, **group_options})
    if free:
        groups.append({"params": free, "penalty": None, **group_options})
    return groups
