"""Coordinate descent and FISTA on the Huber, Poisson, Gamma and Quantile datafits: optimality at
the solution, agreement of the two solvers, and solutions against scikit-learn / SciPy."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.optimize import minimize
from sklearn.linear_model import GammaRegressor, PoissonRegressor, QuantileRegressor

from proxgan.datafits import Gamma, Huber, Poisson, Quantile
from proxgan.penalties import L1, L2, ElasticNet
from proxgan.solvers import cd, fista
from proxgan.solvers._common import Composite
from proxgan.solvers._quantile import pinball_objective, solve as solve_quantile


def data(kind, seed=0, n=80, p=10):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:3] = [0.5, -0.3, 0.2]
    z = X @ w + 0.3
    if kind is Poisson:
        y = rng.poisson(np.exp(z)).astype(float)
    elif kind is Gamma:
        y = rng.gamma(2.0, np.exp(z) / 2.0)
    else:
        y = z + rng.standard_t(2, n)
    return X, y, rng.uniform(0.5, 2.0, n)


def objective(df, pen, w):
    wt = torch.from_numpy(w)
    p = df.X.shape[1]
    return float(df.value(wt)) + float(pen.value(wt[:p]))


CASES = [(Huber, {"epsilon": 1.2}), (Poisson, {}), (Gamma, {}), (Quantile, {"quantile": 0.7, "smoothing": 0.1})]


@pytest.mark.parametrize("kind,kw", CASES)
@pytest.mark.parametrize("sparse", [False, True])
def test_cd_optimal_and_agrees_with_fista(kind, kw, sparse):
    X, y, sw = data(kind)
    df = kind(sp.csc_matrix(X) if sparse else X, y, sample_weight=sw, intercept=True, **kw)
    pen = ElasticNet(0.05, 0.8)
    res = cd.solve(df, pen, tol=1e-10)
    assert res.converged and res.criterion == "optimality"
    w = res.coef
    assert np.count_nonzero(w[:-1]) < X.shape[1]  # the L1 part is active: exact zeros
    comp = Composite(pen, n_free=1)
    grad = df.grad(torch.from_numpy(w))
    assert comp.optimality(torch.from_numpy(w), grad) < 1e-8  # fixed point of the prox-gradient map
    ref = fista.solve(df, comp, tol=1e-10, max_iter=20000)
    assert ref.converged
    assert objective(df, pen, w) == pytest.approx(objective(df, pen, ref.coef), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(w, ref.coef, atol=1e-6)


@pytest.mark.parametrize("kind,sk", [(Poisson, PoissonRegressor), (Gamma, GammaRegressor)])
def test_log_link_against_sklearn(kind, sk):
    X, y, sw = data(kind)
    alpha = 0.05
    ref = sk(alpha=alpha, tol=1e-12, max_iter=10000).fit(X, y, sample_weight=sw)
    res = cd.solve(kind(X, y, sample_weight=sw, intercept=True), L2(alpha), tol=1e-12)
    assert res.converged
    np.testing.assert_allclose(res.coef[:-1], ref.coef_, rtol=1e-6, atol=1e-8)
    assert res.coef[-1] == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-8)


def test_huber_against_scipy():
    X, y, sw = data(Huber)
    df = Huber(X, y, 1.0, sample_weight=sw, intercept=True)
    alpha = 0.02
    res = cd.solve(df, L2(alpha), tol=1e-12)

    def fun(v):
        r = y - X @ v[:-1] - v[-1]
        a = np.abs(r)
        loss = sw @ np.where(a <= 1, 0.5 * r * r, a - 0.5) / sw.sum() + 0.5 * alpha * v[:-1] @ v[:-1]
        g = -np.clip(r, -1, 1) * sw / sw.sum()
        return loss, np.append(X.T @ g + alpha * v[:-1], g.sum())

    ref = minimize(fun, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 0})
    np.testing.assert_allclose(res.coef, ref.x, atol=1e-6)
    assert objective(df, L2(alpha), res.coef) <= ref.fun + 1e-12


@pytest.mark.parametrize("method,inner", [("frisch-newton", "cd"), ("smoothing", "cd"), ("smoothing", "fista")])
@pytest.mark.parametrize("alpha,sparse", [(0.02, False), (0.0, False), (0.05, True)])
def test_quantile_exact_against_highs(method, inner, alpha, sparse):
    X, y, sw = data(Quantile, n=120, p=6)
    tau = 0.3
    ref = QuantileRegressor(quantile=tau, alpha=alpha, solver="highs").fit(X, y, sample_weight=sw)
    df = Quantile(sp.csc_matrix(X) if sparse else X, y, tau, sample_weight=sw, intercept=True)
    l1 = np.full(X.shape[1], alpha)
    res = solve_quantile(df, L1(alpha), tol=1e-10, method=method, inner=inner, max_iter=5000)
    assert res.converged and res.criterion == "gap"
    P = pinball_objective(df, res.coef, l1)
    P_ref = pinball_objective(df, np.append(ref.coef_, ref.intercept_), l1)
    assert res.crit <= 1e-10 * P
    assert P <= P_ref * (1 + 1e-9)  # never worse than HiGHS ...
    assert P >= P_ref - res.crit - 1e-12  # ... and the certificate is honest


@pytest.mark.parametrize("intercept,sparse,p", [(False, False, 30), (True, True, 30), (True, False, 150)])
def test_frisch_newton_against_highs_awkward(intercept, sparse, p):
    """Zero and uneven weights, no intercept, sparse input, more features than samples, a
    weighted L1 with unpenalised coordinates: the interior point matches HiGHS to 1e-6."""
    from proxgan.solvers._quantile_ipm import frisch_newton
    from proxgan.solvers._quantile import dual_objective

    rng = np.random.default_rng(3)
    n = 100
    X = rng.standard_normal((n, p))
    X[:, 3] = 0.0  # an empty column
    y = X[:, 0] - 2 * X[:, 1] + rng.standard_t(2, n)
    sw = rng.uniform(0.0, 3.0, n)
    sw[:7] = 0.0
    l1 = np.full(p, 0.01)
    l1[:2] = 0.0  # unpenalised
    df = Quantile(sp.csc_matrix(X) if sparse else X, y, 0.8, sample_weight=sw, intercept=intercept)
    res = solve_quantile(df, L1(1.0, weights=l1), tol=1e-9)
    P = pinball_objective(df, res.coef, l1)
    assert res.converged and res.crit <= 1e-9 * P
    # HiGHS on the LP itself (scikit-learn's formulation; its estimator has no per-feature weights)
    from scipy.optimize import linprog

    S = sw.sum()
    q = p + int(intercept)
    A = np.hstack([X, np.ones((n, 1))]) if intercept else X
    lw = np.concatenate([l1, np.zeros(int(intercept))]) * S
    c = np.concatenate([lw, lw, sw * 0.8, sw * 0.2])
    lp = linprog(c, A_eq=np.hstack([A, -A, np.eye(n), -np.eye(n)]), b_eq=y, method="highs")
    P_ref = lp.fun / S
    assert P == pytest.approx(P_ref, rel=1e-6)
    assert P >= P_ref - res.crit - 1e-12
    coef, u, n_iter, gap = frisch_newton(df, l1, tol=1e-9, certify=lambda w, u: (
        pinball_objective(df, w, l1), pinball_objective(df, w, l1) - dual_objective(df, u, l1)))
    assert n_iter <= 40 and np.all(u[:7] == 0.0) and coef.shape == (q,)
    # the answer is a vertex of the LP (exact zeros, as HiGHS's): as many zero residuals among the
    # weighted samples as free coefficients
    r = (y - df.scores(res.coef))[7:]
    k = np.count_nonzero(res.coef[:p]) + int(intercept)
    assert np.count_nonzero(np.abs(r) <= 1e-9 * np.abs(y).max()) >= k
    assert np.count_nonzero(res.coef[:p]) < p


def test_quantile_solver_rejects_what_it_cannot_certify():
    X, y, _ = data(Quantile)
    df = Quantile(X, y, 0.5, intercept=True)
    with pytest.raises(ValueError, match="L1 penalty"):
        solve_quantile(df, L2(0.1))
    with pytest.raises(ValueError, match="method must be"):
        solve_quantile(df, L1(0.1), method="simplex")
    with pytest.raises(ValueError, match="smoothing > 0"):
        cd.solve(df, L1(0.1))


@pytest.mark.parametrize("kind,kw", CASES)
@pytest.mark.parametrize("sparse", [False, True])
def test_prox_newton_agrees_with_cd(kind, kw, sparse):
    from proxgan.solvers._glm_prox_newton import solve as solve_pn

    X, y, sw = data(kind)
    df = kind(sp.csc_matrix(X) if sparse else X, y, sample_weight=sw, intercept=True, **kw)
    pen = ElasticNet(0.05, 0.8)
    ref = cd.solve(df, pen, tol=1e-10)
    # prox-Newton's backtracking line search compares objective values: below an optimality violation
    # of about 1e-10 the decrease it needs is under the rounding of the objective (Huber stalls at
    # 1.2e-10 with numpy 2.4 / scipy 1.17), so it is asked for 1e-9 and compared with CD's 1e-10 result
    res = solve_pn(df, pen, tol=1e-9)
    assert res.converged and res.crit <= 1e-9 and ref.converged
    assert objective(df, pen, res.coef) == pytest.approx(objective(df, pen, ref.coef), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-6)
    assert np.array_equal(res.coef[:-1] == 0, ref.coef[:-1] == 0)  # the same exact zeros


def test_prox_newton_rejects_other_penalties():
    from proxgan.penalties import L0
    from proxgan.solvers._glm_prox_newton import solve as solve_pn

    X, y, sw = data(Poisson)
    with pytest.raises(ValueError, match="L1, L2 or ElasticNet"):
        solve_pn(Poisson(X, y), L0(0.1))
    with pytest.raises(ValueError, match="smoothing > 0"):
        solve_pn(Quantile(X, y, 0.5), L1(0.1))


@pytest.fixture(scope="module")
def poisson_reference():
    X, y, sw = data(Poisson)
    return X, y, sw, PoissonRegressor(alpha=0.05, solver="newton-cholesky", tol=1e-12).fit(X, y, sample_weight=sw)


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky", "prox-newton"])
@pytest.mark.parametrize("sparse", [False, True])
def test_poisson_estimator_solvers_against_sklearn(solver, sparse, poisson_reference):
    from proxgan.linear_model import PoissonRegressor as PgPoisson

    X, y, sw, ref = poisson_reference
    m = PgPoisson(alpha=0.05, solver=solver, tol=1e-10, max_iter=1000).fit(sp.csr_matrix(X) if sparse else X, y,
                                                                          sample_weight=sw)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-6, atol=1e-7)
    assert m.intercept_ == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-7)


def test_datafit_estimators_do_not_import_torch():
    """The NumPy/numba methods (interior point, L-BFGS, Newton, proximal Newton, CD) never load torch."""
    import subprocess
    import sys

    code = """
import sys, numpy as np
import proxgan.linear_model as lm
from proxgan.penalties import L1
rng = np.random.default_rng(0); X = rng.standard_normal((60, 4)); y = np.abs(X[:, 0]) + 0.1
lm.QuantileRegressor(alpha=0.01).fit(X, y); lm.HuberRegressor().fit(X, y)
lm.PoissonRegressor().fit(X, y); lm.GammaRegressor(solver="newton-cholesky").fit(X, y)
lm.PoissonRegressor(l1_ratio=1.0, solver="prox-newton", alpha=0.01).fit(X, y)
lm.GeneralizedLinearEstimator(penalty=L1(0.01)).fit(X, y)
print("torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False"]
