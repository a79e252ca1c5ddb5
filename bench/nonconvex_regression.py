"""MCP and SCAD regression against skglm on the Lasso problems L1–L5: CPU time to the same stationarity.

Both solve :math:`\\frac{1}{2n}\\lVert y - Xw\\rVert^2 + \\sum_j g(w_j)` (``fit_intercept=False``) with
g = MCP(α, γ=3) or SCAD(α, γ=3.7), α = the problem's Lasso α (bench/PROTOCOL.md): proxgan's
``MCPRegression`` / ``SCADRegression`` and skglm's ``MCPRegression`` / ``GeneralizedLinearEstimator``
with ``SCAD`` and ``AndersonCD``. A fit *reaches* ε when its stationarity, the largest distance of
−∇f(w) to the (Clarke) subdifferential of g, computed here in float64 from the returned coefficients
by the penalty's own ``subdiff_distance``, is at most ε·α_max (α_max = ‖Xᵀy‖∞/n). Each contender runs
at the loosest tolerance of its ladder that reaches ε; then interleaved repeats, median CPU time of a fit
with every thread pool limited to one thread (threadpoolctl). The problems are not convex: the table
also gives the objective ratio and whether the two supports are equal (both start from zero).
Target: proxgan / skglm <= 0.5.

Usage::

    python bench/nonconvex_regression.py                        # L1..L5, MCP and SCAD, eps 1e-6
    python bench/nonconvex_regression.py --problems L2 L4 --penalties mcp --repeats 3
"""
from __future__ import annotations

import argparse
import os
import platform
import sys

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(__file__))
from bench_lasso import _fit  # noqa: E402  (CPU time of one fit, warnings silenced)
from lasso_problems import PROBLEMS, alpha_max, make_problem  # noqa: E402

from proxgan.linear_model import MCPRegression, SCADRegression  # noqa: E402
from proxgan.penalties import MCP, SCAD  # noqa: E402

GAMMA = {"mcp": 3.0, "scad": 3.7}


def _contenders(kind: str):
    from skglm import GeneralizedLinearEstimator
    from skglm import MCPRegression as SkMCP
    from skglm.datafits import Quadratic
    from skglm.penalties import SCAD as SkSCAD
    from skglm.solvers import AndersonCD

    g = GAMMA[kind]
    if kind == "mcp":
        return {"proxgan": lambda a, t: MCPRegression(a, g, fit_intercept=False, tol=t, max_iter=100000),
                "skglm": lambda a, t: SkMCP(a, g, fit_intercept=False, tol=t)}
    return {"proxgan": lambda a, t: SCADRegression(a, g, fit_intercept=False, tol=t, max_iter=100000),
            "skglm": lambda a, t: GeneralizedLinearEstimator(Quadratic(), SkSCAD(a, g),
                                                             AndersonCD(tol=t, fit_intercept=False))}


def stationarity(kind, X, y, w, a) -> float:
    pen = (MCP if kind == "mcp" else SCAD)(a, GAMMA[kind])
    grad = -X.T @ (y - X @ w) / X.shape[0]
    return float(pen.subdiff_distance(torch.from_numpy(w), torch.from_numpy(grad)).max())


def objective(kind, X, y, w, a) -> float:
    pen = (MCP if kind == "mcp" else SCAD)(a, GAMMA[kind])
    r = y - X @ w
    return 0.5 * float(r @ r) / X.shape[0] + float(pen.value(torch.from_numpy(w)))


def run(pid, kind, eps, repeats):
    X, y, a = make_problem(pid)
    target = eps * alpha_max(X, y)
    comps = _contenders(kind)
    chosen, times, coefs = {}, {}, {}
    for name, make in comps.items():
        for tol in [target * 10.0 ** (2 - k) for k in range(9)]:
            t, coef = _fit(make, X, y, a, tol)
            coef = np.asarray(coef, dtype=np.float64).ravel()
            if stationarity(kind, X, y, coef, a) <= target:
                chosen[name], times[name], coefs[name] = tol, [t], coef
                break
        else:
            chosen[name] = None
    for _ in range(repeats - 1):
        for name, make in comps.items():
            if chosen[name] is not None:
                times[name].append(_fit(make, X, y, a, chosen[name])[0])
    med = {k: float(np.median(v)) for k, v in times.items()}
    cells = " | ".join(f"{med[k]:.4f} (tol {chosen[k]:.0e})" if k in med else "not reached" for k in comps)
    if len(med) == 2:
        obj = objective(kind, X, y, coefs["proxgan"], a) / objective(kind, X, y, coefs["skglm"], a)
        same = np.array_equal(coefs["proxgan"] != 0, coefs["skglm"] != 0)
        tail = f"{med['proxgan'] / med['skglm']:.2f} | {obj:.6f} | {same} ({np.count_nonzero(coefs['proxgan'])} nnz)"
    else:
        tail = "n/a | n/a | n/a"
    print(f"| {pid} | {kind.upper()} | {cells} | {tail} |", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    ap.add_argument("--penalties", nargs="+", default=["mcp", "scad"], choices=["mcp", "scad"])
    ap.add_argument("--eps", type=float, default=1e-6, help="stationarity target, relative to alpha_max")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    threadpool_limits(1)
    torch.set_num_threads(1)
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"CPU times = median of {args.repeats} interleaved fits, one thread; stationarity <= {args.eps:g}·α_max; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    X, y, a = make_problem("L4")
    for kind in args.penalties:  # JIT warm-up of both contenders
        for make in _contenders(kind).values():
            _fit(make, X[:50, :60], y[:50], a, 1e-6)
    print("| problem | penalty | proxgan s | skglm s | proxgan / skglm (target <= 0.5) | objective ratio | same support |")
    print("|---|---|---|---|---:|---:|---|")
    for pid in args.problems:
        for kind in args.penalties:
            run(pid, kind, args.eps, args.repeats)


if __name__ == "__main__":
    main()
