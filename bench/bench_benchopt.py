"""benchopt's benchmark_lasso and benchmark_logreg_l1 (simulated datasets) with proxgan, skglm, celer
and scikit-learn: time to reach a suboptimality of at most ``1e-6·F0``.

Needs clones of the benchmarks (``--lasso-clone DIR``, ``--logreg-clone DIR``; see
``bench/README.md``): their ``objective.py``, ``datasets/simulated.py`` and ``solvers/*.py`` are
loaded from the clone and run through benchopt's solver API (``_set_objective``, ``_warm_up``,
``run(n_iter)``, ``get_result``), with proxgan's solver files from ``bench/benchopt/``. Per setting
and solver: ``run(k)`` for k = 1, 2, ... (benchopt's iteration sampling) until the objective is
within ``eps·F0`` of the best objective any solver reached (F0: the objective at zero); the time
of that run is one repetition (the later repetitions start from the k the first one found: the
solvers are deterministic), the median of ``--reps`` is reported, then the ratios
proxgan / peer (below 1: proxgan is faster) and their geometric means; with one thread, the same
table in CPU time (``time.process_time``, which the load of a shared machine disturbs less).
``--where key=value`` keeps only the settings with that parameter value (repeatable, e.g.
``--where n_samples=500``). The whole table is run once with one BLAS/OpenMP/numba thread
(a child process with the variables set before numpy is imported) and once with default threads.
Compile time is excluded by each solver's warm-up (``warm_up``/``run(1)``).

Run with ``nice``; the machine must be quiet for absolute times to mean anything, while the
ratios are measured side by side in one process.
"""
from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

__all__ = ["main", "run_table"]

HERE = Path(__file__).resolve().parent
PEERS = {"lasso": {"skglm": "skglm", "celer": "celer", "sklearn": "sklearn"},
         "logreg": {"skglm": "skglm", "celer": "celer", "liblinear": "sklearn"}}  # sklearn's solver="liblinear"
OURS = {"lasso": HERE / "benchopt" / "proxgan_lasso.py", "logreg": HERE / "benchopt" / "proxgan_logreg_l1.py"}
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _load(path: Path, cls: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, cls)


def _settings(clone: Path, kind: str, quick: bool, where: dict | None = None):
    """(dataset kwargs, objective kwargs) of the simulated dataset and the objective's grid."""
    Dataset = _load(clone / "datasets" / "simulated.py", "Dataset", f"{kind}_simulated")
    Objective = _load(clone / "objective.py", "Objective", f"{kind}_objective")

    def grid(params):
        keys, values = [], []
        for k, v in params.items():
            keys.append([s.strip() for s in k.split(",")])
            values.append(v)
        for combo in itertools.product(*values):
            out = {}
            for ks, val in zip(keys, combo):
                out.update(zip(ks, val) if len(ks) > 1 else {ks[0]: val})
            yield out

    data = list(grid(Dataset.parameters))
    objs = list(grid(Objective.parameters))
    pairs = [(d, o) for d, o in itertools.product(data, objs)
             if all(str({**d, **o}.get(k)) == v for k, v in (where or {}).items())]
    return Dataset, Objective, (pairs[:2] if quick else pairs)


def _next(solver, k):
    """benchopt's schedule: the solver's ``get_next`` (ours, skglm, celer: k + 1), else its default
    geometric growth (x1.5, at least + 1)."""
    return solver.get_next(k) if hasattr(solver, "get_next") else max(k + 1, int(1.5 * k))


def _time_to(solver, objective, target, max_k, start=1):
    """Smallest sampled k from ``start`` on with objective(run(k)) <= target: (seconds of run(k),
    CPU seconds of it, value, k); inf if never."""
    k = start
    while k <= max_k:
        c0, t0 = time.process_time(), time.perf_counter()
        solver.run(k)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        val = objective(solver.get_result())[0]["objective_value"]
        if val <= target:
            return dt, dc, val, k
        k = _next(solver, k)
    return float("inf"), float("inf"), val, max_k


def run_table(kind: str, clone: Path, eps: float, reps: int, quick: bool, max_k: int,
              where: dict | None = None) -> list[dict]:
    """One row per setting: median time to ``eps·F0`` per solver (``where``: parameter values kept)."""
    import numpy as np

    Dataset, Objective, pairs = _settings(clone, kind, quick, where)
    solvers = {"proxgan": _load(OURS[kind], "Solver", f"{kind}_proxgan")}
    for label, fname in PEERS[kind].items():
        f = clone / "solvers" / f"{fname}.py"
        if f.exists():
            try:
                S = _load(f, "Solver", f"{kind}_{fname}")
                if S.is_installed() if hasattr(S, "is_installed") else True:
                    solvers[label] = S
            except Exception as e:  # noqa: BLE001 - a peer that cannot be imported is reported, not fatal
                print(f"# {label}: not available ({type(e).__name__}: {e})", file=sys.stderr)
    rows = []
    for dkw, okw in pairs:
        ds = Dataset(**dkw)
        obj = Objective(**okw)
        obj.set_data(**ds.get_data())
        f0 = obj(obj.get_one_result())[0]["objective_value"]
        built = {}
        for label, S in solvers.items():
            params = {k: v[0] for k, v in getattr(S, "parameters", {}).items()}  # e.g. solver="liblinear"
            s = S(**params)
            for k, v in params.items():  # what benchopt's runner sets from the parameter grid
                setattr(s, k, v)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                skip, _ = s._set_objective(obj)
                if skip:
                    continue
                s._warm_up()
                s.run(max_k)
            built[label] = s
        best = min(obj(s.get_result())[0]["objective_value"] for s in built.values())
        target = best + eps * f0
        times = {label: [] for label in built}
        cpu = {label: [] for label in built}
        k_hit = {label: 1 for label in built}
        for _ in range(reps):  # interleaved repetitions
            for label, s in built.items():
                # the first repetition samples k = 1, 2, ... as benchopt does; the solvers are
                # deterministic, so the later ones time run(k) from the k found (and sample on
                # from there if it no longer reaches the target)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    dt, dc, _, k_hit[label] = _time_to(s, obj, target, max_k, k_hit[label])
                times[label].append(dt)
                cpu[label].append(dc)
        row = {"setting": {**dkw, **okw}, "k": k_hit, "time": {k: float(np.median(v)) for k, v in times.items()},
               "cpu": {k: float(np.median(v)) for k, v in cpu.items()}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _report(rows: list[dict], title: str, key: str = "time") -> None:
    """The table of ``row[key]`` (``"time"``: wall clock, ``"cpu"``: CPU time) with ratios ours/peer."""
    import numpy as np

    peers = sorted({k for r in rows for k in r["time"]} - {"proxgan"})
    print(f"\n{title}")
    print("setting".ljust(58) + "proxgan ms".rjust(11) + "".join(f"{p + ' ms':>13}" for p in peers)
          + "".join(f"{'ours/' + p:>15}" for p in peers))
    logs = {p: [] for p in peers}
    for r in rows:
        t = r[key]
        short = {"n_samples": "n", "n_features": "p", "fit_intercept": "icpt"}
        line = " ".join(f"{short.get(k, k)}={v}" for k, v in r["setting"].items())[:57].ljust(58)
        line += f"{1e3 * t['proxgan']:11.2f}" + "".join(f"{1e3 * t.get(p, float('nan')):13.2f}" for p in peers)
        for p in peers:
            ratio = t["proxgan"] / t.get(p, float("nan"))
            line += f"{ratio:15.2f}"
            if np.isfinite(ratio) and ratio > 0:
                logs[p].append(np.log(ratio))
        print(line)
    means = "".join(f"{np.exp(np.mean(v)) if v else float('nan'):15.2f}" for v in logs.values())
    print("geometric mean (ours/peer)".ljust(69 + 13 * len(peers)) + means)


def main(argv=None) -> int:
    """Command line (module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lasso-clone", type=Path, help="clone of github.com/benchopt/benchmark_lasso")
    ap.add_argument("--logreg-clone", type=Path, help="clone of github.com/benchopt/benchmark_logreg_l1")
    ap.add_argument("--eps", type=float, default=1e-6, help="suboptimality target, relative to F0")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--max-iter", type=int, default=5000, help="largest n_iter tried per solver")
    ap.add_argument("--quick", action="store_true", help="the first two settings only (a smoke run)")
    ap.add_argument("--threads", choices=["one", "default", "both"], default="both")
    ap.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                    help="keep only the settings with this parameter value, e.g. n_samples=500 (repeatable)")
    ap.add_argument("--child", choices=["one", "default"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    where = dict(w.split("=", 1) for w in args.where)
    if not (args.lasso_clone or args.logreg_clone):
        ap.error("give --lasso-clone and/or --logreg-clone (clones of benchopt's benchmarks; see bench/README.md)")
    if args.child is None:  # one child process per thread setting: the variables must precede numpy's import
        modes = ["one", "default"] if args.threads == "both" else [args.threads]
        for mode in modes:
            env = dict(os.environ)
            for v in THREAD_VARS:
                env.pop(v, None)
                if mode == "one":
                    env[v] = "1"
            cmd = [sys.executable, __file__, "--child", mode] + [a for a in (argv or sys.argv[1:])]
            rc = subprocess.call(cmd, env=env)
            if rc:
                return rc
        return 0
    for kind, clone in (("lasso", args.lasso_clone), ("logreg", args.logreg_clone)):
        if clone is None:
            continue
        sha = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip() or "unknown"
        import benchopt
        rows = run_table(kind, clone, args.eps, args.reps, args.quick, args.max_iter, where)
        head = f"{kind}: benchopt {benchopt.__version__}, clone {sha}, threads={args.child}, " \
               f"time to {args.eps:g}·F0, median of {args.reps}, load average {os.getloadavg()[0]:.2f}"
        _report(rows, head + " (wall clock)")
        if args.child == "one":
            _report(rows, head + " (CPU time)", "cpu")
    return 0


if __name__ == "__main__":
    sys.exit(main())
