"""ISTA and FISTA (torch): convergence to the CD solution, monotonicity, restart, backtracking."""
import numpy as np
import pytest
import torch

from proxgan import penalties as P
from proxgan.datafits import Logistic, Quadratic
from proxgan.solvers import cd, fista, ista
from proxgan.solvers._common import Composite


def data(n=80, p=30, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    return X, X[:, :4] @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.2 * rng.standard_normal(n)


@pytest.mark.parametrize("mod", [fista, ista])
@pytest.mark.parametrize("penalty", [P.L1(0.1), P.ElasticNet(0.1, 0.5), P.L2(0.5)], ids=["l1", "enet", "l2"])
def test_matches_coordinate_descent(mod, penalty):
    X, y = data()
    df = Quadratic(X, y)
    ref = cd.solve(df, penalty, tol=1e-14)
    res = mod.solve(df, penalty, tol=1e-10, max_iter=20000)
    assert res.converged
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-8)


def test_ista_objective_decreases_monotonically():
    X, y = data()
    df = Quadratic(X, y)
    pen = P.L1(0.2)
    vals = []
    w = torch.zeros(X.shape[1], dtype=torch.float64)
    L = df.lipschitz() / 4
    for _ in range(50):
        w, L = fista.prox_grad_step(df, pen, w, L)
        vals.append(float(df.value(w) + pen.value(w)))
    assert all(b <= a + 1e-12 for a, b in zip(vals, vals[1:]))


def test_backtracking_increases_a_too_small_L():
    X, y = data()
    df = Quadratic(X, y)
    w, L = fista.prox_grad_step(df, P.L1(0.1), torch.zeros(X.shape[1], dtype=torch.float64), 1e-6)
    assert L >= df.lipschitz() / 2.1  # doubled until the sufficient-decrease condition held
    w2, L2 = fista.prox_grad_step(df, P.L1(0.1), w, 1e-6, backtracking=False)
    assert L2 == 1e-6


def test_restart_speeds_up_strongly_convex_problem():
    X, y = data(n=200, p=20)
    df = Quadratic(X, y)
    a = fista.solve(df, P.L2(1e-3), tol=1e-12, max_iter=20000, restart=True)
    b = fista.solve(df, P.L2(1e-3), tol=1e-12, max_iter=20000, restart=False)
    assert a.converged and a.n_iter < b.n_iter


def test_fista_without_backtracking_uses_lipschitz_step():
    X, y = data()
    res = fista.solve(Quadratic(X, y), P.L1(0.1), tol=1e-10, backtracking=False, max_iter=20000)
    ref = cd.solve(Quadratic(X, y), P.L1(0.1), tol=1e-14)
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-8)


def test_logistic_with_free_intercept_and_custom_criterion():
    X, y = data()
    yb = np.sign(y)
    Xa = np.hstack([X, np.ones((80, 1))])
    df = Logistic(Xa, yb)
    pen = Composite(P.L1(0.02), n_free=1)
    calls = []

    def crit(w):
        calls.append(1)
        return pen.optimality(w, df.grad(w))

    res = fista.solve(df, pen, tol=1e-9, max_iter=50000, criterion=crit, criterion_name="opt", check_every=5)
    assert res.converged and res.criterion == "opt" and len(calls) >= 2
    ref = cd.solve(Logistic(X, yb), P.L1(0.02), tol=1e-12, intercept=True)
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-6)


def test_max_iter_not_converged():
    X, y = data()
    res = ista.solve(Quadratic(X, y), P.L1(0.01), tol=1e-14, max_iter=3)
    assert not res.converged and res.n_iter == 3


def test_bad_coef_init():
    X, y = data()
    with pytest.raises(ValueError, match="coef_init"):
        fista.solve(Quadratic(X, y), P.L1(0.1), coef_init=np.zeros(2))
