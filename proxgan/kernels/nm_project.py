r"""N:M projection: keep the ``n`` largest of every ``m`` consecutive weights along the input dimension.

The set :math:`C_{n:m}` holds the tensors with at most :math:`n` non-zeros in every block of
:math:`m` consecutive entries along dimension 1 (the input dimension of a linear or
convolution weight; for a convolution the blocks run over input channels at each kernel
position, as the semi-structured sparse kernels want). The projection in the metric
:math:`\operatorname{diag}(1/s)`,

.. math::

    \arg\min_{y \in C_{n:m}} \sum_i \frac{(y_i - u_i)^2}{2 s_i},

keeps in every block the :math:`n` entries with the largest score :math:`u_i^2 / s_i`
(zeroing entry :math:`i` costs :math:`u_i^2/(2 s_i)`) and zeroes the others; with a scalar
step the score is :math:`|u_i|`. A NaN scores :math:`+\infty` (it is kept: divergence stays
visible). A zero step pins its entry (infinite score unless
:math:`u_i = 0`). Ties go to the lower index, so the result is deterministic.

Layers: ``_nm_project_kernel`` (Triton), ``nm_project`` (its launcher), ``nm_project_ref``
(sort-based, the specification) and ``nm_project_torch`` (the fast CPU path: a numba loop
over blocks, ``parallel=True``, for float32 / float64 CPU tensors; ``m`` vectorised
comparisons, ``_nm_project_vectorised``, for everything else).
"""
from __future__ import annotations

import torch

from proxgan._validation import check_float_tensor

from ._common import compute_dtype
from ._lazy import check_launchable, jit

__all__ = ["nm_project", "nm_project_ref", "nm_project_torch", "check_nm", "nm_blocks"]

tl = None  # the real triton.language is put here at the first launch (see _lazy.py)
triton = None

BLOCK = 256


@jit
def _nm_project_kernel(x_ptr, s_ptr, out_ptr, n_blocks, N: tl.constexpr, M: tl.constexpr, MP: tl.constexpr,
                       HAS_STEP: tl.constexpr, IS_F64: tl.constexpr, BLOCK: tl.constexpr):
    # one row of the tile per block of M entries; MP = M rounded up to a power of two
    pid = tl.program_id(0)
    rows = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    cols = tl.arange(0, MP)
    rmask = rows < n_blocks
    mask = rmask[:, None] & (cols[None, :] < M)
    offs = rows[:, None] * M + cols[None, :]
    x = tl.load(x_ptr + offs, mask=mask, other=0.0)
    if IS_F64:
        xf = x
    else:
        xf = x.to(tl.float32)
    if HAS_STEP:
        s = tl.load(s_ptr + offs, mask=mask, other=1.0).to(xf.dtype)
        score = tl.where(s > 0, xf * xf / tl.where(s > 0, s, 1.0), tl.where(xf != 0, float("inf"), 0.0))
    else:
        score = tl.abs(xf)
    score = tl.where(score == score, score, float("inf"))  # a NaN is kept, as a sort keeps it
    rank = tl.zeros((BLOCK, MP), dtype=tl.int32)
    for j in tl.static_range(M):  # rank = how many entries of the block beat this one
        xj = tl.load(x_ptr + rows * M + j, mask=rmask, other=0.0)
        if IS_F64:
            xjf = xj
        else:
            xjf = xj.to(tl.float32)
        if HAS_STEP:
            sj = tl.load(s_ptr + rows * M + j, mask=rmask, other=1.0).to(xf.dtype)
            scj = tl.where(sj > 0, xjf * xjf / tl.where(sj > 0, sj, 1.0), tl.where(xjf != 0, float("inf"), 0.0))
        else:
            scj = tl.abs(xjf)
        scj = tl.where(scj == scj, scj, float("inf"))
        beats = (scj[:, None] > score) | ((scj[:, None] == score) & (cols[None, :] > j))
        rank += beats.to(tl.int32)
    y = tl.where(rank < N, xf, 0.0)
    tl.store(out_ptr + offs, y.to(out_ptr.dtype.element_ty), mask=mask)


#: the (n, m) patterns compiled ahead of time (any other compiles at its first launch)
AOT_PATTERNS = ((2, 4), (1, 4), (4, 8))


def aot_variants() -> list:
    """Compiled forms of ``_nm_project_kernel`` for :data:`AOT_PATTERNS`, every dtype, with and
    without a per-coordinate step. Blocks of ``m`` entries are read as a 2-D tile, so these
    variants make no 128-bit promise (``vector=False``)."""
    from ._variants import FLOAT_DTYPES, Variant, triton_type

    out = []
    for n, m in AOT_PATTERNS:
        for dtype in FLOAT_DTYPES:
            xt = "*" + triton_type(dtype)
            for has_step in (False, True):
                st = "*" + triton_type(compute_dtype(dtype)) if has_step else xt
                sig = {"x_ptr": xt, "s_ptr": st, "out_ptr": xt, "n_blocks": "i32"}
                out.append(Variant("nm_project", _nm_project_kernel,
                                   f"{triton_type(dtype)}-{n}of{m}{'-step' if has_step else ''}", sig,
                                   {"N": n, "M": m, "MP": 1 << (m - 1).bit_length(), "HAS_STEP": has_step,
                                    "IS_F64": dtype == torch.float64, "BLOCK": BLOCK}, vector=False))
    return out


def check_nm(n: int, m: int) -> tuple[int, int]:
    """Check ``1 <= n <= m`` (ints) and return them.

    Parameters
    ----------
    n : int
        Number of entries kept in every block.
    m : int
        Size of a block.

    Returns
    -------
    n, m : int
        The arguments, unchanged.

    Raises
    ------
    ValueError
        If either is not an int (a bool is not), or ``1 <= n <= m`` does not hold.
    """
    for name, v in (("n", n), ("m", m)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{name} must be an int, got {v!r}")
    if not 1 <= n <= m:
        raise ValueError(f"N:M sparsity needs 1 <= n <= m, got n={n}, m={m}")
    return n, m


def nm_blocks(x: torch.Tensor, m: int) -> torch.Tensor:
    """``x`` with dimension 1 moved last, as a contiguous ``(blocks, m)`` matrix.

    Raises a ValueError when ``x`` has no input dimension (fewer than 2 dimensions) or its
    size is not a multiple of ``m``.

    Parameters
    ----------
    x : Tensor
        At least 2-D; ``x.shape[1]`` (the input dimension) a multiple of ``m``.
    m : int
        Size of a block.

    Returns
    -------
    Tensor
        A contiguous ``(x.numel() // m, m)`` tensor (a copy unless ``x`` already has this
        layout), one block of ``m`` consecutive entries of dimension 1 per row.
    """
    if x.dim() < 2:
        raise ValueError(f"N:M sparsity runs along the input dimension (dim 1); got a tensor of shape "
                         f"{tuple(x.shape)}: leave 1-D tensors such as biases out of the group")
    if x.shape[1] % m:
        raise ValueError(f"N:M sparsity with m={m} needs the input dimension (dim 1) to be a multiple of {m}; got "
                         f"shape {tuple(x.shape)}: leave this tensor out of the group or pad the layer")
    return x.movedim(1, -1).contiguous().reshape(-1, m)


def _unblocks(yb: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return yb.reshape(x.movedim(1, -1).shape).movedim(-1, 1)


def _scores(xb: torch.Tensor, sb: torch.Tensor | None) -> torch.Tensor:
    """The scores of the module docstring; NaN scores ``inf`` (a NaN entry is kept, as a sort keeps it)."""
    if sb is None:
        score = xb.abs()
    else:
        pos = sb > 0
        score = torch.where(pos, xb * xb / torch.where(pos, sb, torch.ones_like(sb)),
                            torch.where(xb != 0, torch.full_like(xb, float("inf")), torch.zeros_like(xb)))
    return torch.nan_to_num(score, nan=float("inf"), posinf=float("inf"))


def _step_blocks(step: torch.Tensor | None, x: torch.Tensor, m: int, cd: torch.dtype) -> torch.Tensor | None:
    if step is None or not isinstance(step, torch.Tensor) or step.numel() == 1:
        return None  # one step for all: the order of |x| decides
    if step.device != x.device:
        raise ValueError(f"step is on {step.device} but x is on {x.device}")
    return nm_blocks(torch.broadcast_to(step.to(cd), x.shape), m)


def nm_project_ref(x: torch.Tensor, n: int, m: int, step: float | torch.Tensor | None = None) -> torch.Tensor:
    """Reference projection: a stable descending sort of the scores of every block.

    Parameters
    ----------
    x : Tensor
        At least 2-D, ``x.shape[1]`` a multiple of ``m``; any float dtype and device.
    n, m : int
        Keep at most ``n`` of every ``m`` consecutive entries along dimension 1
        (``1 <= n <= m``).
    step : float or Tensor, optional
        A tensor broadcastable to ``x`` (on its device) selects by :math:`u^2/s`; a number,
        a one-element tensor or None by :math:`|u|`.

    Returns
    -------
    Tensor
        The projection, a new tensor of the shape and dtype of ``x``.
    """
    check_float_tensor(x, "x")
    n, m = check_nm(n, m)
    cd = compute_dtype(x.dtype)
    xb = nm_blocks(x, m).to(cd)
    score = _scores(xb, _step_blocks(step, x, m, cd))
    order = torch.sort(score, dim=1, descending=True, stable=True).indices
    keep = torch.zeros_like(xb, dtype=torch.bool).scatter_(1, order[:, :n], True)
    yb = torch.where(keep, xb, torch.zeros((), dtype=cd, device=x.device))
    return _unblocks(yb, x).to(x.dtype)


def nm_project_torch(x: torch.Tensor, n: int, m: int, step: float | torch.Tensor | None = None,
                     out: torch.Tensor | None = None) -> torch.Tensor:
    """Fast CPU projection: the numba loop for float32 / float64 CPU tensors, else
    :func:`_nm_project_vectorised`. Same values as :func:`nm_project_ref`; ``out=x`` works in place.

    Parameters
    ----------
    x : Tensor
        At least 2-D, ``x.shape[1]`` a multiple of ``m``; any float dtype and device.
    n, m : int
        Keep at most ``n`` of every ``m`` consecutive entries along dimension 1
        (``1 <= n <= m``).
    step : float or Tensor, optional
        A tensor broadcastable to ``x`` (on its device) selects by :math:`u^2/s`; a number,
        a one-element tensor or None by :math:`|u|`.
    out : Tensor, optional
        Where to write, of the shape of ``x`` (may be ``x``); by default a new contiguous
        tensor.

    Returns
    -------
    Tensor
        The projection: ``out`` when given.
    """
    check_float_tensor(x, "x")
    n, m = check_nm(n, m)
    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return _nm_project_vectorised(x, n, m, step, out)
    xb = nm_blocks(x, m)
    sb = _step_blocks(step, x, m, x.dtype)
    yb = torch.empty_like(xb)
    if xb.numel():
        flat_s = sb.reshape(-1).numpy() if sb is not None else xb.reshape(-1)[:1].numpy()
        from ._nm_cpu import nm_project_numba

        nm_project_numba(xb.reshape(-1).numpy(), flat_s, yb.reshape(-1).numpy(), n, m, sb is not None)
    y = _unblocks(yb, x)
    return y.contiguous() if out is None else out.copy_(y)


def _nm_project_vectorised(x: torch.Tensor, n: int, m: int, step: float | torch.Tensor | None = None,
                           out: torch.Tensor | None = None) -> torch.Tensor:
    """The projection in PyTorch operations: ranks by ``m`` vectorised comparisons (any device and dtype)."""
    check_float_tensor(x, "x")
    n, m = check_nm(n, m)
    cd = compute_dtype(x.dtype)
    xb = nm_blocks(x, m)
    xb = xb if xb.dtype == cd else xb.to(cd)
    score = _scores(xb, _step_blocks(step, x, m, cd))
    if n == m:
        keep = torch.ones_like(xb, dtype=torch.bool)
    else:
        rank = torch.zeros(xb.shape, dtype=torch.int8 if m < 128 else torch.int32, device=x.device)
        cols = torch.arange(m, device=x.device)
        for j in range(m):
            sj = score[:, j:j + 1]
            rank += (sj > score) | ((sj == score) & (cols > j))
        keep = rank < n
    yb = xb * keep
    y = _unblocks(yb, x).to(x.dtype)
    return y if out is None else out.copy_(y)


def nm_project(x: torch.Tensor, n: int, m: int, step: float | torch.Tensor | None = None,
               out: torch.Tensor | None = None) -> torch.Tensor:
    """N:M projection with the Triton kernel (CUDA, or the CPU under ``TRITON_INTERPRET=1``).

    Parameters
    ----------
    x : Tensor
        At least 2-D, ``x.shape[1]`` a multiple of ``m``; any float dtype.
    n, m : int
        Keep at most ``n`` of every ``m`` consecutive entries along dimension 1.
    step : float or Tensor, optional
        A tensor broadcastable to ``x`` selects by :math:`u^2/s`; a number (or None) by :math:`|u|`.
    out : Tensor, optional
        Where to write (may be ``x``).
    """
    check_float_tensor(x, "x")
    n, m = check_nm(n, m)
    xb = nm_blocks(x, m)
    sb = _step_blocks(step, x, m, compute_dtype(x.dtype))
    yb = torch.empty_like(xb)
    if xb.numel():
        check_launchable(xb)
        nb = xb.shape[0]
        mp = 1 << (m - 1).bit_length()
        grid = ((nb + BLOCK - 1) // BLOCK,)
        _nm_project_kernel[grid](xb, sb if sb is not None else xb, yb, nb, N=n, M=m, MP=mp, HAS_STEP=sb is not None,
                                 IS_F64=x.dtype == torch.float64, BLOCK=BLOCK)
    y = _unblocks(yb, x)
    return y.contiguous() if out is None else out.copy_(y)
