r"""Scalar (per-coordinate) proximal operators for the compiled coordinate-descent loops.

Every separable penalty that coordinate descent supports is mapped to four numbers per
coordinate, ``(l1_j, l2_j, lo_j, hi_j)``, meaning

.. math::

    g_j(x) = l1_j\,|x| + \tfrac12\, l2_j\, x^2 + \iota_{[lo_j, hi_j]}(x),

whose prox (step :math:`s`) has the closed form

.. math::

    \operatorname{prox}_{s g_j}(x) = \operatorname{clip}\Big(
        \frac{\operatorname{sign}(x)\max(|x| - s\,l1_j, 0)}{1 + s\,l2_j},\; lo_j,\; hi_j\Big)

(the minimiser of a convex function of one variable over an interval is the projection
of its unconstrained minimiser). :func:`prox1d` is the compiled version; its readable
twin is ``penalty.prox`` of :mod:`proxgan.penalties`, and ``tests/solvers/test_prox1d.py``
checks they agree on awkward values.

Mapping (:func:`penalty_params`): the penalty's one lowering,
:func:`proxgan._lowering.lower` (``L1(lam, weights)`` → ``l1 = lam·w``; ``L2(lam)`` →
``l2 = lam``; ``ElasticNet(lam, ρ)`` → ``l1 = lam·ρ, l2 = lam·(1−ρ)``; ``Box(lo, hi)`` /
``NonNegative()`` → bounds), spread over the coordinates; ``positive=True`` adds ``lo = 0``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

import torch

from proxgan import penalties as _pen
from proxgan._lowering import SeparableProx, lower
from proxgan.kernels.fused_penalty import L0

__all__ = ["prox1d", "penalty_params", "prox1d_vec"]


@njit(cache=True, nogil=True)
def prox1d(x: float, step: float, l1: float, l2: float, lo: float, hi: float) -> float:
    r"""argmin_y (y − x)²/(2·step) + l1·|y| + ½·l2·y² subject to lo ≤ y ≤ hi."""
    t = abs(x) - step * l1
    if t > 0.0:
        y = t / (1.0 + step * l2)
        if x < 0.0:
            y = -y
    else:
        y = 0.0
    if y < lo:
        y = lo
    if y > hi:
        y = hi
    return y


@njit(cache=True)
def prox1d_vec(x, step, l1, l2, lo, hi):  # pragma: no cover - thin loop, tested through prox1d
    """Apply :func:`prox1d` coordinate by coordinate (arrays of equal length)."""
    out = np.empty_like(x)
    for j in range(x.shape[0]):
        out[j] = prox1d(x[j], step[j], l1[j], l2[j], lo[j], hi[j])
    return out


def penalty_params(penalty: _pen.Penalty, n_features: int, positive: bool = False):
    """Map a separable penalty to per-coordinate ``(l1, l2, lo, hi)`` float64 arrays.

    Parameters
    ----------
    penalty : L1, L2, ElasticNet, Box or NonNegative
        ``L1`` weights must broadcast to ``(n_features,)``.
    n_features : int
    positive : bool
        Also constrain every coordinate to be ``>= 0``.

    Raises
    ------
    TypeError
        For penalties without a closed-form scalar prox here (GroupL1, L0).
    """
    p = int(n_features)
    lowering = lower(penalty)
    if not isinstance(lowering, SeparableProx) or lowering.code == L0:
        raise TypeError(
            f"coordinate descent supports L1, L2, ElasticNet, Box and NonNegative penalties, "
            f"got {type(penalty).__name__}; use solver='fista' for it"
        )
    l1 = np.zeros(p)
    l2 = np.full(p, float(lowering.l2))
    lo = np.full(p, float(lowering.lo))
    hi = np.full(p, float(lowering.hi))
    if isinstance(lowering.l1, torch.Tensor):  # a weighted L1: one threshold per coordinate
        l1[:] = np.broadcast_to(lowering.l1.detach().cpu().double().numpy(), (p,))
    else:
        l1[:] = lowering.l1
    if positive:
        lo = np.maximum(lo, 0.0)
        if np.any(lo > hi):
            raise ValueError("positive=True conflicts with a box whose upper bound is < 0")
    return l1, l2, lo, hi
