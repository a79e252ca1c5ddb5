"""Linear models on data larger than the workers' memory: proxgan's dask fits against dask-ml and scikit-learn.

Writes two synthetic float64 datasets to disk as zarr (``--scale 1``: a tall 5,000,000 × 100, 4 GB,
with a continuous target, and a wide 200,000 × 2,000, 3.2 GB, with binary labels from a logistic
model; ``--scale s`` shrinks the rows by s), starts a ``LocalCluster`` of ``--workers`` single-thread
worker processes with ``--memory-limit`` each on 127.0.0.1, and reports for every fit

* wall time;
* passes over the data: chunk reads counted on the workers, divided by the number of chunks;
* peak RSS of every worker (sampled every 0.2 s during the fit) and of this process (the client);
* agreement: the same estimator fitted in memory on a subsample that fits, against its dask fit.

Fits: a 100-λ Lasso path and a LassoCV (5 folds, 100 λ) on the tall data; L1 logistic regression on
the wide data; dask-ml's ``LinearRegression`` / ``LogisticRegression`` with an L1 penalty (``admm``,
``proximal_grad``; same objective: dask-glm minimises Σ loss + (1/C)‖w‖₁, no normalisation, no
intercept) compared at the objective reached (relative gap to proxgan's); scikit-learn on the largest
subsample of ``--sk-rows`` rows. Run ``python bench/bench_dask.py --scale 0.02`` for a quick look.
"""
from __future__ import annotations

import argparse
import os
import platform
import threading
import time
import warnings

import dask
import dask.array as da
import numpy as np
import psutil
from distributed import Client, LocalCluster, get_worker
from scipy.special import log_expit

from proxgan.linear_model import Lasso, LassoCV, LogisticRegression, lasso_path

__all__ = ["make_data", "main"]


def make_data(root: str, scale: float) -> dict:
    """The two zarr datasets (written once per scale): ``{"tall": (X, y), "wide": (X, y)}`` as dask arrays."""
    shapes = {"tall": (max(int(5_000_000 * scale), 2000), 100), "wide": (max(int(200_000 * scale), 2000), 2000)}
    out = {}
    for i, (name, (n, p)) in enumerate(shapes.items()):
        path = os.path.join(root, f"{name}-{n}x{p}.zarr")
        rows = max(min(25_000 if name == "tall" else 2_500, n // 20), 100)
        if not os.path.exists(os.path.join(path, "done")):
            rng = da.random.default_rng(i)
            X = rng.standard_normal((n, p), chunks=(rows, p))
            beta = np.zeros(p)
            k = 10 if name == "tall" else 20
            beta[:k] = np.random.default_rng(i).standard_normal(k)
            if name == "tall":
                X = X + 0.5 * rng.standard_normal((n, 1), chunks=(rows, 1)) + 1.0  # correlated, off-centre
                z = X @ beta
                y = z + np.sqrt(float(np.var(beta[:k]) * k) / 3.0) * rng.standard_normal(n, chunks=rows) + 2.0
            else:
                y = (rng.random(n, chunks=rows) < 1.0 / (1.0 + da.exp(-(X @ beta)))).astype(np.float64)
            da.to_zarr(X, os.path.join(path, "X"), overwrite=True)
            da.to_zarr(y, os.path.join(path, "y"), overwrite=True)
            open(os.path.join(path, "done"), "w").close()
        out[name] = (da.from_zarr(os.path.join(path, "X")), da.from_zarr(os.path.join(path, "y")))
    return out


def _count(block):
    w = get_worker()
    w.proxgan_reads = getattr(w, "proxgan_reads", 0) + 1
    return block


def _reads(dask_worker):
    return getattr(dask_worker, "proxgan_reads", 0)


def _reset(dask_worker):
    dask_worker.proxgan_reads = 0


def _rss():
    return psutil.Process().memory_info().rss


class Probe:
    """Wall time, chunk reads and peak RSS (workers, client) of one fit."""

    def __init__(self, client: Client, n_chunks: int) -> None:
        self.client, self.n_chunks = client, n_chunks

    def __enter__(self):
        self.client.run(_reset)
        self.peak = {}
        self.client_peak = _rss()
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._sample, daemon=True)
        self._th.start()
        self.t0 = time.perf_counter()
        return self

    def _sample(self):
        while not self._stop.is_set():
            try:
                for k, v in self.client.run(_rss).items():
                    self.peak[k] = max(self.peak.get(k, 0), v)
            except Exception:  # noqa: BLE001 (a worker restarting)
                pass
            self.client_peak = max(self.client_peak, _rss())
            self._stop.wait(0.2)

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self._stop.set()
        self._th.join()
        self.passes = sum(self.client.run(_reads).values()) / self.n_chunks
        return False

    def row(self, name, extra=""):
        mb = lambda b: f"{b / 2 ** 20:.0f}"  # noqa: E731
        workers = "/".join(mb(v) for _, v in sorted(self.peak.items()))
        print(f"| {name} | {self.wall:.1f} | {self.passes:.2f} | {workers} | {mb(self.client_peak)} | {extra} |",
              flush=True)


def _logistic_objective(X, y01, w, lam):
    """mean log(1 + exp(-y z)) + lam·‖w‖₁ (y in {0, 1} mapped to ±1), one lazy pass over X."""
    ypm = 2.0 * y01 - 1.0
    loss = (-(X @ w) * ypm).map_blocks(lambda a: -log_expit(-a), dtype=np.float64).mean()
    return float(loss.compute()) + lam * float(np.abs(w).sum())


def _lasso_objective(X, y, w, alpha):
    r = y - X @ w
    return float((0.5 * (r * r).mean()).compute()) + alpha * float(np.abs(w).sum())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full row counts (5M and 200k)")
    ap.add_argument("--dir", default="/tmp/proxgan-bench-dask", help="where the zarr data go")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--sk-rows", type=int, default=500_000, help="rows of the in-memory subsample (tall data)")
    ap.add_argument("--no-dask-ml", action="store_true")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    os.makedirs(args.dir, exist_ok=True)
    data = make_data(args.dir, args.scale)
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           memory_limit=args.memory_limit, dashboard_address=None)
    client = Client(cluster)
    Xt0, yt = data["tall"]
    Xw0, yw = data["wide"]
    Xt, Xw = Xt0.map_blocks(_count, dtype=Xt0.dtype), Xw0.map_blocks(_count, dtype=Xw0.dtype)
    print(f"machine: {platform.node()}, {psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2 ** 30:.0f} GiB; "
          f"{args.workers} workers × 1 thread, memory_limit {args.memory_limit}; dask {dask.__version__}")
    print(f"tall {Xt.shape} {Xt.nbytes / 1e9:.2f} GB in {Xt.numblocks[0]} chunks; "
          f"wide {Xw.shape} {Xw.nbytes / 1e9:.2f} GB in {Xw.numblocks[0]} chunks\n")
    print("| fit | wall s | passes | peak RSS workers MiB | client MiB | notes |\n|---|---|---|---|---|---|")
    Lasso(alpha=1.0).fit(Xt0[:2000], yt[:2000])  # warm: numba compile and worker imports
    with Probe(client, Xt.numblocks[0]) as pr:
        alphas, coefs, _ = lasso_path(Xt, yt, alphas=100)
    pr.row("proxgan lasso_path, 100 λ, tall", f"{int((coefs[:, -1] != 0).sum())} non-zeros at the last λ")
    with Probe(client, Xt.numblocks[0]) as pr:
        cv = LassoCV(alphas=100, cv=5).fit(Xt, yt)
    pr.row("proxgan LassoCV, 5 folds × 100 λ, tall", f"alpha_={cv.alpha_:.3g}")
    alpha = float(alphas[0]) / 20
    with Probe(client, Xt.numblocks[0]) as pr:
        las = Lasso(alpha=alpha, fit_intercept=False, tol=1e-8).fit(Xt, yt)
    pr.row("proxgan Lasso α_max/20, no intercept, tall", "tol 1e-8")
    f_las = _lasso_objective(Xt0, yt, las.coef_, alpha)
    n_w = Xw.shape[0]
    lam_max = float(da.abs(Xw0.T @ (yw - 0.5)).max().compute()) / n_w
    C = 1.0 / (0.1 * lam_max * n_w)
    with Probe(client, Xw.numblocks[0]) as pr:
        lg = LogisticRegression(l1_ratio=1.0, C=C, solver="saga", fit_intercept=False, tol=1e-6).fit(Xw, yw)
    f_lg = _logistic_objective(Xw0, yw, lg.coef_[0], 1.0 / (C * n_w))
    t_lg = pr.wall
    pr.row("proxgan L1 logistic λ_max/10, wide", f"{lg.n_passes_} passes by the solver, "
           f"{int((lg.coef_ != 0).sum())} non-zeros")
    if not args.no_dask_ml:
        from dask_ml.linear_model import LinearRegression as DLR
        from dask_ml.linear_model import LogisticRegression as DLogit
        for solver in ("admm", "proximal_grad"):
            with Probe(client, Xt.numblocks[0]) as pr:
                m = DLR(penalty="l1", C=1.0 / (2 * Xt.shape[0] * alpha), solver=solver, fit_intercept=False,
                        solver_kwargs={"normalize": False}).fit(Xt, yt)
            f = _lasso_objective(Xt0, yt, np.asarray(m.coef_), alpha)
            pr.row(f"dask-ml LinearRegression l1 {solver}, tall", f"objective rel. gap {(f - f_las) / f_las:.1e}")
            with Probe(client, Xw.numblocks[0]) as pr:
                m = DLogit(penalty="l1", C=C, solver=solver, fit_intercept=False,
                           solver_kwargs={"normalize": False}).fit(Xw, yw)
            f = _logistic_objective(Xw0, yw, np.asarray(m.coef_), 1.0 / (C * n_w))
            pr.row(f"dask-ml LogisticRegression l1 {solver}, wide", f"objective rel. gap {(f - f_lg) / f_lg:.1e}, "
                   f"time ratio dask-ml / proxgan {pr.wall / t_lg:.1f}")
    _subsample(client, Xt0, yt, Xw0, yw, args.sk_rows, C, n_w)
    print(f"\nclient peak RSS over the whole run (includes the in-memory subsample fits): "
          f"{psutil.Process().memory_info().rss / 2 ** 20:.0f} MiB now")
    client.close()
    cluster.close()


def _subsample(client, Xt, yt, Xw, yw, sk_rows, C, n_w):
    """Agreement of the dask fits with in-memory fits on a subsample, and scikit-learn's time on it."""
    from sklearn.linear_model import LogisticRegression as SkLogit
    from sklearn.linear_model import lasso_path as sk_lasso_path
    m = min(sk_rows, Xt.shape[0])
    Xs, ys = Xt[:m], yt[:m]
    Xn, yn = dask.compute(Xs, ys, scheduler="threads")  # read by this process, not through the workers
    t = time.perf_counter()
    a, c_mem, _ = lasso_path(Xn, yn, alphas=100, tol=1e-8)
    t_mem = time.perf_counter() - t
    t = time.perf_counter()
    sk_lasso_path(Xn, yn, alphas=a, tol=1e-8)
    t_sk = time.perf_counter() - t
    t = time.perf_counter()
    _, c_dask, _ = lasso_path(Xs.rechunk((max(m // 10, 1), -1)), ys.rechunk(max(m // 10, 1)), alphas=100, tol=1e-8)
    t_dask = time.perf_counter() - t
    print(f"\nsubsample {m} × {Xt.shape[1]} (tall), 100-λ path, tol 1e-8: proxgan in memory {t_mem:.2f} s, scikit-learn "
          f"{t_sk:.2f} s, proxgan dask {t_dask:.2f} s; max |coef dask − coef in memory| = "
          f"{np.abs(c_dask - c_mem).max():.1e}")
    mw = min(max(sk_rows // 20, 2000), Xw.shape[0])
    Xn, yn = dask.compute(Xw[:mw], yw[:mw], scheduler="threads")
    Cm = C * n_w / mw  # the same λ on the subsample
    kw = dict(l1_ratio=1.0, C=Cm, solver="saga", fit_intercept=False, tol=1e-8)
    t = time.perf_counter()
    mem = LogisticRegression(**kw).fit(Xn, yn)
    t_mem = time.perf_counter() - t
    t = time.perf_counter()
    SkLogit(l1_ratio=1.0, C=Cm, solver="liblinear", fit_intercept=False, tol=1e-8).fit(Xn, yn)
    t_sk = time.perf_counter() - t
    dsk = LogisticRegression(**kw).fit(Xw[:mw].rechunk((max(mw // 10, 1), -1)), yw[:mw].rechunk(max(mw // 10, 1)))
    print(f"subsample {mw} × {Xw.shape[1]} (wide), L1 logistic, tol 1e-8: proxgan in memory {t_mem:.2f} s, scikit-learn "
          f"liblinear {t_sk:.2f} s; max |coef dask − coef in memory| = {np.abs(dsk.coef_ - mem.coef_).max():.1e}")


if __name__ == "__main__":
    main()
