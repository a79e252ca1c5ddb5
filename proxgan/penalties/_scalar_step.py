r"""What the non-separable penalties share: a step that must be one number.

SLOPE, TV1D and the nuclear norm have an exact prox for a scalar step only: under a
diagonal metric :math:`\sum_i (y_i-x_i)^2/(2 s_i)` with unequal :math:`s_i` their prox has no
closed form. They accept a tensor step whose entries are all equal (a 0-d learning-rate
tensor, say) and refuse any other with a clear error. ProxAdam refuses them with its
preconditioned prox when it is built (use ``prox="scalar"``).
"""
from __future__ import annotations

from proxgan._torch import torch

__all__ = ["scalar_step"]


def scalar_step(step: float | torch.Tensor, name: str) -> float:
    """``step`` as one float; a tensor step must hold a single value (raises otherwise)."""
    if not isinstance(step, torch.Tensor):
        return float(step)
    if step.numel() == 0:
        return 0.0
    flat = step.reshape(-1)
    first = flat[0]
    if flat.numel() > 1 and not bool(torch.all(flat == first)):
        raise ValueError(f"{name} is not separable: its prox needs a scalar step (one value), got a step that varies "
                         "by coordinate; with ProxAdam use prox='scalar'")
    return float(first)
