"""Proximal Newton (fast path) against working-set coordinate descent (its reference) on the logistic loss."""
import numpy as np
import pytest
import scipy.sparse as sp

from proxgan.datafits import Logistic, Quadratic
from proxgan.penalties import L1, L2, ElasticNet
from proxgan.solvers import cd, prox_newton


def _problem(kind, seed=0):
    rng = np.random.default_rng(seed)
    n, p = (60, 150) if kind == "wide" else (200, 20)
    X = rng.standard_normal((n, p)) * rng.uniform(0.1, 10, p)  # badly scaled columns
    X[:, 3] = 0.0  # an empty column
    y = np.sign(X[:, 0] / X[:, 0].std() - X[:, 1] / X[:, 1].std() + 0.5 * rng.standard_normal(n))
    if kind == "sparse":
        X = sp.csc_matrix(X * (rng.uniform(size=X.shape) < 0.3))
    return X, y, rng.uniform(0, 3, n)


@pytest.mark.parametrize("kind", ["tall", "wide", "sparse"])
@pytest.mark.parametrize("penalty", [L1(0.02), ElasticNet(0.05, 0.3), L2(0.01)])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("gram_max", [0, prox_newton.GRAM_MAX])  # matrix-free / Hessian-block inner solver
def test_agrees_with_coordinate_descent(kind, penalty, intercept, gram_max):
    X, y, sw = _problem(kind)
    df = Logistic(X, y, sample_weight=sw)
    ref = cd.solve(df, penalty, tol=1e-12, max_iter=200000, intercept=intercept)
    res = prox_newton.solve(df, penalty, tol=1e-12, max_iter=500, intercept=intercept, gram_max=gram_max)
    assert ref.converged and res.converged and res.crit <= 1e-12
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-7)
    assert np.array_equal(res.coef[:X.shape[1]] == 0, ref.coef[:X.shape[1]] == 0) or isinstance(penalty, L2)


def test_positive_and_warm_start():
    X, y, _ = _problem("tall", seed=1)
    df = Logistic(X, y)
    ref = cd.solve(df, L1(0.01), positive=True, tol=1e-12, max_iter=200000, intercept=True)
    res = prox_newton.solve(df, L1(0.01), positive=True, tol=1e-12, intercept=True)
    assert res.coef[:-1].min() >= 0
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-7)
    again = prox_newton.solve(df, L1(0.01), positive=True, tol=1e-12, intercept=True, coef_init=res.coef)
    assert again.n_iter <= 1


def test_max_iter_reports_not_converged_and_bad_input():
    X, y, _ = _problem("tall", seed=2)
    res = prox_newton.solve(Logistic(X, y), L1(1e-4), tol=1e-14, max_iter=1, intercept=True)
    assert not res.converged and res.crit > 1e-14
    with pytest.raises(TypeError, match="datafit must be Logistic"):
        prox_newton.solve(Quadratic(X, y), L1(0.1))
    with pytest.raises(ValueError, match="coef_init has 3 entries, expected 21"):
        prox_newton.solve(Logistic(X, y), L1(0.1), coef_init=np.zeros(3), intercept=True)
