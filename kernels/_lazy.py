"""Lazy Triton: kernels are declared at import time but Triton is imported at first launch.

``import proxgan.kernels`` must work on a machine without Triton or a GPU, so kernel
modules do not ``import triton`` at the top. They decorate kernels with :func:`jit`
below, which records the function and calls ``triton.jit`` on the first launch, after
putting the real ``triton`` and ``triton.language`` into the kernel module's globals
(where the kernel body looks them up). Kernel modules use
``from __future__ import annotations`` so that ``BLOCK: tl.constexpr`` stays a string
until Triton reads it.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from typing import Any, Callable

import torch

__all__ = ["jit", "triton_available", "TritonUnavailableError"]


class TritonUnavailableError(RuntimeError):
    """Raised when a Triton launcher is called but Triton cannot run here."""


@functools.lru_cache(maxsize=None)
def triton_available() -> bool:
    """True when the ``triton`` package can be imported (it is not imported here)."""
    return importlib.util.find_spec("triton") is not None


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def check_launchable(*tensors: torch.Tensor) -> None:
    """Raise a clear error if Triton cannot run on these tensors."""
    if not triton_available():
        raise TritonUnavailableError(
            "Triton is not installed; install it (pip install triton) or use the *_ref function"
        )
    for t in tensors:
        if not t.is_cuda and not _interpreting():
            raise TritonUnavailableError(
                f"Triton kernels need CUDA tensors (got a tensor on {t.device}); set "
                "TRITON_INTERPRET=1 before the first launch to run them on the CPU interpreter"
            )


class LazyJIT:
    """A kernel whose ``triton.jit`` happens at first use."""

    def __init__(self, fn: Callable[..., Any], **options: Any) -> None:
        self.fn = fn
        self.options = options
        self._kernel: Any = None
        functools.update_wrapper(self, fn)

    def compiled(self) -> Any:
        if self._kernel is None:
            import triton
            import triton.language as tl

            self.fn.__globals__["triton"] = triton
            self.fn.__globals__["tl"] = tl
            self._kernel = triton.jit(self.fn, **self.options)
        return self._kernel

    def __getitem__(self, grid: Any) -> Any:
        return self.compiled()[grid]


def jit(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Decorator: like ``triton.jit``, but Triton is imported at the first launch."""
    if fn is None:
        return lambda f: LazyJIT(f, **options)
    return LazyJIT(fn, **options)
