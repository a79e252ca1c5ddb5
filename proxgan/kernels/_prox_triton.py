r"""The prox switch of the Triton kernels: one device function, keyed by
:class:`~proxgan.kernels.fused_penalty.Code`, that every Triton step calls.

:func:`prox_tile` is the Triton twin of :func:`proxgan.kernels.fused_penalty.prox_code_ref`
(the specification) and of :func:`proxgan.kernels._prox_cpu.prox_scalar` (numba). ``PENALTY``
is a compile-time constant, so each compiled kernel keeps one branch. ``s`` is a block of
steps (a scalar step is broadcast by the caller), ``a, b`` the code's scalar vector in the
compute dtype. Divisions and square roots are IEEE-rounded (``div_rn``/``sqrt_rn`` for
float32; float64 ones are rounded already), so the kernels match the reference to rounding.

Triton only lets a kernel read module globals that are ``tl.constexpr``: the codes below are
plain ints until the first compile, when :mod:`proxgan.kernels._lazy` turns every name listed
in ``__constexpr__`` into one (``import proxgan`` never imports Triton).
"""
from __future__ import annotations

from ._lazy import jit
from .fused_penalty import Code

__all__ = ["prox_tile"]

tl = None  # the real triton.language is put here at the first launch (see _lazy.py)
triton = None

C_L1, C_L2, C_ENET, C_L0, C_BOX = int(Code.L1), int(Code.L2), int(Code.ENET), int(Code.L0), int(Code.BOX)
#: globals made ``tl.constexpr`` at the first compile
__constexpr__ = ("C_L1", "C_L2", "C_ENET", "C_L0", "C_BOX")


@jit
def prox_tile(u, s, a, b, PENALTY: tl.constexpr, IS_F64: tl.constexpr):
    """:math:`\\arg\\min_y \\tfrac12 (y-u)^2 + s\\,g(y)` element by element for the penalty ``(PENALTY, a, b)``."""
    if PENALTY == C_L1:  # soft threshold at s*a
        thr = s * a
        y = u - tl.minimum(tl.maximum(u, -thr), thr)
    elif PENALTY == C_L2:
        y = u / (1.0 + s * a) if IS_F64 else tl.div_rn(u, 1.0 + s * a)
    elif PENALTY == C_ENET:
        thr = s * a
        y = u - tl.minimum(tl.maximum(u, -thr), thr)
        y = y / (1.0 + s * b) if IS_F64 else tl.div_rn(y, 1.0 + s * b)
    elif PENALTY == C_L0:  # hard threshold at sqrt(a*s)
        thr = tl.sqrt(a * s) if IS_F64 else tl.sqrt_rn(a * s)
        y = tl.where(tl.abs(u) > thr, u, 0.0)
    elif PENALTY == C_BOX:
        y = tl.minimum(tl.maximum(u, a), b)
    else:
        y = u
    return y
