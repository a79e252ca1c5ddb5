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
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="p0 must be an integer >= 1"):
            prox_newton.solve(Logistic(X, y), L1(0.1), p0=bad)


def test_default_smallest_working_set():
    """max(10, isqrt(p)): the same optimum as a working set grown from 10, in fewer outer iterations."""
    assert [prox_newton.default_p0(p) for p in (0, 30, 100, 120, 2000)] == [10, 10, 10, 10, 44]
    rng = np.random.default_rng(4)
    X = rng.standard_normal((100, 900))
    y = np.sign(X[:, :40] @ rng.standard_normal(40))
    df = Logistic(X, y)
    lam = 0.1 * np.abs(X.T @ y).max() / 200
    grown = prox_newton.solve(df, L1(lam), tol=1e-10, p0=10)
    default = prox_newton.solve(df, L1(lam), tol=1e-10)
    assert grown.converged and default.converged and np.count_nonzero(default.coef) > 30
    np.testing.assert_allclose(default.coef, grown.coef, atol=1e-8)
    assert default.n_iter < grown.n_iter


@pytest.mark.parametrize("kind", ["wide", "sparse"])
@pytest.mark.parametrize("intercept", [True, False])
def test_full_pass_and_hessian_block_match_numpy(kind, intercept):
    """The compiled pass over X (gradient, column norms in the first pass, violations) and the
    Hessian block against their numpy twins."""
    from proxgan.solvers._pn_logistic import full_pass, gram_block
    from proxgan.solvers._prox1d import penalty_params
    from proxgan.solvers.cd import _parts

    X, y, sw = _problem(kind)
    df = Logistic(X, y, sample_weight=sw)
    n, p = X.shape
    q = p + intercept
    rng = np.random.default_rng(1)
    r, w = rng.standard_normal(n), rng.standard_normal(q) * (rng.uniform(size=q) < 0.3)
    code, P = penalty_params(L1(0.02), p, False)
    Xd, data, ind, ptr, sparse = _parts(df)
    out = [np.full(q, np.nan) for _ in range(3)] + [np.full(p, np.nan)]
    crit = full_pass(Xd, data, ind, ptr, sparse, r, df.sw, w, code, P, *out, True)
    g, scores, Ls, norms2 = out
    np.testing.assert_allclose(g, np.r_[X.T @ r, r.sum()][:q], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(norms2, df.weighted_col_norms2(), rtol=1e-12)
    np.testing.assert_allclose(Ls, np.r_[norms2, df.sw.sum()][:q] / (4 * n), rtol=1e-15)
    assert norms2[3] == 0.0 and scores[3] == 0.0  # the empty column
    L = np.where(Ls > 0, Ls, 1.0)
    fixed = np.where(np.arange(q) < p, np.sign(w - g / L) * np.maximum(np.abs(w - g / L) - 0.02 / L, 0), w - g / L)
    np.testing.assert_allclose(scores, np.where(Ls > 0, np.abs(w - fixed) * Ls, 0.0), rtol=1e-10, atol=1e-14)
    assert crit == scores.max()
    again = [np.empty(q), np.empty(q), Ls.copy(), norms2.copy()]
    assert full_pass(Xd, data, ind, ptr, sparse, r, df.sw, w, code, P, *again, False) == crit
    np.testing.assert_array_equal(again[0], g)
    A = rng.standard_normal((7, 33)) * np.r_[0.0, np.ones(32)]  # a zero first entry
    for B in (A, A[:1], A[:, :1]):
        B = np.ascontiguousarray(B)
        np.testing.assert_allclose(gram_block(B), B @ B.T, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(gram_block(B), gram_block(B).T)


def test_same_coefficients_with_one_or_default_threads_and_thread_settings_kept():
    """The solve calls no thread pool: the coefficients are bit-identical whatever the BLAS thread
    limit, and the caller's thread settings are what they were."""
    from threadpoolctl import threadpool_info, threadpool_limits

    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 300))
    y = np.sign(X[:, :5].sum(1) + 0.3 * rng.standard_normal(120))
    df = Logistic(X, y)
    before = [(i["filepath"], i["num_threads"]) for i in threadpool_info()]
    default = prox_newton.solve(df, L1(0.02), tol=1e-10, intercept=True)  # Hessian blocks of up to 128
    assert [(i["filepath"], i["num_threads"]) for i in threadpool_info()] == before
    with threadpool_limits(limits=1):
        one = prox_newton.solve(df, L1(0.02), tol=1e-10, intercept=True)
    assert default.converged and 10 < np.count_nonzero(default.coef) < 128
    np.testing.assert_array_equal(one.coef, default.coef)
