"""Time-to-tolerance on the Lasso problems L1–L5 (bench/PROTOCOL.md), side by side.

Every competitor (proxgan cd, scikit-learn, skglm, celer; all ``fit_intercept=False``) is run
at the loosest tolerance of its own ladder that reaches ``gap <= eps·P(0)``, the gap being
computed here in float64 from the returned coefficients (``lasso_problems.lasso_gap``).
Timings are interleaved (A B C D, A B C D, ...) after a JIT warm-up; the median is reported.
Time is the process CPU time of a fit with every BLAS / OpenMP pool limited to one thread
(threadpoolctl): on a shared machine with a load above its core count, wall-clock time also
counts the time a fit spends descheduled, which is noise (see ``bench_logistic.py``).

``--baseline REV`` adds proxgan's own ``Lasso`` at git revision ``REV`` as one more competitor,
timed in the same process, interleaved with the others (a regression check: its tree is extracted
with ``git archive`` and imported under the package name ``proxgan_base``).

Usage::

    python bench/bench_lasso.py                       # L1..L5, eps 1e-4 1e-6 1e-8
    python bench/bench_lasso.py --problems L2 L4 --eps 1e-6 --repeats 5
    python bench/bench_lasso.py --problems L4 L5 --skip sklearn celer --baseline ee04a20
"""
from __future__ import annotations

import argparse
import importlib
import io
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(__file__))
from lasso_problems import PROBLEMS, lasso_gap, make_problem  # noqa: E402


def _competitors():
    from sklearn.linear_model import Lasso as SkLasso

    from proxgan.linear_model import Lasso as PxLasso
    out = {"proxgan": (lambda a, t: PxLasso(alpha=a, fit_intercept=False, tol=t, max_iter=100000), "gap")}
    out["sklearn"] = (lambda a, t: SkLasso(alpha=a, fit_intercept=False, tol=t, max_iter=100000), "gap")
    try:
        from skglm import Lasso as SgLasso
        out["skglm"] = (lambda a, t: SgLasso(alpha=a, fit_intercept=False, tol=t), "subdiff")
    except ImportError:
        print("skglm not installed (pip install -e '.[bench]')")
    try:
        from celer import Lasso as CeLasso
        out["celer"] = (lambda a, t: CeLasso(alpha=a, fit_intercept=False, tol=t), "gap")
    except ImportError:
        print("celer not installed (pip install -e '.[bench]')")
    return out


def import_revision(rev):
    """proxgan at git revision ``rev``, imported next to this tree as the package ``proxgan_base``.

    The revision's ``proxgan/`` (and the top-level ``kernels/`` of older trees, installed then as
    ``proxgan.kernels``) is extracted into a temporary folder as the package ``proxgan_base``, its
    absolute imports renamed, and the first-call mode set to compile in this process (a background
    compile process would not find the renamed package).
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    blob = subprocess.run(["git", "-C", root, "archive", rev], check=True, capture_output=True).stdout
    tmp = tempfile.mkdtemp(prefix="proxgan_base_")
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(os.path.join(tmp, "tree"), filter="data")
    pkg = os.path.join(tmp, "proxgan_base")
    shutil.move(os.path.join(tmp, "tree", "proxgan"), pkg)
    if os.path.isdir(os.path.join(tmp, "tree", "kernels")) and not os.path.isdir(os.path.join(pkg, "kernels")):
        shutil.move(os.path.join(tmp, "tree", "kernels"), os.path.join(pkg, "kernels"))
    for folder, _, files in os.walk(pkg):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                with open(path, encoding="utf-8") as fh:
                    src = fh.read()
                src = re.sub(r"\bproxgan\.", "proxgan_base.", src)
                src = re.sub(r"^(\s*)from proxgan import", r"\1from proxgan_base import", src, flags=re.M)
                src = re.sub(r"^(\s*)import proxgan$", r"\1import proxgan_base as proxgan", src, flags=re.M)
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(src)
    sys.path.insert(0, tmp)
    os.environ["PROXGAN_FIRST_CALL"] = "compile"
    return importlib.import_module("proxgan_base")


def _baseline(rev):
    """``(name, (make, kind))``: proxgan's ``Lasso`` at git revision ``rev`` (:func:`import_revision`)."""
    import_revision(rev)
    Lasso = importlib.import_module("proxgan_base.linear_model").Lasso
    return f"proxgan@{rev}", (lambda a, t: Lasso(alpha=a, fit_intercept=False, tol=t, max_iter=100000), "gap")


def _ladder(kind, eps):
    if kind == "gap":  # these stop at gap <= tol·‖y‖²/n = 2·tol·P(0)
        return [eps / 2 * 10.0 ** (-k) for k in range(6)]
    return [eps * 10.0 ** (2 - k) for k in range(10)]  # skglm: tol on the subdifferential distance


def _fit(make, X, y, a, tol):
    m = make(a, tol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.process_time()
        m.fit(X, y)
        return time.process_time() - t, m.coef_


def warm_up(comps):
    X, y, a = make_problem("L4")
    for make, _ in comps.values():
        _fit(make, X[:50, :60], y[:50], a, 1e-6)


def run(pid, eps_list, repeats, comps):
    X, y, a = make_problem(pid)
    p0 = 0.5 * (y @ y) / len(y)
    rows = []
    for eps in eps_list:
        chosen = {}
        times = {}
        for name, (make, kind) in comps.items():
            for tol in _ladder(kind, eps):
                t, coef = _fit(make, X, y, a, tol)
                gap = lasso_gap(X, y, coef, a)
                if gap <= eps * p0:
                    chosen[name] = tol
                    times[name] = [t]
                    break
            else:
                chosen[name] = None
        for _ in range(repeats - 1):
            for name, (make, _) in comps.items():
                if chosen[name] is None or (times[name][0] > 3.0 and len(times[name]) >= 2):
                    continue  # keep slow baselines to <= 2 runs
                times[name].append(_fit(make, X, y, a, chosen[name])[0])
        med = {k: float(np.median(v)) for k, v in times.items()}
        rows.append((eps, chosen, med))
        others = {k: v for k, v in med.items() if k != "proxgan"}
        best = min(others, key=others.get) if others else None
        line = f"{pid} eps={eps:.0e} " + " ".join(
            f"{k}={med[k]:.4f}s(tol {chosen[k]:.0e})" if k in med else f"{k}=not reached" for k in comps)
        if best and "proxgan" in med:
            line += f" | proxgan/best({best})={med['proxgan'] / med[best]:.2f}"
            if "skglm" in med:
                line += f" proxgan/skglm={med['proxgan'] / med['skglm']:.2f}"
            if "sklearn" in med:
                line += f" sklearn/proxgan={med['sklearn'] / med['proxgan']:.1f}"
            for base in (k for k in med if k.startswith("proxgan@")):
                line += f" proxgan/{base}={med['proxgan'] / med[base]:.2f}"
                if "skglm" in med:
                    line += f" {base}/skglm={med[base] / med['skglm']:.2f}"
        print(line, flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    ap.add_argument("--eps", nargs="+", type=float, default=[1e-4, 1e-6, 1e-8])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip", nargs="*", default=[], help="competitors to leave out (e.g. sklearn)")
    ap.add_argument("--baseline", metavar="REV", help="also time proxgan's Lasso at this git revision")
    args = ap.parse_args(argv)
    threadpool_limits(1)
    comps = {k: v for k, v in _competitors().items() if k not in args.skip}
    if args.baseline:
        name, comp = _baseline(args.baseline)
        comps = {"proxgan": comps.pop("proxgan"), name: comp, **comps}
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"CPU times = median of {args.repeats} interleaved runs, one thread; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    warm_up(comps)
    for pid in args.problems:
        run(pid, args.eps, args.repeats, comps)


if __name__ == "__main__":
    main()
