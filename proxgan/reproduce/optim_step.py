"""Optimizer step benchmark (``bench/PROTOCOL.md``, "Optimizer step"): ProxAdam / ProxSGD against torch.optim.

~23M float32 parameters in a realistic mix (4M, 1M, 256k tensors and many small
biases), fixed random gradients, contenders interleaved, 3 warm-ups, medians.

Baselines
---------
* ``torch.optim.Adam(fused=True)`` (no prox at all);
* ``Adam(fused=True)`` followed by a separate pass computing the same ProxGen prox
  (threshold ``lr·lam/(sqrt(v_hat)+eps)`` from Adam's state), once with
  ``torch._foreach_*`` ops (temporaries allocated every step, as a user would write it)
  and once tensor by tensor in two preallocated scratch buffers (the careful version);
* ``Adam(fused=True)`` followed by a separate scalar ``softshrink`` pass (the cheapest
  possible second pass, but not the same prox);
* ``torch.optim.Adam(foreach=True)``; and the same for SGD(momentum=0.9).

Set ``OMP_WAIT_POLICY=PASSIVE`` before torch is imported on a shared machine (the
bench script and ``proxgan reproduce kernels`` do): spinning OpenMP threads of torch and
numba otherwise steal each other's cores.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from proxgan.optim import ProxAdam, ProxSGD
from proxgan.penalties import L1
from proxgan.reproduce._report import Table
from proxgan.reproduce._timing import interleaved_medians

__all__ = ["shapes", "make", "contenders", "first_step", "optim_step_tables"]

LR, LAM, EPS = 1e-3, 1e-4, 1e-8


def shapes(scale: float) -> list[tuple[int, ...]]:
    """Parameter shapes of the timed model: a transformer-like mix of large matrices and small vectors.

    Parameters
    ----------
    scale : float
        Factor on the rows of the matrices (1: about 24.7M parameters).
    """
    big = [(2048, 2048)] * 3 + [(1024, 1024)] * 8 + [(512, 512)] * 12 + [(256, 256)] * 8
    small = [(512,)] * 40 + [(64,)] * 20
    out = [(max(1, int(a * scale)), b) for a, b in big] + small
    return out


def make(shape_list, device, seed=0):
    """Parameters of the given shapes with fixed random gradients.

    Parameters
    ----------
    shape_list : list of tuple of int
        Shapes, from :func:`shapes`.
    device : str
        Torch device.
    seed : int
        Seed of the values and gradients.
    """
    gen = torch.Generator().manual_seed(seed)
    ps = [torch.nn.Parameter((0.02 * torch.randn(s, generator=gen)).to(device)) for s in shape_list]
    for p in ps:
        p.grad = (0.01 * torch.randn(p.shape, generator=gen)).to(device)
    return ps


def separate_prox_adam_pass(opt: torch.optim.Adam, params) -> None:
    """The ProxGen soft threshold after torch's Adam, as a second pass with foreach ops."""
    group = opt.param_groups[0]
    beta2 = group["betas"][1]
    step = float(opt.state[params[0]]["step"])
    bc2s = (1 - beta2 ** step) ** 0.5
    vs = [opt.state[p]["exp_avg_sq"] for p in params]
    den = torch._foreach_sqrt(vs)
    torch._foreach_div_(den, bc2s)
    torch._foreach_add_(den, EPS)
    thr = torch._foreach_reciprocal(den)
    torch._foreach_mul_(thr, LR * LAM)
    xs = [p.detach() for p in params]
    clamped = torch._foreach_maximum(xs, torch._foreach_neg(thr))
    torch._foreach_minimum_(clamped, thr)
    torch._foreach_sub_(xs, clamped)


def separate_prox_adam_pass_scratch(opt: torch.optim.Adam, params, scratch) -> None:
    """The same ProxGen soft threshold, tensor by tensor, in two preallocated scratch buffers."""
    beta2 = opt.param_groups[0]["betas"][1]
    bc2s = (1 - beta2 ** float(opt.state[params[0]]["step"])) ** 0.5
    for p in params:
        x = p.detach().view(-1)
        t, c = scratch[0][: x.numel()], scratch[1][: x.numel()]
        torch.sqrt(opt.state[p]["exp_avg_sq"].view(-1), out=t)
        t.div_(bc2s).add_(EPS).reciprocal_().mul_(LR * LAM)  # threshold lr*lam/(sqrt(v_hat)+eps)
        torch.neg(t, out=c)
        torch.maximum(x, c, out=c)
        torch.minimum(c, t, out=c)
        x.sub_(c)


def softshrink_pass(params, thr: float) -> None:
    for p in params:
        torch.ops.aten.softshrink.out(p.detach(), thr, out=p.detach())


def contenders(shape_list, device):
    """The timed steps, by name: proxgan's optimizers and their torch.optim baselines, each on its own parameters.

    Parameters
    ----------
    shape_list : list of tuple of int
        Shapes, from :func:`shapes`.
    device : str
        Torch device.
    """
    c = {}
    ps = make(shape_list, device)
    c["ProxAdam(L1) fused"] = (ProxAdam(ps, lr=LR, eps=EPS, penalty=L1(LAM)).step, None)
    ps = make(shape_list, device)
    c["ProxAdam(L1) foreach"] = (ProxAdam(ps, lr=LR, eps=EPS, penalty=L1(LAM), foreach=True, fused=False).step, None)
    ps = make(shape_list, device)
    c["Adam(fused=True)"] = (torch.optim.Adam(ps, lr=LR, eps=EPS, fused=True).step, None)
    ps = make(shape_list, device)
    a1 = torch.optim.Adam(ps, lr=LR, eps=EPS, fused=True)
    c["Adam(fused) + ProxGen pass"] = (lambda a1=a1, ps=ps: (a1.step(), separate_prox_adam_pass(a1, ps)), None)
    ps = make(shape_list, device)
    a3 = torch.optim.Adam(ps, lr=LR, eps=EPS, fused=True)
    biggest = max(p.numel() for p in ps)
    scratch = (torch.empty(biggest, device=device), torch.empty(biggest, device=device))
    c["Adam(fused) + ProxGen pass, scratch"] = (
        lambda a3=a3, ps=ps: (a3.step(), separate_prox_adam_pass_scratch(a3, ps, scratch)), None)
    ps = make(shape_list, device)
    a2 = torch.optim.Adam(ps, lr=LR, eps=EPS, fused=True)
    c["Adam(fused) + softshrink pass"] = (lambda a2=a2, ps=ps: (a2.step(), softshrink_pass(ps, LR * LAM)), None)
    ps = make(shape_list, device)
    c["Adam(foreach=True)"] = (torch.optim.Adam(ps, lr=LR, eps=EPS, foreach=True).step, None)
    ps = make(shape_list, device)
    c["ProxSGD(mom=0.9, L1) fused"] = (ProxSGD(ps, lr=LR, momentum=0.9, penalty=L1(LAM)).step, None)
    ps = make(shape_list, device)
    c["SGD(mom=0.9)"] = (torch.optim.SGD(ps, lr=LR, momentum=0.9).step, None)
    ps = make(shape_list, device)
    c["SGD(mom=0.9, fused=True)"] = (torch.optim.SGD(ps, lr=LR, momentum=0.9, fused=True).step, None)
    ps = make(shape_list, device)
    s1 = torch.optim.SGD(ps, lr=LR, momentum=0.9)
    c["SGD(mom=0.9) + softshrink pass"] = (lambda s1=s1, ps=ps: (s1.step(), softshrink_pass(ps, LR * LAM)), None)
    return {k: v[0] for k, v in c.items()}


FIRST_STEP = """
import os, time
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
t0 = time.perf_counter()
import torch
from proxgan.optim import {cls}
from proxgan.penalties import L1
ps = [torch.nn.Parameter(torch.randn(1000, 1000, device="{device}")),
      torch.nn.Parameter(torch.randn(1000, device="{device}"))]
for p in ps: p.grad = torch.randn_like(p)
opt = {cls}(ps, lr=1e-3, penalty=L1(1e-4){extra})
sync = torch.cuda.synchronize if "{device}" == "cuda" else (lambda: None)
sync(); t1 = time.perf_counter(); opt.step(); sync(); t2 = time.perf_counter()
opt.step(); sync(); t3 = time.perf_counter()
print(t2 - t1, t3 - t2)
"""


def first_step(cls: str, extra: str, cold: bool, device: str = "cpu") -> tuple[float, float]:
    """Seconds of the first step in a new process, with an empty (cold) or warm numba cache.

    Parameters
    ----------
    cls : str
        ``"ProxAdam"`` or ``"ProxSGD"``.
    extra : str
        Extra constructor arguments, as Python source (``", momentum=0.9"``).
    cold : bool
        Start from an empty numba cache (the compile is timed).
    device : str
        Torch device.
    """
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as d:
        if cold:
            env["NUMBA_CACHE_DIR"] = d  # empty cache: numba compiles
        code = FIRST_STEP.format(cls=cls, extra=extra, device=device)
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"first-step subprocess failed:\n{proc.stderr}")
        out = proc.stdout.split()
    return float(out[0]), float(out[1])



RATIOS = (
    ("ProxAdam(L1) fused / Adam(fused=True)", "ProxAdam(L1) fused", "Adam(fused=True)", "<= 1.10"),
    ("(Adam(fused) + ProxGen pass) / ProxAdam(L1) fused", "Adam(fused) + ProxGen pass", "ProxAdam(L1) fused", ">= 3"),
    ("(Adam(fused) + ProxGen pass in scratch buffers) / ProxAdam(L1) fused", "Adam(fused) + ProxGen pass, scratch",
     "ProxAdam(L1) fused", ">= 3"),
    ("(Adam(fused) + softshrink pass) / ProxAdam(L1) fused", "Adam(fused) + softshrink pass", "ProxAdam(L1) fused",
     "(not the same prox)"),
    ("ProxAdam(L1) fused / Adam(foreach=True)", "ProxAdam(L1) fused", "Adam(foreach=True)", ""),
    ("ProxAdam(L1) foreach / Adam(fused=True)", "ProxAdam(L1) foreach", "Adam(fused=True)", ""),
    ("ProxSGD(L1) fused / SGD(mom=0.9)", "ProxSGD(mom=0.9, L1) fused", "SGD(mom=0.9)", "<= 1.10"),
    ("ProxSGD(L1) fused / SGD(mom=0.9, fused=True)", "ProxSGD(mom=0.9, L1) fused", "SGD(mom=0.9, fused=True)", ""),
    ("(SGD(mom=0.9) + softshrink pass) / ProxSGD(L1) fused", "SGD(mom=0.9) + softshrink pass",
     "ProxSGD(mom=0.9, L1) fused", ">= 3"),
)


def optim_step_tables(scale: float = 1.0, repeats: int = 21, device: str = "cpu",
                      first: bool = True) -> list[Table]:
    """Median step times, the ratios against the baselines, and the first-step overhead.

    Parameters
    ----------
    scale : float
        Size factor of the parameters (see :func:`shapes`).
    repeats : int
        Timed steps per contender.
    device : str
        Torch device.
    first : bool
        Also time the first step in new processes.
    """
    shape_list = shapes(scale)
    n = sum(torch.Size(s).numel() for s in shape_list)
    fns = contenders(shape_list, torch.device(device))
    med = interleaved_medians(fns, repeats=repeats, warmup=3)
    times = Table(f"Optimizer step, {n / 1e6:.1f}M float32 parameters in {len(shape_list)} tensors, {device}",
                  ["contender", "median ms", "GB/s (28 B/param Adam, 20 B SGD)"])
    for k, v in med.items():
        times.add(k, v * 1e3, (20 if "SGD" in k else 28) * n / v / 1e9)
    ratios = Table(f"Optimizer step ratios, {device} (median of {repeats} interleaved steps after 3 warm-ups)",
                   ["ratio", "value", "target"])
    for name, a, b, target in RATIOS:
        ratios.add(name, med[a] / med[b], target)
    tables = [times, ratios]
    if device == "cuda":
        src, dst = torch.empty(n, device=device), torch.empty(n, device=device)
        copy = interleaved_medians({"copy": lambda: dst.copy_(src)}, repeats=repeats)["copy"]
        copy_bw = 8 * n / copy
        for k, nbytes in (("ProxAdam(L1) fused", 28), ("ProxSGD(mom=0.9, L1) fused", 20)):
            bw = nbytes * n / med[k]
            ratios.add(f"{k}: achieved bandwidth / device-to-device copy ({copy_bw / 1e9:.0f} GB/s, "
                       f"{torch.cuda.get_device_name()})", bw / copy_bw, ">= 0.85")
    if first:
        ft = Table("First optimizer step (1M parameters, fresh process)",
                   ["optimizer", "cold compile s", "from the on-disk cache s", "next step ms", "target"])
        for cls, extra in (("ProxAdam", ""), ("ProxSGD", ", momentum=0.9")):
            cold, after = first_step(cls, extra, cold=True, device=device)
            warm, _ = first_step(cls, extra, cold=False, device=device)
            ft.add(cls, cold, warm, after * 1e3, "<= 30 s")
        tables.append(ft)
    return tables
