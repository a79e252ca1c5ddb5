"""pytest plugin: run scikit-learn's own linear-model test modules against proxgan's estimators.

Loaded with ``-p sklearn_swap`` (this folder on ``PYTHONPATH``) in a separate pytest run of
``--pyargs sklearn.linear_model.tests.test_ridge ...``. While each test module is being
imported, the names proxgan provides (:data:`NAMES`) are rebound in ``sklearn.linear_model``
to proxgan's, so that the module's ``from sklearn.linear_model import Lasso, ...`` (and every
parametrisation built at import time) binds ours; scikit-learn's own namespace is restored as
soon as the module is collected, so scikit-learn's other estimators and internals are untouched.
Nothing of scikit-learn's test code is copied.

Environment:

``PROXGAN_SKLEARN_SWAP``
    ``"1"`` (default) rebinds; ``"0"`` runs scikit-learn's estimators (the baseline).
``PROXGAN_SKLEARN_RESULTS``
    A path: the outcome of every test (``passed``/``failed``/``skipped``) and the first line of
    every failure are written there as JSON (``{"outcomes": ..., "reasons": ...}``).
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
            json.dump({"outcomes": _outcomes, "reasons": _reasons}, fh, indent=0, sort_keys=True)
