"""The float32 (vectorisable) forms of the non-convex proxes against the float64 reference.

The fused float32 steps compile :data:`proxgan.kernels._prox_cpu.BRANCHES` with float32 numbers,
which picks the forms of :mod:`proxgan.kernels._prox_f32` (``by_dtype``). Here the same functions
run in a plain numba loop over float32 arrays (as in the fused kernels) and are compared with
``prox_code_ref`` evaluated in float64 on the same float32 inputs: at most 2 ulp of float32 from
the float64 value (plus, for log-sum, what float64 loses itself where its root cancels), and the
same zero/non-zero decision except at ties (where the two answers' objectives agree to 1e-6
relative: both are global minimisers up to float32 rounding).
"""
from __future__ import annotations

import platform
import re

import numpy as np
import pytest
import torch
from numba import njit

from proxgan.kernels import _prox_cpu, _prox_f32
from proxgan.kernels.fused_penalty import prox_code_ref
from proxgan.penalties import MCP, SCAD, LogSum, Lq

PENALTIES = [MCP(0.8, 3.0), MCP(1e-3, 1.5), SCAD(0.7, 3.7), SCAD(1e-3, 2.2), Lq(0.6, 0.5), Lq(1e-3, 0.5),
             Lq(0.6, 2 / 3), Lq(1e-3, 2 / 3), LogSum(0.5, 0.3), LogSum(1e-3, 0.1), LogSum(2.0, 1e-4)]
_LOOPS: dict = {}


def _loop(code):
    """A numba loop applying the code's prox element by element (compiled once per code)."""
    if code not in _LOOPS:
        branch = _prox_cpu.BRANCHES[code]

        @njit(error_model="numpy")  # as the fused kernels: IEEE division
        def run(u, s, a, b, out):
            one, zero = u.dtype.type(1.0), u.dtype.type(0.0)
            for i in range(u.size):
                out[i] = branch(u[i], s[i], a, b, one, zero)
        _LOOPS[code] = run
    return _LOOPS[code]


def _prox32(pen, u, s):
    code, a, b = pen._code()
    out = np.empty_like(u)
    _loop(code)(u, s, np.float32(a), np.float32(b), out)
    return out


def _thresholds(pen, s):
    """Where the prox jumps or leaves zero, in float64, for steps ``s``."""
    lam = float(np.float32(pen.lam))
    mu = 2 * s * lam
    if isinstance(pen, Lq):
        return [(54 ** (1 / 3) / 4) * mu ** (2 / 3)] if pen.q == 0.5 else [(2 / 3) * (3 * mu ** 3) ** 0.25]
    if isinstance(pen, (MCP, SCAD)):
        gam = float(np.float32(pen.gamma))
        return [s * lam, gam * lam, lam * np.sqrt(s * gam), (1 + s) * lam]
    eps = float(np.float32(pen.eps))
    return [np.maximum(2 * np.sqrt(s * lam) - eps, 0.0), s * lam / eps]


def around(thresholds) -> np.ndarray:
    """Float32 points of both signs: zeros, subnormals, huge values, and around each threshold
    (relative offsets and the float32 neighbours of every point)."""
    pts = [0.0, 1e-45, 1e-40, 1e-30, 1e-3, 0.1, 1.0, 3.0, 50.0, 1e20, 3e38]
    for t in thresholds:
        pts += list(np.float64(t) * np.array([1 - 1e-3, 1 - 1e-6, 1.0, 1 + 1e-6, 1 + 1e-3, 2.0, 10.0]))
    p32 = np.float32([p for p in pts if p < 3.4e38])
    p32 = np.concatenate([p32, np.nextafter(p32, np.float32(np.inf)), np.nextafter(p32, np.float32(0))])
    return np.concatenate([p32, -p32])


def _inputs(pen):
    """Float32 points and steps: around every threshold (the float32 neighbours too), zeros,
    subnormals, huge values, tiny and huge steps, and random ones."""
    rng = np.random.default_rng(0)
    steps = np.float32([1e-30, 1e-8, 1e-3, 0.3, 1.0, 2.5, 1e3, 1e8])
    xs, ss = [], []
    for s in steps:
        x = around(_thresholds(pen, float(s)))
        xs.append(x)
        ss.append(np.full(x.size, s))
    n = 20000
    xs.append((rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 2, n)).astype(np.float32))
    ss.append((10.0 ** rng.uniform(-5, 2, n)).astype(np.float32))
    return np.concatenate(xs), np.concatenate(ss)


def _objective(pen, y, x, s):
    return (y - x) ** 2 / (2 * s) + pen._g(y.abs())


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
def test_float32_forms_match_the_float64_reference(pen):
    u, s = _inputs(pen)
    got = _prox32(pen, u, s)
    code, a, b = pen._code()
    u64, s64 = torch.from_numpy(u.astype(np.float64)), torch.from_numpy(s.astype(np.float64))
    ref = prox_code_ref(u64, s64, code, float(np.float32(a)), float(np.float32(b))).numpy()
    assert np.isfinite(got).all()
    assert np.array_equal(np.signbit(got[got != 0]), np.signbit(u[got != 0]))  # odd
    both = (got != 0) & (ref != 0)
    # 2 ulp of float32, plus what float64 itself loses where log-sum's root cancels ((x - eps) + sqrt(d))
    slack = 1e-14 * (np.abs(u) + np.float32(b)) if isinstance(pen, LogSum) else 0.0 * u
    ulps = (np.abs(got - ref) - slack)[both] / np.spacing(np.abs(ref[both]).astype(np.float32))
    assert ulps.max() <= 2.0, (ulps.max(), u[both][ulps.argmax()], s[both][ulps.argmax()])
    differ = (got == 0) != (ref == 0)
    if differ.any():  # only at ties: both answers global minimisers up to rounding
        x, st = u64[differ], s64[differ]
        h_got = _objective(pen, torch.from_numpy(got[differ].astype(np.float64)), x, st)
        h_ref = _objective(pen, torch.from_numpy(ref[differ]), x, st)
        scale = x * x / (2 * st) + pen._g(x.abs())
        assert float(((h_got - h_ref).abs() / scale).max()) <= 1e-6
    assert differ.sum() <= 4


def test_exact_tie_of_the_half_threshold():
    # x = 6, mu = 2 s lam = 16: 32 x^3 = 27 mu^2, both 0 and 4 are global minimisers
    pen = Lq(1.0, 0.5)
    six = np.float32(6.0)
    got = _prox32(pen, np.float32([six, np.nextafter(six, np.float32(7)), np.nextafter(six, np.float32(5))]),
                  np.float32([8.0] * 3))
    assert got[0] in (0.0, np.float32(4.0))
    assert got[1] == pytest.approx(4.0, rel=1e-5) and got[2] == 0.0


@pytest.mark.parametrize("pen", [Lq(0.5, 0.5), Lq(0.5, 2 / 3), MCP(0.5, 3.0)], ids=repr)
def test_zero_step_and_zero_strength_keep_the_point(pen):
    u = np.float32([-2.0, -1e-30, 0.0, 1e-40, 0.7, 3e38])
    np.testing.assert_array_equal(_prox32(pen, u, np.zeros_like(u)), u)
    if isinstance(pen, Lq):  # lam = 0 (mu = 0): the identity
        zero = Lq(0.0, pen.q)
        np.testing.assert_array_equal(_prox32(zero, u, np.ones_like(u)), u)


def test_nan_propagates():
    for pen in PENALTIES:
        assert np.isnan(_prox32(pen, np.float32([np.nan]), np.float32([0.5]))[0]), pen


def test_log1p_on_the_whole_range():
    @njit
    def run(z, out):
        for i in range(z.size):
            out[i] = _prox_f32.log1p_vec(z[i])
    z = np.concatenate([[0.0, 5e-324, 1e-300, 1e-17, 2.2e-16], np.logspace(-20, 300, 20001),
                        np.linspace(0, 4, 4001)])
    out = np.empty_like(z)
    run(z, out)
    ref = np.log1p(z)
    rel = np.abs(out - ref) / np.where(ref > 0, ref, 1.0)
    assert rel.max() <= 2e-12 and out[0] == 0.0


def test_cube_root_estimate_is_within_3_5_percent_for_every_exponent():
    @njit
    def run(x, out):
        for i in range(x.size):
            out[i] = _prox_f32.cbrt_estimate(x[i])
    x = np.concatenate([np.float32([1.4e-45, 1e-40, 1.1754942e-38, 1.1754944e-38, 3.4028235e38]),
                        (2.0 ** np.arange(-149, 127)[:, None] * np.linspace(1, 2, 64)[None, :]).ravel()])
    x = x.astype(np.float32)
    out = np.empty_like(x)
    run(x, out)
    rel = out.astype(np.float64) / np.cbrt(x.astype(np.float64)) - 1
    assert np.abs(rel).max() <= 0.035


def test_newton_starts_reach_rounding():
    """The fixed iteration counts: l1/2's cubic from its degree-5 start, one Newton step; l2/3's
    quartic (scaled to x = 1) from 0.9 of a start within 3.5% of x^(1/3), three Halley steps."""
    t = np.linspace(0, 2 ** -0.5, 100001)
    w = np.cos(np.arccos(-t) / 3)
    w0 = np.polynomial.polynomial.polyval(t, np.float64(_prox_f32._WFIT))
    assert np.abs(w0 - w).max() <= 2.5e-5
    w1 = w0 - (w0 * (4 * w0 * w0 - 3) + t) / (12 * w0 * w0 - 3)
    assert np.abs(w1 / w - 1).max() <= 3e-9
    c = np.linspace(0, (27 / 16) ** (1 / 3) / 3, 4001)  # mu/3 up to the threshold, x = 1
    z = np.ones_like(c)
    for _ in range(60):
        z = z - (z ** 4 - z + c) / (4 * z ** 3 - 1)
    for start in np.linspace(0.9 * 0.965, 0.9 * 1.035, 15):
        y = np.full_like(c, start)
        for _ in range(3):
            f, d1 = y ** 4 - y + c, 4 * y ** 3 - 1
            y = y - 2 * f * d1 / (2 * d1 * d1 - f * 12 * y * y)
        assert np.abs(y / z - 1).max() <= 1e-12


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86 vector instructions")
@pytest.mark.parametrize("pen", [MCP(0.8, 3.0), SCAD(0.7, 3.7), Lq(0.6, 0.5), Lq(0.6, 2 / 3), LogSum(0.5, 0.3)],
                         ids=repr)
def test_float32_loop_vectorises(pen):
    """No libm call is left in the loop, and the arithmetic is packed (SSE/AVX registers)."""
    _prox32(pen, np.ones(8, np.float32), np.ones(8, np.float32))
    run = _loop(pen._code()[0])
    ir = "\n".join(run.inspect_llvm().values())
    assert not re.search(r"call [^@]*@(log|acos|cos|exp|pow|cbrt|sqrt)\w*\(", ir)
    asm = "\n".join(run.inspect_asm().values())
    assert re.search(r"v(mul|div)p[sd]\s+%[xyz]mm", asm), "the loop did not vectorise"


@pytest.mark.parametrize("pen, decades", [(Lq(0.02, 0.5), 0), (Lq(0.02, 0.5), 4), (MCP(0.5, 3.0), 4),
                                          (SCAD(0.5, 3.7), 4), (MCP(0.05, 1.5), 4), (SCAD(0.05, 2.2), 4),
                                          (Lq(0.02, 2 / 3), 4), (LogSum(0.02, 0.1), 4)], ids=repr)
def test_fused_float32_step_uses_them(pen, decades):
    """The fused float32 ProxAdam step (its kernel compiles the float32 forms, and their preconditioned
    forms ``_prox_cpu.PRECOND`` for every code that has one) against the reference step on float64
    copies: float32 rounding apart, and the same zeros. Gradients spread over ``decades`` orders of magnitude
    put the steps lr/D on both sides of gamma and gamma - 1, where MCP and SCAD change form."""
    from proxgan.optim import ProxAdam

    gen = torch.Generator().manual_seed(0)
    ps = [torch.nn.Parameter(0.1 * torch.randn(s, dtype=torch.float64, generator=gen)) for s in [(1025,), (33, 31)]]
    qs = [torch.nn.Parameter(p.detach().float()) for p in ps]
    ref = ProxAdam(ps, lr=0.05, penalty=pen, foreach=False, fused=False)
    fused = ProxAdam(qs, lr=0.05, penalty=pen, fused=True)
    for _ in range(3):
        for p, q in zip(ps, qs):
            scale = 10.0 ** (-decades * torch.rand(p.shape, dtype=torch.float64, generator=gen))
            p.grad = scale * torch.randn(p.shape, dtype=torch.float64, generator=gen)
            q.grad = p.grad.float()
        ref.step()
        fused.step()
    for p, q in zip(ps, qs):
        torch.testing.assert_close(q.detach().double(), p.detach(), rtol=1e-5, atol=1e-6)
        assert int(((q == 0) != (p == 0)).sum()) <= 2
        assert bool((q == 0).any()) and bool((q != 0).any())


# Penalties at strengths where a case of tiny second moments (SCAD's non-convex case, MCP's hard threshold,
# log-sum's non-convex case: the last is _prox_cpu.RARE's) decides entries near the points below, and the d
# where it begins
_RARE_PENS = [(SCAD(0.5, 3.7), lambda lr: lr / 2.7), (MCP(0.5, 3.0), lambda lr: lr / 3.0),
              (LogSum(0.02, 0.1), lambda lr: lr * 0.02 / 0.1 ** 2)]


def _rare_state(n, lr, boundary, kinds, gen):
    """Float32 ``p, g, m, v`` of ``n`` entries, chunk by chunk of ``_fused_cpu.RARE_CHUNK`` (``kinds``, cycled):
    ``common`` (random gradients, v about 1), ``rare`` (zero gradients and ``v`` such that the step's ``D``
    is spread over a factor 20 either side of ``boundary``), ``mixed`` (each entry either, at random) or
    ``sparse`` (``rare`` at the first and last entries of the first block of 64, the first of the second and
    the chunk's last, which is in the tail of a chunk shorter than ``RARE_CHUNK``; ``D`` below ``boundary``:
    the second pass fixes them one by one)."""
    from proxgan.optim._fused_cpu import RARE_BLOCK, RARE_CHUNK

    p = 2.0 * torch.randn(n, generator=gen)
    g = torch.randn(n, generator=gen)
    m = 0.1 * torch.randn(n, generator=gen)
    v = 0.5 + 0.5 * torch.rand(n, generator=gen)
    # a zero gradient from step 4 to 5: v_5 = b2 v_4, D = sqrt(v_5)/sqrt(1 - b2^5) + eps
    d = boundary * 20.0 ** (2 * torch.rand(n, generator=gen) - 1)
    v_rare = (d * (1 - 0.999 ** 5) ** 0.5) ** 2 / 0.999
    rare = torch.zeros(n, dtype=torch.bool)
    for k, lo in enumerate(range(0, n, RARE_CHUNK)):
        kind = kinds[k % len(kinds)]
        sl = slice(lo, min(lo + RARE_CHUNK, n))
        rare[sl] = kind == "rare" or (kind == "mixed" and torch.rand(sl.stop - lo, generator=gen) < 0.3)
        if kind == "sparse":
            at = [0, RARE_BLOCK - 1, RARE_BLOCK, sl.stop - lo - 1] if sl.stop - lo == RARE_CHUNK else \
                [0, RARE_BLOCK - 1, sl.stop - lo - 1]  # (a third block of a short chunk would be dense)
            rare[[lo + i for i in at]] = True
            v_rare[[lo + i for i in at]] = (0.5 * boundary * (1 - 0.999 ** 5) ** 0.5) ** 2 / 0.999
    g[rare], m[rare], v[rare] = 0.0, 1e-3 * m[rare], v_rare[rare]
    return p, g, m, v, rare


def _one_pass(code, p, g, m, v, lr, a, b, step):
    """The one-pass float32 element loop of the fused step (``_fused_cpu._adam_elem``, no split), in place."""
    from proxgan.kernels._hp import ADAM_CPU, ADAM_HP, vector
    from proxgan.optim import _fused_cpu as fc

    if code not in _ONE_PASS:
        elem = fc._adam_elem

        @njit(fastmath=False, error_model="numpy")  # as the fused kernels
        def run(p, g, m, v, c, ss, bc2s):
            for i in range(p.size):
                elem(i, p, g, m, v, v, p, c, ss, bc2s, False, True, code, False)
        _ONE_PASS[code] = run
    values = dict(lr=lr, omb1=0.1, b2=0.999, omb2=1.0 - 0.999, eps=1e-8, wd=0.0, decay=1.0, a=a, b=b, sign=1.0)
    carr = np.array(vector(ADAM_HP, values, ADAM_CPU) + (1.0, 0.0), np.float32)
    c = tuple(carr)
    ss, bc2s = np.float32(lr / (1 - 0.9 ** step)), np.float32(np.sqrt(1 - 0.999 ** step))
    _ONE_PASS[code](p.numpy(), g.numpy(), m.numpy(), v.numpy(), c, ss, bc2s)


_ONE_PASS: dict = {}


@pytest.mark.parametrize("pen, boundary", [(p, d) for p, d in _RARE_PENS if p.lowering().code in _prox_cpu.RARE],
                         ids=lambda x: repr(x) if not callable(x) else "")
def test_fused_float32_step_with_rare_entries_is_the_one_pass_loop_bit_for_bit(pen, boundary):
    """The fused float32 step of a code with a rare case (``_prox_cpu.RARE``: the common form in the loop, a
    second pass over the chunks that meet the rare case, the one-pass form after a chunk dense with it) gives the
    one-pass loop's ``p, m, v`` bit for bit, on chunks all common, all rare, mixed and sparse (a few rare
    entries, one at the last bit of a block's mask, one in the tail of the last chunk), in every order (a
    rare chunk after a common one, two rare ones in a row, a common one after a rare one), over two tiles
    and a partial chunk, serially and over threads."""
    from proxgan.optim import _fused_cpu as fc

    gen = torch.Generator().manual_seed(3)
    lr = 0.05
    code, a, b = pen._code()
    # a sparse chunk after a common one, after a dense one (run in the one-pass form) and last (its tail), ...
    kinds = ["common", "sparse", "mixed", "rare", "rare", "sparse", "sparse", "common", "mixed", "sparse", "common",
             "rare", "common"]
    sizes = [fc.RARE_CHUNK * 6 + 1000, fc.TILE + fc.RARE_CHUNK * 3 + 77]
    for threads in (1, 2):
        states = [_rare_state(n, lr, boundary(lr), kinds, gen) for n in sizes]
        got = [[t.clone() for t in s[:4]] for s in states]
        want = [[t.clone() for t in s[:4]] for s in states]
        steps = [torch.tensor(4.0) for _ in sizes]
        old = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            fc.adam_step(*zip(*got), None, steps, lr=lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                         decoupled=False, maximize=False, preconditioned=True, code=int(code), a=a, b=b)
        finally:
            torch.set_num_threads(old)
        for w in want:
            _one_pass(int(code), *w, lr, np.float32(a), np.float32(b), 5)
        for (p, g, m, v, rare), gt, wt in zip(states, got, want):
            for x, y in zip(gt, wt):
                assert torch.equal(x.view(torch.int32), y.view(torch.int32))
            assert bool((gt[0] != p)[rare].any()) and bool((gt[0] == 0)[rare].any())  # the rare pass ran
            assert bool((gt[0] != p)[~rare].any())


def _adam_constants(lr, a, b, eps=1e-8):
    """The float32 constant vector ``c`` of the fused Adam kernels (no weight decay, beta2 0.999)."""
    from proxgan.kernels._hp import ADAM_CPU, ADAM_HP, vector

    values = dict(lr=lr, omb1=0.1, b2=0.999, omb2=1.0 - 0.999, eps=eps, wd=0.0, decay=1.0, a=a, b=b, sign=1.0)
    return tuple(np.array(vector(ADAM_HP, values, ADAM_CPU) + (1.0, 0.0), np.float32))


_THRESHOLDS: dict = {}


def _threshold_flags(code, c, bc2s, v):
    """``(vt, flagged, rare)``: ``_fused_cpu._rare_threshold``, and for every ``v`` whether the second pass
    flags it (``not v >= vt``) and whether the step's ``D`` (``_adam_den``) is in the rare case (``prox_rare``)."""
    from proxgan.optim import _fused_cpu as fc

    if code not in _THRESHOLDS:
        thr, den, rare = fc._rare_threshold, fc._adam_den, _prox_cpu.prox_rare
        lr_at, eps_at, a_at, b_at = fc._A_LR, fc._A_EPS, fc._A_A, fc._A_B

        @njit(fastmath=False, error_model="numpy")  # as the fused kernels
        def run(c, bc2s, v, flagged, israre):
            vt = thr(c, bc2s, code)
            for i in range(v.size):
                flagged[i] = not v[i] >= vt
                israre[i] = rare(v[i], c[lr_at], den(v[i], bc2s, c[eps_at]), code, c[a_at], c[b_at])
            return vt
        _THRESHOLDS[code] = run
    assert v.dtype == np.float32  # (prox_rare is False for float64: no split)
    flagged, israre = np.empty(v.size, np.bool_), np.empty(v.size, np.bool_)
    vt = _THRESHOLDS[code](c, np.float32(bc2s), v, flagged, israre)
    return vt, flagged, israre


def _around_threshold(vt, gen):
    """Float32 second moments: zeros, subnormals, negative, NaN, infinite and huge ones, 2000 float32 steps
    either side of ``vt``, and log-uniform ones over the whole range."""
    pts = np.float32([0.0, -0.0, 1e-45, 3e-45, 1e-40, 1.1754942e-38, 1.1754944e-38, 1e-30, 1e-8, 1.0, 3.4e38,
                      np.inf, np.nan, -1e-45, -1.0, -np.inf])
    near = np.zeros(0, np.float32)
    if np.isfinite(vt):
        bits = np.int64(np.float32(vt).view(np.int32)) + np.arange(-2000, 2001)
        near = np.clip(bits, 0, 0x7F800000).astype(np.int32).view(np.float32)
    wide = (10.0 ** gen.uniform(-45.5, 38.5, 200_000)).astype(np.float32)
    return np.concatenate([pts, near, wide])


@pytest.mark.parametrize("pen", [SCAD(0.5, 3.7), SCAD(1e-3, 2.2), LogSum(0.02, 0.1), LogSum(2.0, 1e-4)], ids=repr)
def test_rare_threshold_on_v_is_exactly_the_rare_case_of_d(pen):
    """The second pass of a code with a rare case flags ``not v >= vt``: exactly the entries whose ``D``, as the
    step computes it from ``v``, is in the rare case (``prox_rare``), at every float32 ``v`` tried: zero, -0,
    subnormals, negative, NaN, inf, every float32 within 2000 steps of the threshold and log-uniform ones, for
    several learning rates, Adam epsilons (0 included) and bias corrections; also where no ``D`` but NaN is rare
    (``vt`` 0), where every finite ``D`` is (log-sum at a tiny ``lr lam``, or an infinite ``lr``: ``vt`` inf)
    and where every ``D`` is (SCAD at an infinite ``lr``: ``vt`` NaN)."""
    gen = np.random.default_rng(0)
    code, a, b = pen._code()
    settings = [(lr, eps, bc2s) for lr in (1e-3, 0.05, 3.0) for eps in (1e-8, 0.0, 1e-3)
                for bc2s in (np.sqrt(1 - 0.999), 1.0, np.sqrt(1 - 0.999 ** 7))]
    vts = []
    for lr, eps, bc2s in settings:
        c = _adam_constants(lr, a, b, eps)
        vt, _, _ = _threshold_flags(int(code), c, bc2s, np.zeros(1, np.float32))
        vt, flagged, rare = _threshold_flags(int(code), c, bc2s, _around_threshold(vt, gen))
        assert np.array_equal(flagged, rare)
        assert rare.any() and (~rare).any()
        vts.append(vt)
    vts = np.float32(vts)
    assert np.count_nonzero((vts > 0) & (vts < np.inf)) > len(vts) // 2  # inside the range (0: eps above the bound)
    edges = [(_adam_constants(1e-3, a, b, 1e6), lambda vt: vt == 0),  # D >= 1e6: nothing but NaN is rare
             (_adam_constants(float("inf"), a, b), np.isnan if isinstance(pen, SCAD) else np.isinf)]  # every D
    # is rare (log-sum: every finite D)
    if isinstance(pen, LogSum):
        edges.append((_adam_constants(1e-3, 1e-35, b), np.isinf))  # lr lam below 2^-100: every finite D
    for c, expect in edges:
        vt, _, _ = _threshold_flags(int(code), c, 1.0, np.zeros(1, np.float32))
        assert expect(vt)
        vt, flagged, rare = _threshold_flags(int(code), c, 1.0, _around_threshold(vt, gen))
        assert np.array_equal(flagged, rare)


def test_block_scan_finds_every_entry_below_the_threshold_next_to_nans():
    """The second pass's scan of 64 entries: ``_below_mask`` has exactly the bits ``not v >= vt`` (NaN
    included), and ``_below_any`` (a tree of minima of the bits) is True exactly where an entry is below ``vt``
    or has its sign bit set (-0), whatever NaNs the block holds; on blocks with one entry below ``vt`` among
    NaNs anywhere, ``vt`` itself and its float32 neighbours, zeros, -0, inf, and blocks all NaN."""
    from proxgan.optim import _fused_cpu as fc

    @njit
    def scan(v, vt, anys, masks):
        for k in range(v.size // 64):
            anys[k] = fc._below_any(v, k * 64, vt)
            masks[k] = fc._below_mask(v, k * 64, vt)

    rng = np.random.default_rng(0)
    vt = np.float32(3.7e-7)
    blocks = (vt * 10.0 ** rng.uniform(0, 3, (4000, 64))).astype(np.float32)  # none below vt
    odd = np.float32([np.nan, 0.0, -0.0, np.inf, vt, np.nextafter(vt, np.float32(1)), np.nextafter(vt, np.float32(0))])
    for row in blocks:
        kind = rng.integers(4)
        if kind >= 1:  # NaNs at random places
            row[rng.choice(64, rng.integers(1, 64), replace=False)] = np.nan
        if kind >= 2:  # one entry below vt, anywhere (a NaN's place too)
            row[rng.integers(64)] = vt * np.float32(rng.uniform(0, 1))
        if kind == 3:
            row[rng.choice(64, 4, replace=False)] = rng.choice(odd, 4)
    blocks[:8] = np.nan
    v = blocks.ravel()
    anys, masks = np.empty(len(blocks), np.bool_), np.empty(len(blocks), np.int64)
    scan(v, vt, anys, masks)
    flagged = ~(blocks >= vt)
    want = (flagged.astype(np.uint64) << np.arange(64, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    assert np.array_equal(masks.view(np.uint64), want)
    below = (blocks < vt).any(axis=1)
    assert np.array_equal(anys, (np.signbit(blocks) | (blocks < vt)).any(axis=1))
    assert below.sum() > 1000 and (~flagged.any(axis=1)).sum() > 500 and (flagged & ~below[:, None]).any()


@pytest.mark.parametrize("kw", [{}, dict(weight_decay=0.1), dict(amsgrad=True)], ids=repr)
@pytest.mark.parametrize("pen, boundary", _RARE_PENS, ids=lambda x: repr(x) if not callable(x) else "")
def test_fused_float32_step_with_rare_entries_equals_the_reference(pen, boundary, kw):
    """The fused float32 ProxAdam step where gradients are zero on some rows and tiny on others (the second
    moments put those entries in the rare case of ``_prox_cpu.RARE``, the rest not) equals the reference
    step on float64 copies: float32 rounding apart, and the same zeros; also with weight decay and
    AMSGrad (their loops keep the one-pass form)."""
    from proxgan.optim import ProxAdam

    gen = torch.Generator().manual_seed(0)
    shapes = [(40, 700), (5000,)]
    ps = [torch.nn.Parameter(torch.randn(s, dtype=torch.float64, generator=gen)) for s in shapes]
    qs = [torch.nn.Parameter(p.detach().float()) for p in ps]
    ref = ProxAdam(ps, lr=0.05, penalty=pen, foreach=False, fused=False, **kw)
    fused = ProxAdam(qs, lr=0.05, penalty=pen, fused=True, **kw)
    for step in range(4):
        for p, q in zip(ps, qs):
            grad = torch.randn(p.shape, dtype=torch.float64, generator=gen)
            rows = grad.view(-1, 100) if grad.dim() == 1 else grad
            rows[5:12] = 0.0  # zero gradients: v decays from its first step's value
            rows[20:26] *= 1e-5  # tiny gradients from the start
            if step == 0:
                rows[5:8] *= 1e-4  # and a tiny first gradient: rare from the start
            else:
                rows[5:8] = 0.0
            p.grad = grad
            q.grad = grad.float()
        ref.step()
        fused.step()
    for p, q in zip(ps, qs):  # weights of order 1 (a float32 rounding, times the firm slope near s = gamma)
        torch.testing.assert_close(q.detach().double(), p.detach(), rtol=1e-5, atol=1e-5)
        assert int(((q == 0) != (p == 0)).sum()) <= 2
        assert bool((q == 0).any()) and bool((q != 0).any())
    # both cases occurred: D (the step's preconditioner, in float64) on both sides of the boundary
    st = fused.state[qs[0]]
    v = st["max_exp_avg_sq"] if kw.get("amsgrad") else st["exp_avg_sq"]
    d = v.double().sqrt() / (1 - 0.999 ** 4) ** 0.5 + 1e-8
    assert bool((d < boundary(0.05)).any()) and bool((d > boundary(0.05)).any())
