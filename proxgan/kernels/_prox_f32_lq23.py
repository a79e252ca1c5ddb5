r"""The ℓ2/3 prox at ProxAdam's preconditioned step, in float32: :func:`lq23_pre`.

The float32 step's prox at :math:`s = \mathrm{lr}/d` (:math:`d = \sqrt{\hat v} + \varepsilon_{\rm Adam}`)
is, for :math:`x = |u| \ge 0`, :math:`\arg\min_{y \ge 0} \tfrac1{2s}(y - x)^2 + \lambda y^{2/3}`. With
:math:`\mu = 2s\lambda` it is non-zero iff :math:`27x^4 > 16\mu^3` (the threshold
:math:`\tfrac23(3\mu^3)^{1/4}` of :func:`~proxgan.kernels._prox_f32.lq23_pos`), and then :math:`y = z^3`
with :math:`z` the largest root of :math:`z^4 - xz + \mu/3`. Multiplied through by :math:`d` (as the
forms of :mod:`proxgan.kernels._prox_f32`), with :math:`c = \tfrac23\mathrm{lr}\lambda`:

* **the decision**: :math:`x (xd)^3 > \tfrac{128}{27}(\mathrm{lr}\lambda)^3`, on :math:`xd\sigma`, its square
  and cube carried as float32 pairs (``fma``) against a split constant (as
  :func:`~proxgan.kernels._prox_f32.lq12_pre`): exact to about :math:`2^{-46}` relative (an overflow
  counts as non-zero). :math:`\sigma` is a loop-invariant power of two near the cube root of the
  constant's inverse, so that :math:`R = x (xd\sigma)^3` is near 1 at the threshold whatever
  :math:`\mathrm{lr}\lambda` (a float32 :math:`(\mathrm{lr}\lambda)^3` would leave the normal range);
* **a start**: :math:`z = x^{1/3} v` with :math:`v` the largest root of :math:`v^4 - v + \tau`,
  :math:`\tau = c / (d x^{4/3}) \in [0, 16^{-1/3}]` where the prox is non-zero, so :math:`v \in
  [2^{-1/3}, 1]`. With :math:`h = R^{-1/3}` (:func:`inv_cbrt`: the bits and two division-free Newton
  steps, 1.2e-5), :math:`\tau = c\sigma h` and :math:`x^{-1/3} = xd\sigma h`: no division and no cube
  root of its own; then a degree-7 fit of :math:`v(\tau)` (error 1.5e-5; :func:`estrin8`);
* **one Newton step** on :math:`G(z) = d z (z^3 - x) + c` (:math:`G' = d (4z^3 - x) \ge d x`), the one
  division: from a start within 3e-5 it leaves :math:`3 e^2 < 3\cdot 10^{-9}` relative. :math:`z^3` is
  an exact float pair (``fma``), :math:`z^3 - x` is exact (Sterbenz: :math:`z^3 \in [x/2, x]`), and
  :math:`c` is a split constant, so :math:`G` has no rounding of the size of its terms; the result is
  :math:`y = z^3 - 3 z^2 \delta` summed with one final rounding (within about 1 ulp of the float64
  reference).

Where :math:`R > 2^{78} (c\sigma)^3` (:math:`\tau < 2^{-26}`) the correction :math:`y/x - 1 \approx -\tau` is
below half a rounding and ``x`` is returned (:math:`4z^3` would overflow near the largest floats). Values
are within 3 ulp of the float64 reference (``tests/kernels/test_prox_precond.py``); ``lam = 0`` is the
identity, NaN gives NaN, ``d = 0`` (an infinite step) gives 0.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._prox_f32 import _split, as_float, as_int, fma
from ._prox_f32_logsum import estrin8

__all__ = ["inv_cbrt", "lq23_pre"]

_F = np.float64
_F32 = np.float32

_INV_CBRT_MAGIC = _F32(0x54A23000)  # bits(x^-1/3) ~ magic - bits(x)/3, within 3.5% for normal x
_THIRD = _F32(1.0 / 3.0)
_FOUR_THIRDS = _F32(4.0 / 3.0)
# degree-7 fit of v(tau), the largest root of v^4 - v + tau, on [0, 0.4] (16^-1/3 = 0.397): error 1.5e-5
_VFIT = tuple(_F32(c) for c in (1.0000113248825073, -0.33649539947509766, -0.07805845886468887, -2.717820644378662,
                                 19.928966522216797, -86.47288513183594, 182.55018615722656, -159.23110961914062))


@njit(inline="always")
def inv_cbrt(x):
    r""":math:`x^{-1/3}` for a positive normal float32 ``x``, within 1.2e-5 relative and division-free: the
    bit estimate (3.5%) and two Newton steps :math:`g \leftarrow g\,(4/3 - (x/3) g^3)` (error :math:`e`
    becomes :math:`2e^2`)."""
    g = as_float(np.int32(_INV_CBRT_MAGIC - _F32(as_int(x)) * _THIRD))
    x3 = x * _THIRD
    g = g * fma(-(x3 * g), g * g, _FOUR_THIRDS)
    return g * fma(-(x3 * g), g * g, _FOUR_THIRDS)


_EXP = np.int64(0x7FF)
_BIAS = np.int64(1023)


@njit(inline="always")
def _cube_root_scale(k):
    """A power of two near :math:`k^{-1/3}` for a float64 ``k > 0`` (from its exponent; a loop invariant)."""
    e = ((as_int(k) >> np.int64(52)) & _EXP) - _BIAS
    return as_float((_BIAS - e // np.int64(3)) << np.int64(52))


@njit(inline="always")
def lq23_pre(x, lr, d, a, b):
    r"""ℓ2/3 (``a`` :math:`=\lambda`) on float32 ``x >= 0`` at the step :math:`s = \mathrm{lr}/d` (``lr > 0``,
    ``0 <= d < inf``), all in float32, with one division and no square root: see the module docstring."""
    lrd, ad = _F(lr), _F(a)
    la = lrd * ad
    k = _F(128.0 / 27.0) * la * la * la
    sig = _cube_root_scale(k)  # x d is scaled by sig, so that x (x d sig)^3 is near 1 at the threshold
    kh, kl = _split(k * sig * sig * sig)
    ch, cl = _split(_F(2.0 / 3.0) * la)
    tau_c = _F32(_F(2.0 / 3.0) * la * sig)
    whole = _F32(2.0 ** 78 * (_F(2.0 / 3.0) * la * sig) ** 3)
    # the decision: x (x d sig)^3 against its threshold, on float pairs
    ph = x * (d * _F32(sig))
    pl = fma(x, d * _F32(sig), -ph)
    qh = ph * ph
    ql = fma(ph, ph, -qh) + (ph + ph) * pl
    c3h = qh * ph
    c3l = fma(qh, ph, -c3h) + (ql * ph + qh * pl)
    rh = c3h * x
    rl = fma(c3h, x, -rh) + c3l * x
    drop = (rh - kh) + (rl - kl) <= _F32(0.0)  # NaN (overflow, NaN x): kept
    # the start z = x^(1/3) v(tau): h = (x^4 d^3 sig^3)^(-1/3), tau = c sig h, x^(-1/3) = x d sig h
    h = inv_cbrt(rh)
    tau = tau_c * h
    g = ph * h
    z = (x * (g * g)) * estrin8(_VFIT, tau, tau * tau)
    # one Newton step on G(z) = d z (z^3 - x) + c, with z^3 = z3h + z3l exactly and z3h - x exact
    z2 = z * z
    z2l = fma(z, z, -z2)
    z3h = z2 * z
    z3l = fma(z2, z, -z3h) + z2l * z
    wh = z3h - x
    dz = d * z
    dzl = fma(d, z, -dz)
    gz = fma(dz, wh, ch) + (fma(dz, z3l, cl) + dzl * wh)
    step = gz / (d * fma(_F32(4.0) * z2, z, -x))
    y = z3h + fma(_F32(-3.0) * z2, step, z3l)
    y = _F32(0.0) if drop else y
    y = x if rh > whole else y
    return x if a == _F32(0.0) else y
