"""pytest plugin: run scikit-learn's own linear-model test modules against proxgan's estimators.

Loaded with ``-p sklearn_swap`` (this folder on ``PYTHONPATH``) in a separate pytest run of
``--pyargs sklearn.linear_model.tests.test_ridge ...``. While each test module is being
imported, the names proxgan provides (:data:`NAMES`) are rebound in ``sklearn.linear_model``
to proxgan's, so that the module's ``from sklearn.linear_model import Lasso, ...`` (and every
parametrisation built at import time) binds ours; scikit-learn's own namespace is restored as
soon as the module is collected, so scikit-learn's other estimators and internals are untouched.
Nothing of scikit-learn's test code is copied. Tests that cannot reach any of those names (they
exercise scikit-learn's other estimators, e.g. ``RidgeCV`` or the multi-task models) are left out
at collection (:func:`pytest_collection_modifyitems`), and listed in the results.

Environment:

``PROXGAN_SKLEARN_SWAP``
    ``"1"`` (default) rebinds; ``"0"`` runs scikit-learn's estimators (the baseline).
``PROXGAN_SKLEARN_RESULTS``
    A path: the outcome of every test (``passed``/``failed``/``skipped``) and the first line of
    every failure are written there as JSON (``{"outcomes": ..., "reasons": ..., "left_out": [...]}``).
``PROXGAN_SKLEARN_ALL``
    ``"1"`` keeps the tests that cannot reach a swapped name too.
"""
from __future__ import annotations

import json
import os

import pytest

__all__ = ["NAMES"]

NAMES = ("ElasticNet", "ElasticNetCV", "Lasso", "LassoCV", "LogisticRegression", "Ridge", "enet_path",
         "lasso_path", "HuberRegressor", "QuantileRegressor", "PoissonRegressor", "GammaRegressor")

_SWAP = os.environ.get("PROXGAN_SKLEARN_SWAP", "1") == "1"
_saved: dict = {}
_outcomes: dict[str, str] = {}
_reasons: dict[str, str] = {}
_left_out: list[str] = []


def _bind(ours: bool) -> None:
    import sklearn.linear_model as sklm
    if ours:
        import proxgan.linear_model as plm
        for name in NAMES:
            _saved.setdefault(name, getattr(sklm, name))
            setattr(sklm, name, getattr(plm, name))
    else:
        for name, obj in _saved.items():
            setattr(sklm, name, obj)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    swap = _SWAP and isinstance(collector, pytest.Module)
    if swap:
        _bind(True)
    try:
        yield
    finally:
        if swap:
            _bind(False)


def pytest_runtest_logreport(report):
    prev = _outcomes.get(report.nodeid)
    if report.failed:
        _outcomes[report.nodeid] = "failed"
        crash = getattr(report.longrepr, "reprcrash", None)
        _reasons.setdefault(report.nodeid, (crash.message if crash else str(report.longrepr))[:300])
    elif report.skipped and prev != "failed":
        _outcomes[report.nodeid] = "skipped"
    elif report.when == "call" and report.passed and prev is None:
        _outcomes[report.nodeid] = "passed"


def pytest_sessionfinish(session):
    path = os.environ.get("PROXGAN_SKLEARN_RESULTS")
    if path:
        with open(path, "w") as fh:
            json.dump({"outcomes": _outcomes, "reasons": _reasons, "left_out": _left_out}, fh, indent=0,
                      sort_keys=True)


def _names(code, out: set) -> set:
    """The global and attribute names and the string constants of ``code`` and of its nested code."""
    out.update(code.co_names)
    for c in code.co_consts:
        if isinstance(c, str):
            out.add(c)
        elif hasattr(c, "co_names"):
            _names(c, out)
    return out


def _touches(fn, module: str, seen: set) -> bool:
    """Whether ``fn`` or a function of ``module`` it names (recursively) names one of :data:`NAMES`."""
    code = getattr(fn, "__code__", None)
    if code is None or code in seen:
        return False
    seen.add(code)
    names = _names(code, set())
    if names & set(NAMES):
        return True
    glob = getattr(fn, "__globals__", {})
    return any(_touches(glob[n], module, seen) for n in names
               if getattr(glob.get(n), "__module__", None) == module)


def _named(value) -> bool:
    """Whether a parametrisation value is (or holds) one of :data:`NAMES`: the name itself, the class or
    function of that name (proxgan's, or scikit-learn's in the baseline run), or an instance of it."""
    if isinstance(value, (list, tuple, dict)):
        return any(_named(v) for v in (value.values() if isinstance(value, dict) else value))
    if isinstance(value, str):
        return value in NAMES
    return getattr(value, "__name__", None) in NAMES or type(value).__name__ in NAMES


def pytest_collection_modifyitems(config, items):
    """Leave out the tests that cannot reach a name of :data:`NAMES`: their function, the functions of
    their module it names (recursively), their fixtures of that module and their parametrisation name
    none of them, so they run scikit-learn's other estimators only (``RidgeCV``, ``LogisticRegressionCV``,
    the multi-task models, private helpers). The decision is static, the same with and without the
    swap. ``PROXGAN_SKLEARN_ALL=1`` keeps every test."""
    if os.environ.get("PROXGAN_SKLEARN_ALL") == "1":
        return
    keep, drop = [], []
    for item in items:
        fn = getattr(item, "function", None)
        module = getattr(fn, "__module__", "")
        seen: set = set()
        hit = fn is not None and _touches(fn, module, seen)
        params = getattr(getattr(item, "callspec", None), "params", {})
        hit = hit or any(_named(v) or _touches(v, module, seen) for v in params.values())
        info = getattr(item, "_fixtureinfo", None)
        for name in getattr(info, "name2fixturedefs", {}) if not hit else ():
            for fdef in info.name2fixturedefs[name]:
                if getattr(fdef.func, "__module__", "") == module and _touches(fdef.func, module, seen):
                    hit = True
        (keep if hit else drop).append(item)
    items[:] = keep
    _left_out.extend(item.nodeid for item in drop)
    config.hook.pytest_deselected(items=drop)
