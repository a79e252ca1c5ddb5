"""MCP, SCAD, Lq (1/2, 2/3) and LogSum: each prox is a global minimiser of its 1-D problem (brute
force on a dense grid plus local refinement, awkward inputs, per-coordinate steps), the numba
twin equals the reference, and the solvers stop at stationary points (fixed points of the
prox-gradient map: these penalties have no duality gap)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from proxgan.datafits import Quadratic
from proxgan.penalties import MCP, SCAD, LogSum, Lq
from proxgan.solvers import cd, fista
from proxgan.solvers._prox1d import penalty_params, prox1d_vec

PENALTIES = [MCP(0.8, 3.0), MCP(0.8, 1.2), SCAD(0.7, 3.7), SCAD(0.5, 2.2), Lq(0.6, 0.5), Lq(0.6, 2 / 3),
             LogSum(0.5, 0.3), LogSum(2.0, 1.0), MCP(0.0, 3.0), Lq(0.0, 0.5)]
STEPS = [1e-3, 0.3, 1.0, 2.5]


def _awkward(pen, s):
    """Inputs at and around every threshold of ``pen`` at step ``s``, ties, zero and large values."""
    lam = pen.lam
    pts = [0.0, 1e-300, 0.1, 1.0, 3.0, 50.0, s * lam, (1 + s) * lam]
    gam = getattr(pen, "gamma", None)
    if gam is not None:
        pts += [gam * lam, lam * math.sqrt(s * gam)]
    if isinstance(pen, Lq):
        mu = 2 * s * lam
        pts += [(54 ** (1 / 3) / 4) * mu ** (2 / 3), (2 / 3) * (3 * mu ** 3) ** 0.25]
    pts = [p * f for p in pts for f in (1.0, 1 - 1e-9, 1 + 1e-9)]
    return torch.tensor(sorted(set(pts + [-p for p in pts])), dtype=torch.float64)


def _h(pen, y, x, s):
    return (y - x) ** 2 / (2 * s) + pen._g(y.abs())


def _brute(pen, x, s):
    """The least objective over a dense grid around 0 and x, refined around the grid's best point."""
    hi = float(x.abs().max()) + 1.0
    grid = torch.linspace(-hi, hi, 40001, dtype=torch.float64)
    h = _h(pen, grid[None, :], x[:, None], s[:, None])
    best = grid[h.argmin(1)]
    fine = best[:, None] + torch.linspace(-2 * hi / 40000, 2 * hi / 40000, 2001, dtype=torch.float64)[None, :]
    hf = torch.minimum(_h(pen, fine, x[:, None], s[:, None]).min(1).values, _h(pen, torch.zeros_like(x), x, s))
    return torch.minimum(hf, _h(pen, x, x, s))


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("s", STEPS)
def test_prox_is_a_global_minimiser(pen, s):
    x = _awkward(pen, s)
    st = torch.full_like(x, s)
    y = pen.prox(x, s)
    assert torch.isfinite(y).all()
    excess = _h(pen, y, x, st) - _brute(pen, x, st)
    assert float(excess.max()) <= 1e-10 * (1 + float(x.abs().max()) ** 2)
    assert torch.equal(pen.prox(-x, s), -pen.prox(x, s))  # odd


@pytest.mark.parametrize("pen", PENALTIES[:8], ids=repr)
def test_per_coordinate_steps_solve_one_problem_each(pen):
    gen = torch.Generator().manual_seed(0)
    x = 4 * torch.randn(300, dtype=torch.float64, generator=gen)
    s = torch.rand(300, dtype=torch.float64, generator=gen) * 3 + 1e-3
    y = pen.prox(x, s)
    for i in range(0, 300, 37):
        torch.testing.assert_close(y[i], pen.prox(x[i:i + 1], float(s[i]))[0], rtol=1e-14, atol=0)
    assert float((_h(pen, y, x, s) - _brute(pen, x, s)).max()) <= 1e-9


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("s", [0.0] + STEPS)
def test_numba_prox_equals_the_reference(pen, s):
    x = _awkward(pen, max(s, 1e-3))
    code, par = penalty_params(pen, x.numel())
    got = prox1d_vec(x.numpy(), np.full(x.numel(), s), code, par)
    ref = pen.prox(x, s).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-300)
    assert np.array_equal(got == 0, ref == 0)


def test_value_and_stationarity_measure():
    x = torch.tensor([0.0, 0.5, 5.0], dtype=torch.float64)
    assert float(MCP(1.0, 3.0).value(x)) == pytest.approx(0.5 - 0.25 / 6 + 1.5)
    assert float(SCAD(1.0, 3.7).value(x)) == pytest.approx(0.5 + 4.7 / 2)
    assert float(LogSum(1.0, 0.5).value(x)) == pytest.approx(math.log(2) + math.log(11))
    assert float(Lq(1.0, 0.5).value(x)) == pytest.approx(math.sqrt(0.5) + math.sqrt(5))
    d = MCP(1.0, 3.0).subdiff_distance(x, torch.tensor([0.5, -(1 - 0.5 / 3), 0.0], dtype=torch.float64))
    assert torch.allclose(d, torch.zeros(3, dtype=torch.float64))  # |0.5| <= lam at 0; slopes cancel


@pytest.mark.parametrize("bad", [dict(gamma=0.0), dict(gamma=-1.0), dict(gamma=math.nan)])
def test_mcp_checks_gamma(bad):
    with pytest.raises(ValueError, match="gamma"):
        MCP(1.0, **bad)
    pen = MCP(1.0)
    with pytest.raises(ValueError, match="gamma"):
        pen.gamma = bad["gamma"]
    assert pen.gamma == 3.0


def test_other_parameter_checks():
    with pytest.raises(ValueError, match="gamma must be a finite number > 2"):
        SCAD(1.0, 2.0)
    with pytest.raises(ValueError, match="q must be 1/2 or 2/3"):
        Lq(1.0, 0.3)
    with pytest.raises(ValueError, match="eps"):
        LogSum(1.0, 0.0)


def _problem():
    rng = np.random.default_rng(0)
    n, p = 60, 30
    X = rng.standard_normal((n, p))
    X[:, 1] = 0.7 * X[:, 0] + 0.3 * X[:, 1]  # correlated pair
    beta = np.zeros(p)
    beta[:4] = [2.0, -1.5, 1.0, 0.8]
    return X, X @ beta + 0.1 * rng.standard_normal(n)


@pytest.mark.parametrize("pen", [MCP(0.1, 3.0), SCAD(0.1, 3.7), Lq(0.02, 0.5), Lq(0.02, 2 / 3), LogSum(0.02, 0.1)],
                         ids=repr)
def test_cd_and_fista_stop_at_fixed_points(pen):
    """The stopping rule for non-convex penalties: ``w == prox(w - grad f(w)/L, 1/L)`` to ``tol``
    coordinate by coordinate (CD: with each coordinate's L_j; FISTA: with the global L)."""
    X, y = _problem()
    df = Quadratic(X, y)
    res = cd.solve(df, pen, tol=1e-10)
    assert res.converged and res.criterion == "optimality"
    w = torch.as_tensor(res.coef)
    g = df.grad(w)
    L = torch.as_tensor((X ** 2).sum(0) / X.shape[0])
    fixed = pen.prox(w - g / L, 1.0 / L)
    assert float(((w - fixed).abs() * L).max()) <= 1e-9
    assert 4 <= int((w != 0).sum()) < 30
    fis = fista.solve(df, pen, tol=1e-9, max_iter=50000)
    assert fis.converged
    wf = torch.as_tensor(np.asarray(fis.coef))
    Lg = float(np.linalg.norm(X, 2) ** 2 / X.shape[0])
    assert float((wf - pen.prox(wf - df.grad(wf) / Lg, 1.0 / Lg)).abs().max()) * Lg <= 1e-8
