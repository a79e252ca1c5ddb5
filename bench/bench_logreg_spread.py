"""Run-to-run spread of one benchmark_logreg_l1 cell: proxgan's and skglm's benchopt solvers, timed
many times at the iteration count that reaches the target, side by side.

For one simulated setting of benchopt's benchmark_logreg_l1 (default: 500 × 2000, reg 0.5), both
solvers are loaded from their benchopt files (ours from ``bench/benchopt/``, skglm's from the clone),
warmed up, and the smallest ``run(k)`` whose objective is within ``--eps``·F0 of the best objective
is found for each. Then ``run(k)`` is timed ``--reps`` times, interleaved (ours, skglm, ours, …), with
the benchmark's objective evaluated after every run as benchopt does (its ``X @ beta`` wakes numpy's
BLAS threads between fits). Printed per solver: median, min and max wall time, median CPU time, and
the ratio of medians ours / skglm. Thread settings are the caller's: run it once as is and once with
``OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1``.

Usage::

    nice python bench/bench_logreg_spread.py --clone /tmp/benchmark_logreg_l1 --reps 30
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_benchopt as bb  # noqa: E402 - the benchmark's loaders, shared with the full table

__all__ = ["main"]


def main(argv=None) -> int:
    """Command line (module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clone", type=Path, required=True, help="clone of github.com/benchopt/benchmark_logreg_l1")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--p", type=int, default=2000)
    ap.add_argument("--reg", type=float, default=0.5)
    ap.add_argument("--eps", type=float, default=1e-6)
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    Dataset, Objective, _ = bb._settings(args.clone, "logreg", False)
    obj = Objective(reg=args.reg, fit_intercept=False)
    obj.set_data(**Dataset(n_samples=args.n, n_features=args.p).get_data())
    f0 = obj(obj.get_one_result())[0]["objective_value"]
    solvers = {"proxgan": bb._load(bb.OURS["logreg"], "Solver", "logreg_proxgan")(),
               "skglm": bb._load(args.clone / "solvers" / "skglm.py", "Solver", "logreg_skglm")()}
    for s in solvers.values():
        s._set_objective(obj)
        s._warm_up()
        s.run(200)
    target = min(obj(s.get_result())[0]["objective_value"] for s in solvers.values()) + args.eps * f0
    ks = {name: bb._time_to(s, obj, target, 500)[2] for name, s in solvers.items()}
    wall = {name: [] for name in solvers}
    cpu = {name: [] for name in solvers}
    for _ in range(args.reps):
        for name, s in solvers.items():
            t0, c0 = time.perf_counter(), time.process_time()
            s.run(ks[name])
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            obj(s.get_result())
    threads = {v: os.environ.get(v, "default") for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    print(f"benchmark_logreg_l1 n={args.n} p={args.p} reg={args.reg}, {args.reps} runs each, threads {threads}, "
          f"load {os.getloadavg()[0]:.2f}")
    for name in solvers:
        w = 1e3 * np.array(wall[name])
        print(f"{name:8s} run({ks[name]}): wall median {np.median(w):7.2f} ms  min {w.min():7.2f}  max {w.max():7.2f}"
              f"  | CPU median {1e3 * np.median(cpu[name]):7.2f} ms")
    print(f"ratio of medians proxgan / skglm: wall {np.median(wall['proxgan']) / np.median(wall['skglm']):.2f}, "
          f"CPU {np.median(cpu['proxgan']) / np.median(cpu['skglm']):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
