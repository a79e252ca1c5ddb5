"""lasso_path / enet_path / LassoCV / ElasticNetCV against scikit-learn."""
import numpy as np
import pytest
import sklearn.linear_model as skl
from lm_datasets import dataset

from proxgan.linear_model import ElasticNetCV, LassoCV, enet_path, lasso_path


@pytest.mark.parametrize("name,solver", [("diabetes", "cd"), ("dense-p>>n", "cd"), ("sparse-p>>n", "cd"),
                                         ("diabetes", "fista"), ("dense-p>>n", "fista")])
def test_lasso_path(name, solver):
    X, y = dataset(name)
    y = y - y.mean()
    n_alphas = 30 if solver == "cd" else 8
    a_sk, c_sk, _ = skl.lasso_path(X, y, alphas=n_alphas, eps=1e-3, tol=1e-12, max_iter=200000)
    a, c, gaps, iters = lasso_path(X, y, alphas=n_alphas, eps=1e-3, tol=1e-12, max_iter=200000, solver=solver,
                                   return_n_iter=True)
    np.testing.assert_allclose(a, a_sk, rtol=1e-12)
    tol_abs = 1e-12 * (y @ y) / len(y)
    assert c.shape == (X.shape[1], n_alphas) and len(iters) == n_alphas
    assert np.all(gaps <= tol_abs * 1.0001)
    # both fits are certified within tol_abs of the optimum: their objectives agree to that
    obj = [[(r @ r) / (2 * len(y)) + al * np.abs(w).sum() for r, w, al in zip((y[:, None] - X @ cc).T, cc.T, a)]
           for cc in (c, c_sk)]
    np.testing.assert_allclose(obj[0], obj[1], rtol=0, atol=2 * tol_abs)
    # coefficients: where the problem is well conditioned; with p >> n at the smallest alphas the
    # objective is flat to 1e-13 over coefficient changes of 1e-5, and the two solvers stop apart
    np.testing.assert_allclose(c, c_sk, atol=1e-5 if "p>>n" not in name else 1e-4)
    assert not np.any(c[:, 0])  # alpha_max


def test_enet_path_given_alphas_and_positive():
    X, y = dataset("digits")
    alphas = [0.5, 0.05, 0.005]
    a_sk, c_sk, _ = skl.enet_path(X, y, l1_ratio=0.3, alphas=alphas, tol=1e-12, positive=True, max_iter=100000)
    a, c, _ = enet_path(X, y, l1_ratio=0.3, alphas=alphas, tol=1e-12, positive=True, max_iter=100000)
    np.testing.assert_allclose(a, a_sk)
    np.testing.assert_allclose(c, c_sk, atol=1e-5)
    assert c.min() >= 0


@pytest.mark.parametrize("name", ["diabetes", "sparse-n>>p"])
def test_lasso_cv(name):
    X, y = dataset(name)
    sk = skl.LassoCV(alphas=20, tol=1e-10, max_iter=100000).fit(X, y)
    m = LassoCV(alphas=20, tol=1e-10, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(m.alphas_, sk.alphas_, rtol=1e-10)
    np.testing.assert_allclose(m.mse_path_, sk.mse_path_, rtol=1e-6)
    assert m.alpha_ == pytest.approx(sk.alpha_, rel=1e-12)
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=1e-5)
    assert m.intercept_ == pytest.approx(sk.intercept_, abs=1e-5)


def test_elastic_net_cv_chooses_l1_ratio_like_sklearn():
    X, y = dataset("dense-p>>n")
    kw = dict(l1_ratio=[0.2, 0.7, 1.0], alphas=15, tol=1e-10, max_iter=100000, cv=3)
    sk = skl.ElasticNetCV(**kw).fit(X, y)
    m = ElasticNetCV(**kw).fit(X, y)
    assert m.l1_ratio_ == sk.l1_ratio_ and m.alpha_ == pytest.approx(sk.alpha_, rel=1e-12)
    # p >> n: each fit is certified to gap <= 1e-10 |y|^2/n, and points that close to the optimum
    # still differ by ~1e-5 relative in held-out error at the smallest alphas (flat objective)
    np.testing.assert_allclose(m.mse_path_, sk.mse_path_, rtol=1e-4)
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=1e-5)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.4])
def test_multitarget_path_is_sklearns_multitask_problem(l1_ratio):
    """2-D y: scikit-learn's multi-task elastic net (one group per feature across the targets)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 15))
    W = np.zeros((15, 3))
    W[:4] = rng.standard_normal((4, 3))
    Y = X @ W + 0.3 * rng.standard_normal((60, 3))
    a_sk, c_sk, _ = skl.enet_path(X, Y, l1_ratio=l1_ratio, alphas=12, tol=1e-12, max_iter=100000)
    a, c, gaps, iters = enet_path(X, Y, l1_ratio=l1_ratio, alphas=12, tol=1e-12, max_iter=100000,
                                  return_n_iter=True)
    np.testing.assert_allclose(a, a_sk, rtol=1e-12)
    assert c.shape == c_sk.shape == (3, 15, 12) and len(iters) == 12
    np.testing.assert_allclose(c, c_sk, atol=1e-7)
    assert np.all(gaps <= 1e-12 * (Y * Y).sum() / 60 * 1.0001)
    assert not np.any(c[:, :, 0])  # alpha_max: all zero
    rows = np.abs(c[:, :, 3]).sum(axis=0)
    assert 0 < np.sum(rows == 0) < 15 and np.all((c[:, :, 3] == 0) == (rows == 0)[None, :])  # whole features drop out
    # lasso_path and a warm start (coef_init has scikit-learn's shape (n_targets, n_features))
    a2, c2, _ = lasso_path(X, Y, alphas=[a_sk[5]], tol=1e-12, coef_init=c_sk[:, :, 4], max_iter=100000)
    if l1_ratio == 1.0:
        np.testing.assert_allclose(c2[:, :, 0], c_sk[:, :, 5], atol=1e-7)
    with pytest.raises(ValueError, match="positive=True is not allowed for multi-output"):
        enet_path(X, Y, positive=True, alphas=3)
