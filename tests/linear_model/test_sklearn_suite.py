"""scikit-learn's own linear-model tests, run against proxgan's estimators.

The installed scikit-learn's test modules (:data:`MODULES`, and :data:`MODULES_GLM` for the
robust, quantile and GLM regressors) are run in a separate pytest
process through the plugin :mod:`sklearn_swap`, with the names proxgan provides rebound to
proxgan's estimators. The tests that do not pass there are run again as published, with
scikit-learn's estimators (the baseline): only those that pass with scikit-learn's count
against ours. Among the tests that pass with scikit-learn's estimators, minus a short
allow-list of tests that assert scikit-learn internals (:data:`ALLOWED`, each with its
reason), the fraction that also passes with ours is reported and checked. (Running the
baseline only on what failed with ours halves the work; a test that passes with ours is
taken to pass with scikit-learn's, whose release ran it.) Tests that never name one of the
swapped estimators or functions (:data:`sklearn_swap.NAMES`) are left out by the plugin: they
run scikit-learn's other estimators only, and their count is reported.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MODULES = ("sklearn.linear_model.tests.test_coordinate_descent",
           "sklearn.linear_model.tests.test_sparse_coordinate_descent",
           "sklearn.linear_model.tests.test_ridge",
           "sklearn.linear_model.tests.test_logistic")

#: Passing fraction required among the baseline-passing tests outside the allow-list.
TARGET = 0.95

# Tests that check scikit-learn internals rather than the estimators' behaviour, by the
# prefix of their name (a parametrised test is listed once), with the reason.
_CALLBACKS = "scikit-learn's experimental callback API (set_callbacks) hooked into its own L-BFGS"
ALLOWED = {
    "test_logistic_regression_callback_fitted_estimator": _CALLBACKS,
    "test_logistic_regression_callback_support": _CALLBACKS,
    "test_logistic_regression_callback_support_warning": _CALLBACKS,
    "test_logistic_cv_multinomial_score": "calls the private helper _log_reg_scoring_path with the estimator's "
                                          "parameters (proxgan's `device` is not one of its arguments)",
    "test_lassoCV_does_not_set_precompute": "monkeypatches the private sklearn.linear_model._coordinate_descent.Lasso",
    "test_warm_start_convergence_with_regularizer_decrement": "compares exact n_iter_ of scikit-learn's cyclic CD",
    "test_n_iter": "exact n_iter_ of scikit-learn's sag / lsqr Ridge solvers",
}

#: scikit-learn's test modules of the estimators of robust, quantile and GLM regression
MODULES_GLM = ("sklearn.linear_model.tests.test_quantile",
               "sklearn.linear_model.tests.test_huber",
               "sklearn.linear_model._glm.tests.test_glm")

ALLOWED_GLM = {
    "test_error_interior_point_future": "monkeypatches scikit-learn's private sklearn.linear_model._quantile.sp_version",
    "test_linalg_warning_with_newton_solver": "expects scikit-learn's LinAlgWarning text from its own Newton solver",
}

#: the suites: (name, modules, allow-list)
SUITES = {"cd-ridge-logistic": (MODULES, ALLOWED), "quantile-huber-glm": (MODULES_GLM, ALLOWED_GLM)}

_HERE = Path(__file__).resolve().parent


def _run(swap: bool, out: Path, modules: tuple[str, ...], only: list[str] | None = None) -> dict:
    """Run ``modules`` (``only``: at least the tests of these node ids) in a new pytest process; its results."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_HERE), os.environ.get("PYTHONPATH", "")]),
               PROXGAN_SKLEARN_SWAP="1" if swap else "0", PROXGAN_SKLEARN_RESULTS=str(out))
    cmd = [sys.executable, "-m", "pytest", "-p", "sklearn_swap", "-p", "no:cacheprovider", "-q", "--tb=no",
           "-W", "ignore", "--pyargs", *modules]
    if only is not None:  # the test functions of these node ids (every parametrisation: a superset)
        cmd += ["-k", " or ".join(sorted({t.split("::")[-1].split("[")[0] for t in only}))]
    proc = subprocess.run(cmd, cwd=out.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=1800)
    assert proc.returncode in (0, 1), proc.stderr.decode()[-2000:]
    return json.loads(out.read_text())


def _allowed(nodeid: str, allowed: dict[str, str]) -> str | None:
    name = nodeid.split("::", 1)[-1]
    for prefix, reason in allowed.items():
        if name == prefix or name.startswith(prefix + "["):
            return reason
    return None


@pytest.mark.slow
@pytest.mark.parametrize("suite", list(SUITES))
def test_sklearn_suite_with_proxgan_estimators(tmp_path, suite):
    modules, allowed_list = SUITES[suite]
    pytest.importorskip(modules[0], reason="this scikit-learn was installed without its tests")
    ours = _run(True, tmp_path / "ours.json", modules)
    again = sorted(t for t, o in ours["outcomes"].items() if o != "passed")
    base = _run(False, tmp_path / "sklearn.json", modules, again)["outcomes"] if again else {}
    assert set(again) <= set(base), "the baseline did not run every test that did not pass with ours"
    base = {t: base[t] for t in again}
    eligible = sorted([t for t, o in ours["outcomes"].items() if o == "passed"] +
                      [t for t, o in base.items() if o == "passed"])
    allowed = [t for t in eligible if _allowed(t, allowed_list)]
    counted = [t for t in eligible if not _allowed(t, allowed_list)]
    failing = [t for t in counted if ours["outcomes"].get(t) != "passed"]
    frac = 1 - len(failing) / len(counted)
    print(f"\nscikit-learn's {suite} suite: {len(ours['left_out'])} tests left out (they never name a swapped "
          f"estimator); {len(eligible)} tests pass with scikit-learn's estimators; "
          f"{len(allowed)} allow-listed ({len(allowed) / len(eligible):.1%}); "
          f"{len(counted) - len(failing)}/{len(counted)} = {frac:.1%} pass with proxgan's (target {TARGET:.0%})")
    for t in failing[:40]:
        print("  FAIL", t, "--", ours["reasons"].get(t, ours["outcomes"].get(t, "not run"))[:160])
    assert len(allowed) <= 0.05 * len(eligible)
    assert frac >= TARGET
