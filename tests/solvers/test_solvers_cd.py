"""Coordinate descent (numba): certificates computed independently, agreement with FISTA
(its readable twin), sparse == dense, working sets / Anderson do not change the answer."""
import numpy as np
import pytest
import scipy.sparse as sp

from proxgan import penalties as P
from proxgan.datafits import Logistic, Quadratic
from proxgan.solvers import cd, fista


def lasso_gap(X, y, w, alpha):
    """BENCHMARKS.md formula, in plain NumPy."""
    n = X.shape[0]
    r = y - X @ w
    primal = 0.5 * r @ r / n + alpha * np.abs(w).sum()
    theta = r / max(n * alpha, np.abs(X.T @ r).max())
    d = y - n * alpha * theta
    return primal - 0.5 * (y @ y - d @ d) / n


def problem(n=60, p=150, seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    if sparse:
        X = sp.random(n, p, density=0.2, random_state=seed, format="csc", data_rvs=rng.standard_normal)
        Xd = X.toarray()
    else:
        Xd = X = rng.standard_normal((n, p))
    y = Xd[:, :5] @ rng.standard_normal(5) + 0.1 * rng.standard_normal(n)
    return X, Xd, y


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("ratio", [0.5, 0.1, 0.01])
def test_lasso_gap_certificate(sparse, ratio):
    X, Xd, y = problem(sparse=sparse)
    amax = np.abs(Xd.T @ y).max() / len(y)
    tol = 1e-10 * (y @ y) / len(y)
    res = cd.solve(Quadratic(X, y), P.L1(ratio * amax), tol=tol)
    assert res.converged and res.criterion == "gap"
    g = lasso_gap(Xd, y, res.coef, ratio * amax)  # with the rescaled residual as dual point
    assert -1e-14 <= res.crit <= tol and res.crit <= g + 1e-12 * (y @ y)  # extrapolation: a tighter certificate
    plain = cd.solve(Quadratic(X, y), P.L1(ratio * amax), tol=tol, screening=False, dual_extrapolation=0)
    g_plain = lasso_gap(Xd, y, plain.coef, ratio * amax)
    assert -1e-14 <= g_plain <= tol * 1.0001 and abs(g_plain - plain.crit) <= 1e-12 * (y @ y)
    def primal(w):
        r = y - Xd @ w
        return 0.5 * r @ r / len(y) + ratio * amax * np.abs(w).sum()
    assert primal(res.coef) - primal(plain.coef) <= res.crit + 1e-14 * (y @ y)  # P(w) - P* <= crit
    assert np.count_nonzero(res.coef) < Xd.shape[1]  # exact zeros


def test_alpha_max_gives_zero_immediately():
    _, X, y = problem()
    amax = np.abs(X.T @ y).max() / len(y)
    res = cd.solve(Quadratic(X, y), P.L1(amax), tol=1e-14)
    assert res.n_iter == 0 and not np.any(res.coef)


@pytest.mark.parametrize("penalty,positive", [
    (P.L1(0.05), False), (P.L1(0.05), True), (P.ElasticNet(0.1, 0.5), False), (P.ElasticNet(0.1, 0.5), True),
    (P.L2(0.3), False), (P.L2(0.3), True), (P.Box(-0.2, 0.3), False),
    (P.L1(0.05, weights=np.linspace(0, 2, 40)), False), (P.L1(0.05, weights=np.linspace(0, 2, 40)), True)],
    ids=["l1", "l1-pos", "enet", "enet-pos", "l2", "l2-pos", "box", "weighted-l1", "weighted-l1-pos"])
def test_cd_agrees_with_fista(penalty, positive):
    _, X, y = problem(n=80, p=40)
    df = Quadratic(X, y)
    a = cd.solve(df, penalty, positive=positive, tol=1e-14, max_iter=20000)
    from proxgan.solvers._common import Composite
    pen = Composite(penalty, lo=0.0) if positive else penalty
    b = fista.solve(df, pen, tol=1e-11, max_iter=50000)
    assert a.converged and b.converged
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-7)
    if positive:
        assert a.coef.min() >= 0


def test_general_box_stops_on_optimality():
    _, X, y = problem(n=80, p=40)
    res = cd.solve(Quadratic(X, y), P.Box(-0.1, 0.1), tol=1e-10)
    assert res.criterion == "optimality" and res.converged
    assert res.coef.min() >= -0.1 and res.coef.max() <= 0.1
    assert np.sum(np.abs(res.coef) == 0.1) > 0


@pytest.mark.parametrize("ws,K", [(True, 0), (False, 5), (False, 0)])
def test_working_set_and_anderson_do_not_change_solution(ws, K):
    _, X, y = problem()
    df = Quadratic(X, y)
    ref = cd.solve(df, P.L1(0.02), tol=1e-14, max_iter=100000)
    res = cd.solve(df, P.L1(0.02), tol=1e-14, max_iter=100000, working_set=ws, anderson=K)
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-8)


def test_default_p0_is_a_fifth_of_the_largest_lasso_support_unless_p_exceeds_2n():
    rng = np.random.default_rng(0)
    shapes = [(500, 600), (500, 1000), (500, 1001), (100, 10000), (10000, 100), (30, 40), (5, 3)]
    assert [cd.default_p0(Quadratic(np.zeros((n, p)), np.zeros(n))) for n, p in shapes] == [100, 100, 10, 10, 20,
                                                                                          10, 10]
    assert cd.default_p0(Logistic(rng.standard_normal((500, 600)), np.sign(rng.standard_normal(500)))) == 10


@pytest.mark.parametrize("sparse", [False, True])
def test_first_working_set_does_not_change_solution(sparse):
    """The default first working set (a fifth of min(n, p) = 40 here) against the old 10 and against no
    working set, on a problem whose solution has about 100 nonzeros: same minimiser, certified gap."""
    X, Xd, y = problem(n=200, p=240, seed=3, sparse=sparse)
    y = y + Xd[:, 5:120] @ np.random.default_rng(4).standard_normal(115)
    df = Quadratic(X, y)
    alpha = 0.02 * np.abs(Xd.T @ y).max() / 200
    # tol is on the coordinates' fixed-point violation, not the gap: at 1e-13 the sparse design's gap
    # reaches 1.0e-10 P(0) (with AVX-512 reductions), so the fits ask for 1e-14 (gaps near 5e-13 P(0))
    res = {p0: cd.solve(df, P.L1(alpha), tol=1e-14, max_iter=100000, p0=p0) for p0 in (None, 10, 240)}
    full = cd.solve(df, P.L1(alpha), tol=1e-14, max_iter=100000, working_set=False)
    assert 60 < np.count_nonzero(full.coef) < 200
    p_zero = 0.5 * (y @ y) / 200
    for r in res.values():
        assert r.converged and lasso_gap(Xd, y, r.coef, alpha) <= 1e-10 * p_zero
        np.testing.assert_allclose(r.coef, full.coef, atol=1e-7)
        np.testing.assert_array_equal(r.coef == 0, full.coef == 0)


def test_sparse_implicit_centering_equals_dense_centered():
    X, Xd, y = problem(sparse=True)
    mu = Xd.mean(axis=0)
    yc = y - y.mean()
    a = cd.solve(Quadratic(X, yc, X_offset=mu), P.ElasticNet(0.02, 0.7), tol=1e-14)
    b = cd.solve(Quadratic(Xd - mu, yc), P.ElasticNet(0.02, 0.7), tol=1e-14)
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-9)
    assert abs(a.crit - b.crit) < 1e-12


def test_warm_start_needs_fewer_epochs_and_max_iter_reports():
    _, X, y = problem()
    df = Quadratic(X, y)
    a = cd.solve(df, P.L1(0.02), tol=1e-12)
    b = cd.solve(df, P.L1(0.019), tol=1e-12, coef_init=a.coef)
    c = cd.solve(df, P.L1(0.019), tol=1e-12)
    assert b.n_iter < c.n_iter
    d = cd.solve(df, P.L1(0.019), tol=1e-12, max_iter=2)
    assert not d.converged and d.n_iter <= 2 and d.crit > 1e-12


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("penalty", [P.L1(0.02), P.L2(0.05), P.ElasticNet(0.03, 0.5)], ids=repr)
def test_logistic_cd_agrees_with_fista(sparse, penalty):
    X, Xd, y = problem(n=100, p=30, sparse=sparse)
    yb = np.where(y > np.median(y), 1.0, -1.0)
    a = cd.solve(Logistic(X, yb), penalty, tol=1e-11, max_iter=100000, intercept=True)
    from proxgan.solvers._common import Composite
    Xa = np.hstack([Xd, np.ones((100, 1))])
    b = fista.solve(Logistic(Xa, yb), Composite(penalty, n_free=1), tol=1e-11, max_iter=100000)
    assert a.converged and b.converged
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-7)


def test_logistic_sample_weight_equals_repetition():
    _, X, y = problem(n=50, p=10)
    yb = np.where(y > 0, 1.0, -1.0)
    sw = np.ones(50)
    sw[:10] = 2
    a = cd.solve(Logistic(X, yb, sample_weight=sw), P.L1(0.01), tol=1e-12, intercept=True)
    Xr = np.vstack([X, X[:10]])
    yr = np.concatenate([yb, yb[:10]])
    # (1/n)Σ s loss with n = 50 rows  ==  (60/50)·(1/60)Σ loss over 60 rows: rescale the penalty
    b = cd.solve(Logistic(Xr, yr), P.L1(0.01 * 50 / 60), tol=1e-12, intercept=True)
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-7)


def test_quadratic_gap_rejects_box():
    _, X, y = problem()
    with pytest.raises(ValueError, match="duality gap"):
        cd.quadratic_gap(Quadratic(X, y), np.zeros(X.shape[1]), P.Box(0, 1))


def test_bad_datafit_and_coef_init():
    _, X, y = problem()
    with pytest.raises(TypeError, match="datafit"):
        cd.solve(object(), P.L1(0.1))
    with pytest.raises(ValueError, match="coef_init"):
        cd.solve(Quadratic(X, y), P.L1(0.1), coef_init=np.zeros(3))


def test_top_k_selects_the_largest_scores():
    from proxgan.solvers._cd_driver import top_k as _top_k
    rng = np.random.default_rng(0)
    s = np.round(rng.random(500), 2)  # many ties
    s[[3, 77]] = np.inf
    for k in (1, 2, 10, 137, 500):
        got = _top_k(s, k)
        assert len(set(got)) == k and np.all(np.diff(got) > 0)
        assert np.min(s[got]) >= np.max(np.delete(s, got), initial=-np.inf)
        assert {3, 77} <= set(got) or k < 2


@pytest.mark.parametrize("penalty", [P.L1(0.01), P.ElasticNet(0.02, 0.5), P.L2(0.1), P.Box(-0.05, 0.05)],
                         ids=["l1", "enet", "l2", "box"])
@pytest.mark.parametrize("positive", [False, True])
def test_gram_variant_agrees(penalty, positive):
    if isinstance(penalty, P.Box) and positive:
        penalty = P.Box(0.0, 0.05)
    _, X, y = problem(n=200, p=30)
    df = Quadratic(X, y)
    a = cd.solve(df, penalty, positive=positive, tol=1e-13, max_iter=100000)
    b = cd.solve(df, penalty, positive=positive, tol=1e-13, max_iter=100000, precompute=True)
    assert a.converged and b.converged and a.criterion == b.criterion
    np.testing.assert_allclose(b.coef, a.coef, atol=1e-8)
    if b.criterion == "gap":
        assert abs(b.crit - cd.quadratic_gap(df, b.coef, penalty, positive)) < 1e-12
    with pytest.raises(ValueError, match="Gram"):
        Quadratic(X, y, X_offset=X.mean(0)).gram()
    # a caller's Gram matrix is used as given and is not stored in the datafit
    fresh = Quadratic(X, y)
    c = cd.solve(fresh, penalty, positive=positive, tol=1e-13, max_iter=100000, precompute=X.T @ X)
    np.testing.assert_allclose(c.coef, b.coef, atol=1e-10)
    assert getattr(fresh, "_gram", None) is None
    with pytest.raises(ValueError, match=r"Gram matrix must have shape \(30, 30\)"):
        cd.solve(fresh, penalty, precompute=np.eye(3))


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("penalty,positive", [(P.L1(0.03), False), (P.ElasticNet(0.05, 0.3), True), (P.L2(0.2), False),
                                              (P.L1(0.0), False)], ids=["l1", "enet-pos", "l2", "none"])
def test_torch_gap_is_the_twin_of_the_compiled_gap(sparse, penalty, positive):
    import torch

    from proxgan.solvers._common import torch_enet_gap
    from proxgan.solvers._prox1d import enet_rows, penalty_params
    X, Xd, y = problem(sparse=sparse)
    mu = Xd.mean(0)
    df = Quadratic(X, y - y.mean(), X_offset=mu)
    w = np.random.default_rng(1).standard_normal(Xd.shape[1]) * (np.arange(Xd.shape[1]) < 7)
    w = np.abs(w) if positive else w
    l1, l2 = (np.ascontiguousarray(r) for r in enet_rows(*penalty_params(penalty, Xd.shape[1], positive)))
    got = torch_enet_gap(df, torch.from_numpy(w), torch.from_numpy(l1), torch.from_numpy(l2), positive)
    assert got == pytest.approx(cd.quadratic_gap(df, w, penalty, positive), rel=1e-10)


@pytest.mark.parametrize("pen", [P.L1(0.05), P.MCP(0.05, 3.0)], ids=["l1", "mcp"])
def test_first_pass_column_norms_equal_the_datafits(pen):
    """A dense X without offset gets its column norms from the first scoring pass (``_first_scores``), not
    from the datafit: they equal the datafit's own ``‖X_j‖²`` to rounding on awkward columns (zero, one
    row's worth, 1e150 whose square overflows to inf, 1e-160 whose square underflows), the datafit keeps
    them, and the solve equals one given the datafit's norms (the other branch) to rounding."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((37, 9))
    X[:, 2] = 0.0
    X[1:, 4] = 0.0
    X[:, 6] *= 1e-160
    y = X[:, [0, 1, 3]] @ [1.0, -2.0, 0.5] + 0.1 * rng.standard_normal(37)
    big = X.copy()
    big[:, 7] = 1e150
    for data in (X, big, X[:1], X[:, :1]):
        df = Quadratic(data, y[:data.shape[0]])
        assert getattr(df, "_norms2", None) is None
        res = cd.solve(df, pen, tol=1e-12, max_iter=1000)
        ref = np.einsum("ij,ij->j", data, data)
        np.testing.assert_allclose(df._norms2, ref, rtol=1e-14)  # inf where ref is inf, 0 where it is 0
        if np.all(np.isfinite(ref)):
            other = Quadratic(data, y[:data.shape[0]])
            other._col_norms2()  # formed by the datafit first: the solve takes the plain branch
            again = cd.solve(other, pen, tol=1e-12, max_iter=1000)
            np.testing.assert_allclose(res.coef, again.coef, rtol=1e-9, atol=1e-12)
            assert res.converged and again.converged
