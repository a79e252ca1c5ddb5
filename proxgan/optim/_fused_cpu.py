r"""Single-pass CPU steps for ProxAdam and ProxSGD: one numba call per group and dtype.

Each kernel reads ``p, g`` and the optimizer state once and writes ``p`` and the state
once: the smooth step, the bias correction and the prox (a penalty code of
:mod:`proxgan.kernels.fused_penalty`, from :func:`proxgan._lowering.lower`) happen in
registers, element by element.

**One launch for all tensors.** Like the Triton kernels, a call takes a table of
``data_ptr()`` values (one row per tensor) and a table of tiles; tiles run in a
``prange`` loop (two threads on a two-core machine) or, for small models, serially. This
keeps the per-step cost of a model with many small tensors to one call. ProxAdam's step
counters (0-d float32 tensors, as in ``torch.optim``) are incremented inside the kernel,
which also computes each tensor's bias correction.

**One source for every penalty.** The kernels take the penalty code as a
``numba.literally`` argument: numba compiles one specialisation per code actually used,
in which the code is a constant, so the branches of ``_prox`` fold away and the element
loops vectorise (the loop variants, e.g. with or without weight decay, are whole loops
chosen outside them). There is no hand copy per penalty, and only the
specialisations a program uses are compiled (about a second each, then loaded from the
on-disk cache). A new penalty code is one branch in ``_prox``. After the first call the
launchers call the compiled specialisation directly (:func:`_call`), which skips the
literal re-dispatch (about 10 µs).

Why numba rather than ``torch.compile``: the step is memory-bound; a numba loop whose
arithmetic stays in the parameter dtype vectorises and matches the bandwidth of
``torch.optim.Adam(fused=True)``; it compiles once, is cached on disk (``cache=True``)
so later processes only load it, and needs no C++ compiler at run time. The kernels are
exact IEEE arithmetic (``fastmath=False``), so in float64 they equal the for-loop
reference to rounding; ``error_model="numpy"`` makes a division by zero give inf/nan as
IEEE says instead of raising, which removes a branch per element and lets the loops
vectorise. Every scalar is passed already converted to the array dtype (a
Python float would promote float32 arithmetic to float64). This module is imported at
the first fused CPU step (``import proxgan`` does not import numba).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from numba import carray, literally, njit, prange, typeof, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["adam_step", "sgd_step", "TILE"]

#: elements per tile of the parallel loop; groups below SERIAL elements run serially, and so
#: does every group while torch is limited to one thread (``torch.set_num_threads(1)``)
TILE = 1 << 16
SERIAL = 1 << 15


@intrinsic
def _voidptr(typingctx, addr):
    """An integer address as a ``void*`` (to view memory with ``numba.carray``)."""
    sig = types.voidptr(addr)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return sig, codegen


@njit(inline="always")
def _view(addr, n, like):
    return carray(_voidptr(addr), (n,), like.dtype)


@njit(inline="always")
def _tile(k, ptrs, sizes, tiles, like, col):
    """Tile ``k``'s tensor index and its slice of column ``col`` of the flat pointer table
    (columns x tensors), as a view indexed from 0 (so that the element loop vectorises)."""
    T = sizes.shape[0]
    t = tiles[k, 0]
    lo = tiles[k, 1]
    n = min(lo + TILE, sizes[t]) - lo
    return t, _view(ptrs[col * T + t] + lo * like.itemsize, n, like)


@njit(inline="always")
def _clip(u, lo, hi):
    """``torch.clamp(u, lo, hi)`` (a NaN stays NaN) as selects, which vectorise (``min``/``max`` do not)."""
    return lo if u < lo else (hi if u > hi else u)


@njit(inline="always")
def _prox(u, s, code, a, b, one, zero):
    if code == 1:  # L1
        t = s * a
        return u - _clip(u, -t, t)
    if code == 2:  # L2
        return u / (one + s * a)
    if code == 3:  # elastic net
        t = s * a
        return (u - _clip(u, -t, t)) / (one + s * b)
    if code == 4:  # L0
        return u if abs(u) > np.sqrt(a * s) else zero
    if code == 5:  # box
        return _clip(u, a, b)
    return u


# ----------------------------------------------------------------------------- Adam
@njit(inline="always")
def _adam_elem(i, p, g, m, v, vmax, c, ss, bc2s, amsgrad, precond, code, general):
    lr, omb1, b2, omb2, eps, wd, decay, a, b, sign, one, zero = c
    gi = g[i]
    pi = p[i]
    if general:  # maximize / weight decay (the common loop leaves these flops out)
        gi = sign * gi
        pi = pi * decay
        gi = gi + wd * pi
    mi = m[i] + omb1 * (gi - m[i])
    vi = b2 * v[i] + omb2 * (gi * gi)
    m[i] = mi
    v[i] = vi
    if amsgrad:
        vi = vmax[i] if vmax[i] > vi else vi
        vmax[i] = vi
    den = np.sqrt(vi) / bc2s + eps
    u = pi - ss * (mi / den)
    s = lr / den if precond else lr
    p[i] = _prox(u, s, code, a, b, one, zero)


@njit(inline="always")
def _adam_loop(n, p, g, m, v, vmax, c, ss, bc2s, variant, precond, code):
    if variant == 0:  # preconditioned prox, no AMSGrad, maximize or weight decay
        for i in range(n):
            _adam_elem(i, p, g, m, v, vmax, c, ss, bc2s, False, True, code, False)
    elif variant == 1:
        for i in range(n):
            _adam_elem(i, p, g, m, v, vmax, c, ss, bc2s, False, precond, code, True)
    else:
        for i in range(n):
            _adam_elem(i, p, g, m, v, vmax, c, ss, bc2s, True, precond, code, True)


@njit(inline="always")
def _adam_tile(k, ptrs, sizes, tiles, bias, like, c, variant, precond, code):
    t, p = _tile(k, ptrs, sizes, tiles, like, 0)  # columns: p, g, m, v, vmax
    g = _tile(k, ptrs, sizes, tiles, like, 1)[1]
    m = _tile(k, ptrs, sizes, tiles, like, 2)[1]
    v = _tile(k, ptrs, sizes, tiles, like, 3)[1]
    vmax = _tile(k, ptrs, sizes, tiles, like, 4)[1]
    n = p.size
    ss = like.dtype.type(bias[t, 0])
    bc2s = like.dtype.type(bias[t, 1])
    _adam_loop(n, p, g, m, v, vmax, c, ss, bc2s, variant, precond, code)


@njit(inline="always")
def _adam_bias(step_ptrs, hp64):
    """Increment every tensor's step counter and return its ``(lr/(1-β1^t), sqrt(1-β2^t))``."""
    lr, beta1, beta2 = hp64[0], hp64[1], hp64[2]
    bias = np.empty((step_ptrs.shape[0], 2))
    for t in range(step_ptrs.shape[0]):
        st = carray(_voidptr(step_ptrs[t]), (1,), np.float32)
        st[0] += np.float32(1.0)
        step = np.float64(st[0])
        bias[t, 0] = lr / (1.0 - beta1 ** step)
        bias[t, 1] = np.sqrt(1.0 - beta2 ** step)
    return bias


@njit(parallel=True, cache=True, fastmath=False, error_model="numpy")
def _adam_parallel(ptrs, step_ptrs, sizes, tiles, hp64, precond, variant, carr, code):
    literally(code)
    bias = _adam_bias(step_ptrs, hp64)
    c = (carr[0], carr[1], carr[2], carr[3], carr[4], carr[5], carr[6], carr[7], carr[8], carr[9], carr[10], carr[11])
    for k in prange(tiles.shape[0]):
        _adam_tile(k, ptrs, sizes, tiles, bias, carr, c, variant, precond, code)


@njit(cache=True, fastmath=False, error_model="numpy")
def _adam_serial(ptrs, step_ptrs, sizes, tiles, hp64, precond, variant, carr, code):
    literally(code)
    bias = _adam_bias(step_ptrs, hp64)
    c = (carr[0], carr[1], carr[2], carr[3], carr[4], carr[5], carr[6], carr[7], carr[8], carr[9], carr[10], carr[11])
    for k in range(tiles.shape[0]):
        _adam_tile(k, ptrs, sizes, tiles, bias, carr, c, variant, precond, code)


# ----------------------------------------------------------------------------- SGD
@njit(inline="always")
def _sgd_elem(i, p, g, buf, c, mub, omd, mode, code, general):
    lr, wd, mu, a, b, sign, one, zero = c
    gi = g[i]
    pi = p[i]
    if general:  # maximize / weight decay
        gi = sign * gi
        gi = gi + wd * pi
    if mode == 1:
        bi = mub * buf[i] + omd * gi
        buf[i] = bi
        gi = bi
    elif mode == 2:
        bi = mub * buf[i] + omd * gi
        buf[i] = bi
        gi = gi + mu * bi
    p[i] = _prox(pi - lr * gi, lr, code, a, b, one, zero)


@njit(inline="always")
def _sgd_loop(n, p, g, buf, c, mub, omd, mode, general, code):
    if mode == 0:
        if general:
            for i in range(n):
                _sgd_elem(i, p, g, buf, c, mub, omd, 0, code, True)
        else:
            for i in range(n):
                _sgd_elem(i, p, g, buf, c, mub, omd, 0, code, False)
    elif mode == 1:
        if general:
            for i in range(n):
                _sgd_elem(i, p, g, buf, c, mub, omd, 1, code, True)
        else:
            for i in range(n):
                _sgd_elem(i, p, g, buf, c, mub, omd, 1, code, False)
    else:
        for i in range(n):
            _sgd_elem(i, p, g, buf, c, mub, omd, 2, code, True)


@njit(inline="always")
def _sgd_tile(k, ptrs, sizes, tiles, firsts, like, c, mode, general, code):
    t, p = _tile(k, ptrs, sizes, tiles, like, 0)  # columns: p, g, buf
    g = _tile(k, ptrs, sizes, tiles, like, 1)[1]
    buf = _tile(k, ptrs, sizes, tiles, like, 2)[1]
    n = p.size
    one = like.dtype.type(1.0)
    zero = like.dtype.type(0.0)
    # the first momentum step sets the (zero-filled) buffer to the gradient: 0·0 + 1·g
    mub = zero if firsts[t] else c[2]
    omd = one if firsts[t] else like[1]
    _sgd_loop(n, p, g, buf, c, mub, omd, mode, general, code)


@njit(parallel=True, cache=True, fastmath=False, error_model="numpy")
def _sgd_parallel(ptrs, sizes, tiles, firsts, mode, general, carr, code):
    literally(code)
    c = (carr[0], carr[2], carr[3], carr[4], carr[5], carr[6], carr[7], carr[8])
    for k in prange(tiles.shape[0]):
        _sgd_tile(k, ptrs, sizes, tiles, firsts, carr, c, mode, general, code)


@njit(cache=True, fastmath=False, error_model="numpy")
def _sgd_serial(ptrs, sizes, tiles, firsts, mode, general, carr, code):
    literally(code)
    c = (carr[0], carr[2], carr[3], carr[4], carr[5], carr[6], carr[7], carr[8])
    for k in range(tiles.shape[0]):
        _sgd_tile(k, ptrs, sizes, tiles, firsts, carr, c, mode, general, code)


# ----------------------------------------------------------------------------- launchers
_TILES: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray, bool]] = {}


def _tiles(sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(sizes, tiles, serial)``: tile ``k`` is ``(tensor, first element)``; cached per sizes."""
    hit = _TILES.get(sizes)
    if hit is None:
        tiles = [(t, lo) for t, n in enumerate(sizes) for lo in range(0, n, TILE)]
        if len(_TILES) >= 256:
            _TILES.clear()
        hit = _TILES[sizes] = (np.array(sizes, dtype=np.int64), np.array(tiles, dtype=np.int64).reshape(-1, 2),
                               sum(sizes) < SERIAL)
    return hit


_NP = {torch.float32: np.float32, torch.float64: np.float64}
_ENTRY: dict[tuple, object] = {}
_CONST: dict[tuple, np.ndarray] = {}


def _const(values: tuple, dtype) -> np.ndarray:
    """A small read-only array of ``values`` (hyperparameters, flags), made once per distinct value."""
    key = (values, dtype)
    arr = _CONST.get(key)
    if arr is None:
        if len(_CONST) >= 256:
            _CONST.clear()
        arr = _CONST[key] = np.array(values, dtype=dtype)
        arr.flags.writeable = False
    return arr


def _call(kernel, n_literal: int, *args) -> None:
    """Run ``kernel(*args)`` whose last ``n_literal`` arguments are ``numba.literally`` ones.

    The specialisation for those values is compiled (or loaded from the on-disk cache)
    once, by its exact signature, and then called through its entry point: this skips
    numba's literal re-dispatch, which would first type the kernel with plain integers.
    """
    literals = args[-n_literal:]
    key = (kernel, args[-n_literal - 1].dtype) + tuple(literals)  # the argument before them is ``carr``
    entry = _ENTRY.get(key)
    if entry is None:
        sig = tuple(typeof(a) for a in args[:-n_literal]) + tuple(types.literal(v) for v in literals)
        kernel.compile(sig)
        entry = _ENTRY[key] = kernel.overloads[sig].entry_point
    entry(*args)


def adam_step(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], exp_avgs: Sequence[torch.Tensor],
              exp_avg_sqs: Sequence[torch.Tensor], max_exp_avg_sqs: Sequence[torch.Tensor] | None,
              steps: Sequence[torch.Tensor], *, lr: float, beta1: float, beta2: float, eps: float,
              weight_decay: float, decoupled: bool, maximize: bool, preconditioned: bool,
              code: int, a: float, b: float) -> None:
    """Fused proximal Adam on CPU tensors of one dtype (math: :mod:`proxgan.kernels.fused_prox_adam`).

    Every tensor must be contiguous, non-empty, of the parameters' shape and dtype
    (float32 or float64); ``steps`` are 0-d float32 counters, incremented here.
    Everything is updated in place.
    """
    dtype = _NP[params[0].dtype]
    amsgrad = max_exp_avg_sqs is not None
    vmax = max_exp_avg_sqs if amsgrad else exp_avg_sqs
    ptrs = np.array([t.data_ptr() for col in (params, grads, exp_avgs, exp_avg_sqs, vmax) for t in col],
                    dtype=np.int64)
    step_ptrs = np.array([s.data_ptr() for s in steps], dtype=np.int64)
    sizes, tiles, serial = _tiles(tuple(p.numel() for p in params))
    wd = 0.0 if decoupled else weight_decay
    decay = 1.0 - lr * weight_decay if decoupled else 1.0
    carr = _const((lr, 1.0 - beta1, beta2, 1.0 - beta2, eps, wd, decay, a, b, -1.0 if maximize else 1.0, 1.0, 0.0),
                  dtype)
    hp64 = _const((lr, beta1, beta2), np.float64)
    common = not amsgrad and preconditioned and not maximize and wd == 0.0 and decay == 1.0
    variant = 0 if common else (2 if amsgrad else 1)
    kernel = _adam_serial if serial or torch.get_num_threads() == 1 else _adam_parallel
    _call(kernel, 1, ptrs, step_ptrs, sizes, tiles, hp64, preconditioned, variant, carr, code)


def sgd_step(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor],
             momentum_buffers: Sequence[torch.Tensor | None], firsts: Sequence[bool], *, lr: float,
             momentum: float, dampening: float, nesterov: bool, weight_decay: float, maximize: bool,
             code: int, a: float, b: float) -> None:
    """Fused proximal SGD on CPU tensors of one dtype (math: :mod:`proxgan.kernels.fused_prox_sgd`).

    With momentum, a first step (``firsts[i]``) expects a zero-filled buffer and sets it to
    the gradient (``0·0 + 1·g``), as torch.optim.SGD does.
    """
    dtype = _NP[params[0].dtype]
    mode = 0 if momentum == 0 else (2 if nesterov else 1)
    bufs = [p if buf is None else buf for p, buf in zip(params, momentum_buffers)]
    ptrs = np.array([t.data_ptr() for col in (params, grads, bufs) for t in col], dtype=np.int64)
    sizes, tiles, serial = _tiles(tuple(p.numel() for p in params))
    carr = _const((lr, 1.0 - dampening, weight_decay, momentum, a, b, -1.0 if maximize else 1.0, 1.0, 0.0), dtype)
    general = maximize or weight_decay != 0.0
    kernel = _sgd_serial if serial or torch.get_num_threads() == 1 else _sgd_parallel
    _call(kernel, 1, ptrs, sizes, tiles, _const(tuple(firsts), np.bool_), mode, general, carr, code)
