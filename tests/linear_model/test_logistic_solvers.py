"""LogisticRegression's solver names run the method they name (binary and multinomial), agree with
scikit-learn's solver of the same name, and names we do not implement are refused."""
import numpy as np
import pytest
import sklearn.linear_model as skl
from sklearn.datasets import load_digits
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from proxgan.linear_model import LogisticRegression
from proxgan.linear_model._logistic_newton import fit_newton


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Small dense products: several BLAS threads on a loaded 2-core machine only wait for each other."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500] / 16.0, y[:500]


@pytest.mark.parametrize("solver", ["newton-cholesky", "newton-cg"])
def test_multinomial_newton_matches_sklearn_in_newton_iterations(digits, solver):
    X, y = digits
    kw = dict(C=1.0, tol=1e-8, max_iter=100)
    sk = skl.LogisticRegression(solver="newton-cholesky", **kw).fit(X, y)
    m = LogisticRegression(solver=solver, **kw).fit(X, y)
    assert np.abs(m.predict_proba(X) - sk.predict_proba(X)).max() < 1e-4
    # Newton's iteration count (scikit-learn's L-BFGS needs hundreds here), not a first-order method's
    assert m.n_iter_[0] <= sk.n_iter_[0] + 3
    assert m.optimality_[0] <= 1e-8


def test_lbfgs_runs_lbfgs_not_newton(digits):
    X, y = digits
    newton = LogisticRegression(solver="newton-cholesky", tol=1e-6).fit(X, y)
    lbfgs = LogisticRegression(solver="lbfgs", tol=1e-6, max_iter=1000).fit(X, y)
    sk = skl.LogisticRegression(solver="lbfgs", tol=1e-6, max_iter=1000).fit(X, y)
    assert lbfgs.n_iter_[0] > 3 * newton.n_iter_[0]
    assert abs(int(lbfgs.n_iter_[0]) - int(sk.n_iter_[0])) <= 0.2 * sk.n_iter_[0]
    assert np.abs(lbfgs.predict_proba(X) - newton.predict_proba(X)).max() < 1e-3


@pytest.mark.parametrize("solver", ["newton-cholesky", "newton-cg"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_binary_newton_matches_sklearn(solver, fit_intercept):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 7)) * np.array([1, 2, 5, 0.1, 1, 1, 3])
    y = (X[:, 0] + 0.3 * X[:, 2] + rng.standard_normal(120) > 0.2).astype(int)
    sw = rng.uniform(0.2, 2.0, 120)
    kw = dict(C=0.7, tol=1e-10, fit_intercept=fit_intercept)
    sk = skl.LogisticRegression(solver=solver, **kw).fit(X, y, sample_weight=sw)
    m = LogisticRegression(solver=solver, **kw).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(m.coef_, sk.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(m.intercept_, sk.intercept_, atol=1e-8)
    assert m.n_iter_[0] <= 15


def test_cholesky_and_cg_inner_solves_agree_on_singular_softmax_hessian():
    """No penalty and an intercept: the softmax Hessian is singular; both inner solves still reach
    the (unique) probabilities and a gradient below tol."""
    rng = np.random.default_rng(0)
    n, p, K = 90, 4, 3
    X = rng.standard_normal((n, p))
    labels = np.argmax(X[:, :K] + rng.standard_normal((n, K)), axis=1)
    Y = np.eye(K)[labels]
    s = np.full(n, 1.0 / n)
    out = {inner: fit_newton(X, Y, s, 0.0, np.zeros((K, p)), np.zeros(K), fit_intercept=True, tol=1e-9,
                             max_iter=50, multinomial=True, inner=inner) for inner in ("cholesky", "cg")}
    probs = {}
    for inner, (W, b, it, ok, g) in out.items():
        assert ok and g <= 1e-9 and it <= 30
        Z = X @ W.T + b
        probs[inner] = np.exp(Z - Z.max(1, keepdims=True)) / np.exp(Z - Z.max(1, keepdims=True)).sum(1, keepdims=True)
    np.testing.assert_allclose(probs["cholesky"], probs["cg"], atol=1e-7)


def test_ista_and_fista_multinomial_l2_reach_the_newton_solution(digits):
    X, y = digits[0][:200], digits[1][:200]
    ref = LogisticRegression(solver="newton-cholesky", C=0.01, tol=1e-10).fit(X, y)
    n_iter = {}
    for solver in ("fista", "ista"):
        m = LogisticRegression(solver=solver, C=0.01, tol=1e-6, max_iter=5000).fit(X, y)
        assert m.optimality_[0] <= 1e-6
        assert np.abs(m.predict_proba(X) - ref.predict_proba(X)).max() < 1e-5
        n_iter[solver] = m.n_iter_[0]
    assert n_iter["ista"] > n_iter["fista"]  # no momentum: ISTA ran


def test_unknown_and_unsupported_solvers_are_refused(digits):
    X, y = digits[0][:100], digits[1][:100]
    with pytest.raises(InvalidParameterError, match="solver"):
        LogisticRegression(solver="newton").fit(X, y)
    m = LogisticRegression(solver="cd")
    with pytest.raises(ValueError, match="solver='cd' handles two classes only"):
        m.fit(X, y)
    assert not hasattr(m, "coef_")
    with pytest.raises(ValueError, match="supports only 'l2' or None penalties"):
        LogisticRegression(solver="newton-cholesky", l1_ratio=1.0).fit(X, y)
    with pytest.raises(ValueError, match="inner must be one of"):
        fit_newton(X, np.eye(10)[y], np.full(100, 0.01), 0.1, np.zeros((10, 64)), np.zeros(10),
                   fit_intercept=True, tol=1e-4, max_iter=5, multinomial=True, inner="lu")
