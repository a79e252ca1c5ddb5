"""``max_iter`` counts outer iterations: more of them never give a higher objective, ``n_iter``
reports them, and the objective keeps going down from the first one (no flat stretch)."""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from proxgan import penalties as P
from proxgan.datafits import Logistic
from proxgan.linear_model import Lasso, LogisticRegression
from proxgan.solvers import cd

ITERS = range(1, 16)


def correlated(n=80, p=120, rho=0.8, seed=0):
    """Toeplitz-correlated design (slow for CD: many outer iterations to converge)."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    X = np.empty_like(Z)
    X[:, 0] = Z[:, 0]
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho ** 2) * Z[:, j]
    beta = np.zeros(p)
    beta[::10] = rng.standard_normal(p // 10 + (p % 10 > 0))
    return X, X @ beta + 0.5 * rng.standard_normal(n)


def lasso_objective(X, y, coef, intercept, alpha):
    r = y - X @ coef - intercept
    return 0.5 * r @ r / len(y) + alpha * np.abs(coef).sum()


def logistic_objective(X, yb, w, lam):
    z = X @ w[:-1] + w[-1]
    return np.mean(np.logaddexp(0.0, -yb * z)) + lam * np.abs(w[:-1]).sum()


def check_monotone(values, n_iters):
    v = np.array(values)
    assert np.all(np.diff(v) <= 1e-12 * abs(v[0])), v  # never higher with more iterations
    assert v[1] < v[0] and v[-1] < v[1]  # and not flat after the first one
    # n_iter is max_iter until the tolerance is met, then stays at the iteration that met it
    assert list(n_iters) == [min(k, n_iters[-1]) for k in ITERS] and n_iters[-1] >= 5


def test_lasso_objective_non_increasing_in_max_iter():
    X, y = correlated()
    alpha = 0.01 * np.abs((X - X.mean(0)).T @ (y - y.mean())).max() / len(y)
    vals, its = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in ITERS:
            m = Lasso(alpha=alpha, max_iter=k, tol=1e-14).fit(X, y)
            vals.append(lasso_objective(X, y, m.coef_, m.intercept_, alpha))
            its.append(m.n_iter_)
    check_monotone(vals, its)


@pytest.mark.parametrize("solver", ["prox-newton", "cd"])
def test_l1_logistic_objective_non_increasing_in_max_iter(solver):
    X, y = correlated(n=100, p=80, seed=1)
    yb = np.where(y > np.median(y), 1.0, -1.0)
    lam = 0.005
    vals, its = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in ITERS:
            if solver == "cd":
                res = cd.solve(Logistic(X, yb), P.L1(lam), tol=1e-14, max_iter=k, intercept=True)
                w, n_it = res.coef, res.n_iter
            else:  # the estimator's L1 solver; C = 1/(n·lam) gives the same objective (times n·C)
                m = LogisticRegression(l1_ratio=1.0, C=1 / (len(y) * lam), solver="saga", tol=1e-14,
                                       max_iter=k).fit(X, yb)
                w, n_it = np.r_[m.coef_[0], m.intercept_], int(m.n_iter_[0])
            vals.append(logistic_objective(X, yb, w, lam))
            its.append(n_it)
    check_monotone(vals, its)
