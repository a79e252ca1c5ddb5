"""N:M sparsity for whole models: parameter groups for :class:`proxgan.penalties.NM` and the
export of 2:4 linear layers to PyTorch's semi-structured sparse tensors.

Examples
--------
>>> import torch
>>> from proxgan.nm import nm_param_groups
>>> model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
>>> [len(g["params"]) for g in nm_param_groups(model)]   # both weights; the biases go free
[2, 2]
"""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from proxgan.kernels.nm_project import check_nm, nm_blocks
from proxgan.penalties import NM

__all__ = ["nm_param_groups", "is_nm_sparse", "semi_structured_layers", "to_semi_structured"]


def nm_param_groups(model: nn.Module, n: int = 2, m: int = 4, **group_options: Any) -> list[dict[str, Any]]:
    """``[{"params": weights, "penalty": NM(n, m)}, {"params": rest, "penalty": None}]``.

    The N:M group takes the weights of ``Linear`` and ``Conv*d`` layers whose input
    dimension is a multiple of ``m``; everything else (biases, norms, layers with e.g. 3
    input channels) is left free. Empty groups are left out.

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    n : int
        Non-zeros allowed per block.
    m : int
        Block length.
    **group_options
        Other options of both groups (``lr``, ``weight_decay``, ...).
    """
    pen = NM(n, m)
    chosen = {id(mod.weight) for mod in model.modules()
              if isinstance(mod, (nn.Linear, nn.modules.conv._ConvNd)) and not getattr(mod, "transposed", False)
              and pen.applies_to(mod.weight)}
    mine = [p for p in model.parameters() if id(p) in chosen]
    rest = [p for p in model.parameters() if id(p) not in chosen]
    groups = []
    if mine:
        groups.append({"params": mine, "penalty": pen, **group_options})
    if rest:
        groups.append({"params": rest, "penalty": None, **group_options})
    return groups


def is_nm_sparse(w: torch.Tensor, n: int = 2, m: int = 4) -> bool:
    """True when every block of ``m`` consecutive entries along dimension 1 has at most ``n`` non-zeros.

    Parameters
    ----------
    w : torch.Tensor
        A weight of at least 2 dimensions.
    n : int
        Non-zeros allowed per block.
    m : int
        Block length.
    """
    check_nm(n, m)
    if w.dim() < 2 or w.shape[1] % m:
        return False
    return bool(((nm_blocks(w.detach(), m) != 0).sum(dim=1) <= n).all())


def semi_structured_layers(model: nn.Module) -> list[str]:
    """Names of the ``Linear`` layers whose weights follow the 2:4 pattern (the export's candidates).

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    """
    return [name for name, mod in model.named_modules()
            if isinstance(mod, nn.Linear) and is_nm_sparse(mod.weight, 2, 4)]


def to_semi_structured(model: nn.Module, inplace: bool = False) -> tuple[nn.Module, list[str]]:
    """Turn the 2:4-sparse ``Linear`` weights of ``model`` into ``torch.sparse.to_sparse_semi_structured``
    tensors, which run on the sparse tensor cores of CUDA GPUs of compute capability 8.0 and later.

    The model must be on such a GPU in float16 or bfloat16 (what the kernels take). Layers
    the kernels refuse (too small, wrong shape) stay dense. Returns ``(model, converted
    layer names)``; raises a RuntimeError that says why on a machine without support.

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    inplace : bool
        Change ``model`` itself instead of a copy.
    """
    from torch.sparse import to_sparse_semi_structured

    names = semi_structured_layers(model)
    p = next(model.parameters(), None)
    if p is None or not p.is_cuda:
        raise RuntimeError("semi-structured sparse weights need the model on a CUDA GPU (compute capability >= 8.0); "
                           f"{len(names)} layer(s) have the 2:4 pattern: {names}")
    major, _ = torch.cuda.get_device_capability(p.device)
    if major < 8:
        raise RuntimeError(f"semi-structured sparse weights need compute capability >= 8.0, got {major}.x")
    model = model if inplace else copy.deepcopy(model)
    mods = dict(model.named_modules())
    done = []
    for name in names:
        lin = mods[name]
        try:
            lin.weight = nn.Parameter(to_sparse_semi_structured(lin.weight.detach()), requires_grad=False)
        except (RuntimeError, ValueError):
            continue  # a shape or dtype the kernels do not take: stays dense
        done.append(name)
    return model, done
