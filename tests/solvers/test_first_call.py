"""The driver's first call with a cold numba cache (proxgan.solvers._first_call): the interpreted
twin computes what the compiled driver computes, a rejected or over-budget interpreted run
leaves the arguments as they were, a fresh process fits without compiling, and the background
process fills the disk cache that the next process loads."""
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import scipy.sparse as sp

from proxgan import penalties as P
from proxgan.datafits import Logistic, Poisson, Quadratic
from proxgan.solvers import _cd_driver, _cd_glm, _cd_gram, _cd_kernels, _cd_logistic, _first_call, cd

_USERS = (_cd_kernels, _cd_gram, _cd_logistic, _cd_glm)


def _problem(n=50, p=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X[:, :4] @ rng.standard_normal(4) + 0.1 * rng.standard_normal(n)
    return X, y


CASES = {
    "dense-l1": lambda X, y: cd.solve(Quadratic(X, y), P.L1(0.05), tol=1e-10),
    "sparse-enet-pos": lambda X, y: cd.solve(Quadratic(sp.csc_matrix(np.where(np.abs(X) > 1, X, 0)), y),
                                             P.ElasticNet(0.02, 0.5), positive=True, tol=1e-10),
    "gram-l1": lambda X, y: cd.solve(Quadratic(X, y), P.L1(0.05), tol=1e-10, precompute=True),
    "logistic-l1": lambda X, y: cd.solve(Logistic(X, np.where(y > 0, 1.0, -1.0)), P.L1(0.02), tol=1e-8,
                                         intercept=True),
    "dense-l0": lambda X, y: cd.solve(Quadratic(X, y), P.L0(0.01), tol=1e-10),
    "poisson-l1": lambda X, y: cd.solve(Poisson(X / 4, np.floor(np.abs(y)), intercept=True), P.L1(0.01), tol=1e-8),
}


@pytest.mark.parametrize("case", list(CASES))
def test_interpreted_driver_computes_what_the_compiled_one_does(case, monkeypatch):
    X, y = _problem()
    compiled = CASES[case](X, y)
    twin = _first_call.interpreted(_cd_driver.ws_cd)
    for mod in _USERS:
        monkeypatch.setattr(mod, "ws_cd", twin)
    interp = CASES[case](X, y)
    assert compiled.converged and interp.converged
    if case.startswith(("logistic", "poisson")):
        # exp/log of the interpreter and of LLVM differ in the last bit; both runs stop at the same
        # tolerance (optimality violation <= 1e-8), on problems that are not strongly convex
        assert interp.crit <= 1e-8 and compiled.crit <= 1e-8
        np.testing.assert_allclose(interp.coef, compiled.coef, atol=1e-5)
        return
    assert interp.n_iter == compiled.n_iter
    np.testing.assert_allclose(interp.coef, compiled.coef, rtol=1e-12, atol=1e-14)
    # the gap is a difference of O(1) values: the two agree to its rounding (fastmath sums), not further
    np.testing.assert_allclose(interp.crit, compiled.crit, rtol=1e-6, atol=1e-13)


def test_over_budget_run_restores_the_arguments_and_compiles(monkeypatch):
    X, y = _problem(seed=1)
    expected = CASES["dense-l1"](X, y)
    hook = _first_call.FirstCall(_cd_driver.ws_cd)  # as if nothing were compiled or cached yet
    hook.compiled = lambda sig: False
    calls = []
    real_compile = hook.compile_for_args

    def compile_for_args(*args):
        calls.append(args[1].copy())  # w as the compiled run receives it
        return real_compile(*args)

    hook.compile_for_args = compile_for_args
    ticks = []

    def clock():  # every reading is 10 ms later: the budget of 0.1 s ends after ~10 hook calls
        ticks.append(None)
        return 0.01 * len(ticks)

    monkeypatch.setattr(_first_call, "BUDGET_S", 0.1)
    monkeypatch.setattr(_first_call, "_spent", [0.0])
    monkeypatch.setattr(_first_call, "time", type("Clock", (), {"perf_counter": staticmethod(clock),
                                                                 "time": staticmethod(time.time)}))
    monkeypatch.setenv(_first_call.MODE_ENV, "interpret")
    for mod in _USERS:  # what numba's dispatcher does when no compiled code matches
        monkeypatch.setattr(mod, "ws_cd", lambda *args: hook(*args)(*args))
    got = CASES["dense-l1"](X, y)
    assert len(ticks) > 5  # the interpreted run went some way (its epochs had moved w) before it stopped
    assert len(calls) == 1 and not np.any(calls[0])  # the compiled run started again from w = 0
    np.testing.assert_array_equal(got.coef, expected.coef)
    assert got.n_iter == expected.n_iter


def test_compiled_calls_do_not_reach_the_hook():
    X, y = _problem()
    CASES["dense-l1"](X, y)
    assert isinstance(_cd_driver.ws_cd._compile_for_args, _first_call.FirstCall)
    spent = _first_call._spent[0]
    CASES["dense-l1"](X, y)
    assert _first_call._spent[0] == spent and len(_cd_driver.ws_cd.overloads) >= 1


def test_bad_mode_is_refused(monkeypatch):
    from proxgan.solvers._cd_loops import copy_into

    monkeypatch.setenv(_first_call.MODE_ENV, "sometimes")
    dst = np.zeros(3)
    with pytest.raises(ValueError, match="PROXGAN_FIRST_CALL must be one of auto, interpret, compile, got 'sometimes'"):
        _first_call.FirstCall(copy_into)(dst, np.ones(3))  # what a call without compiled code runs
    assert not np.any(dst)


_CHILD = """
import time, json, sys
t0 = time.perf_counter()
import numpy as np
from proxgan.linear_model import Lasso
rng = np.random.default_rng(0)
X = rng.standard_normal((200, 50)); y = X[:, :5] @ rng.standard_normal(5) + 0.1 * rng.standard_normal(200)
m = Lasso(alpha=0.1).fit(X, y)
from proxgan.solvers import _cd_driver
print(json.dumps({"seconds": time.perf_counter() - t0, "coef": m.coef_.tolist(),
                  "compiled": len(_cd_driver.ws_cd.overloads)}))
"""


def _run(code, cache, mode):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PROXGAN_FIRST_CALL=mode)
    env.pop("NUMBA_DISABLE_JIT", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_fresh_process_fits_fast_without_compiling(tmp_path):
    from proxgan.linear_model import Lasso

    got = _run(_CHILD, tmp_path, "interpret")
    assert got["compiled"] == 0  # the driver was not compiled in that process
    assert got["seconds"] < 15.0  # target 5 s from the first import; generous on a loaded machine
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 50)); y = X[:, :5] @ rng.standard_normal(5) + 0.1 * rng.standard_normal(200)
    np.testing.assert_allclose(got["coef"], Lasso(alpha=0.1).fit(X, y).coef_, rtol=1e-12, atol=1e-14)


_PROBE = """
import json, sys
import numpy as np
from proxgan.solvers import _cd_loops, _first_call
disp = _first_call.first_call(_cd_loops.copy_into)
dst = np.zeros(3)
disp(dst, np.arange(3.0))
sig = tuple(disp.typeof_pyval(a) for a in (dst, dst))
print(json.dumps({"copied": dst.tolist(), "interpreted": _first_call._spent[0] > 0,
                  "cached": bool(_first_call._load_cached(disp, sig))}))
"""


def test_background_process_fills_the_cache_for_the_next_process(tmp_path):
    since = time.time()
    first = _run(_PROBE, tmp_path, "auto")
    assert first == {"copied": [0.0, 1.0, 2.0], "interpreted": True, "cached": False}
    deadline = time.time() + 120
    pattern = os.path.join(tempfile.gettempdir(), "proxgan-compile-*.lock")
    while time.time() < deadline and any(os.path.getmtime(f) >= since - 1 for f in glob.glob(pattern)
                                         if os.path.exists(f)):
        time.sleep(0.2)
    assert glob.glob(str(tmp_path / "**" / "*copy_into*.nbi"), recursive=True)
    second = _run(_PROBE, tmp_path, "auto")
    assert second == {"copied": [0.0, 1.0, 2.0], "interpreted": False, "cached": True}
