r"""``proxgan reproduce glmnet-table1``: Friedman, Hastie & Tibshirani (2010), Table 1.

Total time of a 100-:math:`\lambda` Lasso path on Gaussian data with pairwise
correlation :math:`\rho \in \{0, 0.1, 0.2, 0.5, 0.9, 0.95\}` for
:math:`(N, p) \in \{(1000,100), (5000,100), (100,1000), (100,5000), (100,20000), (100,50000)\}`,
averaged over 3 runs (the recipe is in ``bench/PROTOCOL.md``). The path has 100
log-spaced values from :math:`\lambda_{max}` down to :math:`10^{-3}\lambda_{max}` for every
block (glmnet's own floor is :math:`10^{-4}` for N > p and :math:`10^{-2}` for N < p; one
floor for all makes the rows comparable), warm starts, and a convergence threshold of
1e-7: the duality gap relative to :math:`\lVert y\rVert^2/n` for proxgan, scikit-learn
and celer; skglm's own optimality tolerance (its criterion differs). After every path the
duality gap of every solution is recomputed here; cells whose worst gap exceeds
:math:`\max(10^{-6}, 2\,\text{tol})\,P(0)` are marked †.

Runs of a cell are repeated while they add up to less than half the time budget (30 s);
a contender whose run takes more than a third of it is skipped on the later cells that are
at least as large (N·p) and as correlated (ρ); a run still going after four budgets is stopped and
marked so. A missing package is a row that says so.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from proxgan.reproduce._contenders import as_path_coefs, path_contenders
from proxgan.reproduce._report import Table, bar as _progress, new_figure, save_figure, write_table
from proxgan.reproduce.problems import alpha_max, glmnet_data, lasso_gap

__all__ = ["RHOS", "BLOCKS", "run", "time_path"]

RHOS = (0.0, 0.1, 0.2, 0.5, 0.9, 0.95)
BLOCKS = ((1000, 100), (5000, 100), (100, 1000), (100, 5000), (100, 20000), (100, 50000))
QUICK_RHOS = (0.0, 0.5)
QUICK_BLOCKS = ((100, 10), (20, 100))


class _Stopped(Exception):
    """Raised by the interval timer: a run went past its time limit."""


def _alarm(signum, frame):
    raise _Stopped


def time_path(fn, X, y, alphas, tol: float, runs: int, budget: float,
              limit: float | None = None) -> tuple[float, float, int]:
    """Mean seconds over ``runs`` (fewer once they add up to ``budget / 2``), worst relative gap, runs done.

    With ``limit`` (seconds, main thread on POSIX), a run still going then is stopped at
    its next return to Python (paths are Python loops over λ): the result is
    ``(inf, nan, 0)``.

    Parameters
    ----------
    fn : callable
        ``fn(X, y, tol)`` fits and returns the coefficients.
    X : numpy.ndarray
        Design.
    y : numpy.ndarray
        Targets.
    alphas : numpy.ndarray
        The path's alphas.
    tol : float
        Solver tolerance.
    runs : int
        Timed runs.
    budget : float
        Seconds allowed for all runs.
    limit : float, optional
        Stop after a run longer than this many seconds.
    """
    import signal

    use_timer = limit is not None and hasattr(signal, "setitimer")
    times = []
    coefs = None
    for _ in range(runs):
        if use_timer:
            old = signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, limit)
        t0 = time.perf_counter()
        try:
            coefs = fn(X, y, alphas, tol)
        except _Stopped:
            return float("inf"), float("nan"), 0
        finally:
            if use_timer:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
        times.append(time.perf_counter() - t0)
        if sum(times) > budget / 2:
            break
    coefs = as_path_coefs(coefs)
    p0 = float(y @ y) / (2 * X.shape[0])
    worst = max(lasso_gap(X, y, coefs[:, k], float(a)) for k, a in enumerate(alphas)) / p0
    return float(np.mean(times)), float(worst), len(times)


def run(out_dir: str | Path, quick: bool = False, progress: bool = True, runs: int | None = None,
        budget: float | None = None, solvers=("cd", "fista", "ista")) -> dict[str, Path]:
    """Make the table; write ``glmnet-table1.md``, CSVs and ``glmnet-table1.png`` into ``out_dir``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder of the files written.
    quick : bool
        A seconds-long smoke run with tiny sizes.
    progress : bool
        Show a progress bar.
    runs : int, optional
        Timed runs per cell.
    budget : float, optional
        Seconds allowed per cell.
    solvers : tuple of str
        proxgan solvers to time.
    """
    blocks, rhos = (QUICK_BLOCKS, QUICK_RHOS) if quick else (BLOCKS, RHOS)
    runs = runs or (1 if quick else 3)
    budget = budget or (20.0 if quick else 30.0)
    tol, floor = (1e-5 if quick else 1e-7), 1e-3
    n_alphas = 20 if quick else 100
    mark = max(1e-6, 2 * tol)  # tol is relative to ||y||^2/n = 2 P(0)
    contenders = path_contenders(solvers)
    timed = {k: v for k, v in contenders.items() if callable(v)}
    Xw, yw = glmnet_data(30, 10, 0.5)  # warm up JIT compilers (numba) before any timing
    for fn in timed.values():
        fn(Xw, yw, alpha_max(Xw, yw) * np.logspace(0, -1, 3), 1e-4)
    skipped: dict[str, str] = {}  # name -> the first slow cell, for the notes
    slow: dict[str, list] = {}  # name -> (N·p, ρ) of cells slower than budget/3
    long = Table("All measurements", ["N", "p", "rho", "contender", "mean seconds", "runs", "worst gap / P(0)"])
    wide = Table(f"Seconds for a {n_alphas}-lambda path (mean of runs; † = some gap above {mark:g}·P(0))",
                 ["N, p", "contender"] + [f"ρ={r:g}" for r in rhos])
    cells: dict[tuple, str] = {}
    results: dict[tuple, float] = {}
    bar = _progress(len(blocks) * len(rhos) * len(timed), "glmnet-table1", progress, unit="cell")
    for N, p in blocks:
        for rho in rhos:
            X, y = glmnet_data(N, p, rho)
            alphas = alpha_max(X, y) * np.logspace(0, np.log10(floor), n_alphas)
            for name, fn in timed.items():
                if any(N * p >= size and rho >= r for size, r in slow.get(name, ())):
                    cells[(N, p, rho, name)] = "skipped"
                    bar.update()
                    continue
                t, gap, done = time_path(fn, X, y, alphas, tol, runs, budget, limit=4 * budget)
                long.add(N, p, rho, name, t, done, gap)
                if done == 0:
                    cells[(N, p, rho, name)] = f"> {4 * budget:g} (stopped)"
                    slow.setdefault(name, []).append((N * p, rho))
                    skipped.setdefault(name, f"stopped after {4 * budget:g} s at N={N}, p={p}, ρ={rho:g}")
                    bar.update()
                    continue
                results[(N, p, rho, name)] = t
                cells[(N, p, rho, name)] = f"{t:.3g}" + ("†" if gap > mark else "")
                if t > budget / 3:
                    slow.setdefault(name, []).append((N * p, rho))
                    skipped.setdefault(name, f"over {budget / 3:g} s at N={N}, p={p}, ρ={rho:g}")
                bar.update()
        for name, fn in contenders.items():
            row = [cells.get((N, p, r, name), fn if isinstance(fn, str) else "n/a") for r in rhos]
            wide.add(f"{N}, {p}", name, *row)
        paths = _emit(out_dir, quick, wide, long, skipped, results, blocks, rhos, list(timed),
                      f"λ from λ_max to {floor:g}·λ_max, {n_alphas} values, tol {tol:g}; up to {runs} run(s) per cell"
                      + (" (--quick: small blocks, 20 values, tol 1e-5; the full table uses 100 values and 1e-7)."
                         if quick else "."), done=(N, p) == blocks[-1])
    bar.close()
    return paths


def _emit(out_dir, quick, wide, long, skipped, results, blocks, rhos, names, summary, done):
    """Write what is measured so far (after every block, so a long run leaves its rows behind)."""
    notes = [f"{name}: first run {why}; cells at least as large (N·p) and as correlated (ρ) as a slow one "
             "are skipped." for name, why in skipped.items()] + [summary]
    if not done:
        notes.append("Partial: the run has not reached the remaining blocks yet.")
    table = Table(wide.title, wide.columns, wide.rows, notes)
    cmd = "proxgan reproduce glmnet-table1" + (" --quick" if quick else "")
    paths = write_table(out_dir, "glmnet-table1", [table, long], command=cmd,
                        preamble=(__doc__ or "").split("\n\n")[1], quick=quick)
    paths["png"] = _plot(results, blocks, rhos, names, Path(out_dir) / "glmnet-table1.png", quick)
    return paths


def _plot(results, blocks, rhos, names, path, quick=False):
    fig, axes = new_figure(2, (len(blocks) + 1) // 2, figsize=(4 * ((len(blocks) + 1) // 2), 7), squeeze=False)
    for ax, (N, p) in zip(axes.ravel(), blocks):
        for name in names:
            pts = [(r, results[(N, p, r, name)]) for r in rhos if (N, p, r, name) in results]
            if pts:
                ax.plot(*zip(*pts), marker="o", label=name)
        ax.set_yscale("log")
        ax.set_title(f"N={N}, p={p}")
        ax.set_xlabel("ρ")
        ax.set_ylabel("seconds per path")
    axes.ravel()[0].legend(fontsize=7)
    return save_figure(fig, path, quick)

