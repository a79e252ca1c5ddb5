"""Launcher helpers shared by the kernel files."""
from __future__ import annotations

from proxgan._torch import torch

from proxgan._validation import check_float_tensor

__all__ = ["prepare_out", "finish_out", "compute_dtype"]


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Half types are computed in float32; float32 and float64 in themselves."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def prepare_out(x: torch.Tensor, out: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(xc, buf)``: a contiguous view/copy of ``x`` and a contiguous buffer to write.

    ``buf`` is ``out`` itself when ``out`` is contiguous, otherwise a fresh buffer that
    :func:`finish_out` copies back. ``out`` may be ``x`` (in place).
    """
    check_float_tensor(x, "x")
    if out is not None:
        check_float_tensor(out, "out")
        if out.shape != x.shape or out.dtype != x.dtype or out.device != x.device:
            raise ValueError(
                f"out must match x in shape, dtype and device: got {tuple(out.shape)}/{out.dtype}/{out.device}"
                f" for x {tuple(x.shape)}/{x.dtype}/{x.device}"
            )
    xc = x.contiguous()
    if out is not None and out.is_contiguous():
        buf = out
    else:
        buf = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    return xc, buf


def finish_out(buf: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
    if out is None:
        return buf
    if buf is not out:
        out.copy_(buf)
    return out
