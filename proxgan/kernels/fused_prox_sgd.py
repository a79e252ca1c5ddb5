r"""Fused proximal SGD step: weight decay, momentum, the step, prox and the write in one pass.

For one tensor (the update of :class:`torch.optim.SGD`, then the prox at step ``lr``):

.. math::

    g &\leftarrow g + \text{wd}\,p, \qquad
    b \leftarrow \mu b + (1-\tau) g \ (b = g \text{ at the first step}), \qquad
    d = g + \mu b \ (\text{Nesterov}) \ \text{or}\ d = b, \\
    p &\leftarrow \arg\min_y \tfrac12\lVert y - (p - \text{lr}\, d)\rVert^2 + \text{lr}\cdot g(y).

(``maximize`` negates ``g``; without momentum ``d = g``.) The penalty is a code of
:mod:`proxgan.kernels.fused_penalty`. Half-precision parameters are computed in float32
with a float32 momentum buffer; float64 in float64.

Three layers: ``_fused_prox_sgd_kernel`` (Triton, a multi-tensor launch),
``fused_prox_sgd`` / ``fused_prox_sgd_multi`` (its launchers) and ``fused_prox_sgd_ref``
(plain PyTorch, the specification).
"""
from __future__ import annotations

import torch

from ._common import compute_dtype
from ._hp import SGD_HP, index, vector
from ._lazy import check_launchable, jit
from ._prox_triton import apply_weights, prox_tile, weight_column
from ._tile import load_tile, store_tile, tile_ptr
from .fused_penalty import Code, check_weights, pointer_table, prox_code_ref, scalar_tensor, step_variants, tile_table

__all__ = ["fused_prox_sgd", "fused_prox_sgd_multi", "fused_prox_sgd_ref", "aot_variants"]

tl = None  # the real triton.language is put here at the first launch (see _lazy.py)
triton = None

BLOCK = 1024

# positions in the hyperparameter vector (its order: proxgan.kernels._hp.SGD_HP); tl.constexpr at the first compile
H_LR, H_OMD, H_WD, H_MU, H_A, H_B, H_SIGN, H_NESTEROV, H_FIRST = (
    index(SGD_HP, k) for k in ("lr", "omd", "wd", "mu", "a", "b", "sign", "nesterov", "first"))
__constexpr__ = ("H_LR", "H_OMD", "H_WD", "H_MU", "H_A", "H_B", "H_SIGN", "H_NESTEROV", "H_FIRST")


@jit(do_not_specialize=["T"], do_not_specialize_on_alignment=["ptrs", "sizes", "tile_tensor", "tile_block", "hp_ptr"])
def _fused_prox_sgd_kernel(ptrs, sizes, tile_tensor, tile_block, T, hp_ptr,
                           P_TY: tl.constexpr, S_TY: tl.constexpr, PENALTY: tl.constexpr,
                           MOMENTUM: tl.constexpr, IS_F64: tl.constexpr, BLOCK: tl.constexpr):
    # multi-tensor launch: this program does block `blk` of tensor `t` (see fused_penalty.py).
    # Full tiles of tensors that all start 16-byte aligned take the 128-bit body (_tile.py).
    pid = tl.program_id(0)
    t = tl.load(tile_tensor + pid)
    start = tl.load(tile_block + pid).to(tl.int64) * BLOCK
    rem = tl.load(sizes + t) - start
    pa = tl.load(ptrs + t)
    ga = tl.load(ptrs + T + t)
    ba = tl.load(ptrs + 2 * T + t)
    xa = weight_column(ptrs, T, t, 3, pa, PENALTY)  # weighted L1 only: its weights
    if (((pa | ga | ba | xa) & 15) == 0) & (rem >= BLOCK):  # all 16-byte aligned, full tile
        _prox_sgd_tile(pa, ga, ba, xa, start, rem, hp_ptr, P_TY, S_TY, PENALTY, MOMENTUM, IS_F64, BLOCK, False)
    else:
        _prox_sgd_tile(pa, ga, ba, xa, start, rem, hp_ptr, P_TY, S_TY, PENALTY, MOMENTUM, IS_F64, BLOCK, True)


@jit
def _prox_sgd_tile(pa, ga, ba, xa, start, rem, hp_ptr, P_TY: tl.constexpr, S_TY: tl.constexpr,
                   PENALTY: tl.constexpr, MOMENTUM: tl.constexpr, IS_F64: tl.constexpr, BLOCK: tl.constexpr,
                   MASKED: tl.constexpr):
    p_ptr = tile_ptr(pa.to(tl.pointer_type(P_TY)), start, not MASKED)
    g_ptr = tile_ptr(ga.to(tl.pointer_type(P_TY)), start, not MASKED)
    # scalars in the compute dtype; maximize, Nesterov and the first step are numbers too
    lr = tl.load(hp_ptr + H_LR)
    wd = tl.load(hp_ptr + H_WD)
    mu = tl.load(hp_ptr + H_MU)
    omd = tl.load(hp_ptr + H_OMD)
    pa_ = tl.load(hp_ptr + H_A)
    pb = tl.load(hp_ptr + H_B)
    sign = tl.load(hp_ptr + H_SIGN)
    nesterov = tl.load(hp_ptr + H_NESTEROV)
    first = tl.load(hp_ptr + H_FIRST)
    p = load_tile(p_ptr, rem, BLOCK, MASKED).to(lr.dtype)
    g = load_tile(g_ptr, rem, BLOCK, MASKED).to(lr.dtype)
    g = g * sign  # -1 with maximize: exact
    g = tl.where(wd != 0.0, g + wd * p, g)
    if MOMENTUM:
        b_ptr = tile_ptr(ba.to(tl.pointer_type(S_TY)), start, not MASKED)
        if first != 0.0:  # torch.optim.SGD starts the buffer at the gradient (no read)
            b = g
        else:
            b = mu * load_tile(b_ptr, rem, BLOCK, MASKED).to(lr.dtype) + omd * g
        store_tile(b_ptr, b, rem, BLOCK, MASKED)
        g = tl.where(nesterov != 0.0, g + mu * b, b)
    u = p - lr * g
    s = apply_weights(tl.zeros_like(u) + lr, xa, start, rem, S_TY, PENALTY, BLOCK, MASKED)
    y = prox_tile(u, s, pa_, pb, PENALTY, IS_F64)
    store_tile(p_ptr, y, rem, BLOCK, MASKED)


def fused_prox_sgd(p: torch.Tensor, grad: torch.Tensor, momentum_buffer: torch.Tensor | None, *, lr: float,
                   momentum: float, dampening: float, nesterov: bool, weight_decay: float, maximize: bool,
                   first: bool, code: int, a: float, b: float, weights: torch.Tensor | None = None) -> None:
    """One fused proximal SGD step on ``p`` in place, with the Triton kernel.

    ``p`` contiguous, CUDA (or CPU under ``TRITON_INTERPRET=1``); ``grad`` of the same shape
    and dtype; ``momentum_buffer`` contiguous in the compute dtype (``None`` without
    momentum). ``first=True`` initialises the buffer with the gradient, as torch.optim.SGD.
    See :func:`fused_prox_sgd_multi` for many tensors in one launch.

    Parameters
    ----------
    p : torch.Tensor
        The parameter, updated in place.
    grad : torch.Tensor
        Its gradient, same shape, dtype and device as ``p``.
    momentum_buffer : torch.Tensor or None
        Momentum buffer (shape of ``p``, compute dtype), updated in place; None without
        momentum.
    lr : float
        Learning rate; also the step of the prox.
    momentum : float
        Momentum factor ``mu`` (0: no momentum, the buffer is neither read nor written).
    dampening : float
        Dampening ``tau`` of the momentum: the gradient enters the buffer with weight
        ``1 - dampening``.
    nesterov : bool
        Use Nesterov momentum, ``d = g + momentum * b``.
    weight_decay : float
        Weight decay factor: ``weight_decay * p`` is added to the gradient.
    maximize : bool
        Maximize the objective: the gradient is negated.
    first : bool
        True at the first step of the buffer: it is set to the gradient, as
        :class:`torch.optim.SGD` does.
    code : int
        The penalty's :class:`~proxgan.kernels.fused_penalty.Code`.
    a, b : float
        The penalty's scalar vector for ``code`` (see :mod:`proxgan.kernels.fused_penalty`).
    weights : torch.Tensor, optional
        For ``code`` ``L1W`` (required there): the weights of a weighted L1, contiguous, of
        the shape of ``p``, in the compute dtype.
    """
    fused_prox_sgd_multi([p], [grad], [momentum_buffer], lr=lr, momentum=momentum, dampening=dampening,
                         nesterov=nesterov, weight_decay=weight_decay, maximize=maximize, first=first,
                         code=code, a=a, b=b, weights=None if weights is None else [weights])


def fused_prox_sgd_multi(params: list[torch.Tensor], grads: list[torch.Tensor],
                         momentum_buffers: list[torch.Tensor | None], *, lr: float, momentum: float,
                         dampening: float, nesterov: bool, weight_decay: float, maximize: bool, first: bool,
                         code: int, a: float, b: float, weights: list[torch.Tensor] | None = None) -> None:
    """:func:`fused_prox_sgd` on many tensors (same dtype and device) in one launch.

    Parameters
    ----------
    params : list of torch.Tensor
        The parameters (contiguous, one dtype and device), updated in place.
    grads : list of torch.Tensor
        Their gradients, each of the shape, dtype and device of its parameter.
    momentum_buffers : list of torch.Tensor or None
        Momentum buffers (contiguous, compute dtype, shaped like their parameters), updated
        in place; the entries are not read when ``momentum`` is 0 and may then be None.
    lr : float
        Learning rate; also the step of the prox.
    momentum : float
        Momentum factor ``mu`` (0: no momentum, the buffer is neither read nor written).
    dampening : float
        Dampening ``tau`` of the momentum: the gradient enters the buffer with weight
        ``1 - dampening``.
    nesterov : bool
        Use Nesterov momentum, ``d = g + momentum * b``.
    weight_decay : float
        Weight decay factor: ``weight_decay * p`` is added to the gradient.
    maximize : bool
        Maximize the objective: the gradient is negated.
    first : bool
        True at the first step of the buffer: it is set to the gradient, as
        :class:`torch.optim.SGD` does.
    code : int
        The penalty's :class:`~proxgan.kernels.fused_penalty.Code`.
    a, b : float
        The penalty's scalar vector for ``code`` (see :mod:`proxgan.kernels.fused_penalty`).
    weights : list of torch.Tensor, optional
        For ``code`` ``L1W`` (required there): one weight tensor per parameter, contiguous,
        of its shape, in the compute dtype.

    Raises
    ------
    ValueError
        If the parameters differ in dtype or device, a parameter is not contiguous, or a
        gradient or momentum buffer does not match its parameter.
    """
    if not params:
        return
    dtype, device = params[0].dtype, params[0].device
    cd = compute_dtype(dtype)
    gs = []
    for i, p in enumerate(params):
        if p.dtype != dtype or p.device != device:
            raise ValueError("a multi-tensor launch needs parameters of one dtype and device")
        if not p.is_contiguous():
            raise ValueError("fused_prox_sgd needs a contiguous parameter")
        g = grads[i]
        if g.shape != p.shape or g.dtype != p.dtype or g.device != p.device:
            raise ValueError("grad must match p in shape, dtype and device")
        gs.append(g.contiguous())
        if momentum != 0:
            buf = momentum_buffers[i]
            if buf is None or buf.shape != p.shape or buf.dtype != cd or not buf.is_contiguous() \
                    or buf.device != p.device:
                raise ValueError(f"momentum_buffer must be a contiguous {cd} tensor shaped like p")
    check_weights(code, params, weights, cd)
    keep = [i for i, p in enumerate(params) if p.numel()]
    if not keep:
        return
    check_launchable(params[0])
    import triton.language as tlang

    values = dict(lr=lr, omd=1.0 - dampening, wd=weight_decay, mu=momentum, a=a, b=b, sign=-1.0 if maximize else 1.0,
                  nesterov=1.0 if nesterov else 0.0, first=1.0 if first else 0.0)
    hp = scalar_tensor(vector(SGD_HP, values), cd, device)
    bufs = [momentum_buffers[i] if momentum != 0 else params[i] for i in keep]
    cols = [[params[i] for i in keep], [gs[i] for i in keep], bufs]
    if code == Code.L1W:
        cols.append([weights[i] for i in keep])
    ptrs = pointer_table(cols, device)
    tile_tensor, tile_block = tile_table(tuple(params[i].numel() for i in keep), BLOCK, device)
    tys = {torch.float64: tlang.float64, torch.float32: tlang.float32, torch.float16: tlang.float16,
           torch.bfloat16: tlang.bfloat16}
    _fused_prox_sgd_kernel[(tile_tensor.numel(),)](
        ptrs, torch.tensor([params[i].numel() for i in keep], dtype=torch.int64).to(device), tile_tensor,
        tile_block, len(keep), hp, P_TY=tys[dtype], S_TY=tys[cd], PENALTY=int(code), MOMENTUM=momentum != 0,
        IS_F64=cd == torch.float64, BLOCK=BLOCK)


def aot_variants() -> list:
    """Every compiled form of ``_fused_prox_sgd_kernel`` that :func:`fused_prox_sgd_multi` can launch:
    per parameter dtype, penalty code and momentum on/off (the other options are numbers)."""
    return step_variants("fused_prox_sgd", _fused_prox_sgd_kernel, "MOMENTUM", BLOCK)


def fused_prox_sgd_ref(p: torch.Tensor, grad: torch.Tensor, momentum_buffer: torch.Tensor | None, *, lr: float,
                       momentum: float, dampening: float, nesterov: bool, weight_decay: float, maximize: bool,
                       first: bool, code: int, a: float, b: float, weights: torch.Tensor | None = None) -> None:
    """The specification of :func:`fused_prox_sgd` in plain PyTorch (same arguments, in place).

    Its parameters are those of :func:`fused_prox_sgd`.
    """
    cd = compute_dtype(p.dtype)
    x = p.detach().to(cd)
    g = grad.to(cd)
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * x
    if momentum != 0:
        bnew = g.clone() if first else momentum * momentum_buffer + (1.0 - dampening) * g
        momentum_buffer.copy_(bnew)
        g = g + momentum * bnew if nesterov else bnew
    u = x - lr * g
    p.detach().copy_(prox_code_ref(u, lr, code, a, b, weights))


# the reference documents the parameter list of the kernel it specifies, written once
_PARAMETERS = fused_prox_sgd.__doc__[fused_prox_sgd.__doc__.index("\n    Parameters\n"):]
fused_prox_sgd_ref.__doc__ = fused_prox_sgd_ref.__doc__.rstrip() + "\n" + _PARAMETERS
