"""Gap-safe screening of the L1 logistic CD (``proxgan.solvers._cd_logistic_screen``): screened
features are exactly 0 at an unscreened tight optimum, and the reported gap bounds the true
suboptimality; with an intercept, sample weights and ``positive=True``."""
import numpy as np
import pytest

from proxgan import penalties as P
from proxgan.datafits import Logistic
from proxgan.solvers import cd

CASES = {"plain": (False, False, False), "intercept": (True, False, False),
         "intercept-weights": (True, True, False), "intercept-positive": (True, False, True)}


def objective(X, y, sw, w, lam, intercept):
    z = X @ w[:X.shape[1]] + (w[-1] if intercept else 0.0)
    return np.mean(sw * np.logaddexp(0.0, -y * z)) + lam * np.abs(w[:X.shape[1]]).sum()


@pytest.fixture(scope="module", params=list(CASES))
def problem(request):
    intercept, weighted, positive = CASES[request.param]
    rng = np.random.default_rng(4)
    n, p = 80, 200
    X = rng.standard_normal((n, p))
    y = np.where(X[:, :4] @ np.array([2.0, -1.5, 1.0, 1.0]) + 0.8 + 0.5 * rng.standard_normal(n) > 0, 1.0, -1.0)
    sw = rng.uniform(0.3, 2.0, n) if weighted else np.ones(n)
    sw = sw / sw.mean()
    df = Logistic(X, y, sample_weight=sw if weighted else None)
    lam = 0.15 * np.abs(X.T @ (y - (y.mean() if intercept else 0.0))).max() / (2 * n)
    tight, _, _ = cd.logistic_certificate(df, P.L1(lam), positive=positive, intercept=intercept, tol=1e-13,
                                          screening=False)
    assert tight.converged
    return df, X, y, sw, lam, intercept, positive, tight.coef


def test_screened_logistic_features_are_zero_at_the_optimum(problem):
    df, X, y, sw, lam, intercept, positive, w_star = problem
    res, gap, active = cd.logistic_certificate(df, P.L1(lam), positive=positive, intercept=intercept, tol=1e-7)
    p = X.shape[1]
    assert res.converged and 0 < active.sum() < p // 2
    assert np.all(w_star[:p][~active] == 0.0) and np.all(res.coef[:p][~active] == 0.0)
    np.testing.assert_allclose(res.coef, w_star, atol=1e-5)


def test_logistic_gap_is_certified(problem):
    df, X, y, sw, lam, intercept, positive, w_star = problem
    f_star = objective(X, y, sw, w_star, lam, intercept)
    for k in (1, 2, 3, 5):
        # the gap is computed at the last check, i.e. at the point returned after k outer iterations
        res, gap, _ = cd.logistic_certificate(df, P.L1(lam), positive=positive, intercept=intercept, tol=0.0,
                                              max_iter=k)
        assert np.isfinite(gap) and gap >= -1e-14
        assert objective(X, y, sw, res.coef, lam, intercept) - f_star <= gap + 1e-13
    assert gap < 1e-3  # and it goes to 0
