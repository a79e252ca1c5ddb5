r"""Group soft-thresholding, the proximal operator of the group lasso.

Groups are the slices of ``x`` along ``dim`` (``dim=0``: one group per row, output
channel or conv filter; the norm runs over all other dimensions):

.. math::

    y_g = x_g \max\!\Big(0,\ 1 - \frac{\tau_g}{\lVert x_g \rVert_2}\Big)
        = \arg\min_{y_g} \tfrac12 \lVert y_g - x_g \rVert^2 + \tau_g \lVert y_g \rVert_2 .

A group with :math:`\lVert x_g\rVert_2 \le \tau_g` becomes exactly zero.
"""
from __future__ import annotations

import torch

from proxgan._validation import check_float_tensor, check_nonneg_number

from ._common import compute_dtype
from ._lazy import check_launchable, jit
from ._tile import tile_ptr
from .soft_threshold import aligned16

__all__ = ["group_soft_threshold", "group_soft_threshold_ref", "group_soft_threshold_torch", "group_view",
           "aot_variants"]

tl = None  # replaced by triton.language at the first launch
triton = None



@jit(do_not_specialize=["n_rows", "row_len", "aligned"],
     do_not_specialize_on_alignment=["x_ptr", "thr_ptr", "out_ptr"])
def _group_soft_threshold_kernel(x_ptr, thr_ptr, out_ptr, thr_value, n_rows, row_len, aligned,
                                 THR_MODE: tl.constexpr, IS_F64: tl.constexpr,
                                 ROWS: tl.constexpr, BLOCK: tl.constexpr, VEC: tl.constexpr):
    # Each program owns ROWS groups (rows of a contiguous (G, M) matrix) and walks their
    # columns in BLOCK-wide tiles twice: once for the norms, once to scale. When x and out
    # start 16-byte aligned and rows are a whole number of VEC-element (16-byte) chunks, every
    # row starts aligned: the 128-bit path (see _tile.py), with row_len rewritten as
    # (row_len // VEC) * VEC (the same number) so that the compiler sees its divisibility.
    first = tl.program_id(0).to(tl.int64) * ROWS
    if (aligned != 0) & (row_len % VEC == 0):
        _group_rows(x_ptr, thr_ptr, out_ptr, thr_value, first, n_rows, (row_len // VEC) * VEC,
                    THR_MODE, IS_F64, ROWS, BLOCK, True)
    else:
        _group_rows(x_ptr, thr_ptr, out_ptr, thr_value, first, n_rows, row_len, THR_MODE, IS_F64, ROWS, BLOCK, False)


@jit
def _group_rows(x_ptr, thr_ptr, out_ptr, thr_value, first, n_rows, row_len, THR_MODE: tl.constexpr,
                IS_F64: tl.constexpr, ROWS: tl.constexpr, BLOCK: tl.constexpr, ALIGNED: tl.constexpr):
    local = tl.arange(0, ROWS)
    rows = first + local
    row_mask = rows < n_rows
    base = local.to(tl.int64) * row_len
    xp = tile_ptr(x_ptr, first * row_len, ALIGNED)
    op = tile_ptr(out_ptr, first * row_len, ALIGNED)
    if IS_F64:
        acc = tl.zeros((ROWS, BLOCK), dtype=tl.float64)
    else:
        acc = tl.zeros((ROWS, BLOCK), dtype=tl.float32)
    for start in range(0, row_len, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        m = row_mask[:, None] & (cols < row_len)[None, :]
        v = tl.load(xp + base[:, None] + cols[None, :], mask=m, other=0.0).to(acc.dtype)
        acc += v * v
    norm = tl.sqrt(tl.sum(acc, axis=1))
    if THR_MODE == 0:
        t = thr_value
    elif THR_MODE == 1:
        t = tl.load(thr_ptr).to(acc.dtype)
    else:
        t = tl.load(thr_ptr + rows, mask=row_mask, other=0.0).to(acc.dtype)
    safe = tl.where(norm > 0, norm, 1.0)
    scale = tl.where(norm > t, 1.0 - t / safe, 0.0)
    for start in range(0, row_len, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        m = row_mask[:, None] & (cols < row_len)[None, :]
        offs = base[:, None] + cols[None, :]
        v = tl.load(xp + offs, mask=m, other=0.0).to(acc.dtype)
        tl.store(op + offs, (v * scale[:, None]).to(op.dtype.element_ty), mask=m)


# Tile widths: four classes of row length (each one compiled form per dtype and threshold
# mode; a row wider than its data wastes lanes, not memory traffic: masked lanes load nothing).
_BLOCKS = (16, 64, 256, 1024)


def _tile(row_len: int) -> tuple[int, int]:
    """(ROWS, BLOCK): BLOCK covers short rows in one tile; ROWS fills a tile of ~4096 elements."""
    block = next((b for b in _BLOCKS if b >= row_len), _BLOCKS[-1])
    return max(1, 4096 // block), block


def aot_variants() -> list:
    """Every compiled form of ``_group_soft_threshold_kernel`` that :func:`group_soft_threshold` can launch.

    Per dtype, threshold mode and tile (one per row length class). Row counts and lengths
    are taken as 32-bit integers: a matrix with 2**31 or more rows, or longer rows, compiles
    a 64-bit form at its first launch.
    """
    from ._variants import FLOAT_DTYPES, Variant, triton_type

    out = []
    for dtype in FLOAT_DTYPES:
        cd = compute_dtype(dtype)
        xt, ct = "*" + triton_type(dtype), "*" + triton_type(cd)
        for mode in ((1, 2) if cd == torch.float64 else (0, 1, 2)):
            for block in _BLOCKS:
                rows, _ = _tile(block)
                sig = {"x_ptr": xt, "thr_ptr": xt if mode == 0 else ct, "out_ptr": xt, "thr_value": "fp32",
                       "n_rows": "i32", "row_len": "i32", "aligned": "i32"}
                out.append(Variant("group_soft_threshold", _group_soft_threshold_kernel,
                                   f"{triton_type(dtype)}-thr{mode}-block{block}", sig,
                                   {"THR_MODE": mode, "IS_F64": cd == torch.float64, "ROWS": rows, "BLOCK": block,
                                    "VEC": 16 // dtype.itemsize}))
    return out


def group_view(x: torch.Tensor, dim: int) -> tuple[int, torch.Tensor]:
    """Return ``(dim, xm)``: the normalised dim and ``x`` as a ``(G, M)`` matrix of groups.

    ``xm`` is a view when ``dim`` is 0 and ``x`` is contiguous, otherwise a copy.
    Raises ``ValueError`` when ``dim`` is out of range (a 0-d tensor has no groups).

    Parameters
    ----------
    x : Tensor
        The tensor whose slices along ``dim`` are the groups (at least 1-d).
    dim : int
        The dimension that indexes groups; negative values count from the end.

    Returns
    -------
    dim : int
        ``dim`` normalised to ``[0, x.dim())``.
    xm : Tensor
        ``x`` with ``dim`` moved first, reshaped to ``(G, M)``: ``G = x.shape[dim]`` groups
        of ``M`` elements (the product of the other sizes).

    Raises
    ------
    TypeError
        If ``dim`` is not an int.
    ValueError
        If ``dim`` is out of range.
    """
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {dim!r}")
    if x.dim() == 0 or not (-x.dim() <= dim < x.dim()):
        raise ValueError(f"group dim {dim} is out of range for a tensor with {x.dim()} dimension(s)")
    dim = dim % x.dim()
    g = x.shape[dim]
    m = 1
    for i, size in enumerate(x.shape):
        if i != dim:
            m *= size
    return dim, x.movedim(dim, 0).reshape(g, m)


def _group_threshold(thr: float | torch.Tensor, g: int, x: torch.Tensor, cd: torch.dtype):
    """``(mode, value, tensor)`` for a scalar threshold or one threshold per group."""
    if isinstance(thr, torch.Tensor):
        if thr.is_complex() or not thr.is_floating_point():
            raise TypeError(f"thr tensor must have a real floating dtype, got {thr.dtype}")
        if thr.device != x.device:
            raise ValueError(f"thr is on {thr.device} but x is on {x.device}")
        # in the compute dtype, as the kernel reads it: one kernel variant per dtype of x
        if thr.numel() == 1:
            return 1, 0.0, thr.reshape(1).to(cd)
        if thr.dim() != 1 or thr.shape[0] != g:
            raise ValueError(f"a per-group thr must have shape ({g},), got {tuple(thr.shape)}")
        return 2, 0.0, thr.to(cd).contiguous()
    value = check_nonneg_number(thr, "thr")
    if cd == torch.float64:
        return 1, 0.0, torch.full((1,), value, dtype=torch.float64, device=x.device)
    return 0, value, x


def _scatter_back(y2d: torch.Tensor, x: torch.Tensor, dim: int, out: torch.Tensor | None) -> torch.Tensor:
    moved_shape = (x.shape[dim],) + tuple(s for i, s in enumerate(x.shape) if i != dim)
    y = y2d.reshape(moved_shape).movedim(0, dim)
    if out is None:
        return y.contiguous() if not y.is_contiguous() else y
    if y.data_ptr() != out.data_ptr() or y.stride() != out.stride():
        out.copy_(y)
    return out


def _check_out(x: torch.Tensor, out: torch.Tensor | None) -> None:
    if out is not None:
        check_float_tensor(out, "out")
        if out.shape != x.shape or out.dtype != x.dtype or out.device != x.device:
            raise ValueError("out must match x in shape, dtype and device")


def group_soft_threshold(x: torch.Tensor, thr: float | torch.Tensor, dim: int = 0,
                         out: torch.Tensor | None = None) -> torch.Tensor:
    """Group soft-thresholding with the Triton kernel (one program per group).

    Parameters
    ----------
    x : Tensor
        Floating tensor, CUDA (or CPU under ``TRITON_INTERPRET=1``), any strides.
    thr : float or Tensor
        A threshold >= 0 for every group, or a tensor of shape ``(x.shape[dim],)``.
    dim : int
        The dimension that indexes groups.
    out : Tensor, optional
        Destination (may be ``x``).
    """
    check_float_tensor(x, "x")
    dim, xm = group_view(x, dim)
    cd = compute_dtype(x.dtype)
    mode, value, t = _group_threshold(thr, xm.shape[0], x, cd)
    _check_out(x, out)
    xm = xm.contiguous()
    direct = out is not None and dim == 0 and out.is_contiguous()
    buf = out.view(xm.shape) if direct else torch.empty_like(xm)
    if xm.numel():
        check_launchable(xm)
        rows, block = _tile(xm.shape[1])
        grid = ((xm.shape[0] + rows - 1) // rows,)
        _group_soft_threshold_kernel[grid](xm, t, buf, value, xm.shape[0], xm.shape[1], aligned16(xm, buf),
                                           THR_MODE=mode, IS_F64=cd == torch.float64, ROWS=rows, BLOCK=block,
                                           VEC=16 // xm.element_size())
    if direct:
        return out
    return _scatter_back(buf, x, dim, out)


def group_soft_threshold_ref(x: torch.Tensor, thr: float | torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Reference group soft-thresholding in plain PyTorch: ``x_g * max(0, 1 - thr_g/||x_g||)``.

    Parameters
    ----------
    x : Tensor
        Floating tensor, any device and strides.
    thr : float or Tensor
        A threshold >= 0 for every group, or a tensor with one threshold per group
        (``x.shape[dim]`` values).
    dim : int, default 0
        The dimension that indexes groups (the norm runs over all the others).

    Returns
    -------
    Tensor
        A new tensor of the shape and dtype of ``x`` (computed in float32 for half
        precision).
    """
    check_float_tensor(x, "x")
    dim, xm = group_view(x, dim)
    cd = compute_dtype(x.dtype)
    xf = xm.to(cd)
    norms = torch.linalg.vector_norm(xf, dim=1)
    t = thr.to(cd).reshape(-1) if isinstance(thr, torch.Tensor) else check_nonneg_number(thr, "thr")
    scale = torch.where(norms > t, 1 - t / torch.where(norms > 0, norms, torch.ones_like(norms)),
                        torch.zeros_like(norms))
    y2d = (xf * scale[:, None]).to(x.dtype)
    return _scatter_back(y2d, x, dim, None)


def group_soft_threshold_torch(x: torch.Tensor, thr: float | torch.Tensor, dim: int = 0,
                               out: torch.Tensor | None = None) -> torch.Tensor:
    """PyTorch path (the CPU path): same values as the reference, ``out=x`` in place.

    Parameters
    ----------
    x : Tensor
        Floating tensor, any device and strides.
    thr : float or Tensor
        A threshold >= 0 for every group, or a tensor of shape ``(x.shape[dim],)`` (or one
        element), real floating, on the device of ``x``.
    dim : int, default 0
        The dimension that indexes groups.
    out : Tensor, optional
        Destination of the shape, dtype and device of ``x`` (may be ``x``); by default a
        new tensor.

    Returns
    -------
    Tensor
        The thresholded tensor: ``out`` when given.
    """
    check_float_tensor(x, "x")
    dim, xm = group_view(x, dim)
    cd = compute_dtype(x.dtype)
    _group_threshold(thr, xm.shape[0], x, cd)
    _check_out(x, out)
    norms = torch.linalg.vector_norm(xm, dim=1, dtype=cd)
    t = thr.to(cd).reshape(-1) if isinstance(thr, torch.Tensor) else float(thr)
    scale = (1 - t / norms.clamp_min(torch.finfo(cd).tiny)).clamp_min_(0)
    scale = torch.where(norms > t, scale, torch.zeros_like(scale))
    shape = [1] * x.dim()
    shape[dim] = -1
    scale = scale.reshape(shape)
    if out is None:
        return (x.to(cd) * scale).to(x.dtype)
    if cd == x.dtype:
        return torch.mul(x, scale, out=out)
    return out.copy_(x.to(cd) * scale)
