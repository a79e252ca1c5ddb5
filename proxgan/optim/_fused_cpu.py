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

from typing import Sequence

import numpy as np
import torch
from numba import njit, prange

__all__ = ["adam_step", "sgd_step", "supports"]

# One kernel per penalty code, so that the code is a constant inside the loop.

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
def _adam_elem(i, p, g, m, v, vmax, c, amsgrad, precond, code):
    lr, omb1, b2, omb2, eps, wd, decay, ss, bc2s, a, b, sign, one, zero = c
    gi = sign * g[i]
    pi = p[i] * decay
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
def _sgd_elem(i, p, g, buf, c, mode, code):
    lr, wd, mub, omd, mu, a, b, sign, one, zero = c
    gi = sign * g[i]
    pi = p[i]
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


@njit(parallel=True, cache=True, fastmath=False)
def _adam_none(p, g, m, v, vmax, c, amsgrad, precond):
    if amsgrad:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, True, precond, 0)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, precond, 0)

@njit(parallel=True, cache=True, fastmath=False)
def _adam_l1(p, g, m, v, vmax, c, amsgrad, precond):
    if amsgrad:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, True, precond, 1)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, precond, 1)

@njit(parallel=True, cache=True, fastmath=False)
def _adam_l2(p, g, m, v, vmax, c, amsgrad, precond):
    if amsgrad:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, True, precond, 2)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, precond, 2)

@njit(parallel=True, cache=True, fastmath=False)
def _adam_enet(p, g, m, v, vmax, c, amsgrad, precond):
    if amsgrad:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, True, precond, 3)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, precond, 3)

@njit(parallel=True, cache=True, fastmath=False)
def _adam_l0(p, g, m, v, vmax, c, amsgrad, precond):
    if amsgrad:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, True, precond, 4)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, precond, 4)

@njit(parallel=True, cache=True, fastmath=False)
def _adam_box(p, g, m, v, vmax, c, amsgrad, precond):
    if amsgrad:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, True, precond, 5)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, m, v, vmax, c, False, precond, 5)

@njit(parallel=True, cache=True, fastmath=False)
def _sgd_none(p, g, buf, c, mode):
    if mode == 0:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 0, 0)
    elif mode == 1:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 1, 0)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 2, 0)

@njit(parallel=True, cache=True, fastmath=False)
def _sgd_l1(p, g, buf, c, mode):
    if mode == 0:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 0, 1)
    elif mode == 1:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 1, 1)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 2, 1)

@njit(parallel=True, cache=True, fastmath=False)
def _sgd_l2(p, g, buf, c, mode):
    if mode == 0:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 0, 2)
    elif mode == 1:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 1, 2)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 2, 2)

@njit(parallel=True, cache=True, fastmath=False)
def _sgd_enet(p, g, buf, c, mode):
    if mode == 0:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 0, 3)
    elif mode == 1:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 1, 3)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 2, 3)

@njit(parallel=True, cache=True, fastmath=False)
def _sgd_l0(p, g, buf, c, mode):
    if mode == 0:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 0, 4)
    elif mode == 1:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 1, 4)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 2, 4)

@njit(parallel=True, cache=True, fastmath=False)
def _sgd_box(p, g, buf, c, mode):
    if mode == 0:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 0, 5)
    elif mode == 1:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 1, 5)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, buf, c, 2, 5)

_ADAM = (_adam_none, _adam_l1, _adam_l2, _adam_enet, _adam_l0, _adam_box)
_SGD = (_sgd_none, _sgd_l1, _sgd_l2, _sgd_enet, _sgd_l0, _sgd_box)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().reshape(-1).numpy()


def adam_step(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], exp_avgs: Sequence[torch.Tensor],
              exp_avg_sqs: Sequence[torch.Tensor], max_exp_avg_sqs: Sequence[torch.Tensor] | None,
              scalars: Sequence[dict[str, float]], *, maximize: bool, preconditioned: bool,
              code: int, a: float, b: float) -> None:
    """Fused proximal Adam on CPU tensors (see :mod:`proxgan.kernels.fused_prox_adam` for the math).

    ``scalars[i]`` is :func:`proxgan.kernels.fused_prox_adam.adam_step_scalars` for tensor
    ``i``. Everything is updated in place; all tensors must pass :func:`supports`.
    """
    kernel = _ADAM[code]
    amsgrad = max_exp_avg_sqs is not None
    for i, p in enumerate(params):
        if p.numel() == 0:
            continue
        f = np.float64 if p.dtype == torch.float64 else np.float32
        sc = scalars[i]
        c = (f(sc["lr"]), f(sc["omb1"]), f(sc["b2"]), f(sc["omb2"]), f(sc["eps"]), f(sc["wd"]),
             f(sc["decay"]), f(sc["ss"]), f(sc["bc2s"]), f(a), f(b), f(-1.0 if maximize else 1.0), f(1.0), f(0.0))
        m = _np(exp_avgs[i])
        kernel(_np(p), _np(grads[i].contiguous()), m, _np(exp_avg_sqs[i]),
               _np(max_exp_avg_sqs[i]) if amsgrad else m, c, amsgrad, preconditioned)


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
    for i, p in enumerate(params):
        if p.numel() == 0:
            continue
        f = np.float64 if p.dtype == torch.float64 else np.float32
        first = firsts[i]
        c = (f(lr), f(weight_decay), f(0.0 if first else momentum), f(1.0 if first else 1.0 - dampening),
             f(momentum), f(a), f(b), f(-1.0 if maximize else 1.0), f(1.0), f(0.0))
        pa = _np(p)
        buf = momentum_buffers[i]
        kernel(pa, _np(grads[i].contiguous()), _np(buf) if buf is not None else pa, c, mode)
