"""Argument checks shared by penalties, kernels and optimizers.

Every check raises before anything is written, so that a rejected call leaves its
inputs untouched.
"""
from __future__ import annotations

import functools
import math
import numbers

from proxgan._torch import is_tensor, torch

__all__ = ["check_nonneg_number", "check_float_tensor", "check_step", "check_unit_interval"]



@functools.cache
def _float_dtypes() -> tuple:
    """torch's real floating dtypes (a function: torch is imported on first use)."""
    return (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_nonneg_number(value: object, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite number ``>= 0``."""
    if is_tensor(value) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite number >= 0, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def check_unit_interval(value: object, name: str) -> float:
    """Return ``value`` as a float after checking it lies in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}")
    value = float(value)
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return value


def check_float_tensor(x: object, name: str = "x") -> torch.Tensor:
    """Check that ``x`` is a real floating-point dense tensor (float16/bfloat16/float32/float64)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.layout != torch.strided:
        raise TypeError(f"{name} must be a dense (strided) tensor, got layout {x.layout}")
    if x.dtype not in _float_dtypes():
        raise TypeError(
            f"{name} must have a real floating dtype (float16, bfloat16, float32 or float64), got {x.dtype}"
        )
    return x


def check_step(step: object, x: torch.Tensor, name: str = "step") -> float | torch.Tensor:
    """Validate a prox step: a finite number >= 0, or a tensor of such numbers that broadcasts to ``x``.

    Returns a float, or the tensor itself (not copied).
    """
    if isinstance(step, torch.Tensor):
        if step.is_complex() or not step.is_floating_point():
            raise TypeError(f"{name} tensor must have a real floating dtype, got {step.dtype}")
        if step.dim() > 0 and step.device != x.device:
            raise ValueError(f"{name} is on {step.device} but x is on {x.device}")
        try:
            shape = torch.broadcast_shapes(step.shape, x.shape)
        except RuntimeError:
            shape = None
        if shape != x.shape:
            raise ValueError(
                f"{name} of shape {tuple(step.shape)} does not broadcast to x of shape {tuple(x.shape)}"
            )
        if step.numel() and not bool(torch.all(torch.isfinite(step) & (step >= 0))):
            raise ValueError(f"{name} must hold finite numbers >= 0 (found a negative, NaN or infinite entry)")
        return step
    return check_nonneg_number(step, name)
