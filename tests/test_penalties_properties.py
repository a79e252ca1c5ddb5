"""Property tests (hypothesis) for every prox: it minimises its objective, it is
non-expansive (convex penalties), and the Moreau identity holds where it applies."""
import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from proxgan.penalties import L0, L1, L2, Box, ElasticNet, GroupL1, NonNegative

D = torch.float64
settings.register_profile("proxgan", max_examples=60, deadline=None, derandomize=True)
settings.load_profile("proxgan")

coord = st.floats(-5, 5, allow_nan=False, allow_subnormal=False)
vec = st.lists(coord, min_size=4, max_size=4).map(lambda v: torch.tensor(v, dtype=D))
steps = st.lists(st.floats(0.05, 3.0), min_size=4, max_size=4).map(lambda v: torch.tensor(v, dtype=D))
lam = st.floats(0.0, 3.0)


@st.composite
def penalties(draw, convex_only=False):
    kind = draw(st.sampled_from(["l1", "wl1", "l2", "enet", "group", "box", "nonneg"] + ([] if convex_only else ["l0"])))
    lm = draw(lam)
    if kind == "l1":
        return L1(lm)
    if kind == "wl1":
        return L1(lm, weights=draw(st.lists(st.floats(0, 2), min_size=4, max_size=4).map(lambda v: torch.tensor(v, dtype=D))))
    if kind == "l2":
        return L2(lm)
    if kind == "enet":
        return ElasticNet(lm, draw(st.floats(0, 1)))
    if kind == "group":
        return GroupL1(lm, dim=draw(st.sampled_from([0, 1])))
    if kind == "box":
        lo = draw(st.floats(-3, 1))
        return Box(lo, lo + draw(st.floats(0, 3)))
    if kind == "nonneg":
        return NonNegative()
    return L0(lm)


def _shape(pen, x):
    return x.reshape(2, 2) if isinstance(pen, GroupL1) else x


def objective(pen, x, s, y):
    """sum_i (y_i - x_i)^2 / (2 s_i) + g(y): the problem prox(x, s) solves."""
    return float((((y - x) ** 2) / (2 * s)).sum() + pen.value(y))


@given(penalties(), vec, st.one_of(st.floats(0.05, 3.0), steps))
def test_prox_minimises_its_objective(pen, x, s):
    x = _shape(pen, x)
    st_ = s.reshape(x.shape) if isinstance(s, torch.Tensor) else s
    y = pen.prox(x, st_)
    f_y = objective(pen, x, st_, y)
    assert np.isfinite(f_y)
    tol = 1e-9 * (1 + abs(f_y))
    # 1. no coordinate move improves it
    for i in range(x.numel()):
        for d in (1e-4, -1e-4, 1e-2, -1e-2):
            z = y.clone().reshape(-1)
            z[i] += d
            assert objective(pen, x, st_, z.reshape(x.shape)) >= f_y - tol
    # 2. a derivative-free minimiser started from several points does not beat it
    if isinstance(pen, L0):
        xs = x.reshape(-1)
        for support in itertools.product([0, 1], repeat=xs.numel()):  # brute force: y_i in {0, x_i}
            z = xs * torch.tensor(support, dtype=D)
            assert objective(pen, x, st_, z.reshape(x.shape)) >= f_y - tol
        return
    bounds = [(pen.lo, pen.hi)] * x.numel() if isinstance(pen, Box) else None
    fun = lambda v: objective(pen, x, st_, torch.tensor(v, dtype=D).reshape(x.shape))  # noqa: E731
    for start in (x, torch.zeros_like(x), y + 0.3):
        x0 = start.reshape(-1).numpy()
        if bounds:
            x0 = np.clip(x0, pen.lo, pen.hi)
        res = minimize(fun, x0, method="Powell", bounds=bounds, options={"xtol": 1e-10, "ftol": 1e-12})
        assert res.fun >= f_y - 1e-8 * (1 + abs(f_y))


@given(penalties(convex_only=True), vec, vec, st.floats(0.05, 3.0))
def test_prox_is_non_expansive(pen, a, b, s):
    a, b = _shape(pen, a), _shape(pen, b)
    d_out = torch.linalg.vector_norm(pen.prox(a, s) - pen.prox(b, s))
    assert d_out <= torch.linalg.vector_norm(a - b) * (1 + 1e-12) + 1e-12


def _conj_prox(pen, z, s):
    """prox of g*/s at z, where g* is the convex conjugate (closed forms)."""
    if isinstance(pen, L1):  # g* = indicator of |z_i| <= lam w_i
        r = pen.lam * (pen.weights if pen.weights is not None else torch.ones_like(z))
        return torch.minimum(torch.maximum(z, -r), r)
    if isinstance(pen, GroupL1):  # g* = indicator of ||z_g|| <= lam
        zm = z.movedim(pen.dim, 0)
        n = torch.linalg.vector_norm(zm.reshape(zm.shape[0], -1), dim=1).clamp_min(1e-300)
        scale = torch.clamp(pen.lam / n, max=1.0)
        return (zm * scale.reshape(-1, *[1] * (zm.dim() - 1))).movedim(0, pen.dim)
    if isinstance(pen, L2):  # g* = |z|^2/(2 lam): prox_{g*/s}(z) = z lam s / (lam s + 1)
        return z * pen.lam * s / (pen.lam * s + 1)
    raise NotImplementedError


@given(st.one_of(lam.map(L1), lam.map(L2), lam.map(GroupL1), lam.map(lambda v: GroupL1(v, dim=1)),
                 st.tuples(lam, st.lists(st.floats(0, 2), min_size=4, max_size=4)).map(
                     lambda a: L1(a[0], weights=torch.tensor(a[1], dtype=D)))),
       vec, st.floats(0.05, 3.0))
def test_moreau_identity(pen, x, s):
    """x = prox_{s g}(x) + s prox_{g*/s}(x / s)."""
    x = _shape(pen, x)
    if isinstance(pen, L1) and pen.weights is not None:
        x = x.reshape(-1)
    torch.testing.assert_close(pen.prox(x, s) + s * _conj_prox(pen, x / s, s), x, rtol=1e-12, atol=1e-12)


def test_moreau_identity_box():
    """For an indicator, prox_{g*/s}(x/s) = (x - P(x))/s; check P is the projection: x - P(x) is in the normal cone."""
    x = torch.linspace(-3, 3, 61, dtype=D)
    pen = Box(-1.0, 2.0)
    p = pen.prox(x, 1.0)
    r = x - p
    assert torch.all((r == 0) | ((p == -1.0) & (r < 0)) | ((p == 2.0) & (r > 0)))
