"""First ``Lasso().fit`` in a fresh process: proxgan with an empty and a filled numba cache, against
scikit-learn, in the same run.

Every measurement is a new Python process (``sys.executable``) that records the time from just
before its first import (``numpy`` included, for both libraries) to the end of its first
``Lasso(alpha=0.1).fit`` on a 200 × 50 Gaussian problem (seed 0), and reports it with the time of
the import alone and whether ``torch`` was loaded. Interpreter start-up is not counted.

* ``proxgan cold``: ``NUMBA_CACHE_DIR`` set to a new empty directory (a fresh install), with
  the default first-call behaviour (``PROXGAN_FIRST_CALL=auto``): the solver runs interpreted
  while a background process compiles it into the cache (:mod:`proxgan.solvers._first_call`);
* ``cold compile``: a new empty directory with ``PROXGAN_FIRST_CALL=compile``: every numba
  function on the path is compiled in the process (numba's default; what the test suite does);
* ``proxgan warm``: the first directory, once the background compile has filled it;
* ``sklearn``: ``sklearn.linear_model.Lasso``.

Each row says whether the fit ran interpreted. The warm and scikit-learn processes alternate
(A B A B …); medians of ``--repeats`` are printed with the ratios to scikit-learn (targets:
cold <= 5 s, warm <= 1.5x scikit-learn).
Wall-clock time is what a user waits for, but on a loaded machine it includes descheduled time:
the process CPU time (``time.process_time``, all threads) is printed and compared as well.

Usage::

    python bench/bench_cold_start.py --repeats 5 --cold-repeats 2
"""
from __future__ import annotations

import argparse
import json
import glob
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

__all__ = ["CHILD", "main", "run_child", "wait_background_compiles"]

#: The measured program: ``{module}`` is ``proxgan.linear_model`` or ``sklearn.linear_model``.
CHILD = """
import time
t0 = time.perf_counter(); c0 = time.process_time()
import numpy as np
from {module} import Lasso
t_imp = time.perf_counter() - t0
rng = np.random.default_rng(0)
X = rng.standard_normal((200, 50)); y = X[:, :5] @ rng.standard_normal(5) + 0.1 * rng.standard_normal(200)
m = Lasso(alpha=0.1).fit(X, y)
import sys, json
fc = sys.modules.get("proxgan.solvers._first_call")
print(json.dumps({{"total": time.perf_counter() - t0, "cpu": time.process_time() - c0, "import": t_imp,
                  "torch": "torch" in sys.modules, "nnz": int(np.count_nonzero(m.coef_)),
                  "interpreted": bool(fc is not None and fc._spent[0] > 0)}}))
"""


def run_child(module: str, cache_dir: str | None = None, first_call: str = "auto") -> dict:
    """Run :data:`CHILD` for ``module`` in a new process (``NUMBA_CACHE_DIR=cache_dir`` if given,
    ``PROXGAN_FIRST_CALL=first_call``)."""
    env = dict(os.environ)
    env.pop("NUMBA_DISABLE_JIT", None)
    env["PROXGAN_FIRST_CALL"] = first_call
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", CHILD.format(module=module)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def wait_background_compiles(since: float, timeout: float = 900.0) -> float:
    """Wait until the background compiles started after ``since`` (their lock files) are done;
    returns the seconds waited."""
    t0 = time.time()
    pattern = os.path.join(tempfile.gettempdir(), "proxgan-compile-*.lock")
    while time.time() - t0 < timeout:
        live = []
        for f in glob.glob(pattern):
            try:
                if os.path.getmtime(f) >= since - 1:
                    live.append(f)
            except OSError:
                pass
        if not live:
            break
        time.sleep(0.5)
    return time.time() - t0


def _summary(name: str, runs: list[dict]) -> dict:
    med = {k: float(np.median([r[k] for r in runs])) for k in ("total", "cpu", "import")}
    print(f"{name:14s} first import + first fit {med['total']:7.3f} s (cpu {med['cpu']:.3f} s)  "
          f"import {med['import']:.3f} s  torch loaded: {runs[0]['torch']}  nnz {runs[0]['nnz']}  "
          f"interpreted: {any(r['interpreted'] for r in runs)}")
    return med


def main(argv=None) -> None:
    """Parse ``--repeats`` / ``--cold-repeats``, run the processes and print times and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="warm proxgan and scikit-learn processes each")
    ap.add_argument("--cold-repeats", type=int, default=1, help="cold processes, each with its own empty cache")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="proxgan-cold-") as root:
        cold, compiled = [], []
        for i in range(args.cold_repeats):
            cache = os.path.join(root, f"cache{i}")
            os.makedirs(cache)
            start = time.time()
            cold.append(run_child("proxgan.linear_model", cache))
            waited = wait_background_compiles(start)
            print(f"# background compile of cold run {i} done {waited:.1f} s after the run")
            cache = os.path.join(root, f"compile{i}")
            os.makedirs(cache)
            compiled.append(run_child("proxgan.linear_model", cache, first_call="compile"))
        warm, sk = [], []
        for _ in range(args.repeats):
            warm.append(run_child("proxgan.linear_model", os.path.join(root, "cache0")))
            sk.append(run_child("sklearn.linear_model"))
    print(f"# {platform.node()} {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"median of {args.repeats} warm / {args.cold_repeats} cold processes, wall clock")
    c, w, s = _summary("proxgan cold", cold), _summary("proxgan warm", warm), _summary("sklearn", sk)
    k = _summary("cold compile", compiled)
    print(f"ratio cold/sklearn {c['total'] / s['total']:.1f}x wall, {c['cpu'] / s['cpu']:.1f}x cpu "
          f"(target: cold <= 5 s, got {c['total']:.2f} s wall, {c['cpu']:.2f} s cpu)")
    print(f"cold with the compile in the process (PROXGAN_FIRST_CALL=compile): {k['total']:.2f} s wall, "
          f"{k['cpu']:.2f} s cpu")
    print(f"ratio warm/sklearn {w['total'] / s['total']:.2f}x wall, {w['cpu'] / s['cpu']:.2f}x cpu (target <= 1.5x); "
          f"import alone {w['import'] / s['import']:.2f}x wall")


if __name__ == "__main__":
    main()
