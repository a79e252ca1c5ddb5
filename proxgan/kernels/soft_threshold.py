r"""Soft-thresholding, the proximal operator of the (weighted) L1 norm.

.. math::

    S_\tau(x)_i = \operatorname{sign}(x_i)\,\max(|x_i| - \tau_i, 0)
               = \arg\min_y \tfrac12 (y - x_i)^2 + \tau_i |y|

with a scalar threshold :math:`\tau` or one threshold per element. Entries with
:math:`|x_i| \le \tau_i` become exactly zero (``x == 0`` holds; the sign bit may be set, as
with ``torch.nn.functional.softshrink``).

Three layers: ``_soft_threshold_kernel`` (Triton), ``soft_threshold`` (its launcher),
``soft_threshold_ref`` (plain PyTorch, the specification) and ``soft_threshold_torch``
(the fast PyTorch path used on the CPU).
"""
from __future__ import annotations

import torch

from proxgan._validation import check_float_tensor, check_nonneg_number

from ._common import compute_dtype, finish_out, prepare_out
from ._lazy import check_launchable, jit
from ._tile import load_tile, store_tile, tile_ptr

__all__ = ["soft_threshold", "soft_threshold_ref", "soft_threshold_torch", "threshold_operand", "aligned16",
           "aot_variants", "threshold_variants"]

tl = None  # the real triton.language is put here at the first launch (see _lazy.py)
triton = None

BLOCK = 1024


@jit(do_not_specialize=["n", "aligned"], do_not_specialize_on_alignment=["x_ptr", "thr_ptr", "out_ptr"])
def _soft_threshold_kernel(x_ptr, thr_ptr, out_ptr, thr_value, n, aligned,
                           THR_MODE: tl.constexpr, IS_F64: tl.constexpr, BLOCK: tl.constexpr):
    # THR_MODE 0: scalar threshold passed by value (float32), 1: scalar in memory,
    # 2: one threshold per element. `aligned` (0/1): every tensor read or written starts
    # 16-byte aligned; full tiles of aligned tensors take the 128-bit body (see _tile.py).
    start = tl.program_id(0).to(tl.int64) * BLOCK
    rem = n - start
    if (aligned != 0) & (rem >= BLOCK):
        _soft_threshold_tile(x_ptr, thr_ptr, out_ptr, thr_value, start, rem, THR_MODE, IS_F64, BLOCK, False)
    else:
        _soft_threshold_tile(x_ptr, thr_ptr, out_ptr, thr_value, start, rem, THR_MODE, IS_F64, BLOCK, True)


@jit
def _soft_threshold_tile(x_ptr, thr_ptr, out_ptr, thr_value, start, rem,
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
    y = xf - tl.minimum(tl.maximum(xf, -t), t)
    store_tile(tile_ptr(out_ptr, start, not MASKED), y, rem, BLOCK, MASKED)


def threshold_operand(thr: float | torch.Tensor, x: torch.Tensor, per: str = "element") -> tuple[int, float, torch.Tensor]:
    """Turn a threshold into the kernel's ``(mode, value, tensor)`` triple.

    A number must be finite and >= 0. A tensor must be floating, on ``x``'s device and
    broadcast to ``x`` (its entries are not checked, to avoid a device sync: callers such
    as :mod:`proxgan.penalties` check them).

    Parameters
    ----------
    thr : float or Tensor
        The threshold: a finite number >= 0, or a real floating tensor on the device of
        ``x`` that broadcasts to ``x``'s shape.
    x : Tensor
        The tensor to be thresholded (its shape, dtype and device decide the operand).
    per : str, default "element"
        Granularity of a tensor threshold; only ``"element"`` (broadcast to ``x``) exists,
        and the value is not read.

    Returns
    -------
    mode : int
        0: the threshold is ``value`` (a number, float16/bfloat16/float32 ``x``); 1: a
        one-element tensor; 2: a tensor of ``x``'s shape.
    value : float
        The threshold in mode 0, else 0.0.
    tensor : Tensor
        The threshold in the compute dtype in modes 1 and 2 (contiguous, of ``x``'s shape in
        mode 2); in mode 0, ``x`` itself as a placeholder that the kernel does not read.

    Raises
    ------
    TypeError
        If a tensor threshold is not real floating.
    ValueError
        If a tensor threshold is on another device or does not broadcast to ``x``, or a
        number is negative or not finite.
    """
    if isinstance(thr, torch.Tensor):
        if thr.is_complex() or not thr.is_floating_point():
            raise TypeError(f"thr tensor must have a real floating dtype, got {thr.dtype}")
        if thr.device != x.device:
            raise ValueError(f"thr is on {thr.device} but x is on {x.device}")
        try:
            ok = torch.broadcast_shapes(thr.shape, x.shape) == x.shape
        except RuntimeError:
            ok = False
        if not ok:
            raise ValueError(f"thr of shape {tuple(thr.shape)} does not broadcast to x of shape {tuple(x.shape)}")
        # in the compute dtype, as the kernel reads it: one kernel variant per dtype of x
        cd = compute_dtype(x.dtype)
        if thr.numel() == 1:
            return 1, 0.0, thr.reshape(1).to(cd)
        return 2, 0.0, thr.expand(x.shape).to(cd).contiguous()
    value = check_nonneg_number(thr, "thr")
    if x.dtype == torch.float64:
        return 1, 0.0, torch.full((1,), value, dtype=torch.float64, device=x.device)
    return 0, value, x  # x is a placeholder pointer, never read in mode 0


def soft_threshold(x: torch.Tensor, thr: float | torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Soft-threshold ``x`` with the Triton kernel; ``out=x`` works in place.

    Parameters
    ----------
    x : Tensor
        float16, bfloat16, float32 or float64, any shape and strides, CUDA (or CPU under
        ``TRITON_INTERPRET=1``).
    thr : float or Tensor
        Threshold :math:`\\tau \\ge 0`, a number or a tensor broadcastable to ``x``.
    out : Tensor, optional
        Where to write; same shape, dtype and device as ``x``. May be ``x``.

    Returns
    -------
    Tensor
        :math:`\\operatorname{sign}(x)\\max(|x|-\\tau, 0)`, computed in float32 for half
        inputs and float64 for float64 inputs.

    Examples
    --------
    >>> y = soft_threshold(x_cuda, 0.1)           # doctest: +SKIP
    >>> soft_threshold(x_cuda, 0.1, out=x_cuda)   # in place  # doctest: +SKIP
    """
    check_float_tensor(x, "x")
    mode, value, t = threshold_operand(thr, x)
    xc, buf = prepare_out(x, out)
    n = xc.numel()
    if n:
        check_launchable(xc)
        grid = (triton_cdiv(n, BLOCK),)
        _soft_threshold_kernel[grid](xc, t, buf, value, n, aligned16(xc, buf, t if mode == 2 else None),
                                     THR_MODE=mode, IS_F64=x.dtype == torch.float64, BLOCK=BLOCK)
    return finish_out(buf, out)


def triton_cdiv(a: int, b: int) -> int:
    return (a + b - 1) // b


def aligned16(*tensors: torch.Tensor | None) -> int:
    """1 when every given tensor starts at a 16-byte aligned address (the 128-bit body applies), else 0.

    Parameters
    ----------
    *tensors : Tensor or None
        The tensors a kernel reads or writes; None entries (absent operands) are ignored.

    Returns
    -------
    int
        1 or 0 (an int, as the kernels take it).
    """
    return int(all(t is None or t.data_ptr() % 16 == 0 for t in tensors))


def threshold_variants(kernel, name: str, block: int) -> list:
    """AOT variants of an element-wise threshold kernel (soft or hard): what its launcher emits.

    Per dtype of ``x``: the threshold modes (0, by value, only for half and float32 inputs;
    1 and 2 read a tensor of the compute dtype), with 32- and 64-bit ``n``.

    Parameters
    ----------
    kernel
        The lazily compiled Triton threshold kernel.
    name : str
        Its module's name (the ``kernel`` column of the AOT report), e.g. ``"soft_threshold"``.
    block : int
        The kernel's ``BLOCK`` constexpr (elements per program).

    Returns
    -------
    list of Variant
        One variant per dtype of ``x``, threshold mode and index width.
    """
    from ._variants import FLOAT_DTYPES, Variant, triton_type

    out = []
    for dtype in FLOAT_DTYPES:
        xt = "*" + triton_type(dtype)
        cdt = "*" + triton_type(compute_dtype(dtype))
        for mode in ((1, 2) if dtype == torch.float64 else (0, 1, 2)):
            for index in ("i32", "i64"):
                sig = {"x_ptr": xt, "thr_ptr": xt if mode == 0 else cdt, "out_ptr": xt, "thr_value": "fp32",
                       "n": index, "aligned": "i32"}
                out.append(Variant(name, kernel, f"{triton_type(dtype)}-thr{mode}-n{index}", sig,
                                   {"THR_MODE": mode, "IS_F64": dtype == torch.float64, "BLOCK": block}))
    return out


def aot_variants() -> list:
    """Every compiled form of ``_soft_threshold_kernel`` that :func:`soft_threshold` can launch."""
    return threshold_variants(_soft_threshold_kernel, "soft_threshold", BLOCK)


def soft_threshold_ref(x: torch.Tensor, thr: float | torch.Tensor) -> torch.Tensor:
    """Reference soft-thresholding: ``sign(x) * max(|x| - thr, 0)`` in plain PyTorch.

    Computed in float32 for half inputs; returns ``x``'s dtype. The specification the
    kernel and the fast path are tested against.

    Parameters
    ----------
    x : Tensor
        Floating tensor, any device.
    thr : float or Tensor
        Threshold >= 0, or a tensor of thresholds broadcastable to ``x``.

    Returns
    -------
    Tensor
        A new tensor of the shape and dtype of ``x``.
    """
    check_float_tensor(x, "x")
    cd = compute_dtype(x.dtype)
    xf = x.to(cd)
    t = thr.to(cd) if isinstance(thr, torch.Tensor) else check_nonneg_number(thr, "thr")
    # sign(x) * max(|x| - t, 0), written so that the zeros are +0.0
    return torch.where(xf.abs() > t, xf - torch.sign(xf) * t, torch.zeros((), dtype=cd)).to(x.dtype)


def soft_threshold_torch(x: torch.Tensor, thr: float | torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Fast PyTorch soft-thresholding (the CPU path): one fused pass for a scalar threshold.

    A scalar threshold uses ``torch.nn.functional.softshrink`` (a single vectorised
    kernel); a tensor threshold computes ``x - clamp(x, -thr, thr)``. ``out=x`` works in
    place. Same values as :func:`soft_threshold_ref`.

    Parameters
    ----------
    x : Tensor
        Floating tensor, any device.
    thr : float or Tensor
        Threshold >= 0, or a threshold tensor (see :func:`threshold_operand` for the shapes
        allowed).
    out : Tensor, optional
        Destination of the shape, dtype and device of ``x`` (may be ``x``); by default a
        new tensor.

    Returns
    -------
    Tensor
        The soft-thresholded tensor: ``out`` when given.
    """
    check_float_tensor(x, "x")
    if isinstance(thr, torch.Tensor):
        if thr.numel() == 1 and thr.device == x.device and not x.is_cuda:
            thr = check_nonneg_number(thr.item(), "thr")
        else:
            threshold_operand(thr, x)  # shape / dtype / device checks
    if not isinstance(thr, torch.Tensor):
        thr = check_nonneg_number(thr, "thr")
    if out is not None and (out.shape != x.shape or out.dtype != x.dtype or out.device != x.device):
        raise ValueError("out must match x in shape, dtype and device")
    if not isinstance(thr, torch.Tensor):
        if x.dtype in (torch.float16, torch.bfloat16):
            y = torch.nn.functional.softshrink(x.float(), thr).to(x.dtype)
            return y if out is None else out.copy_(y)
        if out is None:
            return torch.nn.functional.softshrink(x, thr)
        # aten's out= variant writes in one pass with no temporary (also when out is x)
        return torch.ops.aten.softshrink.out(x, thr, out=out)
    cd = compute_dtype(x.dtype)
    t = thr.to(cd)
    if cd == x.dtype:
        clamped = torch.minimum(torch.maximum(x, -t), t)
        if out is None:
            return x - clamped
        return torch.sub(x, clamped, out=out)
    xf = x.to(cd)
    y = xf - torch.minimum(torch.maximum(xf, -t), t)
    return y.to(x.dtype) if out is None else out.copy_(y)
