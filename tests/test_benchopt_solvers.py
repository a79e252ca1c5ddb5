"""bench/benchopt/ solver files through benchopt's own solver API (real ``BaseObjective`` /
``BaseSolver`` machinery: ``_set_objective``, ``_warm_up`` / ``run_once``, ``run(n_iter)``,
``get_result``, the objective's ``__call__``), on tiny objectives of the benchmarks' form:
benchopt's iteration sampling sees a non-increasing objective that reaches the optimum."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from benchopt import BaseObjective, BaseSolver

ROOT = Path(__file__).resolve().parents[1] / "bench" / "benchopt"


def load_solver(name):
    spec = importlib.util.spec_from_file_location(f"benchopt_solver_{name}", ROOT / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert issubclass(mod.Solver, BaseSolver)
    return mod.Solver


class LassoObjective(BaseObjective):
    """benchmark_lasso's objective: ½‖y − Xβ − b‖² + λ‖β‖₁, λ = reg · λ_max."""

    name = "Lasso (test)"
    parameters = {"fit_intercept": [True, False], "reg": [0.1]}

    def __init__(self, reg=0.1, fit_intercept=False):
        self.reg, self.fit_intercept = reg, fit_intercept

    def set_data(self, X, y):
        self.X, self.y = X, y
        yc = y - y.mean() if self.fit_intercept else y
        self.lmbd = self.reg * np.abs(X.T @ yc).max()

    def get_one_result(self):
        return dict(beta=np.zeros(self.X.shape[1] + self.fit_intercept))

    def evaluate_result(self, beta):
        p = self.X.shape[1]
        r = self.y - self.X @ beta[:p] - (beta[p] if self.fit_intercept else 0.0)
        return dict(value=0.5 * r @ r + self.lmbd * np.abs(beta[:p]).sum())

    def get_objective(self):
        return dict(X=self.X, y=self.y, lmbd=self.lmbd, fit_intercept=self.fit_intercept)


class LogregObjective(BaseObjective):
    """benchmark_logreg_l1's objective: Σ log(1 + exp(−y xᵀβ)) + λ‖β‖₁, λ = reg · ‖Xᵀy‖∞ / 2."""

    name = "L1 logistic (test)"
    parameters = {"reg": [0.1]}

    def __init__(self, reg=0.1):
        self.reg = reg

    def set_data(self, X, y):
        self.X, self.y = X, y
        self.lmbd = self.reg * np.abs(X.T @ y).max() / 2

    def get_one_result(self):
        return dict(beta=np.zeros(self.X.shape[1]))

    def evaluate_result(self, beta):
        return dict(value=np.logaddexp(0.0, -self.y * (self.X @ beta)).sum() + self.lmbd * np.abs(beta).sum())

    def get_objective(self):
        return dict(X=self.X, y=self.y, lmbd=self.lmbd)


def correlated(n, p, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1:] = 0.6 * X[:, :-1] + 0.8 * X[:, 1:]
    return X, X[:, :5] @ rng.standard_normal(5) + 0.3 * rng.standard_normal(n) + 1.0


def sampled_values(objective, solver, n_iters):
    skip, reason = solver._set_objective(objective)
    assert not skip, reason
    solver._warm_up()
    out = []
    for k in n_iters:
        solver.run(k)
        out.append(objective(solver.get_result())[0]["objective_value"])
    return np.array(out)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_lasso_solver_file(fit_intercept):
    import sklearn.linear_model as skl

    X, y = correlated(40, 60, 0)
    obj = LassoObjective(reg=0.1, fit_intercept=fit_intercept)
    obj.set_data(X=X, y=y)
    values = sampled_values(obj, load_solver("proxgan_lasso")(), range(0, 12))
    ref = skl.Lasso(alpha=obj.lmbd / len(y), fit_intercept=fit_intercept, tol=1e-14, max_iter=10 ** 6).fit(X, y)
    best = obj.evaluate_result(np.r_[ref.coef_, [ref.intercept_] if fit_intercept else []])["value"]
    assert np.all(np.diff(values) <= 1e-12 * values[0])  # more iterations never higher
    assert values[1] < values[0] and values[-1] - best <= 1e-10 * values[0]


def test_logreg_solver_file():
    X, y = correlated(50, 80, 1)
    y = np.where(y > np.median(y), 1.0, -1.0)
    obj = LogregObjective(reg=0.1)
    obj.set_data(X=X, y=y)
    values = sampled_values(obj, load_solver("proxgan_logreg_l1")(), range(0, 12))
    from proxgan.datafits import Logistic
    from proxgan.penalties import L1
    from proxgan.solvers import cd
    ref = cd.solve(Logistic(X, y), L1(obj.lmbd / len(y)), tol=1e-13, max_iter=10 ** 4)
    best = obj.evaluate_result(ref.coef)["value"]
    assert np.all(np.diff(values) <= 1e-12 * values[0])
    assert values[1] < values[0] and values[-1] - best <= 1e-9 * values[0]
