"""Checks and conversions of the proximal optimizers' hyperparameters (one place for their messages)."""
from __future__ import annotations

import math
import numbers
from typing import Any

import torch

from proxgan import _dispatch
from proxgan.kernels._common import compute_dtype as _compute_dtype

__all__ = ["FlagConflict", "check_number", "check_flag", "compute_dtype", "hyper"]

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_COMPLEX = (torch.complex64, torch.complex128)


def compute_dtype(p: torch.Tensor) -> torch.dtype:
    """float64 for float64 parameters, float32 otherwise (half parameters keep float32 state);
    a complex parameter keeps its own dtype (its state is complex, as in torch.optim)."""
    if p.dtype in _COMPLEX:
        return p.dtype
    return _compute_dtype(p.dtype)


def check_number(value: Any, name: str, lo: float = 0.0, hi: float = math.inf, hi_open: bool = False,
                 label: str | None = None) -> Any:
    """Return ``value`` as a float, checking it is a finite number in ``[lo, hi]`` (or ``[lo, hi)``).

    A one-element float tensor (a scheduled ``lr``) is read with ``.item()``; while
    ``torch.compile`` traces it is returned unchecked, since reading it would break the
    graph (eager steps and construction check it). A tensor of another size is refused
    with torch.optim's message (``"Tensor lr must be 1-element"``). ``label`` is the
    start of torch.optim's message for the same error (``"Invalid learning rate"``): the
    message then reads ``"Invalid learning rate: -1; lr must be a finite number >= 0, got -1.0"``.
    """
    if isinstance(value, torch.Tensor) and value.numel() != 1:
        raise ValueError(f"Tensor {name} must be 1-element, got a tensor of shape {tuple(value.shape)}")
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        if _dispatch.compiling():
            return value
        value = value.item()
    interval = f"[{lo:g}, {hi:g}{')' if hi_open else ']'}"
    what = f"a finite number >= {lo:g}" if hi == math.inf else f"a number in {interval}"
    prefix = f"{label}: {value}; " if label else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{prefix}{name} must be {what}, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < lo or number > hi or (hi_open and number == hi):
        raise ValueError(f"{prefix}{name} must be {what}, got {number!r}")
    return number


def hyper(value: Any) -> Any:
    """A float hyperparameter for a kernel: ``float(value)``, except that a one-element
    tensor stays a tensor while ``torch.compile`` traces (so that a scheduler filling it in
    place needs no recompilation, torch.optim's convention for a tensor ``lr``)."""
    if isinstance(value, torch.Tensor) and _dispatch.compiling():
        return value
    return float(value)


def check_flag(value: Any, name: str, allow_none: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a bool (or ``None`` when ``allow_none``)."""
    if not (isinstance(value, bool) or (allow_none and value is None)):
        allowed = "True, False or None" if allow_none else "True or False"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


class FlagConflict(ValueError, RuntimeError):
    """Incompatible implementation flags (``fused`` with ``foreach`` or ``differentiable``,
    ``capturable`` off CUDA). torch.optim raises ``RuntimeError`` for these and proxgan
    used to raise ``ValueError``: this error is both."""
