r"""Hard-thresholding, the proximal operator of the L0 "norm".

.. math::

    H_\tau(x)_i = x_i \,[\,|x_i| > \tau_i\,]
    \in \arg\min_y \tfrac12 (y - x_i)^2 + \tfrac12\tau_i^2\,[y \ne 0]

For ``L0(lam)`` with step ``s`` the threshold is :math:`\tau = \sqrt{2 s \lambda}`. At
:math:`|x_i| = \tau_i` both ``0`` and ``x_i`` are minimisers; this module returns ``0``
(entries survive only strictly above the threshold).
"""
from __future__ import annotations

import torch

from proxgan._validation import check_float_tensor, check_nonneg_number

from ._common import compute_dtype, finish_out, prepare_out
from ._lazy import check_launchable, jit
from ._tile import load_tile, store_tile, tile_ptr
from .soft_threshold import aligned16, threshold_operand, threshold_variants, triton_cdiv

__all__ = ["hard_threshold", "hard_threshold_ref", "hard_threshold_torch", "aot_variants"]

tl = None  # replaced by triton.language at the first launch
triton = None

BLOCK = 1024


@jit(do_not_specialize=["n", "aligned"], do_not_specialize_on_alignment=["x_ptr", "thr_ptr", "out_ptr"])
def _hard_threshold_kernel(x_ptr, thr_ptr, out_ptr, thr_value, n, aligned,
                           THR_MODE: tl.constexpr, IS_F64: tl.constexpr, BLOCK: tl.constexpr):
    # same layout as _soft_threshold_kernel: a 128-bit body for full aligned tiles, a masked tail
    start = tl.program_id(0).to(tl.int64) * BLOCK
    rem = n - start
    if (aligned != 0) & (rem >= BLOCK):
        _hard_threshold_tile(x_ptr, thr_ptr, out_ptr, thr_value, start, rem, THR_MODE, IS_F64, BLOCK, False)
    else:
        _hard_threshold_tile(x_ptr, thr_ptr, out_ptr, thr_value, start, rem, THR_MODE, IS_F64, BLOCK, True)


@jit
def _hard_threshold_tile(x_ptr, thr_ptr, out_ptr, thr_value, start, rem,
                         THR_MODE: tl.constexpr, IS_F64: tl.constexpr, BLOCK: tl.constexpr, MASKED: tl.constexpr):
    x = load_tile(tile_ptr(x_ptr, start, not MASKED), rem, BLOCK, MASKED)
    if IS_F64:
        xf = x
    else:
        xf = x.to(tl.float32)
    if THR_MODE == 0:
        t = thr_value
    elif THR_MODE == 1:
        t = tl.load(thr_ptr).to(xf.dtype)
    else:
        t = load_tile(tile_ptr(thr_ptr, start, not MASKED), rem, BLOCK, MASKED).to(xf.dtype)
    y = tl.where(tl.abs(xf) > t, xf, 0.0)
    store_tile(tile_ptr(out_ptr, start, not MASKED), y, rem, BLOCK, MASKED)


def hard_threshold(x: torch.Tensor, thr: float | torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Hard-threshold ``x`` with the Triton kernel: keep entries with ``|x| > thr``.

    Parameters
    ----------
    x : Tensor
        Floating tensor on CUDA (or CPU under ``TRITON_INTERPRET=1``), any strides.
    thr : float or Tensor
        Threshold >= 0, a number or a tensor broadcastable to ``x``.
    out : Tensor, optional
        Destination (may be ``x`` for in place).
    """
    check_float_tensor(x, "x")
    mode, value, t = threshold_operand(thr, x)
    xc, buf = prepare_out(x, out)
    n = xc.numel()
    if n:
        check_launchable(xc)
        _hard_threshold_kernel[(triton_cdiv(n, BLOCK),)](xc, t, buf, value, n, aligned16(xc, buf, t if mode == 2 else None),
                                                         THR_MODE=mode, IS_F64=x.dtype == torch.float64, BLOCK=BLOCK)
    return finish_out(buf, out)


def aot_variants() -> list:
    """Every compiled form of ``_hard_threshold_kernel`` that :func:`hard_threshold` can launch."""
    return threshold_variants(_hard_threshold_kernel, "hard_threshold", BLOCK)


def hard_threshold_ref(x: torch.Tensor, thr: float | torch.Tensor) -> torch.Tensor:
    """Reference: ``where(|x| > thr, x, 0)`` in plain PyTorch.

    Parameters
    ----------
    x : Tensor
        Floating tensor, any device.
    thr : float or Tensor
        Threshold >= 0, or a tensor of thresholds broadcastable to ``x``.

    Returns
    -------
    Tensor
        A new tensor of the shape and dtype of ``x``, compared in the compute dtype.
    """
    check_float_tensor(x, "x")
    cd = compute_dtype(x.dtype)
    xf = x.to(cd)
    t = thr.to(cd) if isinstance(thr, torch.Tensor) else check_nonneg_number(thr, "thr")
    return torch.where(xf.abs() > t, xf, torch.zeros((), dtype=cd)).to(x.dtype)


def hard_threshold_torch(x: torch.Tensor, thr: float | torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """PyTorch path (used on the CPU): zero the entries with ``|x| <= thr``; ``out=x`` in place.

    Parameters
    ----------
    x : Tensor
        Floating tensor, any device.
    thr : float or Tensor
        Threshold >= 0, or a threshold tensor (see
        :func:`~proxgan.kernels.soft_threshold.threshold_operand` for the shapes allowed).
    out : Tensor, optional
        Destination of the shape, dtype and device of ``x`` (may be ``x``); by default a
        new tensor.

    Returns
    -------
    Tensor
        ``x`` with the entries ``|x| <= thr`` set to zero: ``out`` when given.
    """
    check_float_tensor(x, "x")
    if isinstance(thr, torch.Tensor):
        threshold_operand(thr, x)
    else:
        thr = check_nonneg_number(thr, "thr")
    if out is not None and (out.shape != x.shape or out.dtype != x.dtype or out.device != x.device):
        raise ValueError("out must match x in shape, dtype and device")
    cd = compute_dtype(x.dtype)
    ax = x.abs() if cd == x.dtype else x.abs().to(cd)  # compare in the compute dtype, like the kernel
    keep = ax > (thr.to(cd) if isinstance(thr, torch.Tensor) else thr)
    if out is None:
        return torch.where(keep, x, x.new_zeros(()))
    if out is not x:
        out.copy_(x)
    return out.masked_fill_(~keep, 0.0)
