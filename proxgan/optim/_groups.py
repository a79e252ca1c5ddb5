"""``param_groups``: split a model's parameters into a penalised and an unpenalised group."""
from __future__ import annotations

import fnmatch
import re
from typing import Any, Callable, Iterable

import torch
from torch import nn

from proxgan.penalties import Penalty

__all__ = ["param_groups", "default_exclude", "exclude_bias_and_norm"]

_NORMS: tuple[type, ...] = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)
if hasattr(nn, "RMSNorm"):
    _NORMS = _NORMS + (nn.RMSNorm,)


def default_exclude(name: str, module: nn.Module, param: torch.Tensor) -> bool:
    """The default rule: biases and the parameters of normalisation layers are not penalised.

    ``name`` is the parameter's full name, ``module`` the module that owns it.
    """
    return name.rsplit(".", 1)[-1] == "bias" or isinstance(module, _NORMS)


# the name patterns of the Hugging Face Trainer's no-weight-decay rule, matched on the lower-cased full name
_NO_DECAY_NAMES = re.compile(r"bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.)")


def exclude_bias_and_norm(name: str, module: nn.Module, param: torch.Tensor) -> bool:
    """:func:`default_exclude`, plus every parameter whose name says it is a bias or a norm.

    The names are those the Hugging Face Trainer leaves out of weight decay: the
    lower-cased full name contains ``bias``, ``layernorm`` or ``rmsnorm``, or has a
    component ``norm`` or ending in ``_norm`` (``model.norm.weight``,
    ``layers.0.input_layernorm.weight``, ``attn.q_norm.weight``). This catches the
    normalisation layers that transformer libraries write themselves (``LlamaRMSNorm``,
    ``T5LayerNorm``), which are not ``nn.LayerNorm`` instances. Pass it as
    ``param_groups(model, penalty, exclude=exclude_bias_and_norm)``: the penalised group is
    then the Trainer's weight-decay group (plus nothing from BatchNorm/GroupNorm layers,
    which :func:`default_exclude` already leaves out).

    Parameters
    ----------
    name : str
        Qualified name of the parameter.
    module : torch.nn.Module
        The module that owns it.
    param : torch.Tensor
        The parameter.
    """
    return default_exclude(name, module, param) or _NO_DECAY_NAMES.search(name.lower()) is not None


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
