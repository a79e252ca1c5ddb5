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

__all__ = ["jit", "triton_available", "TritonUnavailableError", "COMPILE_OPTIONS", "LazyJIT"]

#: Options of every compilation, at launch and ahead of time (:mod:`proxgan.kernels.aot`).
#: No contraction of ``a*b + c`` into fused multiply-adds: the kernels round every operation
#: as the PyTorch references do (the interpreter ignores these options).
COMPILE_OPTIONS = {"enable_fp_fusion": False}


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
        """The ``triton.jit`` function (an interpreted one under ``TRITON_INTERPRET=1``).

        Device functions that the kernel calls (other :class:`LazyJIT` objects among the
        module's globals, e.g. the helpers of :mod:`proxgan.kernels._tile`) are compiled first
        and replace their lazy wrappers there, where Triton's code generator looks them up.
        """
        if self._kernel is None:
            import triton
            import triton.language as tl

            g = self.fn.__globals__
            g["triton"] = triton
            g["tl"] = tl
            for name in g.get("__constexpr__", ()):  # module constants a kernel reads (e.g. penalty codes)
                if not isinstance(g[name], tl.constexpr):
                    g[name] = tl.constexpr(g[name])
            for name, value in list(g.items()):
                if isinstance(value, LazyJIT) and value is not self and name in self.fn.__code__.co_names:
                    g[name] = value.compiled()
            self._kernel = triton.jit(self.fn, **self.options)
        return self._kernel

    def __getitem__(self, grid: Any) -> Any:
        return functools.partial(self.compiled()[grid], **COMPILE_OPTIONS)


def jit(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Decorator: like ``triton.jit``, but Triton is imported at the first launch."""
    if fn is None:
        return lambda f: LazyJIT(f, **options)
    return LazyJIT(fn, **options)
