"""MCPRegression, SCADRegression and SparseLogisticRegression: the objective, the critical point, the solution.

References: skglm's estimators when skglm (the ``bench`` extra) is installed; always, an independent
solve of the same objective (proxgan's FISTA to a tight tolerance, or proxgan's LogisticRegression).
The FISTA comparison uses a design where the objective is strongly convex although the penalty is not
(the smallest eigenvalue of XᵀX/n exceeds the penalty's concavity, 1/γ for MCP and 1/(γ−1) for SCAD),
so that there is one minimiser and any two correct solvers must find it.
"""
import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from proxgan.datafits import Logistic, Quadratic
from proxgan.linear_model import LogisticRegression, MCPRegression, SCADRegression, SparseLogisticRegression
from proxgan.penalties import MCP, SCAD, GroupL1, L1, LogSum
from proxgan.solvers import fista

def _problem(n, p, seed=0, k=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[:k] = rng.choice([-1, 1], k) * rng.uniform(1.0, 3.0, k)
    y = X @ beta + 0.5 * rng.standard_normal(n) + 2.0  # an intercept to recover
    return X, y, beta


def _grad(X, y, w, b):
    return -X.T @ (y - X @ w - b) / X.shape[0]


def _stationarity(pen, X, y, w, b):
    """The largest distance of −∇f to the (limiting) subdifferential of the penalty, by the penalty itself."""
    g = torch.from_numpy(_grad(X, y, w, b))
    return float(pen.subdiff_distance(torch.from_numpy(w), g).max())


CASES = [(MCPRegression, MCP, 3.0), (SCADRegression, SCAD, 3.7)]


@pytest.mark.parametrize("est_cls, pen_cls, gamma", CASES, ids=["mcp", "scad"])
def test_unique_minimiser_equals_fista(est_cls, pen_cls, gamma):
    X, y, beta = _problem(200, 20)
    lam_min = np.linalg.eigvalsh(np.cov(X.T, bias=True)).min()
    assert lam_min > 1 / (gamma - (pen_cls is SCAD))  # the objective is strongly convex: one minimiser
    alpha = 0.2
    est = est_cls(alpha, gamma, tol=1e-10).fit(X, y)
    Xc, yc = X - X.mean(0), y - y.mean()
    ref = fista.solve(Quadratic(Xc, yc), pen_cls(alpha, gamma), tol=1e-12, max_iter=20000)
    assert ref.converged
    np.testing.assert_allclose(est.coef_, ref.coef, atol=1e-8)
    assert est.intercept_ == pytest.approx(y.mean() - X.mean(0) @ ref.coef, abs=1e-8)
    # exact zeros, the true support found, large coefficients not shrunk (|w| > γα: no bias)
    assert np.array_equal(est.coef_ != 0, beta != 0)
    big = np.abs(est.coef_) > gamma * alpha
    assert big.sum() >= 4
    ols = np.linalg.lstsq(np.column_stack([Xc[:, :5]]), yc, rcond=None)[0]
    np.testing.assert_allclose(est.coef_[:5][big[:5]], ols[big[:5]], atol=1e-8)


@pytest.mark.parametrize("est_cls, pen_cls, gamma", CASES, ids=["mcp", "scad"])
def test_critical_point_when_p_exceeds_n(est_cls, pen_cls, gamma):
    """p > n: the objective is not convex; the fit is a stationary point with exact zeros."""
    X, y, beta = _problem(60, 150, seed=1)
    alpha = 0.15
    est = est_cls(alpha, gamma, tol=1e-10).fit(X, y)
    assert est.optimality_ <= 1e-10
    assert _stationarity(pen_cls(alpha, gamma), X, y, est.coef_, est.intercept_) <= 1e-8
    assert abs(np.mean(y - X @ est.coef_ - est.intercept_)) <= 1e-10  # the intercept's own condition
    assert 0 < np.count_nonzero(est.coef_) < 30


def test_warm_start_and_sample_weight():
    X, y, _ = _problem(80, 40, seed=2)
    est = MCPRegression(0.1, tol=1e-10).fit(X, y)
    n0 = est.n_iter_
    est.set_params(warm_start=True).fit(X, y)
    assert est.n_iter_ < n0 and est.optimality_ <= 1e-10
    # integer weights = repeated rows (a non-convex fit from the same start reaches the same point)
    w = np.random.default_rng(0).integers(0, 3, X.shape[0])
    a = MCPRegression(0.1, tol=1e-12).fit(X, y, sample_weight=w)
    b = MCPRegression(0.1, tol=1e-12).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-8)


def test_bad_input_leaves_the_fit():
    X, y, _ = _problem(40, 10)
    est = MCPRegression(0.1).fit(X, y)
    coef = est.coef_.copy()
    for bad in (dict(alpha=-1.0), dict(gamma=0.0), dict(tol=-1.0)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            est.set_params(**bad).fit(X, y)
        est.set_params(alpha=0.1, gamma=3.0, tol=1e-4)
        np.testing.assert_array_equal(est.coef_, coef)
    with pytest.raises(ValueError, match="gamma"):
        SCADRegression(gamma=2.0).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_non_finite_design_is_refused(bad):
    """X is checked for NaN / infinity through its column norms (``check_finite_design``), not by
    scikit-learn's scan of every entry: every layout, centring and a zero sample weight on the bad row
    (0·inf is NaN) still get scikit-learn's error, and finite entries whose squares overflow are no error."""
    import scipy.sparse as sp

    X, y, _ = _problem(30, 8)
    Xb = X.copy()
    Xb[0, 3] = bad
    sw = np.r_[0.0, np.ones(29)]
    for make in (np.asarray, sp.csc_matrix, sp.csr_matrix, torch.from_numpy):
        for fit_intercept in (True, False):
            for weights in (None, sw):
                with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
                    SCADRegression(0.1, fit_intercept=fit_intercept).fit(make(Xb), y, sample_weight=weights)
    with pytest.warns(ConvergenceWarning):  # overflow: the solver's report, as before, not a NaN error
        MCPRegression(0.1).fit(X * 1e200, y)


def _binary(n=300, p=30, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    z = X[:, 0] - 2 * X[:, 1] + X[:, 2] + 0.5
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-z)), "yes", "no")
    return X, y


def test_sparse_logistic_l1_equals_logistic_regression():
    """Default penalty: (1/n)Σ log(1+e^{-y(xw+b)}) + α‖w‖₁ is scikit-learn's L1 problem with C = 1/(αn)."""
    X, y = _binary()
    alpha = 0.02
    est = SparseLogisticRegression(alpha, tol=1e-10).fit(X, y)
    ref = LogisticRegression(C=1 / (alpha * X.shape[0]), l1_ratio=1.0, solver="cd", tol=1e-10,
                             max_iter=10000).fit(X, y)
    assert list(est.classes_) == ["no", "yes"]
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-7)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, atol=1e-7)
    assert 3 <= np.count_nonzero(est.coef_) < 30
    np.testing.assert_allclose(est.predict_proba(X)[:, 1], ref.predict_proba(X)[:, 1], atol=1e-7)


@pytest.mark.parametrize("pen", [MCP(1.0, 3.0), LogSum(1.0, 0.5)], ids=["mcp", "logsum"])
def test_sparse_logistic_nonconvex_critical_point(pen):
    X, y = _binary(seed=4)
    alpha = 0.03
    est = SparseLogisticRegression(alpha, pen, tol=1e-9).fit(X, y)
    assert pen.lam == 1.0  # the user's instance is not modified
    w, b = est.coef_[0].astype(np.float64), float(est.intercept_[0])
    yy = np.where(y == est.classes_[1], 1.0, -1.0)
    df = Logistic(np.hstack([X, np.ones((X.shape[0], 1))]), yy)
    g = df.grad(torch.from_numpy(np.append(w, b)))
    used = type(pen)(alpha, *([3.0] if isinstance(pen, MCP) else [0.5]))
    assert abs(float(g[-1])) <= 1e-9  # the intercept is unpenalised
    assert float(used.subdiff_distance(torch.from_numpy(w), g[:-1]).max()) <= 1e-7
    assert 3 <= np.count_nonzero(w) < 30 and np.all(w[:3] != 0)  # exact zeros; the true features kept


def test_sparse_logistic_refuses_bad_penalties_and_classes():
    X, y = _binary(n=60, p=5)
    with pytest.raises(ValueError, match="separable penalty"):
        SparseLogisticRegression(0.1, GroupL1(1.0)).fit(X, y)
    with pytest.raises(ValueError, match="binary"):
        SparseLogisticRegression(0.1).fit(X, np.arange(60) % 3)
    est = SparseLogisticRegression(0.05, L1(1.0)).fit(X, y)
    coef = est.coef_.copy()
    with pytest.raises(ValueError):
        est.set_params(alpha=float("nan")).fit(X, y)
    np.testing.assert_array_equal(est.coef_, coef)


@pytest.mark.slow  # skglm's first fits compile for about 20 s each
@pytest.mark.parametrize("which", ["mcp", "scad", "logistic"])
def test_equals_skglm(which):
    """The same objective as skglm's estimators, and the same critical point from zero when p > n."""
    pytest.importorskip("skglm")  # the bench extra: the comparisons above run without it
    from skglm import GeneralizedLinearEstimator
    from skglm import SparseLogisticRegression as SkSparseLogisticRegression
    from skglm.datafits import Quadratic as SkQuadratic
    from skglm.penalties import SCAD as SkSCAD
    from skglm.penalties import MCPenalty
    from skglm.solvers import AndersonCD

    if which == "logistic":
        X, y = _binary()
        est = SparseLogisticRegression(0.02, tol=1e-10).fit(X, y)
        ref = SkSparseLogisticRegression(0.02, tol=1e-10, max_iter=100).fit(X, y)
    else:
        X, y, _ = _problem(60, 150, seed=1)
        est = (MCPRegression if which == "mcp" else SCADRegression)(0.15, tol=1e-10).fit(X, y)
        pen = MCPenalty(0.15, 3.0) if which == "mcp" else SkSCAD(0.15, 3.7)
        ref = GeneralizedLinearEstimator(SkQuadratic(), pen, AndersonCD(tol=1e-12, fit_intercept=True)).fit(X, y)
    np.testing.assert_allclose(np.ravel(est.coef_), np.ravel(ref.coef_), atol=1e-6)
    np.testing.assert_allclose(np.ravel(est.intercept_), np.ravel(ref.intercept_), atol=1e-6)
    assert np.array_equal(np.ravel(est.coef_) != 0, np.ravel(ref.coef_) != 0)


@pytest.mark.parametrize("est_cls, pen_cls, gamma", CASES, ids=["mcp", "scad"])
def test_first_working_set_rule_and_both_branches(est_cls, pen_cls, gamma):
    """The one rule for the first working set (``cd.default_p0`` for a non-convex code: p/10 when n >= p, else
    skglm's 10) and what the estimator does with it: with n >= p it reaches the point that ``cd.solve`` with
    ``p0=10`` reaches (the objective is strongly convex here, one minimiser), both stationary; with p > n it is
    ``p0=10`` itself, the same coefficients bit for bit."""
    from proxgan.kernels.fused_penalty import Code
    from proxgan.solvers import cd

    def rule(n, p, code=pen_cls.__name__):
        return cd.default_p0(Quadratic(np.zeros((n, p), order="F"), np.zeros(n)), Code[code])

    assert [rule(n, p) for n, p in [(5000, 500), (500, 500), (499, 500), (20, 2000), (50, 40)]] \
        == [50, 50, 10, 10, 10]
    assert rule(499, 500, "L1") == 99  # a convex penalty keeps the least-squares rule (a fifth of min(n, p))
    alpha = 0.05
    X, y, _ = _problem(2000, 300, seed=3, k=40)
    assert rule(*X.shape) == 30
    Xc, yc = X - X.mean(0), y - y.mean()
    assert np.linalg.eigvalsh(Xc.T @ Xc / len(y)).min() > 1 / (gamma - (pen_cls is SCAD))
    est = est_cls(alpha, gamma, tol=1e-10).fit(X, y)
    ref = cd.solve(Quadratic(np.asfortranarray(Xc), yc), pen_cls(alpha, gamma), tol=1e-10, max_iter=1000, p0=10)
    assert ref.converged and np.count_nonzero(ref.coef) >= 30  # a support larger than the first working set
    np.testing.assert_allclose(est.coef_, ref.coef, atol=1e-9)
    assert np.array_equal(est.coef_ != 0, ref.coef != 0)
    pen = pen_cls(alpha, gamma)
    assert _stationarity(pen, X, y, est.coef_, est.intercept_) <= 2e-10
    assert _stationarity(pen, Xc, yc, ref.coef, 0.0) <= 2e-10
    Xw, yw, _ = _problem(40, 120, seed=2)  # p > n: skglm's p0
    wide = est_cls(0.1, gamma, tol=1e-10, fit_intercept=False).fit(Xw, yw)
    ref_w = cd.solve(Quadratic(np.asfortranarray(Xw), yw), pen_cls(0.1, gamma), tol=1e-10, max_iter=1000, p0=10)
    assert np.array_equal(wide.coef_, ref_w.coef)
