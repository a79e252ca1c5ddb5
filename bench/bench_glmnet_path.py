"""glmnet Table 1 (Friedman, Hastie & Tibshirani 2010): total time of a 100-λ Lasso path.

Data as in bench/PROTOCOL.md (``lasso_problems.glmnet_data``). Path: 100 log-spaced
λ from λ_max down to λ_max·1e-3 (the same floor for N > p and N < p), warm starts,
no intercept, tolerance 1e-7 (duality gap <= 1e-7·‖y‖²/n for proxgan, scikit-learn and
celer; skglm's tol is on the subdifferential distance, so it is given 1e-7 as well and its
worst gap along the path is printed next to its time). Times are averages of ``--runs``
interleaved runs after a JIT warm-up; the worst relative gap max_λ gap/P(0) of each path is
recomputed here in float64.

Usage::

    python bench/bench_glmnet_path.py                 # rho = 0.5, every (N, p) block
    python bench/bench_glmnet_path.py --rho 0 0.1 0.2 0.5 0.9 0.95 --blocks 1000x100 100x1000
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from lasso_problems import glmnet_data, lasso_gap  # noqa: E402

BLOCKS = [(1000, 100), (5000, 100), (100, 1000), (100, 5000), (100, 20000), (100, 50000)]


def contenders(tol):
    from sklearn.linear_model import lasso_path as sk_path

    from proxgan.linear_model import lasso_path as px_path
    out = {
        "proxgan-cd": lambda X, y, a: px_path(X, y, alphas=a, tol=tol, max_iter=100000)[1],
        "sklearn": lambda X, y, a: sk_path(X, y, alphas=a, tol=tol, max_iter=100000)[1],
    }
    try:
        from celer import celer_path
        out["celer"] = lambda X, y, a: celer_path(X, y, "lasso", alphas=a, tol=tol)[1]
    except ImportError:
        pass
    try:
        from skglm import Lasso
        out["skglm"] = lambda X, y, a: Lasso(fit_intercept=False, tol=tol).path(X, y, a)[1]
    except ImportError:
        pass
    return out


def run_block(N, p, rho, runs, comps):
    X, y = glmnet_data(N, p, rho)
    n = len(y)
    amax = np.max(np.abs(X.T @ y)) / n
    alphas = np.geomspace(amax, amax * 1e-3, 100)
    p0 = 0.5 * (y @ y) / n
    times = {k: [] for k in comps}
    worst = {}
    for r in range(runs):
        for name, fn in comps.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.perf_counter()
                coefs = fn(X, y, alphas)
                times[name].append(time.perf_counter() - t)
            if r == 0:
                worst[name] = max(lasso_gap(X, y, coefs[:, k], a) for k, a in enumerate(alphas)) / p0
    mean = {k: float(np.mean(v)) for k, v in times.items()}
    cells = " ".join(f"{k}={mean[k]:.3f}s(gap≤{worst[k]:.0e})" for k in comps)
    print(f"N={N} p={p} rho={rho}: {cells} |"
          + (f" proxgan/sklearn={mean['proxgan-cd'] / mean['sklearn']:.2f}" if "sklearn" in mean else "")
          + (f" proxgan/skglm={mean['proxgan-cd'] / mean['skglm']:.2f}" if "skglm" in mean else "")
          + (f" proxgan/celer={mean['proxgan-cd'] / mean['celer']:.2f}" if "celer" in mean else ""), flush=True)
    return mean


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rho", nargs="+", type=float, default=[0.5])
    ap.add_argument("--blocks", nargs="+", default=[f"{N}x{p}" for N, p in BLOCKS])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tol", type=float, default=1e-7)
    ap.add_argument("--skip", nargs="*", default=[])
    args = ap.parse_args(argv)
    comps = {k: v for k, v in contenders(args.tol).items() if k not in args.skip}
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cpus; mean of {args.runs} runs")
    Xw, yw = glmnet_data(50, 80, 0.5)
    for fn in comps.values():  # JIT warm-up
        fn(Xw, yw, np.geomspace(1.0, 0.01, 5) * np.max(np.abs(Xw.T @ yw)) / 50)
    for b in args.blocks:
        N, p = (int(v) for v in b.split("x"))
        for rho in args.rho:
            run_block(N, p, rho, args.runs, comps)


if __name__ == "__main__":
    main()
