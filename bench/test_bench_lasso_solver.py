"""pytest-benchmark micro-benchmarks of the Lasso solvers (``make bench``).

Timing only (no assertions on time): proxgan's CD and FISTA and, when installed, skglm and
celer, on the small problems L4 and L5 of bench/PROTOCOL.md at tolerance 1e-6·P(0).
The full side-by-side protocol with ratios is ``python bench/bench_lasso.py``.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from lasso_problems import lasso_gap, make_problem  # noqa: E402


def _fitters():
    from proxgan.linear_model import Lasso
    out = {"proxgan-cd": lambda a: Lasso(alpha=a, fit_intercept=False, tol=5e-7, max_iter=100000),
           "proxgan-fista": lambda a: Lasso(alpha=a, fit_intercept=False, tol=5e-7, max_iter=100000, solver="fista")}
    try:
        from skglm import Lasso as S
        out["skglm"] = lambda a: S(alpha=a, fit_intercept=False, tol=1e-6)
    except ImportError:
        pass
    try:
        from celer import Lasso as C
        out["celer"] = lambda a: C(alpha=a, fit_intercept=False, tol=5e-8)
    except ImportError:
        pass
    return out


CASES = [(name, pid) for pid in ("L4", "L5") for name in _fitters() if (name, pid) != ("proxgan-fista", "L5")]


@pytest.mark.parametrize("name,pid", CASES)
def test_lasso_time_to_tolerance(benchmark, name, pid):
    X, y, a = make_problem(pid)
    make = _fitters()[name]
    make(a).fit(X[:30, :40], y[:30])  # JIT warm-up
    model = benchmark.pedantic(lambda: make(a).fit(X, y), rounds=3, iterations=1)
    benchmark.extra_info["gap_over_P0"] = float(lasso_gap(X, y, model.coef_, a) / (0.5 * (y @ y) / len(y)))
