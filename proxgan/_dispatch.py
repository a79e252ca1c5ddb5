r"""The one place that decides how a prox or an optimizer step runs.

Two questions, both answered here and nowhere else:

* **A penalty's prox** (:func:`prox_on_triton`): the Triton kernels of
  :mod:`proxgan.kernels` for CUDA tensors when Triton is installed, the PyTorch path
  otherwise (always while ``torch.compile`` traces, so that the graph stays whole).
* **An optimizer step**, per parameter (:func:`step_impl`): one of

  ``"reference"``
      the readable for-loop, the specification of the others;
  ``"foreach"``
      the multi-tensor ``torch._foreach_*`` path;
  ``"triton"``
      the fused multi-tensor Triton kernel (one launch per group and dtype);
  ``"fused"``
      the fused single-pass CPU kernel (numba, one call per group and dtype).

  The choice reads the device, dtype and layout of the tensor (a DTensor steps on its
  local shard, :func:`local`), whether ``torch.compile`` is tracing, whether the
  penalty lowers to kernel numbers (:func:`proxgan._lowering.lower`), the user's
  ``foreach=`` / ``fused=`` with torch.optim's meanings, and ``PROXGAN_KERNELS``:

  ===================  ===================  =================================================
  ``fused``            ``foreach``          path
  ===================  ===================  =================================================
  ``True``             any                  fused (an error at construction if impossible)
  ``False``/``None``   ``True``             foreach
  ``False``/``None``   ``False``            reference
  ``False``            ``None``             foreach
  ``None``             ``None``             fused where a kernel takes the parameter and the
                                            penalty (N:M: the CPU kernels only), else
                                            foreach (reference for a DTensor
                                            with a non-separable penalty, whose prox needs
                                            DTensor reductions across shards). While
                                            ``torch.compile`` traces: the fused CPU step
                                            (an operator in the graph,
                                            :mod:`proxgan.optim._cpu_step`) for plain CPU
                                            tensors it takes, else the reference, which
                                            Inductor fuses
  ===================  ===================  =================================================

``PROXGAN_KERNELS`` is read once, at the first decision: ``auto`` (default), ``triton``
(send CPU tensors to the Triton kernels too, which is how they are tested under
``TRITON_INTERPRET=1``) or ``torch`` (never use Triton). :func:`set_kernels_mode`
changes it for the running process.
"""
from __future__ import annotations

import os

import torch

from proxgan.kernels import triton_available

__all__ = ["MODES", "IMPLS", "kernels_mode", "set_kernels_mode", "prox_on_triton", "compiling", "local", "local_all",
           "fused_kind", "step_impl", "fused_unavailable_reason"]

MODES = ("auto", "triton", "torch")
_CPU_FUSED = (torch.float32, torch.float64)
IMPLS = ("reference", "foreach", "triton", "fused")

_mode: str | None = None


def kernels_mode() -> str:
    """``PROXGAN_KERNELS`` as read at the first call (or as set by :func:`set_kernels_mode`)."""
    global _mode
    if _mode is None:
        set_kernels_mode(os.environ.get("PROXGAN_KERNELS", "auto"))
    return _mode  # type: ignore[return-value]


def set_kernels_mode(mode: str) -> str:
    """Set the kernel mode (``auto``, ``triton`` or ``torch``) and return the previous one."""
    global _mode
    if mode not in MODES:
        raise ValueError(f"PROXGAN_KERNELS must be one of {', '.join(MODES)}, got {mode!r}")
    previous, _mode = _mode or "auto", mode
    return previous


def compiling() -> bool:
    """Whether ``torch.compile`` (Dynamo) is tracing the current call."""
    return torch.compiler.is_compiling()


_PLAIN = (torch.Tensor, torch.nn.Parameter)


def local(t: torch.Tensor) -> torch.Tensor:
    """The local shard of a DTensor (a view sharing its memory); any other tensor itself."""
    if type(t) in _PLAIN:
        return t
    to_local = getattr(t, "to_local", None)
    return to_local() if to_local is not None else t


def local_all(ts: list[torch.Tensor]) -> list[torch.Tensor]:
    """:func:`local` of every tensor of ``ts`` (one list comprehension, no call per plain tensor)."""
    return [t if type(t) in _PLAIN else local(t) for t in ts]


def prox_on_triton(x: torch.Tensor) -> bool:
    """Whether a penalty's prox of ``x`` should run the Triton kernel (else the PyTorch path)."""
    if compiling():
        return False
    mode = kernels_mode()
    if mode == "torch" or not triton_available():
        return False
    return mode == "triton" or x.is_cuda


def fused_kind(t: torch.Tensor, lowering: object | None = None) -> str | None:
    """``"triton"`` or ``"fused"`` (CPU) when a fused step kernel takes the tensor ``t`` (and the
    penalty ``lowering``, when given), else ``None``.

    ``t`` is a plain tensor (a DTensor's local shard). A lowering that only the CPU kernels
    take (:class:`proxgan._lowering.BlockProx`, N:M) never goes to Triton.
    """
    if t.layout != torch.strided or not t.is_contiguous():
        return None
    mode = _mode or kernels_mode()
    triton_ok = lowering is None or lowering.on_triton
    if triton_ok and mode != "torch" and (t.is_cuda or mode == "triton") and triton_available():
        return "triton"
    if t.is_cpu and t.dtype in _CPU_FUSED:
        return "fused"
    return None


def _sharded_weights(p: torch.Tensor, lowering: object) -> bool:
    """Whether ``p`` is a DTensor and the lowering has per-element weights (shaped like the whole
    tensor, not like its local shard: the fused kernels do not take them)."""
    return getattr(lowering, "weights", None) is not None and local(p) is not p


def fused_unavailable_reason(t: torch.Tensor, lowering: object | None) -> str | None:
    """Why ``fused=True`` cannot take this parameter and penalty lowering (``None`` if it can)."""
    if lowering is None or not lowering.fusable:
        from proxgan._lowering import FUSED_MAX_M, BlockProx, fusable_penalty_names

        if isinstance(lowering, BlockProx):
            return (f"fused=True supports N:M blocks of up to {FUSED_MAX_M} entries, got m={lowering.m}; "
                    "use fused=None (the multi-tensor step, then the projection)")
        return ("fused=True supports the penalties that lower to a kernel code (registered: "
                f"{', '.join(fusable_penalty_names())}); use fused=None "
                "(the multi-tensor path takes the others)")
    if _sharded_weights(t, lowering):
        return ("fused=True with a weighted penalty needs plain tensors (the weights are not split like a "
                "DTensor's local shard): use fused=None")
    if fused_kind(local(t), lowering) is None:
        if not lowering.on_triton and not t.is_cpu:
            return (f"fused=True with this penalty runs on the CPU only (the {t.device} step is the multi-tensor "
                    "one followed by the Triton projection): use fused=None")
        return ("fused=True needs contiguous float32/float64 CPU parameters, or CUDA parameters with Triton "
                f"installed; got a {t.dtype} parameter on {t.device}: use fused=None")
    return None


def step_impl(p: torch.Tensor, *, foreach: bool | None, fused: bool | None, lowering: object | None) -> str:
    """The implementation that steps parameter ``p`` (see the table in the module docstring).

    ``lowering`` is :func:`proxgan._lowering.lower` of the group's penalty. With
    ``fused=True`` the caller has already checked :func:`fused_unavailable_reason`.
    """
    t = local(p)
    if fused:
        return fused_kind(t, lowering) or "reference"
    if foreach:
        return "foreach"
    if foreach is False:
        return "reference"
    if fused is False:
        return "foreach"
    if compiling():  # the fused CPU step is an operator Dynamo keeps whole; elsewhere Inductor fuses the reference
        if t is p and lowering is not None and lowering.fusable and fused_kind(t, lowering) == "fused":
            return "fused"
        return "reference"
    if lowering is not None and lowering.fusable and not _sharded_weights(p, lowering):
        kind = fused_kind(t, lowering)
        if kind is not None:
            return kind
    if t is not p and lowering is None:
        return "reference"
    return "foreach"
