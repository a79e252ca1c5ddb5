"""Fixed cost of a small Lasso fit: proxgan's ``Lasso.fit`` against scikit-learn's on 500 x 600.

benchopt's simulated data (``make_correlated_data``, seed 27, as benchmark_lasso's dataset), with
``alpha = reg · alpha_max`` for reg in {0.5, 0.1, 0.05}, with and without an intercept, both
estimators at the same ``tol`` (proxgan's estimators stop on scikit-learn's duality gap, so equal
``tol`` means the same stopping test). Per setting: the median CPU time (``time.process_time``, one
BLAS thread through threadpoolctl) of ``--repeats`` interleaved fits, the ratio proxgan /
scikit-learn (below 1: proxgan is faster), and where proxgan's time goes: ``solve`` is the
estimator's solver call alone (:func:`proxgan.linear_model._quadratic.fit_quadratic`, coordinate
descent) on the already centred datafit, the rest is the fit's validation, centring and result
handling. To check that equal ``tol`` is a fair comparison, each
fit's duality gap is recomputed here in float64 from its returned coefficients on the centred problem
(``lasso_problems.lasso_gap``: scikit-learn's dual point, the residual rescaled into the dual feasible
set) and printed as a fraction of the stopping threshold ``tol·‖y‖²/n``: both must be at most 1.

``--baseline REV`` also times proxgan's ``Lasso.fit`` at git revision ``REV`` in the same run
(interleaved, imported as ``proxgan_base`` by ``bench_lasso.import_revision``) and prints its ratio
to scikit-learn and ours / baseline.

Usage::

    python bench/bench_lasso_small.py                 # 6 settings, 30 repeats
    python bench/bench_lasso_small.py --n 500 --p 600 --repeats 50
    python bench/bench_lasso_small.py --repeats 20 --baseline main
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(__file__))
from lasso_problems import lasso_gap  # noqa: E402

__all__ = ["main"]


def _cpu(fn, out: list) -> None:
    """Append the CPU time of ``fn()`` to ``out``."""
    c0 = time.process_time()
    fn()
    out.append(time.process_time() - c0)


def main(argv=None) -> int:
    """Command line (module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--p", type=int, default=600)
    ap.add_argument("--tol", type=float, default=1e-4, help="tol of both estimators (scikit-learn's default)")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--baseline", metavar="REV", help="also time proxgan's Lasso at this git revision")
    args = ap.parse_args(argv)
    Base = None
    if args.baseline:
        from bench_lasso import import_revision
        Base = import_revision(args.baseline).linear_model.Lasso

    from benchopt.datasets.simulated import make_correlated_data
    from sklearn.linear_model import Lasso as SkLasso

    from proxgan.linear_model import Lasso
    from proxgan.linear_model._base import preprocess
    from proxgan.linear_model._quadratic import fit_quadratic
    from proxgan.penalties import L1

    X, y, _ = make_correlated_data(args.n, args.p, rho=0, random_state=np.random.RandomState(27))
    print(f"# {args.n} x {args.p}, tol={args.tol}, median CPU time of {args.repeats} interleaved fits, one BLAS "
          f"thread; load average {os.getloadavg()[0]:.2f}")
    print(f"{'setting':28s}{'proxgan ms':>12s}{'  of which solve':>16s}{'sklearn ms':>12s}{'ours/sklearn':>14s}"
          f"{'gap/thr ours':>14s}{'sklearn':>9s}" + (f"{'base/sklearn':>14s}{'ours/base':>11s}" if Base else ""))
    ratios = []
    base_ratios = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for icpt in (True, False):
            a_max = np.abs(X.T @ (y - y.mean() if icpt else y)).max() / args.n
            for reg in (0.5, 0.1, 0.05):
                ours = Lasso(alpha=reg * a_max, fit_intercept=icpt, tol=args.tol)
                sk = SkLasso(alpha=reg * a_max, fit_intercept=icpt, tol=args.tol)
                df, _, _ = preprocess(X, y, icpt)
                # the estimator's own stopping rule: scikit-learn's gap, tol scaled by ‖y‖²/n
                tol = args.tol * float(df.y @ df.y) / args.n
                pen = L1(reg * a_max)

                def solve():
                    return fit_quadratic(df, pen, solver="cd", device="cpu", tol=tol, max_iter=1000)

                base = Base(alpha=reg * a_max, fit_intercept=icpt, tol=args.tol) if Base else None
                ours.fit(X, y)
                sk.fit(X, y)
                solve()
                t = {"ours": [], "solve": [], "sk": [], "base": []}
                for _ in range(args.repeats):
                    _cpu(lambda: ours.fit(X, y), t["ours"])
                    _cpu(solve, t["solve"])
                    _cpu(lambda: sk.fit(X, y), t["sk"])
                    if base is not None:
                        _cpu(lambda: base.fit(X, y), t["base"])
                m = {k: 1e3 * float(np.median(v)) for k, v in t.items() if v}
                diff = float(np.abs(ours.coef_ - sk.coef_).max())
                g_ours, g_sk = (lasso_gap(df.X, df.y, np.asarray(e.coef_, dtype=np.float64), reg * a_max) / tol
                                for e in (ours, sk))
                ratios.append(m["ours"] / m["sk"])
                extra = ""
                if base is not None:
                    base_ratios.append(m["base"] / m["sk"])
                    extra = f"{base_ratios[-1]:14.2f}{m['ours'] / m['base']:11.2f}"
                print(f"{f'icpt={icpt} reg={reg}':28s}{m['ours']:12.3f}{m['solve']:16.3f}{m['sk']:12.3f}"
                      f"{ratios[-1]:14.2f}{g_ours:14.2f}{g_sk:9.2f}{extra}   (max |coef diff| {diff:.1e})")
    gm = np.exp(np.mean(np.log(ratios)))
    extra = f"{'':23s}{np.exp(np.mean(np.log(base_ratios))):14.2f}" if base_ratios else ""
    print(f"{'geometric mean':68s}{gm:14.2f}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
