"""GPU measurements of ``make gpu-check`` (see bench/gpu_check.py): each returns CSV rows.

Timing: CUDA events around one call, 20 warm-up calls per contender, then 100 rounds in
which every contender runs once in turn (interleaved); the median of each is reported.
Bandwidth counts the bytes a step must move: 28 per float32 parameter for Adam (read p, g,
m, v; write p, m, v), 20 for SGD with momentum (read p, g, b; write p, b), 8 for a
soft-threshold or a copy (read, write). Shares are of the device-to-device copy bandwidth
measured in the same round.
"""
from __future__ import annotations

import statistics
import time

import numpy as np
import torch

__all__ = ["size_mix", "time_interleaved", "bench_optim_step", "bench_soft_threshold", "bench_lasso",
           "bench_compile", "WARMUP", "ROUNDS"]

WARMUP, ROUNDS = 20, 100


def size_mix(total: int, kind: str) -> list[int]:
    """Tensor sizes adding up to about ``total``: ``"cnn"`` (ResNet-like) or ``"transformer"`` blocks."""
    if kind == "cnn":
        block = []
        for c in (64, 128, 256, 512):
            block += [c * c * 9, c, c, c * c * 9, c, c, c * 4 * c, 4 * c, 4 * c]
    else:
        d = 1024 if total < 5e8 else 2048
        block = [3 * d * d, 3 * d, d * d, d, d, d, 4 * d * d, 4 * d, 4 * d * d, d, d, d]
    sizes: list[int] = []
    while sum(sizes) < total:
        sizes += block
    return sizes


def time_interleaved(fns: dict, warmup: int = WARMUP, rounds: int = ROUNDS) -> dict[str, float]:
    """Median seconds of each callable, timed with CUDA events, contenders interleaved."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    torch.cuda.synchronize()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            times[name].append(a.elapsed_time(b) / 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def _params(sizes: list[int], dtype: torch.dtype) -> list[torch.nn.Parameter]:
    ps = []
    for n in sizes:
        p = torch.nn.Parameter(torch.randn(n, device="cuda", dtype=dtype) * 0.02)
        p.grad = torch.randn(n, device="cuda", dtype=dtype) * 1e-3
        ps.append(p)
    return ps


def bench_optim_step(total: int, kind: str, dtype: torch.dtype = torch.float32) -> list[dict]:
    """One optimizer step: ProxAdam(L1) / ProxSGD(L1) fused against torch's fused Adam / SGD and a copy."""
    from proxgan.optim import ProxAdam, ProxSGD
    from proxgan.penalties import L1

    sizes = size_mix(total, kind)
    n = sum(sizes)
    ps = _params(sizes, dtype)
    src = torch.empty(n, device="cuda", dtype=torch.float32)
    dst = torch.empty_like(src)
    opts = {
        "ProxAdam(L1) fused": ProxAdam(ps, lr=1e-4, penalty=L1(1e-6), fused=True),
        "Adam(fused=True)": torch.optim.Adam(ps, lr=1e-4, fused=True),
        "ProxSGD(L1) fused": ProxSGD(ps, lr=1e-4, momentum=0.9, penalty=L1(1e-6), fused=True),
        "SGD(fused=True)": torch.optim.SGD(ps, lr=1e-4, momentum=0.9, fused=True),
    }
    fns = {name: opt.step for name, opt in opts.items()}
    fns["copy (float32)"] = lambda: dst.copy_(src)
    med = time_interleaved(fns)
    pb, sb = torch.finfo(dtype).bits // 8, 4  # parameter / grad bytes, float32 state of the prox optimizers
    torch_state = pb  # torch keeps its moments in the parameter dtype
    bytes_per = {"ProxAdam(L1) fused": 3 * pb + 4 * sb, "Adam(fused=True)": 3 * pb + 4 * torch_state,
                 "ProxSGD(L1) fused": 3 * pb + 2 * sb, "SGD(fused=True)": 3 * pb + 2 * torch_state,
                 "copy (float32)": 8}
    copy_bw = 8 * n / med["copy (float32)"]
    rows = []
    for name, sec in med.items():
        bw = bytes_per[name] * n / sec
        rows.append({"params": n, "tensors": len(sizes), "mix": kind, "dtype": str(dtype).replace("torch.", ""),
                     "contender": name, "bytes_per_param": bytes_per[name], "median_ms": round(sec * 1e3, 4),
                     "GB_per_s": round(bw / 1e9, 1), "share_of_copy": round(bw / copy_bw, 3),
                     "time_vs_torch": round(sec / med["Adam(fused=True)" if "Adam" in name else "SGD(fused=True)"], 3)
                     if "copy" not in name else ""})
    del opts, ps, src, dst
    torch.cuda.empty_cache()
    return rows


def bench_soft_threshold(n: int) -> list[dict]:
    """In-place soft-threshold of ``n`` float32 against a copy and ``torch.nn.functional.softshrink``."""
    from proxgan.kernels import soft_threshold

    x = torch.randn(n, device="cuda")
    y = torch.empty_like(x)
    med = time_interleaved({"soft_threshold (Triton, in place)": lambda: soft_threshold(x, 1e-3, out=x),
                            "softshrink (torch, out of place)": lambda: torch.nn.functional.softshrink(x, 1e-3),
                            "copy": lambda: y.copy_(x)})
    copy_bw = 8 * n / med["copy"]
    rows = [{"elements": n, "contender": k, "median_ms": round(v * 1e3, 4), "GB_per_s": round(8 * n / v / 1e9, 1),
             "share_of_copy": round(8 * n / v / copy_bw, 3)} for k, v in med.items()]
    del x, y
    torch.cuda.empty_cache()
    return rows


def _lasso_problem(n: int, p: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[rng.choice(p, size=max(1, p // 100), replace=False)] = rng.standard_normal(max(1, p // 100))
    y = X @ w + 0.1 * rng.standard_normal(n)
    yc = y - y.mean()
    alpha = np.abs(X.T @ yc).max() / n / 20
    return X, y, alpha, 0.5 * float(yc @ yc) / n  # P(0) of the centred problem


def _cpu_baseline(X, y, alpha, tol, queue):
    """skglm's Lasso when installed, else scikit-learn's; in a child process (killed past its budget)."""
    try:
        from skglm import Lasso as CpuLasso
        name = "skglm (CPU)"
    except ImportError:
        from sklearn.linear_model import Lasso as CpuLasso
        name = "scikit-learn (CPU, skglm not installed)"
    start = time.perf_counter()
    m = CpuLasso(alpha=alpha, tol=tol, max_iter=100_000).fit(X, y)
    queue.put((name, time.perf_counter() - start, m.coef_, float(m.intercept_)))


def _gap(X, y, coef, alpha):
    r"""Duality gap of the Lasso with intercept (the centred problem), in the objective's scale.

    :math:`P(w) = \lVert y_c - X_c w\rVert^2/2n + \alpha\lVert w\rVert_1` and, for
    :math:`\lVert X_c^\top\nu\rVert_\infty \le n\alpha`,
    :math:`D(\nu) = (\lVert y_c\rVert^2 - \lVert y_c - \nu\rVert^2)/2n`, at the rescaled residual.
    """
    n = len(y)
    xm = X.mean(axis=0)
    yc = y - y.mean()
    r = yc - (X @ coef - xm @ coef)
    corr = np.abs(X.T @ r - xm * r.sum()).max()
    nu = r / max(1.0, corr / (n * alpha))
    primal = 0.5 * (r @ r) / n + alpha * np.abs(coef).sum()
    dual = 0.5 * ((yc @ yc) - (yc - nu) @ (yc - nu)) / n
    return float(primal - dual)


def bench_lasso(n: int, p: int, cpu_budget_s: float = 60.0) -> list[dict]:
    """Time to a duality gap <= 1e-6 P(0): Lasso(device="cuda") (FISTA) against a CPU solver."""
    import multiprocessing
    import queue as queue_mod

    from proxgan.linear_model import Lasso

    X, y, alpha, p0 = _lasso_problem(n, p)
    tol = 0.5e-6  # the estimators stop at gap <= tol * ||y_c||^2 / n = 2 tol P(0)
    Lasso(alpha=alpha, device="cuda", tol=1e-3, max_iter=50).fit(X[:200, :50], y[:200])  # warm the kernels
    torch.cuda.synchronize()
    start = time.perf_counter()
    g = Lasso(alpha=alpha, device="cuda", tol=tol, max_iter=100_000).fit(X, y)
    torch.cuda.synchronize()
    gpu_s = time.perf_counter() - start
    rows = [{"n": n, "p": p, "solver": "proxgan Lasso(device='cuda'), FISTA", "seconds": round(gpu_s, 3),
             "gap_over_P0": _gap(X, y, g.coef_, alpha) / p0, "n_iter": g.n_iter_}]
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_cpu_baseline, args=(X, y, alpha, tol, queue))
    proc.start()
    try:  # read before joining: a child with a large result waits for it to be read before it exits
        name, cpu_s, coef, b = queue.get(timeout=cpu_budget_s)
        proc.join()
        rows.append({"n": n, "p": p, "solver": name, "seconds": round(cpu_s, 3),
                     "gap_over_P0": _gap(X, y, coef, alpha) / p0, "n_iter": ""})
    except queue_mod.Empty:
        proc.terminate()
        proc.join()
        rows.append({"n": n, "p": p, "solver": "CPU baseline (stopped)", "seconds": f">{cpu_budget_s:.0f}",
                     "gap_over_P0": "", "n_iter": ""})
        cpu_s = cpu_budget_s
    for r in rows:
        r["speedup_vs_cpu"] = round(cpu_s / gpu_s, 2)
    return rows


def bench_compile() -> list[dict]:
    """Seconds of the first call of each kernel (compilation included), then of the second.

    Run in a process whose TRITON_CACHE_DIR is empty, so that the first call compiles.
    """
    from proxgan import kernels as K
    from proxgan.kernels import fused_penalty as fp

    x = torch.randn(1 << 20, device="cuda")
    p, g, m, v = (torch.randn(1 << 20, device="cuda") for _ in range(4))
    v.abs_()
    adam = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False, maximize=False,
                step=1, preconditioned=True, code=fp.L1, a=1e-3, b=0.0)
    sgd = dict(lr=1e-3, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False, first=True,
               code=fp.L1, a=1e-3, b=0.0)
    calls = {"soft_threshold": lambda: K.soft_threshold(x, 0.1, out=x),
             "hard_threshold": lambda: K.hard_threshold(x, 0.1, out=x),
             "group_soft_threshold": lambda: K.group_soft_threshold(x.view(1024, 1024), 0.1, out=x.view(1024, 1024)),
             "fused_prox_adam (L1)": lambda: K.fused_prox_adam_multi([p], [g], [m], [v], None, **adam),
             "fused_prox_sgd (L1, momentum)": lambda: K.fused_prox_sgd_multi([p], [g], [m], **sgd)}
    rows = []
    for name, fn in calls.items():
        times = []
        for _ in range(2):
            torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        rows.append({"kernel": name, "first_call_s": round(times[0], 3), "second_call_ms": round(times[1] * 1e3, 3)})
    return rows
