"""Ridge and LogisticRegression against scikit-learn at tight tolerance."""
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as skl
from lm_datasets import dataset, dense
from scipy.special import expit

from proxgan.linear_model import LogisticRegression, Ridge


def ridge_obj(X, y, coef, b, alpha, sw=None):
    r = y - dense(X) @ coef - b
    sw = np.ones_like(y) if sw is None else sw
    return sw @ (r * r) + alpha * coef @ coef


@pytest.mark.parametrize("solver", ["cd", "fista"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("name", ["diabetes", "breast_cancer", "digits", "sparse-n>>p", "dense-p>>n"])
def test_ridge(name, fit_intercept, solver):
    X, y = dataset(name)
    alpha = 1.0
    sk = skl.Ridge(alpha=alpha, fit_intercept=fit_intercept, tol=1e-12, solver="auto" if not sp.issparse(X) or
                   not fit_intercept else "sparse_cg").fit(X, y)
    m = Ridge(alpha=alpha, fit_intercept=fit_intercept, tol=1e-16, max_iter=100000, solver=solver).fit(X, y)
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=1e-5)
    assert abs(m.intercept_ - sk.intercept_) < 1e-5
    ours = ridge_obj(X, y, m.coef_, m.intercept_, alpha)
    assert ours <= ridge_obj(X, y, sk.coef_, sk.intercept_, alpha) * (1 + 1e-10)


def test_ridge_sample_weight_and_positive():
    X, y = dataset("diabetes")
    sw = np.random.default_rng(0).uniform(0.5, 2, len(y))
    sk = skl.Ridge(alpha=0.5).fit(X, y, sample_weight=sw)
    m = Ridge(alpha=0.5, tol=1e-16, max_iter=100000).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=1e-5)
    skp = skl.Ridge(alpha=0.5, positive=True, solver="lbfgs", tol=1e-14, max_iter=100000).fit(X, y)
    mp = Ridge(alpha=0.5, positive=True, tol=1e-14, max_iter=100000).fit(X, y)
    assert mp.coef_.min() >= 0 and np.count_nonzero(mp.coef_ == 0) > 0
    # lbfgs is the less accurate one here: compare objectives, ours no worse
    assert ridge_obj(X, y, mp.coef_, mp.intercept_, 0.5) <= ridge_obj(X, y, skp.coef_, skp.intercept_, 0.5) + 1e-9


def log_obj(X, y01, coef, b, C, l1_ratio):
    z = dense(X) @ coef + b
    s = 2 * y01 - 1
    loss = np.logaddexp(0, -s * z).sum()
    return C * loss + l1_ratio * np.abs(coef).sum() + 0.5 * (1 - l1_ratio) * coef @ coef


PENALTIES = [("l2", None, 0.0), ("l1", None, 1.0), ("elasticnet", 0.5, 0.5)]


@pytest.mark.parametrize("solver", ["cd", "fista"])
@pytest.mark.parametrize("penalty,l1_ratio,r", PENALTIES)
@pytest.mark.parametrize("name", ["breast_cancer", "digits-binary", "sparse-binary"])
def test_logistic_vs_saga(name, penalty, l1_ratio, r, solver):
    if name == "digits-binary":
        X, y = dataset("digits")
        y = (y % 2 == 0).astype(int)
    elif name == "sparse-binary":
        X, y = dataset("sparse-n>>p")
        y = (y > np.median(y)).astype(int)
    else:
        X, y = dataset(name)
        y = y.astype(int)
    C = 0.3
    sk = skl.LogisticRegression(C=C, l1_ratio=r, solver="saga", tol=1e-12, max_iter=100000).fit(X, y)
    m = LogisticRegression(l1_ratio=r, C=C, tol=1e-11, max_iter=100000, solver=solver).fit(X, y)
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=1e-5)
    np.testing.assert_allclose(m.intercept_, sk.intercept_, atol=1e-5)
    assert log_obj(X, y, m.coef_[0], m.intercept_[0], C, r) <= log_obj(X, y, sk.coef_[0], sk.intercept_[0], C, r) + 1e-9
    np.testing.assert_allclose(m.predict_proba(X)[:, 1], expit(dense(X) @ m.coef_[0] + m.intercept_[0]), rtol=1e-12)
    assert m.optimality_[0] <= 1e-11


@pytest.mark.parametrize("penalty", ["l1", "l2"])
def test_logistic_vs_liblinear_no_intercept(penalty):
    X, y = dataset("breast_cancer")
    sk = skl.LogisticRegression(C=0.5, l1_ratio=float(penalty == "l1"), solver="liblinear", fit_intercept=False,
                                tol=1e-12, max_iter=100000).fit(X, y)
    m = LogisticRegression(l1_ratio=float(penalty == "l1"), solver="liblinear", C=0.5, fit_intercept=False,
                           tol=1e-11, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=1e-5)
    assert np.array_equal(m.coef_ == 0, sk.coef_ == 0) or penalty == "l2"


@pytest.mark.parametrize("C", [0.1, np.inf])
def test_logistic_multinomial_vs_lbfgs(C):
    X, y = dataset("digits")
    sk = skl.LogisticRegression(C=C, tol=1e-10, max_iter=100000).fit(X, y)
    m = LogisticRegression(C=C, tol=1e-10, max_iter=100000).fit(X, y)
    assert m.coef_.shape == (10, X.shape[1]) and list(m.classes_) == list(range(10))
    np.testing.assert_allclose(m.predict_proba(X), sk.predict_proba(X), atol=1e-4)
    np.testing.assert_allclose(m.predict_proba(X).sum(1), 1.0)
    assert m.score(X, y) > 0.9


def _softmax_obj(X, y, W, b, lam1, lam2):
    Z = X @ W.T + b
    return (np.logaddexp.reduce(Z, axis=1) - Z[np.arange(len(y)), y]).mean() + lam1 * np.abs(W).sum() + 0.5 * lam2 * (
        W ** 2).sum()


@pytest.mark.parametrize("r", [1.0, 0.5])
def test_logistic_multinomial_l1_vs_saga(r):
    X, y = dataset("digits")
    X, y = X[:200], y[:200].astype(int)
    C = 0.5
    sk = skl.LogisticRegression(C=C, l1_ratio=r, solver="saga", tol=1e-7, max_iter=100000).fit(X, y)
    m = LogisticRegression(C=C, l1_ratio=r, solver="saga", tol=1e-8, max_iter=100000).fit(X, y)
    lam = 1 / (C * len(y))
    ours = _softmax_obj(X, y, m.coef_, m.intercept_, lam * r, lam * (1 - r))
    theirs = _softmax_obj(X, y, sk.coef_, sk.intercept_, lam * r, lam * (1 - r))
    assert ours <= theirs + 1e-7
    np.testing.assert_allclose(m.predict_proba(X), sk.predict_proba(X), atol=1e-3)
    assert m.optimality_[0] <= 1e-8 and np.count_nonzero(m.coef_ == 0) > 0
