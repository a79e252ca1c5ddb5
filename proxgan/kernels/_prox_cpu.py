r"""The prox switch of the numba kernels, keyed by :class:`~proxgan.kernels.fused_penalty.Code`.

:func:`prox_scalar` is the one numba copy of the switch (its PyTorch twin is
:func:`proxgan.kernels.fused_penalty.prox_code_ref`, its Triton twin
:func:`proxgan.kernels._prox_triton.prox_tile`). The fused CPU optimizer steps
(:mod:`proxgan.optim._fused_cpu`) call its literal-code form :func:`prox_kernel` element by
element, which compiles only the code's own function of :data:`BRANCHES` into the kernel, so
the loops vectorise where that function allows; coordinate descent (:mod:`proxgan.solvers._prox1d`)
calls it once per coordinate update with ``code`` a run-time number. The same module holds
the other per-coordinate functions coordinate descent needs from a code: the penalty's
value (:func:`value_scalar`) and its generalised support (:func:`in_support_scalar`).

The non-convex codes have two forms, chosen by the dtype when a kernel is compiled
(:func:`by_dtype`, the one place that decides): the exact formulas (float64: coordinate descent,
float64 steps) and the vectorisable forms of :mod:`proxgan.kernels._prox_f32` (float32 steps),
which use no libm call per element.

ProxAdam's preconditioned step ``lr/d`` reaches the prox through :func:`prox_kernel_pre`: codes
with an entry in :data:`PRECOND` (MCP, SCAD, ℓ1/2, ℓ2/3, log-sum) get, in float32, a form multiplied through
by ``d`` that never divides for the step (:mod:`proxgan.kernels._prox_f32`,
:mod:`proxgan.kernels._prox_f32_lq23`, :mod:`proxgan.kernels._prox_f32_logsum`); every other code, and
float64, gets its :data:`BRANCHES` function at ``lr / d``. MCP, SCAD and log-sum also give, in :data:`RARE`,
the predicate of their rare case (tiny ``d``) and their form less that case, which the fused step's
element loop runs instead (:func:`prox_kernel_common`, :func:`prox_rare`), leaving the rare entries to a
second pass.

Arithmetic stays in the dtype of ``u``: ``one`` and ``zero`` are given in that dtype (a
Python float would promote float32 to float64). Kernels that compile this module into
themselves put a hash of its source into their cache key (:func:`source_stamp`): numba's
on-disk cache only watches the file of the function it compiles.
"""
from __future__ import annotations

import hashlib
import inspect
import math
import os
import pathlib

import numpy as np
from numba import njit, types
from numba.extending import overload

from ._prox_f32 import (as_float, as_int, logsum_pos, lq12_pos, lq12_pre, lq23_pos, mcp_common, mcp_pos, mcp_pre,
                        mcp_rare, scad_common, scad_pos, scad_pre, scad_rare)
from ._prox_f32_logsum import logsum_common, logsum_pre, logsum_rare
from ._prox_f32_lq23 import lq23_pre
from .fused_penalty import Code

__all__ = ["clip", "by_dtype", "prox_scalar", "prox_kernel", "prox_kernel_pre", "BRANCHES", "PRECOND",
           "RARE", "prox_kernel_common", "prox_rare", "has_rare",
           "value_scalar", "in_support_scalar", "source_stamp"]

# the codes as plain ints: numba folds a comparison of a literal code with them
_L1, _L2, _ENET, _L0, _BOX = int(Code.L1), int(Code.L2), int(Code.ENET), int(Code.L0), int(Code.BOX)
_MCP, _SCAD, _LOGSUM, _LQ12, _LQ23 = int(Code.MCP), int(Code.SCAD), int(Code.LOGSUM), int(Code.LQ12), int(Code.LQ23)
_L1W = int(Code.L1W)
_CBRT54_4 = 54.0 ** (1.0 / 3.0) / 4.0

@njit(inline="always")
def clip(u, lo, hi):
    """``torch.clamp(u, lo, hi)`` (a NaN stays NaN) as selects, which vectorise (``min``/``max`` do not)."""
    return lo if u < lo else (hi if u > hi else u)


# --- one function per code: the prox of (code, a, b) at u with step s, in u's dtype -------------
@njit(inline="always")
def _prox_none(u, s, a, b, one, zero):
    return u


@njit(inline="always")
def _prox_l1(u, s, a, b, one, zero):
    t = s * a
    return u - clip(u, -t, t)


@njit(inline="always")
def _prox_l1w(u, s, a, b, one, zero):
    # weighted L1: the fused kernels pass the element's step times its weight (_fused_cpu._wstep),
    # so this is the L1 soft threshold at that step
    return _prox_l1(u, s, a, b, one, zero)


@njit(inline="always")
def _prox_l2(u, s, a, b, one, zero):
    return u / (one + s * a)


@njit(inline="always")
def _prox_enet(u, s, a, b, one, zero):
    t = s * a
    return (u - clip(u, -t, t)) / (one + s * b)


@njit(inline="always")
def _prox_l0(u, s, a, b, one, zero):
    return u if abs(u) > np.sqrt(a * s) else zero


@njit(inline="always")
def _prox_box(u, s, a, b, one, zero):
    return clip(u, a, b)


def by_dtype(f64, f32):
    """One function with the arguments of ``f64`` whose body is chosen by the dtype of its first
    argument when it is compiled.

    This is the one place that decides which form of a non-convex prox a kernel gets: float32
    (the fused steps of float32 parameters) gets ``f32``, whose loops vectorise (it assumes
    IEEE division, numba's ``error_model="numpy"`` of those kernels); anything else (float64:
    coordinate descent, float64 steps) gets ``f64``, the exact form. Only the chosen function
    is typed and compiled.
    """
    names = ", ".join(inspect.signature(f64.py_func).parameters)
    scope: dict = {}
    exec(f"def stub({names}):\n    raise NotImplementedError('compiled code only')\n"  # noqa: S102
         f"def impl({names}):\n    f = f32 if {names.split(',')[0]} == types.float32 else f64\n"
         f"    return lambda {names}: f({names})\n",
         {"f32": f32, "f64": f64, "types": types, "__name__": __name__}, scope)  # a module: see _first_call
    pos = scope["stub"]
    overload(pos, jit_options={"forceinline": True})(scope["impl"])
    return pos


# The non-convex proxes: a global minimiser of (y - x)^2/(2s) + g(y) over y >= 0 for x >= 0
# (the formulas of proxgan.kernels.fused_penalty.prox_code_ref); _signed applies one to u. These
# exact forms serve float64 (they branch and call libm, and they never divide by zero: coordinate
# descent compiles them with numba's Python error model); the float32 forms are in _prox_f32.
@njit(inline="always")
def _scad_value(y, lam, gamma):
    if y <= lam:
        return lam * y
    if y <= gamma * lam:
        return (2.0 * gamma * lam * y - y * y - lam * lam) / (2.0 * (gamma - 1.0))
    return lam * lam * (gamma + 1.0) / 2.0


@njit(inline="always")
def _mcp_exact(x, s, a, b):
    # firm threshold for s < gamma, else a hard threshold at lam sqrt(s gamma)
    if s < b:
        if x <= s * a:
            return 0.0 * x
        return (x - s * a) / (1.0 - s / b) if x <= b * a else x
    return x if x > a * math.sqrt(s * b) else 0.0 * x


@njit(inline="always")
def _scad_exact(x, s, a, b):
    # the best of the three pieces' minimisers (ties: the smaller)
    y = min(max(x - s * a, 0.0), a)
    h = _h(y, x, s, a * y)
    if s < b - 1.0:
        y2 = min(max(((b - 1.0) * x - s * b * a) / (b - 1.0 - s), a), b * a)
        h2 = _h(y2, x, s, _scad_value(y2, a, b))
        if h2 < h:
            y, h = y2, h2
    y3 = max(x, b * a)
    if _h(y3, x, s, _scad_value(y3, a, b)) < h:
        y = y3
    return y + 0.0 * x


@njit(inline="always")
def _h(y, x, s, g):
    return (y - x) * (y - x) / (2.0 * s) + g


@njit(inline="always")
def _logsum_exact(x, s, a, b):
    # the larger root of y^2 + (eps - x) y + s lam - x eps, if it beats 0
    d = (x + b) * (x + b) - 4.0 * s * a
    if d < 0.0:
        return 0.0 * x
    y = 0.5 * ((x - b) + math.sqrt(d))
    if y > 0.0 and _h(y, x, s, a * math.log1p(y / b)) < x * x / (2.0 * s):
        return y + 0.0 * x
    return 0.0 * x


@njit(inline="always")
def _lq12_exact(x, s, a, b):
    # half thresholding, mu = 2 s lam
    mu = 2.0 * s * a
    if mu == 0.0:
        return x
    if not x > _CBRT54_4 * mu ** (2.0 / 3.0):
        return 0.0 * x
    phi = math.acos(min(mu / 8.0 * (x / 3.0) ** -1.5, 1.0))
    return (2.0 / 3.0) * x * (1.0 + math.cos(2.0 * math.pi / 3.0 - 2.0 * phi / 3.0)) + 0.0 * x


@njit(inline="always")
def _lq23_exact(x, s, a, b):
    # 2/3 thresholding, mu = 2 s lam
    mu = 2.0 * s * a
    if mu == 0.0:
        return x
    if not x > (2.0 / 3.0) * (3.0 * mu * mu * mu) ** 0.25:
        return 0.0 * x
    phi = math.acosh(max(27.0 * x * x / (16.0 * mu ** 1.5), 1.0))
    A = (2.0 / math.sqrt(3.0)) * mu ** 0.25 * math.sqrt(math.cosh(phi / 3.0))
    r = (A + math.sqrt(max(2.0 * x / A - A * A, 0.0))) / 2.0
    return r * r * r + 0.0 * x


_mcp_pos = by_dtype(_mcp_exact, mcp_pos)
_scad_pos = by_dtype(_scad_exact, scad_pos)
_logsum_pos = by_dtype(_logsum_exact, logsum_pos)
_lq12_pos = by_dtype(_lq12_exact, lq12_pos)
_lq23_pos = by_dtype(_lq23_exact, lq23_pos)


def _signed(pos):
    """The prox of a non-convex code from its minimiser on ``|u|``: the sign back (a zero step keeps ``u``)."""
    @njit(inline="always")
    def prox(u, s, a, b, one, zero):
        if not s > zero:
            return u
        y = pos(abs(u), s, a, b)
        return -y if u < zero else y
    return prox


_prox_mcp, _prox_scad, _prox_logsum = _signed(_mcp_pos), _signed(_scad_pos), _signed(_logsum_pos)
_prox_lq12, _prox_lq23 = _signed(_lq12_pos), _signed(_lq23_pos)

#: The prox of each code (one function each, the only copy of its formula in numba).
BRANCHES = {Code.NONE: _prox_none, Code.L1: _prox_l1, Code.L2: _prox_l2, Code.ENET: _prox_enet,
            Code.L0: _prox_l0, Code.BOX: _prox_box, Code.MCP: _prox_mcp, Code.SCAD: _prox_scad,
            Code.LOGSUM: _prox_logsum, Code.LQ12: _prox_lq12, Code.LQ23: _prox_lq23,
            Code.L1W: _prox_l1w}


@njit(inline="always")
def _sign_back(y, u, lr, d, keep):
    """``y`` (``>= +0`` or NaN) with ``u``'s sign bit where ``keep`` and ``lr/d > 0`` (``lr > 0`` and
    ``d < inf``; ``d >= 0``), else ``u``."""
    y = as_float(np.int32(as_int(y) ^ (as_int(u) & _SIGN32)))  # (numba widens int32 operations to int64)
    lim = _INF32 if lr > np.float32(0.0) else -_INF32  # loop invariant: d < lim iff lr > 0 and d < inf
    return y if (d < lim) & keep else u


_INF32 = np.float32(np.inf)
_SIGN32 = np.int32(-(2 ** 31))


def _signed_pre(pos):
    """The float32 prox of a non-convex code at the step ``lr/d`` from its minimiser ``pos(x, lr, d, a, b)``
    on ``|u|`` (the sign back). It keeps ``u`` where ``lr/d > 0`` fails (``lr <= 0``, ``d`` infinite or NaN;
    ``d >= 0``), as :func:`_signed` does at a step that is not positive."""
    @njit(inline="always")
    def prox(u, lr, d, a, b, one, zero):
        return _sign_back(pos(abs(u), lr, d, a, b), u, lr, d, True)
    return prox


def _signed_common(pos, rare):
    """:func:`_signed_pre` of a code's form ``pos`` for the entries where ``rare(lr, d, a, b)`` is False,
    and ``u`` itself where it is True (the input of the second pass, see :data:`RARE`)."""
    @njit(inline="always")
    def prox(u, lr, d, a, b, one, zero):
        return _sign_back(pos(abs(u), lr, d, a, b), u, lr, d, not rare(lr, d, a, b))
    return prox


def _divided(branch):
    """The prox of ``branch`` at the step ``lr/d``, as the function of ``(u, lr, d, a, b, one, zero)``."""
    @njit(inline="always")
    def prox(u, lr, d, a, b, one, zero):
        return branch(u, lr / d, a, b, one, zero)
    return prox


#: The codes whose prox at a step ``lr/d`` (ProxAdam's preconditioned step, ``d`` = √v̂ + ε) has a
#: form of its own for float32, multiplied through by ``d``: no division for the step, no float64
#: (:mod:`proxgan.kernels._prox_f32`). Float64 divides and calls :data:`BRANCHES`.
PRECOND = {Code.MCP: by_dtype(_divided(_prox_mcp), _signed_pre(mcp_pre)),
           Code.SCAD: by_dtype(_divided(_prox_scad), _signed_pre(scad_pre)),
           Code.LQ12: by_dtype(_divided(_prox_lq12), _signed_pre(lq12_pre)),
           Code.LOGSUM: by_dtype(_divided(_prox_logsum), _signed_pre(logsum_pre)),
           Code.LQ23: by_dtype(_divided(_prox_lq23), _signed_pre(lq23_pre))}


def prox_kernel_pre(u, lr, d, code, a, b, one, zero):  # pragma: no cover - compiled code calls the overload below
    """:func:`prox_kernel` at the step ``lr / d`` (``d >= 0``) for a compile-time ``code``: the code's
    entry of :data:`PRECOND` where it has one, else its :data:`BRANCHES` function at ``lr / d``."""
    raise NotImplementedError("prox_kernel_pre runs in compiled code only")


@overload(prox_kernel_pre, prefer_literal=True, jit_options={"forceinline": True})
def _prox_kernel_pre_impl(u, lr, d, code, a, b, one, zero):
    if not isinstance(code, types.IntegerLiteral):
        return None
    c = Code(code.literal_value)
    fn = PRECOND[c] if c in PRECOND else _divided(BRANCHES[c])

    def impl(u, lr, d, code, a, b, one, zero):
        return fn(u, lr, d, a, b, one, zero)
    return impl


#: The codes whose float32 form of :data:`PRECOND` has a rare case that depends on ``d`` only, as
#: ``(common, rare)``: ``rare(lr, d, a, b)`` says whether ``d`` is in it (MCP's hard threshold
#: :math:`s \ge \gamma`, SCAD's non-convex case :math:`s \ge \gamma - 1` and log-sum's
#: :math:`s\lambda > \epsilon^2`, whose band needs a float32 log: tiny second moments), and ``common(u, lr, d, a, b, one, zero)`` is the code's :data:`PRECOND` form less
#: its rare case (the same operations, hence the same value, where ``rare`` is False) and ``u`` itself
#: where ``rare`` is True. ``rare`` holds on an initial range of ``d`` (if at ``d``, at every smaller ``d``)
#: and at a NaN ``d``: the second pass finds rare entries by their second moment. The fused
#: step runs ``common`` in its element loop, writes ``u`` where ``rare`` holds and applies
#: :data:`PRECOND` to those entries in a second pass (:mod:`proxgan.optim._fused_cpu`): the same
#: functions compute each entry, so the values are those of the one-pass loop, bit for bit.
RARE = {Code.MCP: (_signed_common(mcp_common, mcp_rare), mcp_rare),
        Code.SCAD: (_signed_common(scad_common, scad_rare), scad_rare),
        Code.LOGSUM: (_signed_common(logsum_common, logsum_rare), logsum_rare)}


def _split_form(code, u):
    """``RARE[code]`` for a float32 ``u`` and a literal code that has one, else None."""
    if not isinstance(code, types.IntegerLiteral) or u != types.float32:
        return None
    return RARE.get(Code(code.literal_value))


def prox_kernel_common(u, lr, d, code, a, b, one, zero):  # pragma: no cover - compiled code calls the overload
    """:func:`prox_kernel_pre` where :func:`prox_rare` is False, ``u`` where it is True (the common form
    of :data:`RARE`); :func:`prox_kernel_pre` itself for the codes and dtypes without one."""
    raise NotImplementedError("prox_kernel_common runs in compiled code only")


@overload(prox_kernel_common, prefer_literal=True, jit_options={"forceinline": True})
def _prox_kernel_common_impl(u, lr, d, code, a, b, one, zero):
    if not isinstance(code, types.IntegerLiteral):
        return None
    split = _split_form(code, u)
    if split is None:
        return lambda u, lr, d, code, a, b, one, zero: prox_kernel_pre(u, lr, d, code, a, b, one, zero)
    fn = split[0]
    return lambda u, lr, d, code, a, b, one, zero: fn(u, lr, d, a, b, one, zero)


def prox_rare(u, lr, d, code, a, b):  # pragma: no cover - compiled code calls the overload below
    """Whether ``d`` is in the rare case of ``code`` (:data:`RARE`; ``u`` gives the dtype); False,
    a constant, for the codes and dtypes without one."""
    raise NotImplementedError("prox_rare runs in compiled code only")


@overload(prox_rare, prefer_literal=True, jit_options={"forceinline": True})
def _prox_rare_impl(u, lr, d, code, a, b):
    if not isinstance(code, types.IntegerLiteral):
        return None
    split = _split_form(code, u)
    if split is None:
        return lambda u, lr, d, code, a, b: False
    rare = split[1]
    return lambda u, lr, d, code, a, b: rare(lr, d, a, b)


def has_rare(code: int, dtype) -> bool:
    """Whether the fused step of ``code`` on ``dtype`` (a numba type) runs its rare case in a second pass."""
    return dtype == types.float32 and Code(code) in RARE


def _switch():
    """:func:`prox_scalar`, generated from :data:`BRANCHES`: ``if code == c: return f(...)`` per entry."""
    names = {f"_prox_{int(c)}": f for c, f in BRANCHES.items()}
    src = "def prox_scalar(u, s, code, a, b, one, zero):\n" + "".join(
        f"    if code == {int(c)}:\n        return _prox_{int(c)}(u, s, a, b, one, zero)\n" for c in BRANCHES
    ) + "    return u\n"
    scope: dict = {}
    exec(compile(src, "<proxgan prox switch>", "exec"), names, scope)
    fn = scope["prox_scalar"]
    fn.__doc__ = r""":math:`\arg\min_y \tfrac12 (y-u)^2 + s\,g(y)` for the penalty ``(code, a, b)``, with
    ``code`` a run-time number: the switch over :data:`BRANCHES` (generated from it)."""
    fn.__module__ = __name__
    fn.__qualname__ = "prox_scalar"
    return njit(inline="always")(fn)


prox_scalar = _switch()


def prox_kernel(u, s, code, a, b, one, zero):  # pragma: no cover - compiled code calls the overload below
    """:func:`prox_scalar` for a compile-time ``code`` (a ``numba.literally`` argument of the fused kernels).

    Only that code's function of :data:`BRANCHES` is typed and compiled into the kernel, not
    the whole switch: a kernel specialisation costs about a tenth of the compile time, and
    its element loops vectorise where the branch allows (they did with the switch too, once
    LLVM had folded it, but numba typed and lowered every branch first). The implementation is
    force-inlined (LLVM ``alwaysinline``): LLVM's own inliner left the larger branches (SCAD,
    ℓ2/3, log-sum) as a call in the loop, which then stayed scalar.
    """
    raise NotImplementedError("prox_kernel runs in compiled code only")


@overload(prox_kernel, prefer_literal=True, jit_options={"forceinline": True})
def _prox_kernel_impl(u, s, code, a, b, one, zero):
    if not isinstance(code, types.IntegerLiteral):
        return None  # numba then reports that no implementation matches: the code must be literal
    branch = BRANCHES[Code(code.literal_value)]

    def impl(u, s, code, a, b, one, zero):
        return branch(u, s, a, b, one, zero)
    return impl


@njit(inline="always")
def value_scalar(x, code, a, b):
    """:math:`g(x)` of one coordinate (float64; a box's indicator is left to the caller, which
    keeps iterates feasible)."""
    if code == _L1 or code == _L1W:  # L1W: ``a`` already holds the coordinate's lam * w
        return a * abs(x)
    if code == _L2:
        return 0.5 * a * x * x
    if code == _ENET:
        return a * abs(x) + 0.5 * b * x * x
    if code == _L0:
        return 0.5 * a if x != 0.0 else 0.0
    ax = abs(x)
    if code == _MCP:
        return a * ax - ax * ax / (2.0 * b) if ax <= b * a else 0.5 * b * a * a
    if code == _SCAD:
        return _scad_value(ax, a, b)
    if code == _LOGSUM:
        return a * math.log1p(ax / b)
    if code == _LQ12:
        return a * math.sqrt(ax)
    if code == _LQ23:
        return a * ax ** (2.0 / 3.0)
    return 0.0


@njit(inline="always")
def in_support_scalar(x, code, a, b):
    """Whether ``x`` lies in the generalised support: where :math:`g` is differentiable at
    ``x`` and non-zero coefficients that a working set must keep."""
    if code == _BOX:
        return a < x < b
    return x != 0.0


def source_stamp() -> str:
    """Hash of the source of this module and of the modules of its float32 forms
    (``_prox_f32*.py``), to put into the cache key of kernels that inline them."""
    here = pathlib.Path(__file__)
    forms = sorted(here.parent.glob("_prox_f32*.py"))
    return hashlib.sha1(b"".join(f.read_bytes() for f in [here, *forms])).hexdigest()


def _stamp_proxgan_caches() -> None:
    """Make this module's source part of the on-disk cache stamp of every numba function of proxgan.

    Numba invalidates a cached function when *its own* file changes, while the kernels of the
    fused steps and of coordinate descent compile :func:`prox_scalar` into themselves. The
    cache locators registered here (numba's own, for files under ``proxgan/``) add
    :func:`source_stamp` to the stamp, so that a new code here recompiles them all. Numba's
    locator list is not a public API: if it changes, caching works as numba's default.
    """
    try:
        from numba.core import caching

        bases = (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator, caching.UserWideCacheLocator)
        registry = caching.CacheImpl._locator_classes
    except AttributeError:  # pragma: no cover - another numba layout
        return
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    stamp = source_stamp()
    made = []
    for base in bases:
        def get_source_stamp(self, _base=base):
            return (_base.get_source_stamp(self), stamp)

        def from_function(cls, py_func, py_file, _base=base):
            if not os.path.abspath(py_file).startswith(root):
                return None
            return super(cls, cls).from_function(py_func, py_file)

        made.append(type(f"Proxgan{base.__name__}", (base,), {"get_source_stamp": get_source_stamp,
                                                               "from_function": classmethod(from_function)}))
    if not any(c.__name__.startswith("Proxgan") for c in registry):
        registry[:0] = made


_stamp_proxgan_caches()
