"""Coordinate descent with non-convex penalties: the inner epochs that skip settled zeros.

For the codes in ``_cd_driver.SHRINK_CODES`` the working-set epochs after a check skip the
coordinates found at zero with a zero score. ``working_set=False, anderson=0`` is the plain
reference (cyclic CD over every coordinate, no skipping, no extrapolation). Both must reach a fixed
point of the coordinate-wise prox map, recomputed here with the penalty's readable ``prox``; where the
objective is strongly convex they must reach the same point.
"""
import numpy as np
import pytest
import torch

from proxgan.datafits import Quadratic
from proxgan.penalties import L0, MCP, SCAD, Lq, LogSum
from proxgan.solvers import _cd_driver as _drv
from proxgan.solvers import cd
from proxgan.solvers._cd_driver import SHRINK_CODES
from proxgan.solvers._prox1d import penalty_params


def _violation(pen, X, y, w, positive=False):
    """max_j L_j |w_j − proj(prox_{g/L_j}(w_j − ∇_j f / L_j))| from ``penalty.prox`` (float64)."""
    n = X.shape[0]
    L = (X * X).sum(0) / n
    grad = -X.T @ (y - X @ w) / n
    on = L > 0
    z = torch.from_numpy((w - np.where(on, grad / np.where(on, L, 1.0), 0.0)))
    step = torch.from_numpy(np.where(on, 1.0 / np.where(on, L, 1.0), 0.0))
    wp = pen.prox(z.clone(), step).numpy()
    if positive:
        wp = np.maximum(wp, 0.0)
    return float(np.max(np.where(on, L * np.abs(w - wp), 0.0)))


def _awkward(seed=0):
    """Toeplitz ρ = 0.9, p > n, α = α_max/50: inner solves long enough for the checks to set zeros aside
    and to readmit some (counted while writing this test: for MCP, 12 checks set 373 coordinates aside
    and readmitted 22). Also a duplicated column (tied scores), a zero column and a tiny one."""
    n, p = 50, 120
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    X = np.empty((n, p))
    X[:, 0] = Z[:, 0]
    for j in range(1, p):
        X[:, j] = 0.9 * X[:, j - 1] + np.sqrt(1 - 0.81) * Z[:, j]
    X[:, 5] = X[:, 3]
    X[:, 8] = 0.0
    X[:, 9] *= 1e-6
    beta = np.zeros(p)
    beta[::7] = rng.standard_normal(beta[::7].size)
    y = X @ beta + 0.3 * rng.standard_normal(n)
    return np.asfortranarray(X), y, float(np.abs(X.T @ y).max() / n / 50)


X_AWK, Y_AWK, A_AWK = _awkward()
PENALTIES = [MCP(A_AWK, 3.0), SCAD(A_AWK, 3.7), L0(A_AWK ** 2), LogSum(A_AWK, 0.1), Lq(A_AWK, 0.5)]


def test_the_codes_that_skip():
    assert {penalty_params(p, 3)[0] for p in PENALTIES} <= set(SHRINK_CODES)


@pytest.mark.parametrize("pen", PENALTIES, ids=lambda p: type(p).__name__)
@pytest.mark.parametrize("positive", [False, True])
def test_skipping_and_plain_reach_fixed_points(pen, positive):
    X, y = X_AWK, Y_AWK  # p > n, correlated: not convex, several critical points
    fast = cd.solve(Quadratic(X, y), pen, positive=positive, tol=1e-9, max_iter=10000)
    plain = cd.solve(Quadratic(X, y), pen, positive=positive, tol=1e-9, max_iter=100000, working_set=False,
                     anderson=0)
    for res in (fast, plain):
        assert res.converged
        assert _violation(pen, X, y, res.coef, positive) <= 1e-8
        assert res.coef[8] == 0.0  # the zero column never moves
        if positive:
            assert np.all(res.coef >= 0.0)


@pytest.mark.parametrize("pen, concavity", [(MCP(0.05, 5.0), 1 / 5.0), (SCAD(0.05, 6.0), 1 / 5.0)],
                         ids=["mcp", "scad"])
def test_skipping_equals_plain_where_the_minimiser_is_unique(pen, concavity):
    """n ≫ p and γ large enough that XᵀX/n − (concavity)·I ≻ 0: one minimiser, which both must find."""
    rng = np.random.default_rng(4)
    n, p = 600, 40
    X = rng.standard_normal((n, p))
    X[:, 1] = 0.6 * X[:, 0] + 0.8 * X[:, 1]  # enters once w_0 has explained its share of y
    X = np.asfortranarray(X)
    assert np.linalg.eigvalsh(X.T @ X / n).min() > concavity
    beta = np.zeros(p)
    beta[[0, 1, 2]] = [3.0, -2.0, 0.3]
    y = X @ beta + 0.5 * rng.standard_normal(n)
    fast = cd.solve(Quadratic(X, y), pen, tol=1e-11, max_iter=10000)
    plain = cd.solve(Quadratic(X, y), pen, tol=1e-11, max_iter=100000, working_set=False, anderson=0)
    assert fast.converged and plain.converged
    np.testing.assert_allclose(fast.coef, plain.coef, atol=1e-9)
    assert np.array_equal(fast.coef != 0, plain.coef != 0)
    assert fast.coef[1] < -1.0


def test_inner_done_rule():
    """skglm's 0.3 × the outer criterion for a convex penalty; 0.03 × for a non-convex one until the inner
    solve has cost one outer check (``spent >= q``), then 0.3 × again."""
    max_sc, q = 1.0, 1000
    for ws_max, spent, convex_done, nonconvex_done in [
            (0.5, 0, False, False), (0.5, 5000, False, False),       # above 0.3: never
            (0.2, 10, True, False), (0.2, 999, True, False),        # between: convex only, until the budget is spent
            (0.2, 1000, True, True), (0.3, 1000, True, True),
            (0.03, 0, True, True), (0.0, 0, True, True)]:           # below 0.03: always
        assert _drv.inner_done(ws_max, max_sc, spent, q, False) is convex_done
        assert _drv.inner_done(ws_max, max_sc, spent, q, True) is nonconvex_done


def _wide(seed=0, n=60, p=3000):
    """p ≫ n, equicorrelated ρ = 0.2 (a small L3 of the benchmark protocol): working sets of about
    100 of 3000 coordinates, so that the tighter inner target applies."""
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(np.sqrt(0.8) * rng.standard_normal((n, p)) + np.sqrt(0.2) * rng.standard_normal((n, 1)))
    beta = np.zeros(p)
    beta[: p // 10] = rng.standard_normal(p // 10)
    signal = X @ beta
    y = signal + np.sqrt(signal.var() / 3.0) * rng.standard_normal(n)
    return X, y, float(np.abs(X.T @ y).max() / n / 20)


@pytest.mark.parametrize("kind", ["mcp", "scad"])
@pytest.mark.parametrize("seed", [0, 1])
def test_wide_problem_reaches_a_fixed_point(kind, seed):
    """On a wide problem the inner solves run to the tighter target (:func:`inner_done`); the result is still
    a fixed point of the coordinate-wise prox map at the requested tolerance, checked with ``penalty.prox``,
    and the stopping rule (every coordinate scored) is unchanged: the plain reference reaches a fixed point
    too (possibly another one: the problem is not convex)."""
    X, y, a = _wide(seed)
    pen = MCP(a, 3.0) if kind == "mcp" else SCAD(a, 3.7)
    tol = 1e-8 * a
    res = cd.solve(Quadratic(X, y), pen, tol=tol, max_iter=10000)
    assert res.converged and res.crit <= tol
    assert _violation(pen, X, y, res.coef) <= tol * (1 + 1e-9)
    assert 0 < np.count_nonzero(res.coef) < X.shape[0]
    plain = cd.solve(Quadratic(X, y), pen, tol=tol, max_iter=100000, working_set=False, anderson=0)
    assert plain.converged and _violation(pen, X, y, plain.coef) <= tol * (1 + 1e-9)


@pytest.mark.parametrize("pen", [MCP(0.05, 5.0), SCAD(0.05, 6.0)], ids=["mcp", "scad"])
def test_gram_path_takes_nonconvex_penalties(pen):
    """``precompute=True`` (the Gram-matrix CD, :mod:`proxgan.solvers._cd_gram`) runs the non-convex codes
    through the same 1-D prox: where the minimiser is unique (n ≫ p, XᵀX/n − concavity·I ≻ 0) it finds the
    residual CD's point, and on the awkward p > n problem it stops at a fixed point (checked with
    ``penalty.prox``)."""
    rng = np.random.default_rng(5)
    n, p = 500, 30
    X = np.asfortranarray(rng.standard_normal((n, p)))
    assert np.linalg.eigvalsh(X.T @ X / n).min() > 1 / 5.0
    beta = np.zeros(p)
    beta[:4] = [2.0, -1.5, 0.4, 0.1]
    y = X @ beta + 0.5 * rng.standard_normal(n)
    res = cd.solve(Quadratic(X, y), pen, tol=1e-11, max_iter=10000)
    gram = cd.solve(Quadratic(X, y), pen, tol=1e-11, max_iter=10000, precompute=True)
    assert res.converged and gram.converged and gram.criterion == "optimality"
    np.testing.assert_allclose(gram.coef, res.coef, atol=1e-9)
    assert np.array_equal(gram.coef != 0, res.coef != 0)
    assert _violation(pen, X, y, gram.coef) <= 1e-10
    awk = type(pen)(A_AWK, pen.gamma)
    g2 = cd.solve(Quadratic(X_AWK, Y_AWK), awk, tol=1e-9, max_iter=10000, precompute=True)
    assert g2.converged and _violation(awk, X_AWK, Y_AWK, g2.coef) <= 1e-8
    assert g2.coef[8] == 0.0
