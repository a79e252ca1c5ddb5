r"""The per-coordinate penalty interface of coordinate descent (numba).

Coordinate descent takes a separable penalty as its lowering
(:func:`proxgan._lowering.lower`): a code of :class:`proxgan.kernels.fused_penalty.Code` and,
per coordinate ``j``, a column of the float64 array ``P`` of shape ``(4, p)``:

* ``P[0, j], P[1, j]``: the code's scalar vector ``(a, b)`` (a weighted L1 scales ``a``);
* ``P[2, j], P[3, j]``: bounds ``lo_j <= w_j <= hi_j`` (``positive=True`` sets ``lo = 0``).

Three small numba functions give the solver everything it needs from ``(code, P)``, the way
skglm's penalty classes plug into its solver:

* :func:`prox1d`: :math:`\arg\min_y (y-x)^2/(2s) + g_j(y)` over :math:`[lo_j, hi_j]`, the
  prox switch of the kernels (:func:`proxgan.kernels._prox_cpu.prox_scalar`) followed by
  the projection. That is exact for a convex :math:`g_j` (the minimiser of a convex
  function of one variable over an interval is the projection of its free minimiser), and
  for a non-convex :math:`g_j` that is even and non-decreasing in :math:`|y|` (L0) when
  :math:`lo_j \le 0 \le hi_j`: the only bounds a non-convex code gets (from ``positive=True``;
  a box is a code of its own);
* :func:`value1d`: :math:`g_j(w_j)`, for the objective that Anderson extrapolation must lower;
* :func:`in_support1d`: the generalised support (coordinates a working set always keeps).

The working-set score of a coordinate is its fixed-point violation
:math:`L_j|w_j - \operatorname{prox1d}(w_j - \nabla_j f/L_j)|`, zero exactly at a
stationary point: for a convex penalty it bounds the distance of :math:`-\nabla_j f` to
:math:`\partial g_j`, and it is the stationarity measure of a non-convex one.
The readable twin of :func:`prox1d` is ``penalty.prox``; ``tests/solvers/test_prox1d.py``
checks they agree on awkward values.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from proxgan._lowering import SeparableProx, lower
from proxgan.kernels._prox_cpu import clip, in_support_scalar, prox_scalar, value_scalar
from proxgan.kernels.fused_penalty import Code

__all__ = ["prox1d", "value1d", "in_support1d", "penalty_params", "prox1d_vec", "enet_rows", "CONVEX_CODES"]

#: codes with a convex penalty (coordinate descent reaches a minimiser; quadratic ones also have a gap)
CONVEX_CODES = (Code.NONE, Code.L1, Code.L2, Code.ENET, Code.BOX)


@njit(cache=True, nogil=True)
def prox1d(x, step, code, P, j):
    r"""argmin_y (y − x)²/(2·step) + g_j(y) subject to lo_j ≤ y ≤ hi_j (module docstring)."""
    return clip(prox_scalar(x, step, code, P[0, j], P[1, j], 1.0, 0.0), P[2, j], P[3, j])


@njit(cache=True, nogil=True)
def value1d(x, code, P, j):
    """:math:`g_j(x)` (the bounds are kept by the iterates, not counted)."""
    return value_scalar(x, code, P[0, j], P[1, j])


@njit(cache=True, nogil=True)
def in_support1d(x, code, P, j):
    """Whether coordinate ``j`` at ``x`` is in the generalised support."""
    return in_support_scalar(x, code, P[0, j], P[1, j])


@njit(cache=True)
def prox1d_vec(x, step, code, P):  # pragma: no cover - thin loop, tested through prox1d
    """Apply :func:`prox1d` coordinate by coordinate (``x``, ``step`` of length ``P.shape[1]``)."""
    out = np.empty_like(x)
    for j in range(x.shape[0]):
        out[j] = prox1d(x[j], step[j], code, P, j)
    return out


def penalty_params(penalty, n_features: int, positive: bool = False) -> tuple[int, np.ndarray]:
    """The per-coordinate form ``(code, P)`` of a separable penalty (module docstring).

    Parameters
    ----------
    penalty : Penalty
        A penalty with a separable lowering (L1 with or without weights, L2, ElasticNet, L0,
        Box, NonNegative, or any penalty whose ``lowering()`` gives a code); ``L1`` weights
        must broadcast to ``(n_features,)``.
    n_features : int
        Number of coordinates ``p``.
    positive : bool
        Also constrain every coordinate to be ``>= 0``.

    Returns
    -------
    code : int
    P : ndarray of shape (4, n_features)

    Raises
    ------
    TypeError
        For penalties without a separable lowering (GroupL1, N:M, or a penalty that gives none).
    """
    p = int(n_features)
    penalty.check()
    lowering = lower(penalty)
    if not isinstance(lowering, SeparableProx):
        raise TypeError(f"coordinate descent needs a separable penalty with a lowering (a kernel code), "
                        f"got {type(penalty).__name__}; use solver='fista' for it")
    P = np.empty((4, p))
    P[0], P[1] = lowering.per_coordinate(p)
    P[2], P[3] = -math.inf, math.inf
    if lowering.code == Code.BOX:
        P[2], P[3] = P[0], P[1]
    if positive:
        P[2] = np.maximum(P[2], 0.0)
        if np.any(P[2] > P[3]):
            raise ValueError("positive=True conflicts with a box whose upper bound is < 0")
    return int(lowering.code), P


def enet_rows(code: int, P: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(l1, l2)`` per coordinate when the penalty is :math:`l_1|w| + \\tfrac12 l_2 w^2` (the
    form the duality gaps of the quadratic and logistic datafits take), else ``None``."""
    a, b = P[0], P[1]
    zero = np.zeros_like(a)
    rows = {Code.NONE: (zero, zero), Code.L1: (a, zero), Code.L2: (zero, a), Code.ENET: (a, b)}
    return rows.get(Code(code))
