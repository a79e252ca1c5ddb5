r"""Vectorisable forms of the non-convex proxes (MCP, SCAD, ℓ1/2, ℓ2/3, log-sum), for the float32 fused steps.

The exact forms of :mod:`proxgan.kernels._prox_cpu` call ``acos``/``cos``/``acosh``/``cosh``/
``log1p``/``pow`` per element: libm calls that keep LLVM from vectorising the loop of a fused
step (it then ran 11 to 24 times slower than the L1 step). The forms here use only ``+ - * /``,
``sqrt``, comparisons and selects (and bit casts), so the element loop becomes packed vector
code. :func:`proxgan.kernels._prox_cpu.by_dtype` picks them for float32 and keeps the exact
forms for float64 (coordinate descent and float64 steps are unchanged).

Each function takes float32 ``x >= 0`` (the magnitude of the point), ``s > 0`` and the penalty's
``a, b``. Thresholds and residuals are computed in float64 (every intermediate power, e.g.
:math:`x^4` or :math:`\mu^3`, is then in range for any float32 input, and products of float32
numbers are exact, so the zero/non-zero decision is the reference's up to about 1e-15
relative); a few divisions whose operands are rounded to float32 first are done in float32
(vector division is the costly instruction), and the result is rounded to float32 once.
With :math:`\mu = 2 s \lambda`:

* **MCP** (:func:`mcp_pos`): the firm threshold for :math:`s < \gamma` (its one division in
  float32), the hard threshold :math:`x^2 > \lambda^2 s\gamma` otherwise.
* **SCAD** (:func:`scad_pos`): for :math:`s < \gamma - 1` the 1-D problem is convex and its
  minimiser is piecewise linear in ``x``; otherwise the better of the two outer pieces.
* **ℓ1/2** (:func:`lq12_pos`). The minimiser is non-zero iff :math:`32 x^3 > 27 \mu^2`
  (the half threshold :math:`x > \tfrac{54^{1/3}}4 \mu^{2/3}`, cubed). Writing it as
  :math:`y = \tfrac43 x w^2`, :math:`w` is the largest root of :math:`4w^3 - 3w + t = 0`
  with :math:`t = \sqrt{27\mu^2/(64x^3)} \in [0, 2^{-1/2})` (so :math:`w = \cos(\arccos(-t)/3)
  \in (2^{-1/2}, \tfrac{\sqrt3}2]`, the closed form of the reference). A degree-5 fit of
  :math:`w(t)` (error below 2.5e-5) and one Newton step (the cubic is convex with slope >= 3
  there: the error becomes at most :math:`3.5 e^2`) give :math:`w` to 3e-9 relative.
* **ℓ2/3** (:func:`lq23_pos`). Non-zero iff :math:`27 x^4 > 16 \mu^3` (the threshold
  :math:`x > \tfrac23 (3\mu^3)^{1/4}` to the fourth). :math:`y = z^3`, with :math:`z` the
  largest root of :math:`z^4 - x z + \mu/3 = 0`, which lies in :math:`[2^{-1/3} x^{1/3},
  x^{1/3}]`. Three Halley steps from 0.9 times a bit-level estimate of :math:`x^{1/3}` (within
  3.5%, :func:`cbrt_estimate`) reach 1.3e-13 relative over that whole bracket.
* **log-sum** (:func:`logsum_pos`). The candidate is the larger root of the quadratic (as in
  the exact form), kept iff :math:`2 s \lambda\,\mathrm{log1p}(r/\varepsilon) < r (2x - r)`, with
  the vectorisable :func:`log1p_vec` (relative error below 2e-12).

**At ProxAdam's preconditioned step** :math:`s = \mathrm{lr}/d` (:math:`d = \sqrt{\hat v} + \varepsilon`)
MCP, SCAD and ℓ1/2 have forms of their own (:func:`mcp_pre`, :func:`scad_pre`, :func:`lq12_pre`,
taking ``(x, lr, d, a, b)``), picked by :data:`proxgan.kernels._prox_cpu.PRECOND`: the problem is
multiplied through by :math:`d`, so the step is never divided out, and everything is float32 (the
loop then runs 8 lanes wide; float64 arithmetic splits each vector in two). Each divides once per
entry (ℓ1/2 also takes one square root): the vector divider, shared by the division and the square
root, is what the fused step waits on most (Adam's own step already divides twice and takes a root per
entry), so a form picks its piece on comparisons and divides the numerator and denominator it
picked, and ℓ1/2's Newton step uses a fitted inverse slope. The count of the other operations bounds
it too: ℓ1/2's square root and division replaced by a bit-level reciprocal square root and three
Newton steps (no divider, 12 more operations) made the step slower (1.77 against 1.52 times the L1
step, 10M parameters, one thread, on a 2-core Sapphire Rapids class Xeon). The zero/non-zero
decisions compare exact products instead: :func:`fma` gives :math:`xd - c` with one rounding, and
a loop-invariant constant :math:`c` is carried as a float32 pair (:func:`_split`), so each decision
is the exact one up to about :math:`2^{-46}` relative. Values are at most 3 ulp of float32 from the
float64 reference (up to four roundings; 2 for ℓ1/2, which never rounds its root;
``tests/kernels/test_prox_precond.py``). One decision is
left to float32 rounding: SCAD's non-convex case (:math:`s \ge \gamma - 1`, a tiny ``d``) compares
``x`` with the tie of its two outer candidates in float32, so that within a few float32 roundings
of the tie either one is returned.

``tests/kernels/test_prox_vectorised.py`` checks these against the float64 reference
(``prox_code_ref``) on float32 inputs at and around every threshold, at zeros, subnormals, huge
values and steps: at most 2 ulp of float32 apart (1 for ℓ1/2, ℓ2/3 and log-sum in practice), and
the same zero/non-zero decision except at ties, where the two answers' objectives agree to 1e-6
relative (both are global minimisers up to rounding). It also proves the fixed iteration counts
on the whole bracket of each root, and that the loops vectorise.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["mcp_pos", "scad_pos", "lq12_pos", "lq23_pos", "logsum_pos", "mcp_pre", "mcp_common", "mcp_rare", "scad_pre", "scad_common",
           "scad_rare", "lq12_pre", "fma", "as_int", "as_float", "log1p_vec", "cbrt_estimate", "horner"]

_F = np.float64
_F32 = np.float32


def _bitcast(to: dict):
    """An intrinsic that reads a number's bits as the type ``to[type]`` of the same width (free)."""
    def cast(typingctx, x):
        ty = to.get(x)
        if ty is None:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(ty))
        return ty(x), codegen
    return intrinsic(cast)


#: the bits of a float32/float64 as int32/int64
as_int = _bitcast({types.float32: types.int32, types.float64: types.int64})
#: the float32/float64 whose bits are an int32/int64
as_float = _bitcast({types.int32: types.float32, types.int64: types.float64})


# ----------------------------------------------------------------------------- log1p
_LN2 = _F(math.log(2.0))
_SQRT2 = _F(math.sqrt(2.0))
_EXP_MASK = np.int64(0x7FF) << np.int64(52)
_MANT_MASK = (np.int64(1) << np.int64(52)) - np.int64(1)
_ONE_BITS = np.int64(1023) << np.int64(52)
_SHIFT = np.int64(52)
_BIAS = np.int64(1023)
# 2 atanh(f) = log((1 + f)/(1 - f)) = 2 f (1 + f^2/3 + f^4/5 + ...), |f| <= 3 - 2 sqrt 2
_ATANH = tuple(_F(1.0 / (2 * k + 1)) for k in range(7))


@njit(inline="always")
def horner(coeffs, t):
    r""":math:`\sum_k c_k t^k` for the tuple ``coeffs`` :math:`= (c_0, c_1, \dots)` (Horner's rule, unrolled)."""
    p = coeffs[len(coeffs) - 1]
    for k in range(len(coeffs) - 2, -1, -1):
        p = p * t + coeffs[k]
    return p


@njit(inline="always")
def log1p_vec(z):
    r""":math:`\log(1 + z)` for float64 ``z >= 0`` (finite), vectorisable: relative error below 2e-12.

    ``w = 1 + z`` is split into :math:`2^e m` with :math:`m \in [2^{-1/2}, 2^{1/2})` by its bits;
    :math:`\log m = 2\,\mathrm{atanh}((m-1)/(m+1))` by its series to :math:`f^{13}` (truncation
    below :math:`0.0295^7/15 < 2\cdot 10^{-12}` of the value); the rounding of ``1 + z`` is
    corrected by :math:`-((w - 1) - z)/w`.
    """
    w = _F(1.0) + z
    i = as_int(w)
    e = ((i & _EXP_MASK) >> _SHIFT) - _BIAS
    m = as_float((i & _MANT_MASK) | _ONE_BITS)  # in [1, 2)
    big = m > _SQRT2
    m = m * _F(0.5) if big else m
    ef = _F(e) + (_F(1.0) if big else _F(0.0))
    f = (m - _F(1.0)) / (m + _F(1.0))
    f2 = f * f
    p = horner(_ATANH, f2)
    # the rounding error of 1 + z over w, with 1/w ~ 2 - w near 1 (and dropped, below 1e-16, from w = 2)
    iw = _F(2.0) - w
    iw = iw if iw > _F(0.0) else _F(0.0)
    return ef * _LN2 + _F(2.0) * f * p - ((w - _F(1.0)) - z) * iw


# ----------------------------------------------------------------------------- the proxes
_ONE = _F(1.0)


@njit(inline="always")
def mcp_pos(x, s, a, b):
    """MCP on float32 ``x >= 0`` (``b`` is gamma): the exact form as selects; the thresholds in
    float64 (exact products of float32 numbers), the firm step's one division in float32."""
    xd, sd, ad, bd = _F(x), _F(s), _F(a), _F(b)
    firm = _F32(xd - sd * ad) / _F32(_ONE - sd * (_ONE / bd))  # 1/gamma: loop invariant, hoisted
    firm = _F32(0.0) * x if xd <= sd * ad else (firm if xd <= bd * ad else x)
    hard = x if xd * xd > (ad * ad) * (sd * bd) else _F32(0.0) * x
    return firm if s < b else hard


@njit(inline="always")
def _clip(u, lo, hi):
    return lo if u < lo else (hi if u > hi else u)


@njit(inline="always")
def scad_pos(x, s, a, b):
    """SCAD on float32 ``x >= 0`` (``b`` is gamma), as selects. For :math:`s < \\gamma - 1` the 1-D
    problem is convex and its minimiser piecewise linear in ``x`` (0, :math:`x - s\\lambda`, the
    middle piece, ``x``: thresholds compared in float64, the middle piece's one division in
    float32); otherwise the better of the outer pieces' minimisers (ties: the smaller), compared
    in float64."""
    xd, sd, ad, bd = _F(x), _F(s), _F(a), _F(b)
    sa = sd * ad
    ga = bd * ad
    mid = _F32((bd - _ONE) * xd - sa * bd) / _F32(bd - _ONE - sd)
    y = _F32(0.0) * x if xd <= sa else (_F32(xd - sa) if xd <= ad + sa else (mid if xd <= ga else x))
    y1 = _clip(xd - sa, _F(0.0), ad)
    y3 = xd if xd > ga else ga
    h1 = (y1 - xd) * (y1 - xd) + _F(2.0) * sa * y1
    h3 = (y3 - xd) * (y3 - xd) + sa * ad * (bd + _ONE)
    y13 = _F32(y3) if h3 < h1 else _F32(y1) + _F32(0.0) * x
    return y if sd < bd - _ONE else y13


# degree-5 fit of w(t) = cos(arccos(-t)/3) on [0, 2^-1/2] (max error 2.5e-5, float32 coefficients)
_WFIT = tuple(_F32(c) for c in (0.8660401701927185, -0.16748712956905365, -0.03749745339155197,
                                 -0.07760315388441086, 0.09936311095952988, -0.10823013633489609))


@njit(inline="always")
def lq12_pos(x, s, a, b):
    """ℓ1/2 (half thresholding) on float32 ``x >= 0``: see the module docstring."""
    xd = _F(x)
    mu = _F(2.0) * _F(s) * _F(a)
    x3 = xd * xd * xd
    keep = _F(32.0) * x3 > _F(27.0) * (mu * mu)
    t = np.sqrt(_F32(_F(27.0 / 64.0) * (mu * mu) / x3))  # in [0, 2^-1/2) where kept
    w = horner(_WFIT, t)
    # one Newton step on 4 w^3 - 3 w + t: residual and slope in float64, their ratio in float32
    wd, td = _F(w), _F(t)
    f = wd * (_F(4.0) * wd * wd - _F(3.0)) + td
    wd = wd - _F(_F32(f) / _F32(_F(12.0) * wd * wd - _F(3.0)))
    y = _F32(xd * (_F(4.0) / _F(3.0)) * wd * wd)
    y = y if keep else _F32(0.0) * x
    return x if mu == _F(0.0) else y


_CBRT_MAGIC = _F(709921077.0)  # Kahan's: bits(x)/3 + magic ~ bits(cbrt x) within 3.5% (normal x)
_TINY32 = _F32(2.0 ** -126)
_UP24 = _F32(2.0 ** 24)
_DOWN8 = _F32(2.0 ** -8)
_THIRD = _F(1.0 / 3.0)


@njit(inline="always")
def cbrt_estimate(x):
    """:math:`x^{1/3}` within 3.5% for float32 ``x > 0`` (subnormals scaled by :math:`2^{24}` first),
    from the bits: a start for Newton's method."""
    small = x < _TINY32
    xs = x * _UP24 if small else x
    i = np.int32(_F(as_int(xs)) * _THIRD + _CBRT_MAGIC)  # (numba's integer sums are int64)
    z = as_float(i)
    return z * _DOWN8 if small else z


@njit(inline="always")
def _halley23(z, x, c):
    """One Halley step on :math:`f(z) = z^4 - x z + c`: :math:`z - 2 f f' / (2 f'^2 - f f'')`."""
    z2 = z * z
    f = (z2 * z - x) * z + c
    d1 = _F(4.0) * z2 * z - x
    return z - _F(2.0) * f * d1 / (_F(2.0) * d1 * d1 - f * (_F(12.0) * z2))


@njit(inline="always")
def lq23_pos(x, s, a, b):
    """ℓ2/3 on float32 ``x >= 0``: see the module docstring."""
    xd = _F(x)
    mu = _F(2.0) * _F(s) * _F(a)
    keep = _F(27.0) * (xd * xd) * (xd * xd) > _F(16.0) * mu * mu * mu
    c = mu * _THIRD
    z = _F(_F32(0.9) * cbrt_estimate(x))  # the root is in [2^-1/3, 1] x^(1/3)
    z = _halley23(_halley23(_halley23(z, xd, c), xd, c), xd, c)
    y = _F32(z * z * z)
    y = y if keep else _F32(0.0) * x
    y = x if x == _F32(np.inf) else y
    return x if mu == _F(0.0) else y


@njit(inline="always")
def logsum_pos(x, s, a, b):
    """log-sum on float32 ``x >= 0`` (``b`` is eps): see the module docstring."""
    xd, sd, ad, bd = _F(x), _F(s), _F(a), _F(b)
    d = (xd + bd) * (xd + bd) - _F(4.0) * sd * ad
    r = _F(0.5) * ((xd - bd) + np.sqrt(d if d > _F(0.0) else _F(0.0)))
    gain = r * (_F(2.0) * xd - r)  # 2 s (h(0) - h(r)) without the penalty
    cost = _F(2.0) * sd * ad * log1p_vec(r * (_ONE / bd) if r > _F(0.0) else _F(0.0))  # 1/eps: hoisted
    keep = (d >= _F(0.0)) & (r > _F(0.0)) & (cost < gain)
    return _F32(r) if keep else _F32(0.0) * x


# ----------------------------------------------------------------------------- the preconditioned forms
@intrinsic
def fma(typingctx, x, y, z):
    """:math:`xy + z` rounded once (``llvm.fma``: one ``vfmadd`` per vector where the CPU has FMA).

    The sign of ``fma(x, y, -z)`` is the exact sign of :math:`xy - z`, whatever the magnitudes."""
    if not (isinstance(x, types.Float) and x == y == z):
        return None

    def codegen(context, builder, signature, args):
        return builder.fma(*args)
    return x(x, y, z), codegen


@njit(inline="always")
def _split(v):
    """A float64 ``v`` as float32 ``(hi, lo)`` with ``hi + lo = v`` to about :math:`2^{-48}` relative
    (used on loop invariants only: LLVM hoists them out of the element loop)."""
    hi = _F32(v)
    return hi, _F32(v - _F(hi))


@njit(inline="always")
def _sq_d_at_most(x, d, c):
    r"""Whether :math:`x^2 d \le c` for float32 ``x >= 0`` (NaN: False), ``d >= 0`` and float64 ``c``
    (loop invariant), decided to about :math:`2^{-46}` relative in float32: :math:`x d = p_h + p_l`
    exactly (``fma``) and :math:`x (p_h + p_l) - c` is two ``fma`` on the split constant. That holds
    while :math:`x d` is a normal float32; an overflow of :math:`x d` or of :math:`x^2 d` counts as
    above ``c`` (:math:`\infty - \infty` is NaN), and :math:`d = 0` as below."""
    ch, cl = _split(c)
    ph = x * d
    pl = fma(x, d, -ph)
    return fma(x, ph, -ch) + fma(x, pl, -cl) <= _F32(0.0)


@njit(inline="always")
def mcp_pre(x, lr, d, a, b):
    r"""MCP (``a`` :math:`=\lambda`, ``b`` :math:`=\gamma`) on float32 ``x >= 0`` at the step
    :math:`s = \mathrm{lr}/d` (``lr > 0``, ``0 <= d < inf``), all in float32 and with one division.

    Multiplied through by ``d``, the firm threshold is :math:`\min(x, (x d - \mathrm{lr}\lambda) / (d -
    \mathrm{lr}/\gamma))` (the firm line passes through :math:`(\gamma\lambda, \gamma\lambda)` with a
    slope above 1, so it is above ``x`` exactly where :math:`x > \gamma\lambda`), zero where the
    numerator is :math:`\le 0`, and :math:`s < \gamma` iff its denominator is :math:`> 0`; the hard
    threshold (:math:`s \ge \gamma`) keeps ``x`` iff :math:`x^2 d > \lambda^2\gamma\,\mathrm{lr}`
    (:func:`_sq_d_at_most`). The loop-invariant products
    :math:`\mathrm{lr}\lambda`, :math:`\mathrm{lr}/\gamma` are float32 pairs (:func:`_split`), and
    ``fma`` forms the numerator with one rounding, so each decision is the exact one up to about
    :math:`2^{-46}` relative.
    """
    firm, den = _mcp_firm(x, lr, d, a, b)
    lrd, ad, bd = _F(lr), _F(a), _F(b)
    hard = _F32(0.0) if _sq_d_at_most(x, d, ad * ad * bd * lrd) else x
    return firm if den > _F32(0.0) else hard


@njit(inline="always")
def _mcp_den(lr, d, b):
    """The firm threshold's denominator :math:`d - \mathrm{lr}/\gamma` of :func:`mcp_pre` (the constant as a
    split pair): ``> 0`` iff :math:`s < \gamma`."""
    kh, kl = _split(_F(lr) / _F(b))
    return (d - kh) - kl


@njit(inline="always")
def _mcp_firm(x, lr, d, a, b):
    """``(firm, den)`` of :func:`mcp_pre`: the firm threshold :math:`\min(x, n/d_k)`, 0 where its numerator
    :math:`n \le 0` (the selects are false on NaN and keep it), and its denominator :math:`d_k`."""
    c1h, c1l = _split(_F(lr) * _F(a))
    num = fma(x, d, -c1h) - c1l
    den = _mcp_den(lr, d, b)
    # the firm line passes x at gamma lam and is steeper than x
    firm = num / den
    firm = x if x < firm else firm
    return (_F32(0.0) if num <= _F32(0.0) else firm), den


@njit(inline="always")
def mcp_rare(lr, d, a, b):
    """Whether :func:`mcp_pre` is in its hard-threshold case at ``d`` (:math:`s \ge \gamma`, a tiny second
    moment: not :math:`d_k > 0`, also where ``d`` is NaN), decided exactly as :func:`mcp_pre` decides it."""
    return not _mcp_den(lr, d, b) > _F32(0.0)


@njit(inline="always")
def mcp_common(x, lr, d, a, b):
    """:func:`mcp_pre` where :func:`mcp_rare` is False (the firm threshold: the same operations, hence the same
    value, bit for bit); anything where it is True."""
    return _mcp_firm(x, lr, d, a, b)[0]


@njit(inline="always")
def _scad_dk(lr, d, b):
    """:math:`d_k = d - \\mathrm{lr}/(\\gamma - 1)` of :func:`scad_pre` (the constant as a split pair): ``> 0``
    iff :math:`s < \\gamma - 1`, the convex case."""
    kh, kl = _split(_F(lr) / (_F(b) - _ONE))
    return (d - kh) - kl


@njit(inline="always")
def _scad_line(x, lr, d, a, b, assume_convex):
    """``(n1, convex, q)`` of :func:`scad_pre`: :math:`n_1`, whether the case is convex
    (:math:`d_k > 0`) and the line ``q`` it picks, :math:`\\max(n_1/d, n_3/d_k)` in the convex case and
    :math:`n_1/d` in the other (with ``assume_convex`` the pick does not look at the case: the same value
    wherever it is convex)."""
    lrd, ad, bd = _F(lr), _F(a), _F(b)
    c1h, c1l = _split(lrd * ad)
    c3h, c3l = _split(lrd * bd * ad / (bd - _ONE))
    n1 = fma(x, d, -c1h) - c1l
    n3 = fma(x, d, -c3h) - c3l
    dk = _scad_dk(lr, d, b)
    convex = dk > _F32(0.0)  # s < gamma - 1
    larger = fma(n3, d, -(n1 * dk)) > _F32(0.0)  # n3/dk > n1/d (both denominators > 0)
    mid = larger if assume_convex else convex & larger
    q = (n3 if mid else n1) / (dk if mid else d)
    return n1, convex, q


@njit(inline="always")
def _scad_convex(x, n1, q):
    """The convex case's prox of :func:`scad_pre` from its line ``q``: :math:`\\min(x, q)`, 0 where
    :math:`n_1 \\le 0` (the selects keep NaN)."""
    y = x if x < q else q
    return _F32(0.0) if n1 <= _F32(0.0) else y


@njit(inline="always")
def scad_pre(x, lr, d, a, b):
    r"""SCAD (``a`` :math:`=\lambda`, ``b`` :math:`=\gamma`) on float32 ``x >= 0`` at the step
    :math:`s = \mathrm{lr}/d` (``lr > 0``, ``0 <= d < inf``), all in float32 and with one division.

    Multiplied through by :math:`d`: :math:`x - s\lambda = n_1/d` with :math:`n_1 = x d -
    \mathrm{lr}\lambda`; the middle piece is :math:`n_3/d_k` with :math:`n_3 = x d -
    \mathrm{lr}\gamma\lambda/(\gamma-1)` and :math:`d_k = d - \mathrm{lr}/(\gamma-1)`, which is
    :math:`> 0` iff :math:`s < \gamma - 1` (the convex case). In the convex case the prox is
    :math:`\min(x, \max(n_1/d, n_3/d_k))` where :math:`n_1 > 0`, else 0: the middle piece is a line
    through :math:`(\lambda(1 + s), \lambda)` and :math:`(\gamma\lambda, \gamma\lambda)`, steeper than
    :math:`x - s\lambda` and than :math:`x`, so the larger of the two lines is the first piece up to
    :math:`\lambda(1+s)` and the middle one after, and it passes :math:`x` at :math:`\gamma\lambda`.
    The larger line is picked before dividing, on the sign of :math:`n_3 d - n_1 d_k` (one ``fma``, one
    rounding: a wrong pick only where the two agree to about :math:`2^{-24}`), and the one division is
    of the numerator and denominator it selects. No threshold on ``x`` is compared: near
    :math:`s = \gamma - 1` the middle piece is steep, and a rounded threshold would be amplified.
    Zero iff :math:`n_1 \le 0` (decided as in :func:`mcp_pre`). In the non-convex case the minimiser
    is :math:`\max(x - s\lambda, 0)` up to the tie with ``x``, and ``x`` beyond it: the tie is at
    :math:`\lambda(\gamma + 1 + s)/2` (where the objective at :math:`x - s\lambda`, :math:`\lambda x -
    s\lambda^2/2`, meets the one at ``x``, :math:`\lambda^2(\gamma + 1)/2`) for :math:`s \le \gamma + 1`, and
    at :math:`\lambda\sqrt{s(\gamma + 1)}` (where :math:`x^2/(2s)` meets it; :math:`x - s\lambda \le 0`
    there) beyond; times ``d``, ``x`` is past it iff
    :math:`2xd - \lambda(\gamma+1) d - \mathrm{lr}\lambda > 0`, resp. :math:`x (xd) - \lambda^2(\gamma +
    1)\mathrm{lr} > 0`, compared in float32: within a few roundings of the tie either is returned.
    """
    n1, convex, q = _scad_line(x, lr, d, a, b, False)
    y = _scad_convex(x, n1, q)
    # non-convex (q = n1/d = x - s lam): x beyond the tie, else max(x - s lam, 0); the tie is at
    # lam (gamma + 1 + s)/2 for s <= gamma + 1, at lam sqrt(s (gamma + 1)) beyond, both times d
    lrd, ad, bd = _F(lr), _F(a), _F(b)
    far = d < _F32(lrd / (bd + _ONE))  # s > gamma + 1
    beyond = fma(x, x * d, _F32(-ad * ad * (bd + _ONE) * lrd)) if far else \
        fma(x + x, d, -fma(_F32(ad * (bd + _ONE)), d, _F32(lrd * ad)))
    y13 = _F32(0.0) if q <= _F32(0.0) else q  # (NaN: q)
    y13 = x if beyond > _F32(0.0) else y13
    return y if convex else y13


@njit(inline="always")
def scad_rare(lr, d, a, b):
    """Whether :func:`scad_pre` is in its non-convex case at ``d`` (:math:`s \\ge \\gamma - 1`, a tiny
    second moment: not :math:`d_k > 0`, also where ``d`` is NaN), decided exactly as :func:`scad_pre`
    decides it; it depends on ``d`` only."""
    return not _scad_dk(lr, d, b) > _F32(0.0)


@njit(inline="always")
def scad_common(x, lr, d, a, b):
    """:func:`scad_pre` where :func:`scad_rare` is False (its convex case: the same operations, hence the
    same value, bit for bit, less the non-convex case's and the case's selects); anything where it is True."""
    n1, convex, q = _scad_line(x, lr, d, a, b, True)
    return _scad_convex(x, n1, q)


# degree-5 fit of v(tau) = (2/sqrt 3) cos(arccos(-tau 3 sqrt(3)/2)/3), the root of v^3 - v + tau = 0 in
# (sqrt(2/3), 1], on tau in [0, sqrt(2)/(3 sqrt 3)] (max error 2.9e-5, float32 coefficients)
_VFIT = tuple(_F32(c) for c in (1.0000170469284058, -0.5024613738059998, -0.2922643721103668, -1.571456789970398,
                                 5.227564334869385, -14.79365348815918))
# degree-5 fit of 2/(2 + 3z) = 2/(3 v^2 - 1), twice the inverse slope of the cubic, in z = v^2 - 1 on
# [-1/3, 0] (relative error 1.3e-4, float32 coefficients)
_SLOPE2 = tuple(_F32(2.0 * c) for c in (0.4999352693557739, -0.757880449295044, 0.9035750031471252, -4.091692924499512,
                                        -8.95927906036377, -25.76072883605957))
_QUARTER = 0.25  # tau^2 = 27 mu^2 / (64 x^3) * (2 / (3 sqrt 3))^2 = (lam lr)^2 / (x (x d)^2) / 4


@njit(inline="always")
def _fma_horner(coeffs, t):
    """:func:`horner` with one ``fma`` per term."""
    p = coeffs[len(coeffs) - 1]
    for k in range(len(coeffs) - 2, -1, -1):
        p = fma(p, t, coeffs[k])
    return p


@njit(inline="always")
def lq12_pre(x, lr, d, a, b):
    r"""ℓ1/2 (half thresholding, ``a`` :math:`=\lambda`) on float32 ``x >= 0`` at the step
    :math:`s = \mathrm{lr}/d` (``lr > 0``, ``0 <= d < inf``), all in float32, with one division.

    With :math:`\mu = 2 s\lambda`, the minimiser is non-zero iff :math:`32 x^3 > 27\mu^2`, i.e.
    :math:`x (x d)^2 > \tfrac{27}8 (\lambda\,\mathrm{lr})^2 = k_h + k_l` (a split constant):
    :math:`x d = p_h + p_l` and :math:`p_h x = A_h + A_l` exactly (``fma``), so :math:`x (xd)^2 - k =
    (p_h A_h - k_h) + (p_h A_l + 2 p_l A_h - k_l)` up to :math:`2^{-46}` relative, the first term by one
    ``fma``: the exact decision up to about :math:`2^{-46}` relative (an overflow of :math:`x (xd)^2`
    counts as non-zero). Then :math:`y = x v^2` with :math:`v = 2w/\sqrt3` the largest
    root of :math:`v^3 - v + \tau = 0`, :math:`\tau = \tfrac{2}{3\sqrt3} t = \tfrac12 \lambda\,\mathrm{lr} /
    \sqrt{p_h A_h}` (the :math:`w, t` of :func:`lq12_pos`, rescaled so that no constant multiplies the
    result): a degree-5 fit :math:`v_0` (error below 2.9e-5) and one Newton step whose inverse slope
    :math:`1/(3v_0^2 - 1)` is a degree-5 fit in :math:`z = v_0^2 - 1` (error 1.3e-4: the step's error is
    at most :math:`1.3\cdot 10^{-4} e + 2.5 e^2` for an error :math:`e` of :math:`v_0`, below 1e-8). The
    step is folded into :math:`v^2 - 1 = z + 2 v_0 \delta` (:math:`\delta` the Newton correction, its
    square below 1e-9 dropped) and :math:`y = x + x (v^2 - 1)` by ``fma``, so ``v`` is never rounded:
    the error is that of :math:`\tau` times at most :math:`2/3` plus about one rounding.
    ``lam = 0`` is the identity.
    """
    lrd, ad = _F(lr), _F(a)
    kh, kl = _split(_F(27.0 / 8.0) * (ad * lrd) * (ad * lrd))
    ph = x * d
    pl = fma(x, d, -ph)
    ah = ph * x
    al = fma(ph, x, -ah)
    # x (xd)^2 - k = (ph ah - kh) + (ph al + 2 pl ah - kl): an overflow gives inf or NaN, kept
    drop = fma(ph, ah, -kh) + (fma(pl + pl, ah, ph * al) - kl) <= _F32(0.0)
    tau = np.sqrt(_F32(_QUARTER * (ad * lrd) * (ad * lrd)) / (ph * ah))
    v = _fma_horner(_VFIT, tau)
    z = fma(v, v, _F32(-1.0))
    w = fma(-(fma(v, z, tau) * v), _fma_horner(_SLOPE2, z), z)  # v^2 - 1 after the Newton step
    y = _F32(0.0) if drop else fma(x, w, x)
    return x if a == _F32(0.0) else y
