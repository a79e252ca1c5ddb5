r"""Single-pass CPU steps for ProxAdam and ProxSGD, compiled with numba.

Each kernel reads ``p, g`` and the optimizer state once and writes ``p`` and the state
once: the smooth step, the bias correction and the prox (a penalty code of
:mod:`proxgan.kernels.fused_penalty`) happen in registers, element by element, in a
``prange`` loop over the tensor's flat data (two threads on a two-core machine).

Why numba rather than ``torch.compile``: the step is memory-bound, and a numba loop
whose arithmetic stays in the parameter dtype vectorises and matches the bandwidth of
``torch.optim.Adam(fused=True)``; it compiles in about a second per kernel, is cached on
disk (``cache=True``) so later processes only load it, and needs no C++ compiler at run
time. The kernels are exact IEEE arithmetic (``fastmath=False``), so in float64 they
equal the for-loop reference to rounding.

Two rules keep the loops vectorised: every scalar is passed already converted to the
array dtype (a Python float literal would promote float32 arithmetic to float64), and
every flag that changes the loop body is either a constant (one kernel per penalty
code) or selects between whole loops outside them. This module is imported at the
first fused CPU step (``import proxgan`` does not import numba).
"""
from __future__ import annotations

import weakref
from typing import Sequence

import numpy as np
import torch
from numba import njit, prange

__all__ = ["adam_step", "sgd_step", "supports"]

@njit(inline="always")
def _prox(u, s, code, a, b, one, zero):
    if code == 1:  # L1
        t = s * a
        return u - min(max(u, -t), t)
    if code == 2:  # L2
        return u / (one + s * a)
    if code == 3:  # elastic net
        t = s * a
        return (u - min(max(u, -t), t)) / (one + s * b)
    if code == 4:  # L0
        return u if abs(u) > np.sqrt(a * s) else zero
    if code == 5:  # box
        return min(max(u, a), b)
    return u


@njit(inline="always")
def _adam_elem(i, p, g, m, v, vmax, c, amsgrad, precond, code, general):
    lr, omb1, b2, omb2, eps, wd, decay, ss, bc2s, a, b, sign, one, zero = c
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
        vi = max(vmax[i], vi)
        vmax[i] = vi
    den = np.sqrt(vi) / bc2s + eps
    u = pi - ss * (mi / den)
    s = lr / den if precond else lr
    p[i] = _prox(u, s, code, a, b, one, zero)


@njit(inline="always")
def _sgd_elem(i, p, g, buf, c, mode, code, general):
    lr, wd, mub, omd, mu, a, b, sign, one, zero = c
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
def _scalars14(c):
    """The scalar vector ``c`` as a tuple, read once before the loops."""
    return (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13])


@njit(inline="always")
def _scalars10(c):
    return (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9])


# One kernel per penalty code, so that the code is a constant inside the loops. Tensors
# below _SMALL elements run a serial loop: waking the thread pool costs more than they do.
# ``common`` selects a loop with the flags of the usual configuration folded in (Adam: no
# AMSGrad, preconditioned prox, no maximize or weight decay; SGD: no maximize or weight decay).
_SMALL = 16384


@njit(parallel=True, cache=True, fastmath=False)
def _adam_none(p, g, m, v, vmax, carr, amsgrad, precond, common):
    c = _scalars14(carr)
    if p.size < _SMALL:
        for i in range(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, amsgrad, precond, 0, True)
    elif common:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, True, 0, False)
    elif amsgrad:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, True, precond, 0, True)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, precond, 0, True)


@njit(parallel=True, cache=True, fastmath=False)
def _adam_l1(p, g, m, v, vmax, carr, amsgrad, precond, common):
    c = _scalars14(carr)
    if p.size < _SMALL:
        for i in range(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, amsgrad, precond, 1, True)
    elif common:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, True, 1, False)
    elif amsgrad:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, True, precond, 1, True)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, precond, 1, True)


@njit(parallel=True, cache=True, fastmath=False)
def _adam_l2(p, g, m, v, vmax, carr, amsgrad, precond, common):
    c = _scalars14(carr)
    if p.size < _SMALL:
        for i in range(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, amsgrad, precond, 2, True)
    elif common:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, True, 2, False)
    elif amsgrad:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, True, precond, 2, True)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, precond, 2, True)


@njit(parallel=True, cache=True, fastmath=False)
def _adam_enet(p, g, m, v, vmax, carr, amsgrad, precond, common):
    c = _scalars14(carr)
    if p.size < _SMALL:
        for i in range(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, amsgrad, precond, 3, True)
    elif common:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, True, 3, False)
    elif amsgrad:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, True, precond, 3, True)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, precond, 3, True)


@njit(parallel=True, cache=True, fastmath=False)
def _adam_l0(p, g, m, v, vmax, carr, amsgrad, precond, common):
    c = _scalars14(carr)
    if p.size < _SMALL:
        for i in range(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, amsgrad, precond, 4, True)
    elif common:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, True, 4, False)
    elif amsgrad:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, True, precond, 4, True)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, precond, 4, True)


@njit(parallel=True, cache=True, fastmath=False)
def _adam_box(p, g, m, v, vmax, carr, amsgrad, precond, common):
    c = _scalars14(carr)
    if p.size < _SMALL:
        for i in range(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, amsgrad, precond, 5, True)
    elif common:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, True, 5, False)
    elif amsgrad:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, True, precond, 5, True)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, precond, 5, True)


@njit(parallel=True, cache=True, fastmath=False)
def _sgd_none(p, g, buf, carr, mode, common):
    c = _scalars10(carr)
    if p.size < _SMALL:
        for i in range(p.size):
            _sgd_elem(i, p, g, buf, c, mode, 0, True)
    elif mode == 0:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 0, 0, not common)
    elif mode == 1:
        if common:
            for i in prange(p.size):
                _sgd_elem(i, p, g, buf, c, 1, 0, False)
        else:
            for i in prange(p.size):
                _sgd_elem(i, p, g, buf, c, 1, 0, True)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 2, 0, True)


@njit(parallel=True, cache=True, fastmath=False)
def _sgd_l1(p, g, buf, carr, mode, common):
    c = _scalars10(carr)
    if p.size < _SMALL:
        for i in range(p.size):
            _sgd_elem(i, p, g, buf, c, mode, 1, True)
    elif mode == 0:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 0, 1, not common)
    elif mode == 1:
        if common:
            for i in prange(p.size):
                _sgd_elem(i, p, g, buf, c, 1, 1, False)
        else:
            for i in prange(p.size):
                _sgd_elem(i, p, g, buf, c, 1, 1, True)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 2, 1, True)


@njit(parallel=True, cache=True, fastmath=False)
def _sgd_l2(p, g, buf, carr, mode, common):
    c = _scalars10(carr)
    if p.size < _SMALL:
        for i in range(p.size):
            _sgd_elem(i, p, g, buf, c, mode, 2, True)
    elif mode == 0:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 0, 2, not common)
    elif mode == 1:
        if common:
            for i in prange(p.size):
                _sgd_elem(i, p, g, buf, c, 1, 2, False)
        else:
            for i in prange(p.size):
                _sgd_elem(i, p, g, buf, c, 1, 2, True)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 2, 2, True)


@njit(parallel=True, cache=True, fastmath=False)
def _sgd_enet(p, g, buf, carr, mode, common):
    c = _scalars10(carr)
    if p.size < _SMALL:
        for i in range(p.size):
            _sgd_elem(i, p, g, buf, c, mode, 3, True)
    elif mode == 0:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 0, 3, not common)
    elif mode == 1:
        if common:
            for i in prange(p.size):
                _sgd_elem(i, p, g, buf, c, 1, 3, False)
        else:
            for i in prange(p.size):
                _sgd_elem(i, p, g, buf, c, 1, 3, True)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 2, 3, True)


@njit(parallel=True, cache=True, fastmath=False)
def _sgd_l0(p, g, buf, carr, mode, common):
    c = _scalars10(carr)
    if p.size < _SMALL:
        for i in range(p.size):
            _sgd_elem(i, p, g, buf, c, mode, 4, True)
    elif mode == 0:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 0, 4, not common)
    elif mode == 1:
        if common:
            for i in prange(p.size):
                _sgd_elem(i, p, g, buf, c, 1, 4, False)
        else:
            for i in prange(p.size):
                _sgd_elem(i, p, g, buf, c, 1, 4, True)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 2, 4, True)


@njit(parallel=True, cache=True, fastmath=False)
def _sgd_box(p, g, buf, carr, mode, common):
    c = _scalars10(carr)
    if p.size < _SMALL:
        for i in range(p.size):
            _sgd_elem(i, p, g, buf, c, mode, 5, True)
    elif mode == 0:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 0, 5, not common)
    elif mode == 1:
        if common:
            for i in prange(p.size):
                _sgd_elem(i, p, g, buf, c, 1, 5, False)
        else:
            for i in prange(p.size):
                _sgd_elem(i, p, g, buf, c, 1, 5, True)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 2, 5, True)


_ADAM = (_adam_none, _adam_l1, _adam_l2, _adam_enet, _adam_l0, _adam_box)
_SGD = (_sgd_none, _sgd_l1, _sgd_l2, _sgd_enet, _sgd_l0, _sgd_box)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().reshape(-1).numpy()


# numpy views of (param, state...) per parameter, reused while the storages are the same:
# making a view costs microseconds, a step on a bias less than that.
# Keyed by id(p); the entry holds a weak reference to p and goes when p does.
_VIEWS: dict[int, tuple] = {}


def _views(p: torch.Tensor, *state: torch.Tensor | None) -> tuple[np.ndarray, ...]:
    key = (p.data_ptr(), p.numel()) + tuple(0 if t is None else t.data_ptr() for t in state)
    pid = id(p)
    hit = _VIEWS.get(pid)
    if hit is not None and hit[0]() is p and hit[1] == key:
        return hit[2]
    arrays = (_np(p),) + tuple(None if t is None else _np(t) for t in state)
    _VIEWS[pid] = (weakref.ref(p, lambda _, pid=pid: _VIEWS.pop(pid, None)), key, arrays)
    return arrays


def adam_step(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], exp_avgs: Sequence[torch.Tensor],
              exp_avg_sqs: Sequence[torch.Tensor], max_exp_avg_sqs: Sequence[torch.Tensor] | None,
              scalars: dict[str, float], *, maximize: bool, preconditioned: bool,
              code: int, a: float, b: float) -> None:
    """Fused proximal Adam on CPU tensors (see :mod:`proxgan.kernels.fused_prox_adam` for the math).

    ``scalars`` is :func:`proxgan.kernels.fused_prox_adam.adam_step_scalars` for the step
    count all these tensors share. Everything is updated in place; all tensors must pass
    :func:`supports`.
    """
    kernel = _ADAM[code]
    amsgrad = max_exp_avg_sqs is not None
    sc = scalars
    values = [sc["lr"], sc["omb1"], sc["b2"], sc["omb2"], sc["eps"], sc["wd"], sc["decay"], sc["ss"], sc["bc2s"],
              a, b, -1.0 if maximize else 1.0, 1.0, 0.0]
    carr = {torch.float32: np.array(values, dtype=np.float32), torch.float64: np.array(values, dtype=np.float64)}
    common = not amsgrad and preconditioned and not maximize and sc["wd"] == 0.0 and sc["decay"] == 1.0
    for i, p in enumerate(params):
        if p.numel() == 0:
            continue
        pa, m, v, vm = _views(p, exp_avgs[i], exp_avg_sqs[i], max_exp_avg_sqs[i] if amsgrad else None)
        kernel(pa, _np(grads[i].contiguous()), m, v, m if vm is None else vm, carr[p.dtype], amsgrad, preconditioned,
               common)


def sgd_step(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor],
             momentum_buffers: Sequence[torch.Tensor | None], firsts: Sequence[bool], *, lr: float,
             momentum: float, dampening: float, nesterov: bool, weight_decay: float, maximize: bool,
             code: int, a: float, b: float) -> None:
    """Fused proximal SGD on CPU tensors (see :mod:`proxgan.kernels.fused_prox_sgd` for the math).

    With momentum, a first step (``firsts[i]``) expects a zero-filled buffer and sets it to
    the gradient (``0·0 + 1·g``), as torch.optim.SGD does.
    """
    kernel = _SGD[code]
    mode = 0 if momentum == 0 else (2 if nesterov else 1)
    common = not maximize and weight_decay == 0.0
    carrs = {}
    for first in (False, True):
        values = [lr, weight_decay, 0.0 if first else momentum, 1.0 if first else 1.0 - dampening, momentum,
                  a, b, -1.0 if maximize else 1.0, 1.0, 0.0]
        carrs[first, torch.float32] = np.array(values, dtype=np.float32)
        carrs[first, torch.float64] = np.array(values, dtype=np.float64)
    for i, p in enumerate(params):
        if p.numel() == 0:
            continue
        pa, buf = _views(p, momentum_buffers[i])
        kernel(pa, _np(grads[i].contiguous()), pa if buf is None else buf, carrs[firsts[i], p.dtype], mode, common)
