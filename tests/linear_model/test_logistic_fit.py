"""The logistic solvers of _logistic_fit against each other and against finite differences."""
import numpy as np
import pytest
import scipy.sparse as sp

from proxgan.linear_model._logistic_fit import fit_prox, fit_smooth, loss_grad
from proxgan.linear_model._logistic_newton import fit_newton


def _problem(kind, K=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((120, 8)) * rng.uniform(0.1, 5, 8)
    labels = rng.integers(0, K, 120)
    X[:, 0] += labels  # informative, not separable
    if kind == "sparse":
        X = sp.csr_matrix(X * (rng.uniform(size=X.shape) < 0.5))
    s = rng.uniform(0.2, 2.0, 120)
    s /= s.sum()
    Y = np.where(labels == 1, 1.0, -1.0)[:, None] if K == 2 else np.eye(K)[labels]
    return X, Y, s


@pytest.mark.parametrize("multinomial", [False, True])
def test_gradient_matches_finite_differences(multinomial):
    X, Y, s = _problem("dense", K=3 if multinomial else 2)
    rng = np.random.default_rng(1)
    K = Y.shape[1]
    W, b = 0.3 * rng.standard_normal((K, 8)), rng.standard_normal(K)
    _, gW, gb = loss_grad(W, b, X, Y, s, multinomial)
    h = 1e-6
    for k, j in [(0, 0), (K - 1, 5)]:
        E = np.zeros_like(W)
        E[k, j] = h
        fd = (loss_grad(W + E, b, X, Y, s, multinomial)[0] - loss_grad(W - E, b, X, Y, s, multinomial)[0]) / (2 * h)
        assert gW[k, j] == pytest.approx(fd, rel=1e-6, abs=1e-9)
    e = np.zeros(K)
    e[0] = h
    fd = (loss_grad(W, b + e, X, Y, s, multinomial)[0] - loss_grad(W, b - e, X, Y, s, multinomial)[0]) / (2 * h)
    assert gb[0] == pytest.approx(fd, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("lam2", [0.05, 0.0])
def test_newton_agrees_with_lbfgs(kind, fit_intercept, lam2):
    X, Y, s = _problem(kind)
    z = (np.zeros((1, 8)), np.zeros(1))
    kw = dict(fit_intercept=fit_intercept, tol=1e-10, max_iter=10000)
    Wn, bn, itn, okn, gn = fit_newton(X, Y, s, lam2, *z, **kw)
    Wl, bl, _, okl, _ = fit_smooth(X, Y, s, lam2, *z, multinomial=False, **kw)
    assert okn and gn <= 1e-10 and itn < 30
    np.testing.assert_allclose(Wn, Wl, atol=1e-6)
    np.testing.assert_allclose(bn, bl, atol=1e-6)


def test_prox_without_l1_agrees_with_lbfgs_multinomial():
    X, Y, s = _problem("dense", K=3)
    z = (np.zeros((3, 8)), np.zeros(3))
    Wp, bp, _, okp, crit = fit_prox(X, Y, s, 0.0, 0.05, *z, fit_intercept=True, tol=1e-9, max_iter=100000)
    Wl, bl, _, okl, _ = fit_smooth(X, Y, s, 0.05, *z, fit_intercept=True, multinomial=True, tol=1e-10,
                                   max_iter=10000)
    assert okp and crit <= 1e-9
    np.testing.assert_allclose(Wp, Wl, atol=1e-6)
    np.testing.assert_allclose(bp - bp.mean(), bl - bl.mean(), atol=1e-6)


def test_max_iter_zero_returns_the_start():
    X, Y, s = _problem("dense")
    W0, b0 = np.ones((1, 8)), np.array([0.5])
    W, b, it, ok, _ = fit_smooth(X, Y, s, 0.1, W0, b0, fit_intercept=True, multinomial=False, tol=1e-4, max_iter=0)
    assert it == 0 and not ok and np.array_equal(W, W0) and np.array_equal(b, b0)
