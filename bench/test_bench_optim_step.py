"""Micro-benchmarks (pytest-benchmark) of one optimizer step on the CPU.

    .venv/bin/python -m pytest bench/test_bench_optim_step.py --benchmark-only

ProxAdam(L1) / ProxSGD(momentum=0.9, L1), fused and multi-tensor, against
``torch.optim.Adam(fused=True)`` and ``torch.optim.SGD(momentum=0.9)`` on ~5M float32
parameters (a smaller version of the mix in ``optim_step_ratios.py``). pytest-benchmark
runs contenders one after the other, so on a shared machine prefer the interleaved ratios
of ``python bench/optim_step_ratios.py``.
"""
import pytest
import torch

from proxgan.optim import ProxAdam, ProxSGD
from proxgan.penalties import L1

SHAPES = [(1024, 1024)] * 4 + [(256, 256)] * 8 + [(512,)] * 20


def params():
    g = torch.Generator().manual_seed(0)
    ps = [torch.nn.Parameter(0.02 * torch.randn(s, generator=g)) for s in SHAPES]
    for p in ps:
        p.grad = 0.01 * torch.randn(p.shape, generator=g)
    return ps


OPTIMIZERS = {
    "ProxAdam(L1) fused": lambda ps: ProxAdam(ps, lr=1e-3, penalty=L1(1e-4)),
    "ProxAdam(L1) foreach": lambda ps: ProxAdam(ps, lr=1e-3, penalty=L1(1e-4), foreach=True, fused=False),
    "Adam(fused=True)": lambda ps: torch.optim.Adam(ps, lr=1e-3, fused=True),
    "ProxSGD(mom, L1) fused": lambda ps: ProxSGD(ps, lr=1e-3, momentum=0.9, penalty=L1(1e-4)),
    "SGD(mom)": lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_step(benchmark, name):
    benchmark.group = "optimizer step, 4.8M float32"
    ps = params()
    opt = OPTIMIZERS[name](ps)
    for _ in range(3):  # warm-up (and numba compile / cache load)
        opt.step()
    benchmark(opt.step)
    assert all(torch.isfinite(p).all() for p in ps)
