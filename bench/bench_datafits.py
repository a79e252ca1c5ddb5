"""Quantile, Poisson and Huber regression: proxgan against scikit-learn (and skglm), side by side.

Rows (synthetic Gaussian designs, seed 0, float64):

* ``quantile 5000x200`` and ``quantile 20000x50``: ``QuantileRegressor(quantile=0.5, alpha)``,
  proxgan's exact solver (``solver="auto"``: the Frisch-Newton interior point, stopped on the
  certified duality gap) against scikit-learn's HiGHS (target: ratio <= 0.1, i.e. >= 10x faster);
* ``poisson-l2``: ``PoissonRegressor(alpha)`` with the default ``solver="lbfgs"`` (L-BFGS-B on
  NumPy arrays) against scikit-learn's ``lbfgs`` (target: ratio <= 1);
* ``poisson-l1``: L1-penalised Poisson (no intercept), proxgan ``PoissonRegressor(l1_ratio=1,
  solver="prox-newton")`` against skglm's ``GeneralizedLinearEstimator(Poisson(), L1(alpha), ProxNewton())``
  (the ``bench`` extra; target <= 1);
* ``huber``: ``HuberRegressor()`` (joint scale), proxgan against scikit-learn (target <= 1).

"Same objective": each contender runs at the loosest ``tol`` of a ladder whose objective
(computed here in float64 from the returned coefficients) is within ``--rel`` (1e-6) of the best
objective any contender reached; the relative excess is printed. Time is the median process CPU
time (``time.process_time``) of ``--repeats`` interleaved fits after a warm-up, with every
BLAS/OpenMP pool limited to one thread. The ratio is proxgan / baseline.

Usage::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python bench/bench_datafits.py --repeats 5
"""
from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

LADDER = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-10]


def data(kind, n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    k = max(p // 10, 1)
    beta[:k] = rng.standard_normal(k) * (0.3 if kind == "poisson" else 1.0)
    z = X @ beta / (1.0 if kind != "poisson" else np.sqrt(k))
    if kind == "poisson":
        return X, rng.poisson(np.exp(z)).astype(float)
    y = z + rng.standard_t(3, n)
    if kind == "huber":
        out = rng.random(n) < 0.05
        y[out] += 20 * rng.standard_normal(out.sum())
    return X, y


def quantile_obj(m, X, y, tau, alpha):
    r = y - X @ m.coef_ - m.intercept_
    return float(np.mean(np.maximum(tau * r, (tau - 1) * r))) + alpha * float(np.abs(m.coef_).sum())


def poisson_obj(coef, b, X, y, alpha, l1):
    z = X @ coef + b
    pen = alpha * np.abs(coef).sum() if l1 else 0.5 * alpha * coef @ coef
    return float(np.mean(np.exp(z) - y * z)) + float(pen)


def huber_obj(m, X, y, eps=1.35, alpha=1e-4):
    s = m.scale_
    t = (y - X @ m.coef_ - m.intercept_) / s
    a = np.abs(t)
    H = np.where(a < eps, t * t, 2 * eps * a - eps * eps)
    return float(np.sum(s + s * H)) + alpha * float(m.coef_ @ m.coef_)


def cpu(fit):
    t0, w0 = time.process_time(), time.perf_counter()
    out = fit()
    return time.process_time() - t0, time.perf_counter() - w0, out


def pick(make, objective, best, rel, tols, seen):
    """The loosest tol whose objective is within rel of best: ``(tol, F)`` (``seen``: objectives by tol)."""
    for tol in tols:
        F = seen[tol] if tol in seen else objective(make(tol))
        if F <= best * (1 + rel) + 1e-300:
            return tol, F
    return tols[-1], F


def row(name, ours, base, objective, rel, repeats, tols_ours, tols_base):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        so = {tols_ours[-1]: objective(ours(tols_ours[-1]))}
        sb = {tols_base[-1]: objective(base(tols_base[-1]))}  # HiGHS takes a minute: run each fit once here
        best = min(so[tols_ours[-1]], sb[tols_base[-1]])
        to, Fo = pick(ours, objective, best, rel, tols_ours, so)
        tb, Fb = pick(base, objective, best, rel, tols_base, sb)
        times = {"ours": [], "base": []}
        for _ in range(repeats):
            times["ours"].append(cpu(lambda: ours(to))[0])
            times["base"].append(cpu(lambda: base(tb))[0])
    mo, mb = np.median(times["ours"]), np.median(times["base"])
    print(f"{name:22s} proxgan {mo * 1e3:9.1f} ms (tol {to:.0e}, excess {Fo / best - 1:.1e})   "
          f"baseline {mb * 1e3:9.1f} ms (tol {tb:.0e}, excess {Fb / best - 1:.1e})   ratio {mo / mb:6.3f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rel", type=float, default=1e-6)
    ap.add_argument("--rows", nargs="*", default=["quantile", "poisson-l2", "poisson-l1", "huber"])
    args = ap.parse_args()
    from sklearn import linear_model as sk

    from proxgan import linear_model as pg

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; one BLAS thread; "
          f"median CPU time of {args.repeats} interleaved fits")
    with threadpool_limits(limits=1):
        if "quantile" in args.rows:
            for n, p in ((5000, 200), (20000, 50)):
                X, y = data("quantile", n, p)
                alpha = 1e-3
                obj = lambda m: quantile_obj(m, X, y, 0.5, alpha)  # noqa: E731
                row(f"quantile {n}x{p}",
                    lambda tol: pg.QuantileRegressor(alpha=alpha, tol=tol).fit(X, y),
                    lambda tol: sk.QuantileRegressor(alpha=alpha, solver="highs").fit(X, y),
                    obj, args.rel, args.repeats, LADDER, [0.0])
        if "poisson-l2" in args.rows:
            X, y = data("poisson", 5000, 100)
            alpha = 1e-3
            row("poisson-l2 5000x100",
                lambda tol: pg.PoissonRegressor(alpha=alpha, tol=tol, max_iter=1000).fit(X, y),
                lambda tol: sk.PoissonRegressor(alpha=alpha, tol=tol, max_iter=1000).fit(X, y),
                lambda m: poisson_obj(m.coef_, m.intercept_, X, y, alpha, False), args.rel, args.repeats,
                LADDER, LADDER)
        if "poisson-l1" in args.rows:
            try:
                from skglm import GeneralizedLinearEstimator
                from skglm.datafits import Poisson
                from skglm.penalties import L1
                from skglm.solvers import ProxNewton
            except ImportError:
                print("poisson-l1: skglm is not installed (pip install -e '.[bench]'): row skipped")
            else:
                X, y = data("poisson", 5000, 100)
                alpha = 1e-2
                row("poisson-l1 5000x100",
                    lambda tol: pg.PoissonRegressor(alpha=alpha, l1_ratio=1.0, solver="prox-newton",
                                                    fit_intercept=False, tol=tol, max_iter=1000).fit(X, y),
                    lambda tol: GeneralizedLinearEstimator(Poisson(), L1(alpha),
                                                           ProxNewton(tol=tol, fit_intercept=False)).fit(X, y),
                    lambda m: poisson_obj(np.ravel(m.coef_), 0.0, X, y, alpha, True), args.rel, args.repeats,
                    LADDER, LADDER)
        if "huber" in args.rows:
            X, y = data("huber", 5000, 100)
            row("huber 5000x100",
                lambda tol: pg.HuberRegressor(tol=tol, max_iter=1000).fit(X, y),
                lambda tol: sk.HuberRegressor(tol=tol, max_iter=1000).fit(X, y),
                lambda m: huber_obj(m, X, y), args.rel, args.repeats, LADDER, LADDER)


if __name__ == "__main__":
    main()
