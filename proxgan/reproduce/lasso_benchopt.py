r"""``proxgan reproduce lasso-benchopt``: suboptimality versus time, and time to tolerance, on L1–L5.

The problems and the protocol are those of ``bench/PROTOCOL.md``. For every
contender (proxgan's coordinate descent and FISTA, scikit-learn, skglm, celer) we run
a ladder of its own tolerances, and for each run record the wall time and the duality
gap of the returned coefficients, recomputed here in float64 and divided by
:math:`P(0) = \lVert y\rVert^2/(2n)`. The curves plot these points (benchopt's way of
drawing a solver that is not instrumented per iteration). The time to reach
:math:`\varepsilon` is the median time of the loosest tolerance of the ladder whose
gap is :math:`\le \varepsilon P(0)`; the ratio column divides proxgan's time by the best
competitor's.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from proxgan.reproduce._contenders import single_contenders
from proxgan.reproduce._report import Table, bar as _progress, new_figure, save_figure, tidy_log_axis, write_table
from proxgan.reproduce.problems import PROBLEMS, make_problem

__all__ = ["run", "gap_ladder"]

LADDER = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12)


def gap_ladder(fn, X, y, alpha, budget: float, ladder=LADDER) -> list[tuple[float, float, float]]:
    """Run ``fn`` at each tolerance of ``ladder``: ``[(tol, seconds, gap / P(0)), ...]``.

    Stops early once a run exceeds ``budget`` seconds or the gap is below 1e-10·P(0).

    Parameters
    ----------
    fn : callable
        ``fn(X, y, tol)`` fits and returns the coefficients.
    X : numpy.ndarray
        Design.
    y : numpy.ndarray
        Targets.
    alpha : float
        Lasso penalty.
    budget : float
        Seconds allowed for the ladder.
    ladder : tuple of float
        Tolerances, loosest first.
    """
    from proxgan.reproduce.problems import lasso_gap

    p0 = float(y @ y) / (2 * X.shape[0])
    points = []
    for tol in ladder:
        t0 = time.perf_counter()
        coef = fn(X, y, alpha, tol)
        dt = time.perf_counter() - t0
        points.append((tol, dt, max(lasso_gap(X, y, coef, alpha), 0.0) / p0))
        if dt > budget or points[-1][2] < 1e-10:
            break
    return points


def _time_to(fn, X, y, alpha, points, eps: float, repeats: int):
    """Median seconds of the loosest tolerance that reached ``eps`` (None if none did)."""
    ok = [tol for tol, _, gap in points if gap <= eps]
    if not ok:
        return None, None
    tol = max(ok)
    times = [t for tl, t, _ in points if tl == tol]
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        fn(X, y, alpha, tol)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), tol


def run(out_dir: str | Path, quick: bool = False, progress: bool = True, problems=None,
        solvers=("cd", "fista"), budget: float | None = None) -> dict[str, Path]:
    """Write ``lasso-benchopt.md``, CSVs and ``lasso-benchopt.png`` into ``out_dir``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder of the files written.
    quick : bool
        A seconds-long smoke run with tiny sizes.
    progress : bool
        Show a progress bar.
    problems : sequence of str, optional
        Problems among L1–L5 (default: all).
    solvers : tuple of str
        proxgan solvers.
    budget : float, optional
        Seconds allowed per solver and problem.
    """
    problems = problems or list(PROBLEMS)
    scale = 0.1 if quick else 1.0
    epsilons = (1e-4, 1e-6) if quick else (1e-4, 1e-6, 1e-8)
    repeats = 1 if quick else 3
    budget = budget or (5.0 if quick else 60.0)
    contenders = single_contenders(solvers)
    timed = {k: v for k, v in contenders.items() if callable(v)}
    Xw, yw, aw = make_problem("L4", scale=0.05)
    for fn in timed.values():  # warm up JIT compilers
        fn(Xw, yw, aw, 1e-4)
    curves = Table("Runs of the tolerance ladder", ["problem", "contender", "tol", "seconds", "gap / P(0)"])
    ttt = Table("Seconds to reach gap ≤ ε·P(0) (median; the tolerance used in brackets)",
                ["problem", "contender"] + [f"ε={e:g}" for e in epsilons])
    ratios = Table("proxgan cd / best competitor (time to tolerance; < 1: proxgan is faster)",
                   ["problem"] + [f"ε={e:g}" for e in epsilons] + ["best competitor at ε=1e-6"])
    fig, axes = new_figure(1, len(problems), figsize=(4 * len(problems), 3.6), squeeze=False)
    bar = _progress(len(problems) * len(timed), "lasso-benchopt", progress, unit="solve")
    for ax, pid in zip(axes.ravel(), problems):
        X, y, alpha = make_problem(pid, scale=scale)
        best: dict[float, tuple[float, str]] = {}
        mine: dict[float, float | None] = {}
        for name, fn in contenders.items():
            if isinstance(fn, str):
                ttt.add(pid, name, *([fn] * len(epsilons)))
                continue
            pts = gap_ladder(fn, X, y, alpha, budget)
            for tol, dt, gap in pts:
                curves.add(pid, name, tol, dt, gap)
            ax.loglog([max(t, 1e-5) for _, t, _ in pts], [max(g, 1e-16) for *_, g in pts], marker="o", label=name)
            cells = []
            for eps in epsilons:
                t, tol = _time_to(fn, X, y, alpha, pts, eps, repeats)
                cells.append("not reached" if t is None else f"{t:.3g} ({tol:g})")
                if name == "proxgan cd":
                    mine[eps] = t
                elif not name.startswith("proxgan") and t is not None and (eps not in best or t < best[eps][0]):
                    best[eps] = (t, name)
            ttt.add(pid, name, *cells)
            bar.update()
        ratios.add(pid, *[(mine[e] / best[e][0]) if mine.get(e) and e in best else float("nan") for e in epsilons],
                   best.get(1e-6, (0, "none"))[1])
        n, p = X.shape
        ax.set_title(f"{pid} (n={n}, p={p})")
        ax.set_xlabel("seconds")
        ax.set_ylabel("duality gap / P(0)")
        tidy_log_axis(ax, "x")
    bar.close()
    axes.ravel()[0].legend(fontsize=7)
    if quick:
        ttt.notes.append("--quick: problems shrunk to 10% of n and p, ε ∈ {1e-4, 1e-6}, one run.")
    cmd = "proxgan reproduce lasso-benchopt" + (" --quick" if quick else "")
    paths = write_table(out_dir, "lasso-benchopt", [ratios, ttt, curves], command=cmd,
                        preamble=(__doc__ or "").split("\n\n")[1], quick=quick)
    paths["png"] = save_figure(fig, Path(out_dir) / "lasso-benchopt.png", quick)
    return paths

