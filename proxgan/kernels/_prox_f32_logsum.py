r"""The log-sum prox at ProxAdam's preconditioned step, in float32: :func:`logsum_pre`.

The float32 step's prox at :math:`s = \mathrm{lr}/d` (:math:`d = \sqrt{\hat v} + \varepsilon_{\rm Adam}`)
is, for :math:`x = |u| \ge 0`, :math:`\arg\min_{y \ge 0} \tfrac1{2s}(y - x)^2 + \lambda\log(1 + y/\epsilon)`.
Its stationary points are the roots of :math:`y^2 + (\epsilon - x) y + s\lambda - x\epsilon`; multiplied
through by :math:`d` (as the forms of :mod:`proxgan.kernels._prox_f32`), with

.. math::

    N = x\epsilon d - \mathrm{lr}\lambda, \qquad
    E = d^2 (x + \epsilon)^2 - 4\,\mathrm{lr}\lambda\,d = d^2 (x - \epsilon)^2 + 4 d N, \qquad S = \sqrt{E},

the larger root is :math:`r = \frac{(x - \epsilon) d + S}{2d}` for :math:`x \ge \epsilon` and, in the
form without cancellation, :math:`r = \frac{2N}{(\epsilon - x) d + S}` for :math:`x < \epsilon`: one
division and one square root, no division for the step, everything in float32 (8 lanes). ``N``, whose
sign decides where the prox leaves 0 in the convex case and which cancels there, is formed from exact
products (``x eps`` split by ``fma``, the constant :math:`\mathrm{lr}\lambda` carried as a float32 pair,
as in :func:`~proxgan.kernels._prox_f32.mcp_pre`): to about :math:`2^{-46}` relative of its terms. ``E``
is summed as :math:`d^2(x - \epsilon)^2 + 4dN`, which does not cancel where :math:`N \ge 0` (everywhere
the root is kept, except in the non-convex band below).

**Which of 0 and r.** The objective's slope at :math:`0^+` is :math:`-N/(\mathrm{lr}\,\epsilon)`, so:

* :math:`N > 0`: the other root is negative, the objective falls from 0 to its one minimum: ``r``;
* :math:`N \le 0` and :math:`x \le \epsilon`: both roots are :math:`\le 0`: 0 (this covers every
  :math:`N \le 0` of the convex case :math:`s\lambda \le \epsilon^2`);
* otherwise (the non-convex band :math:`2\sqrt{s\lambda} - \epsilon < x \le s\lambda/\epsilon`):
  ``r`` iff it beats 0, :math:`2\,\mathrm{lr}\lambda\,\log(1 + r/\epsilon) < d\,r(2x - r)` (the
  objectives' difference times :math:`2\,\mathrm{lr}`; where :math:`E < 0` there is no root and ``r`` is
  NaN, as where ``d = 0``, and a NaN loses). The log is
  :func:`log1p_parts` (float32, about 2e-7 relative). The difference has zero slope in ``r`` at the
  root, so the root's rounding does not move it at first order; the two sides carry about 2e-7
  relative error, so a decision differs from the float64 reference only where the two objectives
  agree to about that (ties; ``tests/kernels/test_prox_precond.py`` finds them within 1e-7).

Where :math:`x(x - \epsilon) d > 2^{26}\,\mathrm{lr}\lambda` the root is
:math:`x - s\lambda/(x + \epsilon) + O(s^2\lambda^2/x^3)`, ``x`` to within half a float32 rounding,
and ``x`` is returned, so that :math:`d^2 (x - \epsilon)^2` never overflows for such ``x`` (below that
it stays finite while :math:`d\,|x - \epsilon| < 1.8\cdot 10^{19}`). Values are within 3 ulp of the
float64 reference (``tests/kernels/test_prox_precond.py``; the largest seen from the exact root is 3.1)
while :math:`s\lambda = \mathrm{lr}\lambda/d` is a normal float32 (above 1.2e-38): ``x eps`` is about
:math:`s\lambda` where ``N`` cancels, and a subnormal product is not exact.

The loop of a float32 step with this prox is bound by its latency (the root waits for ProxAdam's two
divisions, the log for the root's division) more than by its operations: the log's polynomial is
evaluated as a tree (:func:`estrin8`), and :math:`e\log 2` is moved to the other side of the
comparison.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ._prox_f32 import _split, fma

__all__ = ["estrin8", "log1p_parts", "logsum_pre", "logsum_rare", "logsum_common"]

_F = np.float64
_F32 = np.float32

_SQRT_HALF_BITS = 0x3F3504F3  # the bits of 2^-1/2 (rounded down)
_LN2 = _F32(np.log(2.0))
# log(1 + f) = f + f^2 Q(f) on f in [2^-1/2 - 1, 2^1/2 - 1]: a degree-7 Q fitted to the relative error of
# log(1 + f) (3.5e-8 with these float32 coefficients, evaluated exactly)
_LOGQ = tuple(_F32(c) for c in (-0.49999991059303284, 0.33333951234817505, -0.25001752376556396, 0.19962063431739807,
                                 -0.16570572555065155, 0.14918135106563568, -0.1430710405111313, 0.08733852207660675))


@intrinsic
def _exponent_mantissa(typingctx, w):
    r"""``(e, m)`` with :math:`w = 2^e m`, :math:`m \in [2^{-1/2}, 2^{1/2})`, for a positive normal float32
    ``w`` (both float32): the bits of :math:`2^{-1/2}` are subtracted from ``w``'s, so that the exponent
    field is ``e``. Four int32 operations (numba's own integer arithmetic would widen them to int64,
    which splits each vector in two)."""
    if w != types.float32:
        return None

    def codegen(context, builder, signature, args):
        i32, f32 = ir.IntType(32), ir.FloatType()
        bias = ir.Constant(i32, _SQRT_HALF_BITS)
        i = builder.sub(builder.bitcast(args[0], i32), bias)
        e = builder.sitofp(builder.ashr(i, ir.Constant(i32, 23)), f32)
        m = builder.bitcast(builder.add(builder.and_(i, ir.Constant(i32, 0x007FFFFF)), bias), f32)
        return context.make_tuple(builder, signature.return_type, (e, m))
    return types.UniTuple(types.float32, 2)(w), codegen


@njit(inline="always")
def estrin8(c, t, t2):
    r""":math:`\sum_{k=0}^{7} c_k t^k` (``t2`` :math:`= t^2`) by Estrin's scheme: the terms of Horner's rule
    in a tree of depth 3 instead of a chain of 7 (the element loops are bound by this latency more than
    by the number of operations)."""
    lo = fma(fma(c[3], t, c[2]), t2, fma(c[1], t, c[0]))
    hi = fma(fma(c[7], t, c[6]), t2, fma(c[5], t, c[4]))
    return fma(hi, t2 * t2, lo)


@njit(inline="always")
def log1p_parts(z, w):
    r"""``(e, t)`` with :math:`\log(1 + z) = e \log 2 + t`, given float32 ``z >= 0`` (finite) and ``w`` its
    :math:`1 + z` rounded, in float32 and vectorisable: ``e`` an integer (exact), :math:`|t| < 0.35`, and
    :math:`e \log 2 + t` within about 2e-7 relative of :math:`\log(1 + z)`.

    :math:`w = 2^e m` with :math:`m \in [2^{-1/2}, 2^{1/2})` (:func:`_exponent_mantissa`), and
    :math:`\log m = f + f^2 Q(f)`, :math:`f = m - 1`, with a degree-7 ``Q`` (:func:`estrin8`). Where
    :math:`e = 0` (:math:`z < \sqrt2 - 1`, about) :math:`f = z` exactly, so that tiny ``z`` keep their
    relative accuracy; elsewhere the rounding of ``w`` costs at most 6e-8 of :math:`\log 2`. The parts come
    apart so that a caller comparing the log with a number moves :math:`e \log 2` to the other side, off
    the latency of the polynomial.
    """
    e, m = _exponent_mantissa(w)
    f = z if e == _F32(0.0) else m - _F32(1.0)  # e = 0: m = w
    f2 = f * f
    return e, fma(f2, estrin8(_LOGQ, f, f2), f)


@njit(inline="always")
def _logsum_root(x, lr, d, a, b):
    """``(n, r, dm)`` of :func:`logsum_pre`: :math:`N`, the larger root ``r`` and :math:`d (x - \\epsilon)`."""
    lrd, ad = _F(lr), _F(a)
    ch, cl = _split(lrd * ad)  # lr lam, exactly (a product of two float32)
    # N = x eps d - lr lam: x eps as an exact pair, times d, minus the pair
    p = x * b
    pl = fma(x, b, -p)
    n = fma(p, d, -ch) + fma(pl, d, -cl)
    xm = x - b
    # E = (d (x - eps))^2 + 4 d N: no cancellation where N >= 0 (where the root is kept outside the band)
    dm = xm * d
    disc = fma(dm, dm, (_F32(4.0) * d) * n)
    sq = np.sqrt(disc)  # NaN where disc < 0: only in the band, where a NaN root loses
    # the larger root, one division: (x - eps) d + S over 2 d, or 2 N over (eps - x) d + S
    above = x >= b
    num = fma(xm, d, sq) if above else n + n
    den = d + d if above else fma(-xm, d, sq)
    return n, num / den, dm


@njit(inline="always")
def _logsum_finish(x, r, dm, drop, lr, a):
    """The value of :func:`logsum_pre` from its root ``r`` and its decision ``drop``."""
    kill = _F32(2.0 ** 26 * _F(lr) * _F(a))  # x above the threshold of the last paragraph of the module docstring
    y = _F32(0.0) if drop else r
    y = x if x * dm > kill else y
    return x if a == _F32(0.0) else y


@njit(inline="always")
def logsum_pre(x, lr, d, a, b):
    r"""Log-sum (``a`` :math:`=\lambda`, ``b`` :math:`=\epsilon`) on float32 ``x >= 0`` at the step
    :math:`s = \mathrm{lr}/d` (``lr > 0``, ``0 <= d < inf``), all in float32, with one division and one
    square root: see the module docstring. ``d = 0`` (an infinite step) gives 0, NaN gives NaN, ``lam = 0``
    the identity.
    """
    n, r, dm = _logsum_root(x, lr, d, a, b)
    inv_cost = _F32(0.5 / (_F(lr) * _F(a)))
    inv_eps = _F32(1.0 / _F(b))
    # the non-convex band: r against 0 on the objectives times 2 lr, 2 lr lam log(1 + r/eps) < d r (2x - r)
    k, t = log1p_parts(r * inv_eps, fma(r, inv_eps, _F32(1.0)))
    gain = d * r * fma(x, _F32(2.0), -r)
    lose = not t < fma(gain, inv_cost, -(k * _LN2))  # NaN: lose
    drop = (n <= _F32(0.0)) & ((x <= b) | lose)  # false on NaN x: r is NaN
    return _logsum_finish(x, r, dm, drop, lr, a)


@njit(inline="always")
def logsum_rare(lr, d, a, b):
    r"""Whether ``d`` may be in the non-convex case of :func:`logsum_pre`, :math:`s\lambda > \epsilon^2`,
    i.e. :math:`d < \mathrm{lr}\lambda/\epsilon^2`, with a margin of :math:`2^{-21}` relative (and NaN
    ``d``); every ``d`` where ``lr lam`` is below :math:`2^{-100}` or :math:`\epsilon` below :math:`2^{-40}`,
    where ``N``'s products may not be exact. Outside it :math:`N \le 0` implies :math:`x \le \epsilon`
    (``N`` is within about :math:`2^{-44}` of :math:`\mathrm{lr}\lambda` where it is :math:`\le 0`): the band
    and its log never decide, and :func:`logsum_common` is :func:`logsum_pre` bit for bit."""
    lrl, bd = _F(lr) * _F(a), _F(b)
    c = lrl / (bd * bd) * (_F(1.0) + _F(2.0 ** -20))
    c = c if c > _F(2.0 ** -126) else _F(2.0 ** -126)
    c = c if (lrl >= _F(2.0 ** -100)) & (bd >= _F(2.0 ** -40)) else _F(np.inf)
    return not d >= _F32(c)


@njit(inline="always")
def logsum_common(x, lr, d, a, b):
    """:func:`logsum_pre` where :func:`logsum_rare` is False (the same operations less the band's log,
    which never decides there); anything where it is True."""
    n, r, dm = _logsum_root(x, lr, d, a, b)
    return _logsum_finish(x, r, dm, n <= _F32(0.0), lr, a)
