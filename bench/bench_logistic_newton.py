"""Multinomial ``LogisticRegression(solver="newton-cholesky")`` on digits, proxgan vs scikit-learn.

Problem: the 10-class digits data set (1,797 × 64, pixel values 0–16 as shipped, not scaled),
``C=1``, ``tol=1e-4`` (the default), ``max_iter=100``; both estimators use scikit-learn's
objective and scikit-learn's stopping rule (largest gradient entry ``<= tol``).

Fits are timed interleaved (A B A B …) after one warm-up fit each; the median of ``--repeats``
(>= 5) is reported, with the ratio proxgan / scikit-learn. Time is the process CPU time of the
fit (``time.process_time``) with every BLAS / OpenMP pool limited to one thread (threadpoolctl,
also set from the environment below); wall-clock medians are printed as well. The script also
prints both iteration counts and the largest difference of ``predict_proba`` (target: 1e-4).

Usage::

    python bench/bench_logistic_newton.py --repeats 5
"""
from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

__all__ = ["main"]


def _fit(make, X, y):
    est = make()
    t0, w0 = time.process_time(), time.perf_counter()
    est.fit(X, y)
    return est, time.process_time() - t0, time.perf_counter() - w0


def main(argv=None) -> None:
    """Parse ``--repeats`` and ``--C``, time both estimators interleaved and print the ratio."""
    import sklearn.linear_model as skl

    from proxgan.linear_model import LogisticRegression

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--C", type=float, default=1.0)
    args = ap.parse_args(argv)
    if args.repeats < 5:
        ap.error("--repeats must be >= 5")
    X, y = load_digits(return_X_y=True)
    kw = dict(solver="newton-cholesky", C=args.C, tol=1e-4, max_iter=100)
    makers = {"proxgan": lambda: LogisticRegression(**kw), "sklearn": lambda: skl.LogisticRegression(**kw)}
    cpu = {k: [] for k in makers}
    wall = {k: [] for k in makers}
    fitted = {}
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, make in makers.items():  # warm-up (imports, first-call costs)
            fitted[k] = _fit(make, X, y)[0]
        for _ in range(args.repeats):
            for k, make in makers.items():
                fitted[k], c, w = _fit(make, X, y)
                cpu[k].append(c)
                wall[k].append(w)
    dp = float(np.abs(fitted["proxgan"].predict_proba(X) - fitted["sklearn"].predict_proba(X)).max())
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, one BLAS thread, "
          f"digits {X.shape}, 10 classes, C={args.C}, median of {args.repeats}")
    for k in makers:
        print(f"{k:8s} cpu {np.median(cpu[k]):.3f} s  wall {np.median(wall[k]):.3f} s  "
              f"n_iter {int(fitted[k].n_iter_[0])}")
    print(f"ratio proxgan/sklearn: cpu {np.median(cpu['proxgan']) / np.median(cpu['sklearn']):.2f}x  "
          f"wall {np.median(wall['proxgan']) / np.median(wall['sklearn']):.2f}x  (target <= 1.5x)")
    print(f"max |predict_proba difference| {dp:.2e} (target <= 1e-4)")


if __name__ == "__main__":
    main()
