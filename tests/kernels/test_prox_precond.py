"""The float32 proxes at ProxAdam's preconditioned step ``lr/d`` (``_prox_cpu.PRECOND``: MCP, SCAD, ℓ1/2, ℓ2/3
and log-sum multiplied through by ``d``, no division for the step) against the float64 reference at ``s = lr/d``.

The bar, as ``test_prox_vectorised.py`` but 3 ulp instead of 2: a value is the ratio of two
differences each rounded twice (one ``fma`` and the low half of a split constant), then divided,
so up to four roundings of float32 (the largest seen is 2.4 ulp). ℓ1/2 never rounds its root (its
result is one ``fma`` on the point), and is held to 2 ulp (the largest seen is 1.8). Zero/non-zero decisions are the
reference's (they are made on the exact products, see ``_prox_f32``), and where an answer differs
anyway the objectives of the two agree to 1e-6 relative (both global minimisers up to rounding):
at most a handful of entries, except where a decision is a float32 comparison near a tie: SCAD's
non-convex case (``s >= gamma - 1``, x against the tie of its two outer candidates) and log-sum's
non-convex band (``s lam > eps^2``, the root against 0 with a float32 log), so that at inputs placed
at their tie (within about 1e-6) either may come out. For log-sum the float64 reference itself loses a
few roundings of ``x + eps`` where its root cancels (``(x - eps) + sqrt(D)``), and that much is allowed
on top. The inputs sit at and around every threshold and tie of the prox (their float32 neighbours too;
log-sum's tie found by bisection), at zeros, subnormals and huge values, for steps from 1e-9 to 1e8
(both sides of ``s = gamma`` and ``s = gamma - 1``, where MCP and SCAD change form, and of ``s lam =
eps^2``, where log-sum's 1-D problem stops being convex).
"""
from __future__ import annotations

import platform
import re

import numpy as np
import pytest
import torch
from numba import njit

from proxgan.kernels import _prox_cpu, _prox_f32, _prox_f32_logsum, _prox_f32_lq23
from proxgan.kernels.fused_penalty import Code, prox_code_ref
from proxgan.penalties import MCP, SCAD, LogSum, Lq

from test_prox_vectorised import around  # noqa: E402  (tests/kernels is on sys.path)

PENALTIES = [MCP(0.8, 3.0), MCP(1e-3, 1.5), MCP(2.0, 1.01), SCAD(0.7, 3.7), SCAD(1e-3, 2.2), SCAD(1.5, 2.05),
             Lq(0.6, 0.5), Lq(1e-3, 0.5), Lq(30.0, 0.5), LogSum(0.5, 0.3), LogSum(1e-3, 0.1), LogSum(2.0, 1e-4),
             Lq(0.6, 2 / 3), Lq(1e-3, 2 / 3), Lq(30.0, 2 / 3)]
_LOOPS: dict = {}


def _loop(code):
    """A numba loop over ``PRECOND[code]`` (compiled once per code), as the fused kernels call it."""
    if code not in _LOOPS:
        fn = _prox_cpu.PRECOND[code]

        @njit(error_model="numpy")  # as the fused kernels: IEEE division
        def run(u, lr, d, a, b, out):
            one, zero = u.dtype.type(1.0), u.dtype.type(0.0)
            for i in range(u.size):
                out[i] = fn(u[i], lr, d[i], a, b, one, zero)
        _LOOPS[code] = run
    return _LOOPS[code]


def _code(pen):
    lo = pen.lowering()
    return lo.code, np.float32(lo.a), np.float32(lo.b)


def _prox_pre(pen, u, lr, d):
    code, a, b = _code(pen)
    out = np.empty_like(u)
    _loop(code)(u, np.float32(lr), d, a, b, out)
    return out


def _reference(pen, u, lr, d):
    code, a, b = _code(pen)
    with np.errstate(divide="ignore"):  # d = 0: an infinite step
        s = torch.from_numpy(np.float64(np.float32(lr)) / d.astype(np.float64))  # the kernel gets lr in float32
    return prox_code_ref(torch.from_numpy(u.astype(np.float64)), s, code, float(a), float(b)).numpy(), s


def _logsum_tie(s, lam, eps):
    """The point of the non-convex band of log-sum (``s lam > eps^2``) where the root and 0 tie, by bisection
    on the objectives' difference times 2s, r (2x - r) - 2 s lam log1p(r/eps), which grows with x (slope 2r)."""
    lo, hi = 2 * np.sqrt(s * lam) - eps, s * lam / eps
    for _ in range(200):
        x = 0.5 * (lo + hi)
        r = 0.5 * ((x - eps) + np.sqrt(max((x + eps) ** 2 - 4 * s * lam, 0.0)))
        lo, hi = (x, hi) if r * (2 * x - r) < 2 * s * lam * np.log1p(r / eps) else (lo, x)
    return 0.5 * (lo + hi)


def _thresholds(pen, s):
    lam = float(np.float32(pen.lam))
    if isinstance(pen, LogSum):  # where the roots appear, where 0 stops being a minimum, eps, and the tie
        eps = float(np.float32(pen.eps))
        out = [max(2 * np.sqrt(s * lam) - eps, 0.0), s * lam / eps, eps]
        return out + [_logsum_tie(s, lam, eps)] if s * lam > eps * eps else out
    if isinstance(pen, Lq):
        mu = 2 * s * lam
        return [(54 ** (1 / 3) / 4) * mu ** (2 / 3)] if pen.q == 0.5 else [(2 / 3) * (3 * mu ** 3) ** 0.25]
    gam = float(np.float32(pen.gamma))
    out = [s * lam, gam * lam, lam * np.sqrt(s * gam), (1 + s) * lam]
    if isinstance(pen, SCAD):  # the ties of the outer pieces in the non-convex case
        out += [lam * (gam + 1 + s) / 2, lam * (gam * gam + s * (gam + 1)) / (2 * gam), lam * np.sqrt(s * (gam + 1))]
    return out


def _inputs(pen, lr):
    """Float32 points and preconditioners ``d``: the steps ``lr/d`` of a grid (and the values of ``d``
    where ``s`` crosses ``gamma`` and ``gamma - 1``), points around every threshold, and random ones."""
    rng = np.random.default_rng(0)
    steps = [1e-9, 1e-3, 0.3, 1.0, 2.5, 1e3, 1e8]
    if isinstance(pen, LogSum):  # around s lam = eps^2, where the 1-D problem stops being convex
        conv = float(np.float32(pen.eps)) ** 2 / float(np.float32(pen.lam))
        steps += [conv * k for k in (1 - 1e-6, 1.0, 1 + 1e-6, 1 + 1e-3, 1.5, 4.0)]
    elif not isinstance(pen, Lq):
        gam = float(np.float32(pen.gamma))
        steps += [gam, gam - 1, gam * (1 + 1e-6), (gam - 1) * (1 - 1e-6)]
    xs, ds = [], []
    for s in steps:
        d = np.float32(lr / s)
        s = float(np.float64(np.float32(lr)) / np.float64(d))
        x = around(_thresholds(pen, s))
        xs.append(x)
        ds.append(np.full(x.size, d))
    n = 20000
    xs.append((rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 2, n)).astype(np.float32))
    ds.append((lr / 10.0 ** rng.uniform(-5, 2, n)).astype(np.float32))
    return np.concatenate(xs), np.concatenate(ds)


def _objective(pen, y, x, s):
    return (y - x) ** 2 / (2 * s) + pen._g(y.abs())


@pytest.mark.parametrize("lr", [1e-3, 0.05, 1.0])
@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
def test_preconditioned_forms_match_the_float64_reference(pen, lr):
    u, d = _inputs(pen, lr)
    got = _prox_pre(pen, u, lr, d)
    ref, s = _reference(pen, u, lr, d)
    assert np.isfinite(got).all()
    assert np.array_equal(np.signbit(got[got != 0]), np.signbit(u[got != 0]))  # odd
    both = (got != 0) & (ref != 0)
    # what float64 itself loses where log-sum's root cancels ((x - eps) + sqrt(D), a few roundings of x + eps)
    slack = 2.0 ** -51 * (np.abs(u) + np.float32(pen.eps)) if isinstance(pen, LogSum) else 0.0 * u
    err = np.maximum(np.abs(got - ref) - slack, 0.0)
    ulps = np.zeros_like(ref)
    ulps[both] = err[both] / np.spacing(np.abs(ref[both]).astype(np.float32))
    off = (((got == 0) != (ref == 0)) & (err > 0)) | (ulps > 3.0)
    if off.any():  # only at ties: both answers global minimisers up to rounding
        x, st = torch.from_numpy(u[off].astype(np.float64)), s[off]
        h_got = _objective(pen, torch.from_numpy(got[off].astype(np.float64)), x, st)
        h_ref = _objective(pen, torch.from_numpy(ref[off]), x, st)
        scale = x * x / (2 * st) + pen._g(x.abs())
        assert float(((h_got - h_ref).abs() / scale).max()) <= 1e-6, (u[off], d[off], got[off], ref[off])
    if isinstance(pen, Lq) and pen.q == 0.5:
        assert ulps.max() <= 2.0, (u[ulps > 2], d[ulps > 2])
    if isinstance(pen, SCAD):  # the float32 comparison with the tie of the outer candidates
        off &= s.numpy() < float(np.float32(pen.gamma)) - 1
    if isinstance(pen, LogSum):  # the float32 comparison of the root with 0 (in the non-convex band)
        off &= s.numpy() * float(np.float32(pen.lam)) <= float(np.float32(pen.eps)) ** 2
    assert off.sum() <= 4, (u[off], d[off], got[off], ref[off])
    assert both.sum() > 1000 and ((got == 0) & (ref == 0)).sum() > 1000  # both outcomes are exercised


@pytest.mark.parametrize("pen", PENALTIES[:1] + PENALTIES[3:4] + PENALTIES[6:7] + PENALTIES[9:10] + PENALTIES[12:13],
                         ids=repr)
def test_steps_that_are_not_positive_keep_the_point_and_nan_propagates(pen):
    u = np.float32([-2.0, -1e-30, 0.0, 1e-40, 0.7, 3e38])
    for lr, d in [(0.0, 1.0), (1e-3, np.inf), (1e-3, np.nan), (-1e-3, 1.0)]:  # lr/d: 0, 0, nan, < 0
        np.testing.assert_array_equal(_prox_pre(pen, u, lr, np.full_like(u, d)), u)
    # d = 0 (eps = 0 and v = 0): the step is infinite, as in the float64 form
    got = _prox_pre(pen, u, 1e-3, np.zeros_like(u))
    ref, _ = _reference(pen, u, 1e-3, np.zeros_like(u))
    np.testing.assert_array_equal(got[:-1], ref[:-1].astype(np.float32))
    assert np.isnan(_prox_pre(pen, np.float32([np.nan]), 1e-3, np.float32([0.5]))[0])
    if isinstance(pen, Lq):  # lam = 0: the identity
        np.testing.assert_array_equal(_prox_pre(Lq(0.0, pen.q), u, 1e-3, np.ones_like(u)), u)
    if isinstance(pen, LogSum):  # lam = 0: the identity (the float64 root loses x where x << eps)
        np.testing.assert_array_equal(_prox_pre(LogSum(0.0, pen.eps), u, 1e-3, np.ones_like(u)), u)


def test_log1p_parts_on_the_whole_range():
    """log-sum's float32 log: e log 2 + t within 3e-7 relative of log1p, down to subnormal z."""
    @njit
    def run(z, out):
        for i in range(z.size):
            e, t = _prox_f32_logsum.log1p_parts(z[i], np.float32(1.0) + z[i])
            out[i] = np.float64(e) * np.log(2.0) + np.float64(t)
    z = np.concatenate([np.float32([0.0, 1e-45, 1e-38, 1e-20, 6e-8, 0.41421354, 0.41421357]),
                        np.logspace(-30, 38, 200001).astype(np.float32), np.linspace(0, 4, 400001).astype(np.float32)])
    out = np.empty(z.size)
    run(z, out)
    ref = np.log1p(z.astype(np.float64))
    assert (np.abs(out - ref) <= 3e-7 * ref).all() and out[0] == 0.0


def test_lq23_start_and_its_newton_step():
    """The fixed iteration counts of l2/3: the inverse cube root within 1.2e-5 for every float32 exponent, the fit
    of v(tau) within 1.5e-5, and from a start within 3e-5 one Newton step leaves 3e-9."""
    @njit
    def run(x, out):
        for i in range(x.size):
            out[i] = _prox_f32_lq23.inv_cbrt(x[i])
    x = 2.0 ** np.arange(-126, 128)[:, None] * np.linspace(1, 2, 256, endpoint=False)[None, :]
    x = x.ravel().astype(np.float32)
    g = np.empty_like(x)
    run(x, g)
    assert np.abs(g.astype(np.float64) * np.cbrt(x.astype(np.float64)) - 1).max() <= 1.2e-5
    tau = np.linspace(0, 16 ** (-1 / 3), 20001)
    v = np.ones_like(tau)
    for _ in range(60):
        v = v - (v ** 4 - v + tau) / (4 * v ** 3 - 1)
    fit = np.polynomial.polynomial.polyval(tau, np.float64(_prox_f32_lq23._VFIT))
    assert np.abs(fit / v - 1).max() <= 1.5e-5
    for start in (v * (1 - 3e-5), v * (1 + 3e-5)):  # the step on z = x^(1/3) v is this one, scaled
        once = start - (start ** 4 - start + tau) / (4 * start ** 3 - 1)
        assert np.abs(once / v - 1).max() <= 3e-9


def test_lq23_at_a_tiny_strength():
    """lr lam = 1e-14: (lr lam)^3 is below the normal float32 range, so the decision runs on x d scaled by a
    power of two (``_prox_f32_lq23``); values and decisions stay the reference's."""
    pen, lr = Lq(1e-11, 2 / 3), 1e-3
    for s in [1e-6, 1.0, 1e6]:
        d = np.float32(lr / s)
        u = around(_thresholds(pen, float(np.float64(np.float32(lr)) / np.float64(d))))
        got = _prox_pre(pen, u, lr, np.full(u.size, d))
        ref, _ = _reference(pen, u, lr, np.full(u.size, d))
        assert np.array_equal(got == 0, ref == 0) and (got == 0).sum() > 10 and (got != 0).sum() > 10
        both = got != 0
        assert (np.abs(got[both] - ref[both]) <= 3 * np.spacing(np.abs(ref[both]).astype(np.float32))).all()


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86 vector instructions")
@pytest.mark.parametrize("code", sorted(_prox_cpu.PRECOND), ids=lambda c: c.name)
def test_float32_loop_is_all_float32_and_vectorises(code):
    """The vector loop of each float32 form: 8 float32 lanes per step (256-bit), no float64 operation (which
    would split each vector in two), no libm call; one division per entry, and a square root only for ℓ1/2
    and log-sum (divisions and square roots share the vector divider, which a fused step with these forms
    waits on: Adam's own step already divides twice and takes a root)."""
    pen = next(p for p in PENALTIES if p.lowering().code == code)
    _prox_pre(pen, np.ones(64, np.float32), 1e-3, np.ones(64, np.float32))
    ir = "\n".join(_loop(code).inspect_llvm().values())
    body = re.search(r"\nvector\.body[^\n]*\n(.*?)\n\n", ir, re.S)
    assert body, "the loop did not vectorise"
    body = body.group(1)
    assert re.search(r"%index\.next\S* = add (?:nuw )?(?:nsw )?i64 %index\S*, 8\b", body)
    assert "double" not in body and "i64>" not in body
    assert not re.search(r"call [^@]*@(?!llvm\.(fma|sqrt|fabs)\.v8f32)", body)
    assert len(re.findall(r"fdiv <8 x float>", body)) == 1
    assert len(re.findall(r"@llvm\.sqrt\.v8f32\(", body)) == (1 if code in (Code.LQ12, Code.LOGSUM) else 0)


def test_float64_divides_and_calls_the_exact_form():
    """In float64 (coordinate descent's dtype, float64 steps) PRECOND is BRANCHES at lr/d, bit for bit."""
    rng = np.random.default_rng(1)
    u = rng.standard_normal(4000) * 10.0 ** rng.uniform(-3, 1, 4000)
    d = 10.0 ** rng.uniform(-4, 1, 4000)
    for pen in PENALTIES:
        code, a, b = _code(pen)
        out = np.empty_like(u)
        _loop(code)(u, 0.05, d, np.float64(a), np.float64(b), out)
        branch = _prox_cpu.BRANCHES[code]

        @njit
        def ref(u, s, a, b, out):
            for i in range(u.size):
                out[i] = branch(u[i], s[i], a, b, 1.0, 0.0)
        want = np.empty_like(u)
        ref(u, 0.05 / d, np.float64(a), np.float64(b), want)
        np.testing.assert_array_equal(out, want)


def test_lq12_root_and_its_newton_step_on_the_whole_bracket():
    """``lq12_pre``'s root of :math:`v^3 - v + \\tau = 0` for every :math:`\\tau` up to the threshold's
    :math:`\\sqrt2/(3\\sqrt3)` (and a little past it, where a rounded tau may land): the degree-5 start
    within 2.9e-5, and :math:`v^2 - 1` after the Newton step with the fitted inverse slope (the
    formula of the kernel, in float64) within 1e-8 of the root's."""
    tau = np.linspace(0, np.sqrt(2) / (3 * np.sqrt(3)) * (1 + 1e-6), 200001)
    v = 2 / np.sqrt(3) * np.cos(np.arccos(-tau * 3 * np.sqrt(3) / 2) / 3)
    v0 = np.polynomial.polynomial.polyval(tau, np.float64(_prox_f32._VFIT))
    assert np.abs(v0 - v).max() <= 2.9e-5
    z = v0 * v0 - 1
    slope2 = np.polynomial.polynomial.polyval(z, np.float64(_prox_f32._SLOPE2))
    assert np.abs(slope2 * (3 * v0 * v0 - 1) / 2 - 1).max() <= 1.4e-4  # 1/(3 v^2 - 1), twice
    w = z - (v0 * z + tau) * v0 * slope2
    assert np.abs(w - (v * v - 1)).max() <= 1e-8


_SPLIT_LOOPS: dict = {}


def _split(pen, u, lr, d):
    """``(common form, rare flag)`` of ``_prox_cpu.RARE[code]`` element by element, as the fused step's loop."""
    code, a, b = _code(pen)
    if code not in _SPLIT_LOOPS:
        common, rare = _prox_cpu.RARE[code]

        @njit(error_model="numpy")
        def run(u, lr, d, a, b, out, flags):
            one, zero = u.dtype.type(1.0), u.dtype.type(0.0)
            for i in range(u.size):
                out[i] = common(u[i], lr, d[i], a, b, one, zero)
                flags[i] = rare(lr, d[i], a, b)
        _SPLIT_LOOPS[code] = run
    out, flags = np.empty_like(u), np.empty(u.size, np.bool_)
    _SPLIT_LOOPS[code](u, np.float32(lr), d, a, b, out, flags)
    return out, flags


def _rare_boundary(pen, lr):
    """The ``d`` where the rare case of ``RARE`` begins, in float64: SCAD ``s = gamma - 1``, MCP ``s = gamma``,
    log-sum ``s lam = eps^2``."""
    lr = float(np.float32(lr))
    if isinstance(pen, LogSum):
        return lr * float(np.float32(pen.lam)) / float(np.float32(pen.eps)) ** 2
    gam = float(np.float32(pen.gamma))
    return lr / (gam - 1) if isinstance(pen, SCAD) else lr / gam


@pytest.mark.parametrize("lr", [1e-3, 0.05, 1.0])
@pytest.mark.parametrize("pen", [p for p in PENALTIES if p.lowering().code in _prox_cpu.RARE], ids=repr)
def test_common_forms_are_the_preconditioned_ones_outside_the_rare_case(pen, lr):
    """``RARE[code]``'s common form is ``PRECOND[code]`` bit for bit where its predicate is False, and the
    point ``u`` itself where it is True; the predicate is the rare case (SCAD's non-convex case, MCP's hard
    threshold, log-sum's non-convex case), decided on ``d`` alone, up to a few ulp of its boundary (log-sum:
    a margin of 2^-20 on the rare side). Inputs: every threshold of the prox, ``d`` on both sides of the
    boundary to the ulp, and ``d`` zero, infinite and NaN."""
    u, d = _inputs(pen, lr)
    db = np.float32(_rare_boundary(pen, lr))
    near = db * (1 + np.float32(2.0 ** -23) * np.arange(-64, 65, dtype=np.float32))  # steps of about one ulp
    x = around(_thresholds(pen, float(np.float32(lr)) / float(db)))
    u = np.concatenate([u] + [x] * (near.size + 3))
    d = np.concatenate([d] + [np.full(x.size, v, np.float32) for v in [*near, 0.0, np.inf, np.nan]])
    got, rare = _split(pen, u, lr, d)
    full = _prox_pre(pen, u, lr, d)
    assert rare.any() and (~rare).any()
    assert np.array_equal(got[~rare].view(np.int32), full[~rare].view(np.int32))
    assert np.array_equal(got[rare].view(np.int32), u[rare].view(np.int32))
    with np.errstate(invalid="ignore"):
        exact = ~(d.astype(np.float64) > _rare_boundary(pen, lr))  # rare: d at or below the boundary, or NaN
        margin = 2.0 ** -19 if isinstance(pen, LogSum) else 2.0 ** -21
        settled = np.abs(d.astype(np.float64) / _rare_boundary(pen, lr) - 1.0) > margin
    assert np.array_equal(rare[settled | np.isnan(d)], exact[settled | np.isnan(d)])
    if isinstance(pen, LogSum):  # its margin is on the rare side: every non-convex d is rare
        assert rare[exact].all()
