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
from ._tile import load_tile, tile_ptr
from .fused_penalty import Code

__all__ = ["prox_tile", "weight_column", "apply_weights"]

tl = None  # the real triton.language is put here at the first launch (see _lazy.py)
triton = None

C_L1, C_L2, C_ENET, C_L0, C_BOX = int(Code.L1), int(Code.L2), int(Code.ENET), int(Code.L0), int(Code.BOX)
C_MCP, C_SCAD, C_LOGSUM, C_LQ12, C_LQ23 = (int(Code.MCP), int(Code.SCAD), int(Code.LOGSUM), int(Code.LQ12),
                                           int(Code.LQ23))
C_L1W = int(Code.L1W)
#: globals made ``tl.constexpr`` at the first compile
__constexpr__ = ("C_L1", "C_L2", "C_ENET", "C_L0", "C_BOX", "C_MCP", "C_SCAD", "C_LOGSUM", "C_LQ12", "C_LQ23", "C_L1W")


@jit
def prox_tile(u, s, a, b, PENALTY: tl.constexpr, IS_F64: tl.constexpr):
    """:math:`\\arg\\min_y \\tfrac12 (y-u)^2 + s\\,g(y)` element by element for the penalty ``(PENALTY, a, b)``."""
    if PENALTY == C_L1:  # soft threshold at s*a
        thr = s * a
        y = u - tl.minimum(tl.maximum(u, -thr), thr)
    elif PENALTY == C_L1W:  # weighted L1: the caller has multiplied the step by the weights
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
    elif (PENALTY >= C_MCP) & (PENALTY <= C_LQ23):  # non-convex: on |u|, the sign back; a zero step keeps u
        y = tl.where(s > 0.0, _nonconvex(tl.abs(u), s, a, b, PENALTY), tl.abs(u))
        y = tl.where(u < 0.0, -y, y)
    else:
        y = u
    return y


@jit
def _nonconvex(x, s, a, b, PENALTY: tl.constexpr):
    """A global minimiser over y >= 0 for x >= 0 (the formulas of ``prox_code_ref``). Where the
    reference uses arccos/arccosh (Lq), which Triton lacks, the larger stationary point is found by
    Newton's method from ``x`` (monotone: the stationarity function is convex), to rounding."""
    if PENALTY == C_MCP:  # firm threshold for s < gamma, else hard threshold at lam sqrt(s gamma)
        firm = tl.where(x <= s * a, 0.0, tl.where(x <= b * a, (x - s * a) / (1.0 - s / b), x))
        y = tl.where(s < b, firm, tl.where(x > a * tl.sqrt(s * b), x, 0.0))
    elif PENALTY == C_SCAD:  # the best of the three pieces' minimisers
        y1 = tl.minimum(tl.maximum(x - s * a, 0.0), a)
        y2 = tl.minimum(tl.maximum(((b - 1.0) * x - s * b * a) / (b - 1.0 - s), a), b * a)
        y3 = tl.maximum(x, b * a)
        h1 = (y1 - x) * (y1 - x) / (2.0 * s) + a * y1
        h2 = (y2 - x) * (y2 - x) / (2.0 * s) + (2.0 * b * a * y2 - y2 * y2 - a * a) / (2.0 * (b - 1.0))
        h3 = (y3 - x) * (y3 - x) / (2.0 * s) + a * a * (b + 1.0) / 2.0
        h2 = tl.where(s < b - 1.0, h2, h1 + 1.0)  # that piece is concave: its ends are the others'
        y = tl.where(h2 < h1, y2, y1)
        y = tl.where(h3 < tl.minimum(h1, h2), y3, y)
    elif PENALTY == C_LOGSUM:  # the larger root of y^2 + (eps - x) y + s lam - x eps, if it beats 0
        d = (x + b) * (x + b) - 4.0 * s * a
        r = 0.5 * ((x - b) + tl.sqrt(tl.maximum(d, 0.0)))
        hr = (r - x) * (r - x) / (2.0 * s) + a * tl.log(1.0 + r / b)
        y = tl.where((d >= 0.0) & (r > 0.0) & (hr < x * x / (2.0 * s)), r, 0.0)
    elif PENALTY == C_LQ12:  # root of y - x + (mu/4) y^(-1/2), mu = 2 s lam, above the half threshold
        mu = 2.0 * s * a
        y = x
        for _ in tl.static_range(12):
            r = 1.0 / tl.sqrt(y)
            y = y - (y - x + 0.25 * mu * r) / (1.0 - 0.125 * mu * r * r * r)
        thr = 0.9449407874211548 * tl.exp(tl.log(mu) * 0.6666666666666666)
        y = tl.where(mu > 0.0, tl.where(x > thr, y, 0.0), x)
    else:  # C_LQ23: root of y - x + (mu/3) y^(-1/3), above (2/3)(3 mu^3)^(1/4)
        mu = 2.0 * s * a
        y = x
        for _ in tl.static_range(12):
            r = tl.exp(-tl.log(y) * 0.3333333333333333)
            y = y - (y - x + mu * r / 3.0) / (1.0 - mu * r * r * r * r / 9.0)
        thr = 0.8773826753016616 * tl.exp(tl.log(mu) * 0.75)
        y = tl.where(mu > 0.0, tl.where(x > thr, y, 0.0), x)
    return y


@jit
def weight_column(ptrs, T, t, col, default, PENALTY: tl.constexpr):
    """The address of tensor ``t``'s weights (column ``col`` of the pointer table) for ``L1W``;
    ``default`` for every other code, whose table has no such column (nothing is read)."""
    xa = default
    if PENALTY == C_L1W:
        xa = tl.load(ptrs + col * T + t)
    return xa


@jit
def apply_weights(s, xa, start, rem, S_TY: tl.constexpr, PENALTY: tl.constexpr, BLOCK: tl.constexpr,
                  MASKED: tl.constexpr):
    """The prox steps ``s`` times the tile's weights at ``xa`` (compute dtype) for ``L1W``, else ``s``."""
    if PENALTY == C_L1W:
        w_ptr = tile_ptr(xa.to(tl.pointer_type(S_TY)), start, not MASKED)
        s = s * load_tile(w_ptr, rem, BLOCK, MASKED).to(s.dtype)
    return s
