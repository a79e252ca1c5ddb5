"""Gap-safe screening and dual extrapolation of the Lasso (``proxgan.solvers._cd_screen``):
screened features are exactly 0 at an independently computed optimum, the reported gap is
``P(w) - D(u)`` with a feasible ``u`` and bounds the true suboptimality, extrapolation never
gives a worse certificate, and sequential screening along a path (warm starts) changes no fit. Intercepts and
sample weights (folded into the datafit by centring and row scaling) and ``positive=True``."""
import numpy as np
import pytest
import scipy.sparse as sp

from proxgan import penalties as P
from proxgan.linear_model._base import preprocess
from proxgan.solvers import cd


def data(n=60, p=300, sparse=False, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1::2] += 0.7 * X[:, 0::2]  # correlated pairs
    if sparse:
        X = sp.csc_matrix(X * (rng.random((n, p)) < 0.3))
    Xd = X.toarray() if sparse else X
    y = Xd[:, :6] @ rng.standard_normal(6) + 0.2 * rng.standard_normal(n) + 3.0
    return X, y


CASES = {
    "plain": dict(intercept=False, weights=False, positive=False, sparse=False),
    "intercept": dict(intercept=True, weights=False, positive=False, sparse=False),
    "weights": dict(intercept=True, weights=True, positive=False, sparse=False),
    "positive": dict(intercept=True, weights=False, positive=True, sparse=False),
    "sparse-intercept-weights": dict(intercept=True, weights=True, positive=False, sparse=True),
}


def problem(case):
    c = CASES[case]
    X, y = data(sparse=c["sparse"])
    sw = np.random.default_rng(1).uniform(0.2, 3.0, len(y)) if c["weights"] else None
    df, _, _ = preprocess(X, y, c["intercept"], sw)
    Xd = np.asarray(df.X.toarray() if sp.issparse(df.X) else df.X)
    Xc = Xd - np.outer(df.v, df.mu)  # the design the solver works on (centred, weighted)
    lam = 0.08 * np.abs(Xc.T @ df.y).max() / len(y)
    return df, Xc, lam, c["positive"]


def primal(Xc, y, w, lam):
    r = y - Xc @ w
    return 0.5 * r @ r / len(y) + lam * np.abs(w).sum()


def dual(u, y):
    return (u @ y - 0.5 * u @ u) / len(y)


@pytest.fixture(scope="module", params=list(CASES))
def solved(request):
    df, Xc, lam, pos = problem(request.param)
    tight, _, _ = cd.lasso_certificate(df, P.L1(lam), positive=pos, tol=1e-13 * (df.y @ df.y) / len(df.y),
                                       screening=False, dual_extrapolation=0)
    assert tight.converged
    return df, Xc, lam, pos, tight.coef


def test_screened_features_are_zero_at_the_optimum(solved):
    df, Xc, lam, pos, w_star = solved
    y, n = df.y, len(df.y)
    res, u, active = cd.lasso_certificate(df, P.L1(lam), positive=pos, tol=1e-6 * (y @ y) / n)
    assert res.converged and 0 < active.sum() < len(active) // 2  # most features screened out
    assert np.all(w_star[~active] == 0.0) and np.all(res.coef[~active] == 0.0)
    # and strictly inside the KKT bound at the optimum (what the safe rule proves)
    corr = Xc.T @ (y - Xc @ w_star) / n
    assert np.all((corr if pos else np.abs(corr))[~active] < lam)
    tight, _, _ = cd.lasso_certificate(df, P.L1(lam), positive=pos, tol=1e-13 * (y @ y) / n)  # screened throughout
    np.testing.assert_allclose(tight.coef, w_star, atol=1e-5)  # gap 1e-13: ill-conditioned (n < p, correlated)
    assert np.array_equal(tight.coef == 0, w_star == 0)


@pytest.mark.parametrize("extrapolation", [0, 5])
def test_gap_is_certified(solved, extrapolation):
    df, Xc, lam, pos, w_star = solved
    y = df.y
    p_star = primal(Xc, y, w_star, lam)
    for k in (1, 2, 3, 5):
        res, u, active = cd.lasso_certificate(df, P.L1(lam), positive=pos, tol=0.0, max_iter=k,
                                              dual_extrapolation=extrapolation)
        assert res.n_iter == k
        corr = Xc[:, active].T @ u / len(y)
        assert np.all((corr if pos else np.abs(corr)) <= lam * (1 + 1e-12))  # feasible dual point
        gap = primal(Xc, y, res.coef, lam) - dual(u, y)
        assert abs(gap - res.crit) <= 1e-10 * (y @ y) / len(y)
        assert primal(Xc, y, res.coef, lam) - p_star <= res.crit + 1e-13 * (y @ y)


def test_extrapolation_never_worse_and_feasible_on_every_feature(solved):
    df, Xc, lam, pos, _ = solved
    y = df.y
    better = 0
    for k in range(2, 9):  # same primal iterates (no screening): only the dual point differs
        a, ua, _ = cd.lasso_certificate(df, P.L1(lam), positive=pos, tol=0.0, max_iter=k, screening=False,
                                        dual_extrapolation=0)
        b, ub, _ = cd.lasso_certificate(df, P.L1(lam), positive=pos, tol=0.0, max_iter=k, screening=False,
                                        dual_extrapolation=5)
        np.testing.assert_array_equal(a.coef, b.coef)
        corr = Xc.T @ ub / len(y)
        assert np.all((corr if pos else np.abs(corr)) <= lam * (1 + 1e-12))
        assert b.crit <= a.crit * (1 + 1e-12)
        better += 1e-10 < a.crit and b.crit < 0.5 * a.crit  # far better once the working set settles
    assert better >= 1


def test_sequential_screening_along_a_path_equals_unscreened_fits():
    X, y = data(n=50, p=200, seed=3)
    df, _, _ = preprocess(X, y, True, None)
    scale = (df.y @ df.y) / len(y)
    amax = np.abs(df.correlation()).max() / len(y)
    w = None
    for a in amax * np.geomspace(1.0, 0.01, 8):  # each fit screens from the previous solution
        res, _, active = cd.lasso_certificate(df, P.L1(a), coef_init=w, tol=1e-12 * scale)
        ref, _, _ = cd.lasso_certificate(df, P.L1(a), tol=1e-14 * scale, screening=False, dual_extrapolation=0)
        assert res.converged and np.all(ref.coef[~active] == 0.0)
        assert primal(df.X, df.y, res.coef, a) - primal(df.X, df.y, ref.coef, a) <= res.crit + 1e-14 * scale
        np.testing.assert_allclose(res.coef, ref.coef, atol=1e-5)  # ill-conditioned: n < p, correlated pairs
        w = res.coef


def test_extrapolated_residual_reads_the_ring_oldest_first():
    """The dual extrapolation of a ring read from a middle row equals numpy's formulation
    (U Uᵀ z = 1, r_acc = Σ z_k r_(k+1) / Σ z on the rows oldest first); equal residuals (a singular
    system) are reported as such."""
    from proxgan.solvers._cd_screen import extrapolated_residual

    rng = np.random.default_rng(3)
    R = rng.standard_normal((6, 40)).cumsum(axis=0)
    n_pushed = 10  # oldest row: 10 % 6 = 4
    rows = R[[(4 + k) % 6 for k in range(6)]]
    U = np.diff(rows, axis=0)
    z = np.linalg.solve(U @ U.T, np.ones(5))
    ok, acc = extrapolated_residual(R, n_pushed)
    assert ok
    np.testing.assert_allclose(acc, (z / z.sum()) @ rows[1:], rtol=1e-8, atol=1e-10)
    ok, _ = extrapolated_residual(np.tile(R[:1], (6, 1)), 0)
    assert not ok


@pytest.mark.parametrize("sparse", [False, True])
def test_raw_residual_and_column_sums_match_blas(sparse):
    """``y − Xw`` and ``Xᵀv`` by the compiled loops equal numpy's products (dense and CSC), with a
    warm start that has zeros and nonzeros, and with an offset (the column sums are then used)."""
    X, y = data(n=30, p=50, sparse=sparse)
    df, _, _ = preprocess(X, y, True, np.random.default_rng(2).uniform(0.5, 2.0, 30))
    w = np.zeros(50)
    w[[1, 7, 30]] = [0.5, -2.0, 1.5]
    np.testing.assert_allclose(cd._raw_residual(df, w), df.y - df.X @ w, rtol=1e-12, atol=1e-12)
    expected = np.asarray(df.X.T @ df.v).ravel() if np.any(df.mu) else np.zeros(50)
    np.testing.assert_allclose(cd._column_sums(df), expected, rtol=1e-12, atol=1e-12)
