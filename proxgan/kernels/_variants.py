"""Declaring a kernel's compiled forms for ahead-of-time compilation.

Every kernel module that launches Triton kernels defines ``aot_variants()``, returning one
:class:`Variant` per form its launchers can emit: the argument types Triton infers from the
launch (pointer dtypes, 32- or 64-bit integers) and the ``tl.constexpr`` values. Kernels
are declared with ``do_not_specialize`` / ``do_not_specialize_on_alignment`` for their
runtime integers and pointers, so that these two things fix the compiled form entirely.
:mod:`proxgan.kernels.aot` finds the modules that define ``aot_variants`` and compiles them
all: a new kernel file only needs its own declaration.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["Variant", "FLOAT_DTYPES", "triton_type", "VECTOR_BITS"]

#: The parameter dtypes every kernel accepts.
FLOAT_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)

#: Width of the global loads and stores of a vectorised body.
VECTOR_BITS = 128

_TRITON_TYPES = {torch.float32: "fp32", torch.float64: "fp64", torch.float16: "fp16", torch.bfloat16: "bf16"}


def triton_type(dtype: torch.dtype) -> str:
    """Triton's name of a torch float dtype (``"fp32"``, ``"bf16"``...)."""
    return _TRITON_TYPES[dtype]


@dataclass(frozen=True)
class Variant:
    """One compiled form of a kernel.

    Attributes
    ----------
    module : str
        Short name of the kernel (the launcher), e.g. ``"fused_prox_adam"``.
    kernel : LazyJIT
        The kernel (see :mod:`proxgan.kernels._lazy`).
    name : str
        Identifies the variant within the kernel, e.g. ``"bf16-L1-amsgrad"``; used in file names.
    signature : dict
        Triton type of every runtime argument (``"*fp32"``, ``"i32"``...).
    constexprs : dict
        Value of every ``tl.constexpr`` argument. Dtype values are given as the names
        ``"fp32"`` etc. and turned into ``triton.language`` dtypes at compile time.
    vector : bool
        Whether the variant has a 128-bit body (its PTX must show 128-bit loads and stores).
    """

    module: str
    kernel: Any
    name: str
    signature: dict
    constexprs: dict
    vector: bool = True
