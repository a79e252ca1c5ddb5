"""Fused ProxAdam step on the CPU with a non-convex penalty, against the same step with L1.

Each penalty's prox runs inside the one-pass numba kernel (``proxgan.kernels._prox_cpu``); the
target is at most 1.1x the L1 step. Parameters: float32 tensors of an MLP-like mix (about
``--mparams`` million), fixed random gradients; the contenders run interleaved (A B C ...), 3
warm-up rounds, median of ``--steps`` timed steps, and the ratio of medians is printed.

With ``--weighted`` the contenders are L1 and weighted L1 (``L1(lam, weights=w)``, one weight per
entry: the fused code ``L1W``, which reads one more tensor), for ProxAdam and ProxSGD; the target
is the same, at most 1.1x the L1 step.

``OMP_WAIT_POLICY`` defaults to PASSIVE, as in ``bench/optim_step_ratios.py``: on a loaded
two-core machine spinning OpenMP threads otherwise make the wall time of a step mostly waiting.
With ``--cpu`` the medians are of CPU time (``time.process_time``), which the load of a shared
machine disturbs less than wall time; use it with ``--threads 1``.

``--bound`` adds what bounds the step: the same contenders with the step per entry in ns, the
step without penalty (code ``NONE``: Adam's own arithmetic) and a *stream* loop with the step's
memory traffic and almost no arithmetic (reads ``p, g, m, v``, writes ``p, m, v``: 28 bytes per
float32 entry), all interleaved; a step near the stream's time is memory-bound, one well above it
compute-bound. Its last column is the same steps on one parameter of 32768 entries, whose arrays stay
in the core's cache (:func:`in_cache`): their arithmetic alone. A penalty whose step takes longer in
cache than L1's step takes from memory cannot reach L1's time by any overlap of the two. ``--asm`` prints, per penalty, what the vectorised element loop of the float32 step
computes per entry (from numba's optimised LLVM IR and assembly): divisions and square roots in
float32 and float64, float32/float64 arithmetic, float64 conversions, all vector operations (loads,
stores, arithmetic, compares, selects), and whether the loop body is packed 256-bit (ymm) code.
Divisions and square roots share one vector divider, a few times slower than the other operations;
on a loaded machine the step's time follows the count of all operations more closely.

Run: ``.venv/bin/python bench/nonconvex_step_ratios.py [--mparams 2] [--steps 20] [--threads N] [--weighted] [--cpu]
[--bound] [--asm] [--penalties MCP,SCAD]`` (``--penalties``: time only these, with L1)
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as bench/optim_step_ratios.py: no spinning threads

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from proxgan.optim import ProxAdam, ProxSGD  # noqa: E402
from proxgan.penalties import L1, MCP, SCAD, LogSum, Lq  # noqa: E402
from proxgan.reproduce._report import machine_line  # noqa: E402
from proxgan.reproduce._timing import interleaved_medians  # noqa: E402

PENALTIES = {
    "L1": lambda: L1(1e-3),
    "MCP": lambda: MCP(1e-3, 3.0),
    "SCAD": lambda: SCAD(1e-3, 3.7),
    "Lq(1/2)": lambda: Lq(1e-3, 0.5),
    "Lq(2/3)": lambda: Lq(1e-3, 2 / 3),
    "LogSum": lambda: LogSum(1e-3, 0.1),
}


def params(mparams: float) -> list[torch.nn.Parameter]:
    """Square-ish float32 matrices of 1M entries plus biases, about ``mparams`` million in all."""
    gen = torch.Generator().manual_seed(0)
    out = []
    for _ in range(max(1, round(mparams))):
        for shape in ((1024, 1024), (1024,)):
            p = torch.nn.Parameter(0.05 * torch.randn(shape, generator=gen))
            p.grad = torch.randn(shape, generator=gen)
            out.append(p)
    return out


def weighted_penalties() -> dict:
    """L1 and weighted L1 (weights of the 1024 columns, broadcast to every tensor: the kernel
    reads one weight per entry)."""
    w = 2.0 * torch.rand(1024, generator=torch.Generator().manual_seed(1))
    return {"L1": lambda: L1(1e-3), "L1(weights)": lambda: L1(1e-3, weights=w)}


def cpu_medians(fns: dict, repeats: int, warmup: int = 3) -> dict[str, float]:
    """Median CPU seconds (``time.process_time``) per call, the contenders interleaved as in
    ``interleaved_medians``; meaningful with one thread, where the load disturbs it less than wall time."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.process_time()
            f()
            times[k].append(time.process_time() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def _stream_body(p, g, m, v, k):
    for i in range(p.size):  # (views indexed from 0, as the kernels' tiles: the loop vectorises)
        gi = g[i]
        mi = m[i] + k * (gi - m[i])
        m[i] = mi
        v[i] = v[i] * k + gi * gi
        p[i] = p[i] - k * mi


_STREAM: dict = {}


def stream(arrays: tuple[np.ndarray, ...], threads: int) -> None:
    """The step's memory traffic with almost no arithmetic: read the flat float32 arrays
    ``(p, g, m, v)`` (as many entries as the model) and write ``p, m, v`` once, in one call (tiles
    of 65536 entries over the threads where ``threads > 1``)."""
    if not _STREAM:
        from numba import njit, prange

        body = njit(inline="always")(_stream_body)

        @njit(fastmath=False, error_model="numpy")
        def serial(p, g, m, v, k):
            body(p, g, m, v, k)

        @njit(parallel=True, fastmath=False, error_model="numpy")
        def parallel(p, g, m, v, k):
            tile = 1 << 16
            for t in prange((p.size + tile - 1) // tile):
                lo, hi = t * tile, min(p.size, (t + 1) * tile)
                body(p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], k)
        _STREAM.update(serial=serial, parallel=parallel)
    _STREAM["serial" if threads == 1 else "parallel"](*arrays, np.float32(0.5))


def bound(mparams: float, steps: int, cpu: bool) -> list[tuple[str, float]]:
    """``[(contender, median ns per entry)]``: the stream loop, ProxAdam without penalty and with
    each penalty, interleaved."""
    threads = torch.get_num_threads()
    ps = params(mparams)
    n = sum(p.numel() for p in ps)
    flat = torch.cat([p.detach().reshape(-1) for p in ps]).numpy()
    arrays = (flat.copy(), torch.cat([p.grad.reshape(-1) for p in ps]).numpy(), np.zeros_like(flat), np.ones_like(flat))
    fns = {"stream (28 B/entry)": lambda: stream(arrays, threads)}
    none = ProxAdam(params(mparams), lr=1e-3, fused=True)
    fns["no penalty (NONE)"] = none.step
    for name, make in PENALTIES.items():
        fns[name] = ProxAdam(params(mparams), lr=1e-3, penalty=make(), fused=True).step
    meds = cpu_medians(fns, steps) if cpu else interleaved_medians(fns, repeats=steps, warmup=3)
    return [(k, t / n * 1e9) for k, t in meds.items()]


def in_cache(steps: int, cpu: bool, n: int = 1 << 15, calls: int = 200) -> dict[str, float]:
    """``{contender: ns per entry}`` of the step on one parameter of ``n`` float32 entries, whose four
    arrays (512 KB) stay in the core's cache: the step's arithmetic without its memory traffic. Each
    timing is ``calls`` steps; the time of the same step on 8 entries (the call's fixed cost) is
    subtracted."""
    def opt(size: int, make):
        gen = torch.Generator().manual_seed(0)
        p = torch.nn.Parameter(0.05 * torch.randn(size, generator=gen))
        p.grad = torch.randn(size, generator=gen)
        return ProxAdam([p], lr=1e-3, penalty=None if make is None else make(), fused=True)

    def many(o):
        def run():
            for _ in range(calls):
                o.step()
        return run
    contenders = {"no penalty (NONE)": None, **PENALTIES}
    out = {}
    for size in (8, n):
        fns = {k: many(opt(size, make)) for k, make in contenders.items()}
        out[size] = cpu_medians(fns, steps) if cpu else interleaved_medians(fns, repeats=steps, warmup=3)
    return {k: (out[n][k] - out[8][k]) / calls / (n - 8) * 1e9 for k in contenders}


def loop_report(code: int) -> dict[str, object]:
    """What the vectorised element loop of the float32 ProxAdam step (preconditioned prox, no
    weight decay: the kernels' common loop) computes per entry, for penalty ``code`` (for a code with
    a rare case, ``_prox_cpu.RARE``, the loop of its common form)."""
    import re

    from numba import njit, types

    from proxgan.kernels._prox_cpu import has_rare
    from proxgan.optim import _fused_cpu as fc

    elem, chunk = fc._adam_elem, fc._adam_chunk
    split = has_rare(code, types.float32)  # the common form's loop (its rare case: a second pass)

    @njit(fastmath=False, error_model="numpy")  # as the fused kernels
    def run(p, g, m, v, c, ss, bc2s):
        if split:
            chunk(p.size, p, g, m, v, c, ss, bc2s, code, True)
        else:
            for i in range(p.size):
                elem(i, p, g, m, v, v, p, c, ss, bc2s, False, True, code, False)

    z = np.ones(64, np.float32)
    run(z, z.copy(), z.copy(), z.copy(), np.ones(12, np.float32), np.float32(1), np.float32(1))
    ir = "\n".join(run.inspect_llvm().values())
    asm = "\n".join(run.inspect_asm().values())
    found = re.search(r"\nvector\.body[^\n]*\n(.*?)\n\n", ir, re.S)
    body = found.group(1) if found else ""
    step = re.search(r"%index\.next\S* = add (?:nuw )?(?:nsw )?i64 %index\S*, (\d+)", body)
    lanes = int(step.group(1)) if step else 0

    def per(pattern: str) -> float:  # lanes of matching instructions per entry
        return sum(int(w) for w in re.findall(pattern, body)) / lanes if lanes else float("nan")
    return {"lanes": lanes,
            "div f32": per(r"fdiv <(\d+) x float>"), "div f64": per(r"fdiv <(\d+) x double>"),
            "sqrt f32": per(r"@llvm\.sqrt\.v(\d+)f32\("), "sqrt f64": per(r"@llvm\.sqrt\.v(\d+)f64\("),
            "+-* f32": per(r"= f(?:add|sub|mul) <(\d+) x float>") + per(r"@llvm\.fma\.v(\d+)f32\("),
            "+-* f64": per(r"= f(?:add|sub|mul) <(\d+) x double>") + per(r"@llvm\.fma\.v(\d+)f64\("),
            "to f64": per(r"fpext <(\d+) x float>"),
            # every vector instruction (loads, stores, arithmetic, compares, selects, bit operations):
            # under load the loop's time follows this count more than its divisions
            "vector ops": per(r"(?m)^[^\n<]*<(\d+) x [a-z0-9]+>"),
            "ymm": bool(re.search(r"\bv(?:mul|div|add|sub|sqrt)ps\s+[^\n]*%ymm", asm)),
            "calls": sorted(set(re.findall(r"call [^@\n]*@([\w.]+)", body)) - {"llvm"})}


def ratios(mparams: float, steps: int, penalties: dict | None = None,
           optimizer: type = ProxAdam, cpu: bool = False) -> dict[str, tuple[float, float]]:
    """``{penalty: (median seconds per step, ratio to L1)}`` (wall time, or CPU time with ``cpu``)."""
    penalties = PENALTIES if penalties is None else penalties
    opts = {name: optimizer(params(mparams), lr=1e-3, penalty=make(), fused=True) for name, make in penalties.items()}
    fns = {k: o.step for k, o in opts.items()}
    meds = cpu_medians(fns, steps) if cpu else interleaved_medians(fns, repeats=steps, warmup=3)
    return {k: (t, t / meds["L1"]) for k, t in meds.items()}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mparams", type=float, default=2.0)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--weighted", action="store_true", help="weighted L1 against L1, ProxAdam and ProxSGD")
    ap.add_argument("--cpu", action="store_true",
                    help="CPU time (process_time) instead of wall time; use with --threads 1")
    ap.add_argument("--bound", action="store_true",
                    help="also ns per entry of the step, of the step without penalty and of a stream loop")
    ap.add_argument("--asm", action="store_true", help="only: what each penalty's float32 element loop computes")
    ap.add_argument("--penalties", default="", help="comma-separated names of PENALTIES to time (L1 always)")
    args = ap.parse_args()
    if args.asm:
        from proxgan.kernels.fused_penalty import Code

        print("| penalty | lanes | div f32 | div f64 | sqrt f32 | sqrt f64 | +-* f32 | +-* f64 | to f64 | vector ops "
              "| ymm | calls |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
        for name, make in {"none": None, **PENALTIES}.items():
            code = int(Code.NONE) if make is None else int(make().lowering().code)
            r = loop_report(code)
            cells = (f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values())
            print(f"| {name} | " + " | ".join(cells) + " |")
        raise SystemExit(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"Machine: {machine_line()}, {torch.get_num_threads()} torch threads, {args.mparams:g}M float32 "
          f"parameters, median of {args.steps} interleaved steps, "
          f"{'CPU' if args.cpu else 'wall'} time, load average {os.getloadavg()[0]:.1f}\n")
    print("| optimizer | penalty | step ms | ratio to L1 (target <= 1.1) |")
    print("|---|---|---:|---:|")
    chosen = None
    if args.penalties:
        names = ["L1"] + [n for n in args.penalties.split(",") if n and n != "L1"]
        unknown = [n for n in names if n not in PENALTIES]
        if unknown:
            ap.error(f"unknown penalties {unknown}; choose from {list(PENALTIES)}")
        chosen = {n: PENALTIES[n] for n in names}
    runs = [(ProxAdam, weighted_penalties()), (ProxSGD, weighted_penalties())] if args.weighted else [(ProxAdam, chosen)]
    for cls, pens in runs:
        for name, (t, r) in ratios(args.mparams, args.steps, pens, cls, args.cpu).items():
            print(f"| {cls.__name__} | {name} | {t * 1e3:.2f} | {r:.2f} |")
    if args.bound:
        cached = in_cache(args.steps, args.cpu)
        print("\n| contender | ns per entry | GB/s at 28 B/entry | ns per entry, in cache |")
        print("|---|---:|---:|---:|")
        for name, ns in bound(args.mparams, args.steps, args.cpu):
            print(f"| {name} | {ns:.3f} | {28 / ns:.1f} | " + (f"{cached[name]:.3f} |" if name in cached else "- |"))
