"""Regression tests of wrong answers once given silently (each failed before its fix)."""
import warnings

import numpy as np
import pytest
from sklearn import linear_model as sklm
from sklearn.exceptions import ConvergenceWarning

from proxgan.linear_model import ElasticNet, ElasticNetCV, Lasso, LassoCV, Ridge
from proxgan.solvers._cd_kernels import gap_from_scalars


def _ill_conditioned(n=20, p=10, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) @ np.diag(np.logspace(0, -1, p))
    X = X + 0.9 * X[:, :1]  # correlated columns: unpenalised CD used to stop at once, far from least squares
    return X, X @ rng.standard_normal(p) + 0.1 * rng.standard_normal(n)


def test_unpenalised_criterion_is_nonnegative_and_zero_only_at_least_squares():
    X, y = _ill_conditioned()
    n, p = X.shape
    zeros = np.zeros(p)
    w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
    rng = np.random.default_rng(1)
    for w in [w_ls + 0.05 * rng.standard_normal(p) for _ in range(20)]:
        r = y - X @ w
        assert gap_from_scalars(r @ r, r @ y, n, w, X.T @ r, zeros, zeros, False) > 0
    r = y - X @ w_ls
    assert gap_from_scalars(r @ r, r @ y, n, w_ls, X.T @ r, zeros, zeros, False) < 1e-12


@pytest.mark.parametrize("solver", ["cd", "fista", "auto"])
def test_ridge_alpha0_reaches_least_squares(solver):
    X, y = _ill_conditioned()
    w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
    m = Ridge(alpha=0.0, fit_intercept=False, tol=1e-12, solver=solver, max_iter=100000).fit(X, y)
    assert np.abs(m.coef_ - w_ls).max() < 1e-6


def test_enet_alpha0_matches_least_squares_and_advises():
    X, y = _ill_conditioned()
    with pytest.warns(UserWarning, match="You are advised to use the LinearRegression"):
        m = ElasticNet(alpha=0.0, tol=1e-12, max_iter=100000).fit(X, y)
    ref = sklm.LinearRegression().fit(X, y)
    assert np.abs(m.predict(X) - ref.predict(X)).max() < 1e-8


@pytest.mark.parametrize("Est", [LassoCV, ElasticNetCV])
def test_positive_alpha_grid_uses_max_not_abs(Est):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    y = -3 * X[:, 0] + 0.5 * X[:, 1] + 0.1 * rng.standard_normal(50)
    ours = Est(positive=True, alphas=10, cv=3).fit(X, y)
    ref = getattr(sklm, Est.__name__)(positive=True, alphas=10, cv=3).fit(X, y)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-10)
    assert np.count_nonzero(ours.coef_) > 0


def test_enetcv_given_alphas_are_1d():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 5)), rng.standard_normal(40)
    m = ElasticNetCV(alphas=[0.1, 0.01, 1.0], l1_ratio=[0.2, 0.8], cv=3).fit(X, y)
    np.testing.assert_array_equal(m.alphas_, [1.0, 0.1, 0.01])
    assert ElasticNetCV(alphas=5, l1_ratio=[0.2, 0.8], cv=3).fit(X, y).alphas_.shape == (2, 5)


@pytest.mark.parametrize("Est", [Ridge, Lasso, ElasticNet])
def test_intercept_is_numpy_float64(Est):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    b = Est(alpha=0.1).fit(X, y).intercept_
    assert isinstance(b, np.float64) and b.shape == ()


@pytest.mark.parametrize("solver", ["auto", "cholesky", "svd", "sag"])
def test_ridge_default_is_exact(solver):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 80)), rng.standard_normal(50)
    sw = rng.uniform(0.5, 2.0, 50)
    # exact normal equations of the centred, weighted problem
    Xm, ym = np.average(X, axis=0, weights=sw), np.average(y, weights=sw)
    Xc, yc = (X - Xm) * np.sqrt(sw)[:, None], (y - ym) * np.sqrt(sw)
    w = np.linalg.solve(Xc.T @ Xc + 0.3 * np.eye(80), Xc.T @ yc)
    m = Ridge(alpha=0.3, solver=solver).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(m.coef_, w, atol=1e-10)
    np.testing.assert_allclose(m.intercept_, ym - Xm @ w, atol=1e-10)


def test_extreme_scale_warns():
    rng = np.random.RandomState(0)
    X = rng.randn(20, 3)
    y = X @ [1.0, 2.0, 0.0] + 0.1 * rng.randn(20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in the column norms
        with pytest.warns(ConvergenceWarning, match="check the scale of the features"):
            Lasso(0.1).fit(X * 1e300, y)
