"""MCP and SCAD regression against skglm on the Lasso problems L1–L5: CPU time to the same stationarity.

Both solve :math:`\\frac{1}{2n}\\lVert y - Xw\\rVert^2 + \\sum_j g(w_j)` (``fit_intercept=False``) with
g = MCP(α, γ=3) or SCAD(α, γ=3.7), α = the problem's Lasso α (bench/PROTOCOL.md): proxgan's
``MCPRegression`` / ``SCADRegression`` and skglm's ``MCPRegression`` / ``GeneralizedLinearEstimator``
with ``SCAD`` and ``AndersonCD``.

Fairness, checked or stated in the output:

* **Same objective.** Before timing, the script evaluates both libraries' penalty values, proxes and
  subdifferential distances at the same points (and the full objectives at both solvers' solutions)
  and prints the largest differences; they must be at rounding level.
* **Same stationarity measure, computed by the bench.** A fit *reaches* ε when its stationarity, the
  largest distance of −∇f(w) to the (Clarke) subdifferential of g over the coordinates, computed here
  in float64 from the returned coefficients (proxgan's ``penalty.subdiff_distance``, which the check
  above shows equal to skglm's), is at most ε·α_max (α_max = ‖Xᵀy‖∞/n). Neither solver's own report
  is used. skglm stops on that very measure; proxgan stops on the fixed-point violation of its
  coordinate updates, which differs from it by a factor between 1 and about 1.6 here. Each contender
  therefore runs at the loosest tolerance of one common ladder (steps of 10^(1/4), from 100·ε·α_max
  down) that reaches ε.
* **Both warm** (every JIT compiled on a small problem first), **interleaved** repeats (A B A B ...),
  median CPU time of a fit with every thread pool limited to one thread (threadpoolctl).
* **Which critical point.** The problems are not convex (p > n or strong correlation) and both start
  from zero: each row gives both objective values, support sizes and stationarities, and whether the
  supports are equal. A ratio between runs that stop at different critical points compares different
  amounts of work; the table says so.

Target: proxgan / skglm <= 0.5.

``--baseline REV`` also times proxgan's estimators at git revision ``REV`` (extracted as the package
``proxgan_base``, as ``bench_lasso.py --baseline`` does) in the same interleaved rounds, on the same
tolerance ladder, and adds the column proxgan / proxgan@REV: a before/after comparison on the same load.

Usage::

    python bench/nonconvex_regression.py                        # L1..L5, MCP and SCAD, eps 1e-6
    python bench/nonconvex_regression.py --problems L2 L4 --penalties mcp --repeats 3
    python bench/nonconvex_regression.py --seeds 0 1 2                    # other draws of the same designs
    python bench/nonconvex_regression.py --problems L2 L3 --baseline main  # before/after, side by side
"""
from __future__ import annotations

import argparse
import importlib
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
LADDER = [100.0 * 10.0 ** (-k / 4) for k in range(17)]  # times the target: 100 .. 0.01, steps of 10^(1/4)


#: ``(name, MCPRegression, SCADRegression)`` of proxgan at the ``--baseline`` revision, or None
BASELINE = None


def _load_baseline(rev: str):
    """proxgan's MCPRegression / SCADRegression at git revision ``rev``, through ``bench_lasso``'s extraction of
    that revision as the package ``proxgan_base``."""
    from bench_lasso import _baseline
    _baseline(rev)  # extracts the revision, puts it on sys.path (its Lasso entry is not used here)
    lm = importlib.import_module("proxgan_base.linear_model")
    return f"proxgan@{rev}", lm.MCPRegression, lm.SCADRegression


def _contenders(kind: str):
    from skglm import GeneralizedLinearEstimator
    from skglm import MCPRegression as SkMCP
    from skglm.datafits import Quadratic
    from skglm.penalties import SCAD as SkSCAD
    from skglm.solvers import AndersonCD

    g = GAMMA[kind]
    if kind == "mcp":
        out = {"proxgan": lambda a, t: MCPRegression(a, g, fit_intercept=False, tol=t, max_iter=100000),
               "skglm": lambda a, t: SkMCP(a, g, fit_intercept=False, tol=t)}
    else:
        out = {"proxgan": lambda a, t: SCADRegression(a, g, fit_intercept=False, tol=t, max_iter=100000),
               "skglm": lambda a, t: GeneralizedLinearEstimator(Quadratic(), SkSCAD(a, g),
                                                                AndersonCD(tol=t, fit_intercept=False))}
    if BASELINE is not None:
        name, mcp_cls, scad_cls = BASELINE
        cls = mcp_cls if kind == "mcp" else scad_cls
        out[name] = lambda a, t: cls(a, g, fit_intercept=False, tol=t, max_iter=100000)
    return out


def _skglm_penalty(kind, a):
    from skglm.penalties import SCAD as SkSCAD
    from skglm.penalties import MCPenalty
    return MCPenalty(a, GAMMA[kind]) if kind == "mcp" else SkSCAD(a, GAMMA[kind])


def parametrisation_check(kind, X, y, a, coefs) -> str:
    """Largest differences between proxgan's and skglm's penalty value, prox and subdifferential
    distance at the same points (random ones, the region boundaries, both solutions), and of the
    objectives at the solutions ``coefs``."""
    ours, theirs = (MCP if kind == "mcp" else SCAD)(a, GAMMA[kind]), _skglm_penalty(kind, a)
    g = GAMMA[kind]
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.standard_normal(200) * g * a, a * np.array([0, 1, -1, g, -g, 1.5, 2.5]),
                          *coefs.values()])
    grads = rng.standard_normal(pts.size) * a
    d_val = abs(float(ours.value(torch.from_numpy(pts))) - theirs.value(pts))
    d_sub = float(np.max(np.abs(ours.subdiff_distance(torch.from_numpy(pts), torch.from_numpy(grads)).numpy()
                                - theirs.subdiff_distance(pts, grads, np.arange(pts.size)))))
    d_prox = 0.0
    for x in pts[:207]:
        for step in (0.5, 1.0, 1.1):
            mine = float(ours.prox(torch.tensor([x], dtype=torch.float64), step)[0])
            d_prox = max(d_prox, abs(mine - theirs.prox_1d(x, step, 0)))
    d_obj = 0.0
    for w in coefs.values():
        r = y - X @ w
        d_obj = max(d_obj, abs(objective(kind, X, y, w, a) - (0.5 * float(r @ r) / len(y) + theirs.value(w))))
    return f"max |Δ value| {d_val:.1e}, |Δ prox| {d_prox:.1e}, |Δ subdiff distance| {d_sub:.1e}, |Δ objective| {d_obj:.1e}"


def stationarity(kind, X, y, w, a) -> float:
    pen = (MCP if kind == "mcp" else SCAD)(a, GAMMA[kind])
    grad = -X.T @ (y - X @ w) / X.shape[0]
    return float(pen.subdiff_distance(torch.from_numpy(w), torch.from_numpy(grad)).max())


def objective(kind, X, y, w, a) -> float:
    pen = (MCP if kind == "mcp" else SCAD)(a, GAMMA[kind])
    r = y - X @ w
    return 0.5 * float(r @ r) / X.shape[0] + float(pen.value(torch.from_numpy(w)))


def run(pid, kind, eps, repeats, seed=0):
    X, y, a = make_problem(pid, seed=seed)
    target = eps * alpha_max(X, y)
    comps = _contenders(kind)
    chosen, times, coefs = {}, {}, {}
    for name, make in comps.items():
        for tol in [target * f for f in LADDER]:
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
    cells = []
    for k in comps:
        if k not in med:
            cells.append("not reached")
            continue
        w = coefs[k]
        cells.append(f"{med[k]:.4f} (tol {chosen[k] / target:.2g}·ε) | {objective(kind, X, y, w, a):.6g} | "
                     f"{np.count_nonzero(w)} | {stationarity(kind, X, y, w, a) / target:.2g}")
    ratio = None
    if "proxgan" in med and "skglm" in med:
        ratio = med["proxgan"] / med["skglm"]
        same = np.array_equal(coefs["proxgan"] != 0, coefs["skglm"] != 0)
        tail = f"{ratio:.2f} | {'same' if same else 'different'}"
    else:
        tail = "n/a | n/a"
    base_ratio = None
    if BASELINE is not None:
        base = BASELINE[0]
        if "proxgan" in med and base in med:
            base_ratio = med["proxgan"] / med[base]
        tail += " | n/a" if base_ratio is None else f" | {base_ratio:.2f}"
    name = pid if seed == 0 else f"{pid} (seed {seed})"
    print(f"| {name} | {kind.upper()} | {' | '.join(c for c in cells)} | {tail} |", flush=True)
    return ratio, base_ratio, parametrisation_check(kind, X, y, a,
                                                    {k: coefs[k] for k in ("proxgan", "skglm") if k in coefs})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    ap.add_argument("--penalties", nargs="+", default=["mcp", "scad"], choices=["mcp", "scad"])
    ap.add_argument("--eps", type=float, default=1e-6, help="stationarity target, relative to alpha_max")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0],
                    help="data seeds (the protocol's problems are seed 0; more show how much the ratio "
                         "depends on which critical points the two solvers reach)")
    ap.add_argument("--baseline", metavar="REV",
                    help="also time proxgan's estimators at this git revision (column proxgan / proxgan@REV)")
    args = ap.parse_args(argv)
    global BASELINE
    if args.baseline:
        BASELINE = _load_baseline(args.baseline)
    threadpool_limits(1)
    torch.set_num_threads(1)
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"CPU times = median of {args.repeats} interleaved fits, one thread; stationarity <= {args.eps:g}·α_max; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    X, y, a = make_problem("L4")
    for kind in args.penalties:  # JIT warm-up of both contenders
        for make in _contenders(kind).values():
            _fit(make, X[:50, :60], y[:50], a, 1e-6)
    print("Columns per solver: CPU s (the tolerance it ran at, in units of the target ε·α_max) | objective | "
          "nonzeros | stationarity / (ε·α_max), from the returned coefficients.\n")
    extra = [BASELINE[0]] if BASELINE is not None else []
    print("| problem | penalty | proxgan s | objective | nnz | stationarity | skglm s | objective | nnz | "
          "stationarity | " + "".join(f"{b} s | objective | nnz | stationarity | " for b in extra)
          + "proxgan / skglm (target <= 0.5) | supports |" + "".join(f" proxgan / {b} |" for b in extra))
    print("|---|---|---|---:|---:|---:|---|---:|---:|---:|" + "---|---:|---:|---:|" * len(extra) + "---:|---|"
          + "---:|" * len(extra))
    checks, ratios, base_ratios = [], {k: [] for k in args.penalties}, {k: [] for k in args.penalties}
    for seed in args.seeds:
        for pid in args.problems:
            for kind in args.penalties:
                ratio, base_ratio, check = run(pid, kind, args.eps, args.repeats, seed)
                checks.append(f"{pid} seed {seed} {kind.upper()}: {check}")
                if ratio is not None:
                    ratios[kind].append(ratio)
                if base_ratio is not None:
                    base_ratios[kind].append(base_ratio)
    print()
    for kind, r in ratios.items():
        if r:
            print(f"{kind.upper()}: geometric mean of proxgan / skglm {np.exp(np.mean(np.log(r))):.2f} over {len(r)} "
                  f"cells, {sum(v <= 0.5 for v in r)} of them <= 0.5")
    for kind, r in base_ratios.items():
        if r:
            print(f"{kind.upper()}: geometric mean of proxgan / {BASELINE[0]} {np.exp(np.mean(np.log(r))):.2f} over "
                  f"{len(r)} cells")
    print("\nSame objective (proxgan's penalty against skglm's, same points, and the objectives at both solutions):")
    for line in checks:
        print("  " + line)
    print(f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
