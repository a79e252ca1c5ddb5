"""GradScaler with a fused step: the fused protocol (scale taken in the step) against a separate unscale pass.

With ``fused=True`` the optimizers take GradScaler's fused protocol
(``_step_supports_amp_scaling``): ``scaler.step(opt)`` hands ``grad_scale``/``found_inf``
to the step, and the fused CPU ProxAdam step divides by the scale inside its one pass over
memory. The baseline is the same step after ``scaler.unscale_(opt)`` (GradScaler's own
unscale-and-check pass; the step then gets no scale). Same parameters and gradients, the
two interleaved, median of ``--steps``; prints the ratio fused-protocol / separate-unscale
and the same ratio for ``torch.optim.Adam(fused=True)`` measured in the same run. With
``--device cuda`` the fused steps are the Triton kernels (which still unscale with one
multi-tensor pass before the kernel).

Run: ``.venv/bin/python bench/gradscaler_step_ratio.py [--numel 4000000] [--steps 30] [--device cpu]``
"""
from __future__ import annotations

import argparse

import torch

from proxgan.optim import ProxAdam
from proxgan.penalties import L1
from proxgan.reproduce._report import machine_line
from proxgan.reproduce._timing import interleaved_medians


def contender(cls, numel: int, device: str, separate: bool, **kw):
    gen = torch.Generator().manual_seed(0)
    sizes = [numel // 2, numel // 4, numel // 4]
    params = [torch.nn.Parameter(torch.randn(n, generator=gen).to(device)) for n in sizes]
    grads = [torch.randn(n, generator=gen).to(device) * 1024.0 for n in sizes]
    opt = cls(params, lr=1e-4, fused=True, **kw)
    scaler = torch.amp.GradScaler(device, init_scale=1024.0, growth_interval=10 ** 9)
    scaler.scale(torch.ones((), device=device))  # makes the scale tensor (as scaling a loss does)

    def step():
        for p, g in zip(params, grads):
            p.grad = g.clone()  # the step may unscale .grad in place: a fresh scaled gradient each time
        if separate:
            scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--numel", type=int, default=4_000_000)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    fns = {
        "ProxAdam(L1) fused, protocol": contender(ProxAdam, a.numel, a.device, False, penalty=L1(1e-3)),
        "ProxAdam(L1) fused, unscale_ first": contender(ProxAdam, a.numel, a.device, True, penalty=L1(1e-3)),
        "Adam fused, protocol": contender(torch.optim.Adam, a.numel, a.device, False),
        "Adam fused, unscale_ first": contender(torch.optim.Adam, a.numel, a.device, True),
    }
    med = interleaved_medians(fns, repeats=a.steps, warmup=3)
    print(f"# {machine_line()}; {a.numel} float32 parameters on {a.device}, median of {a.steps} interleaved steps")
    for k, v in med.items():
        print(f"{k:40s} {v * 1e3:9.2f} ms")
    print(f"ProxAdam: protocol / unscale_ first = {med['ProxAdam(L1) fused, protocol'] / med['ProxAdam(L1) fused, unscale_ first']:.3f}")
    print(f"Adam:     protocol / unscale_ first = {med['Adam fused, protocol'] / med['Adam fused, unscale_ first']:.3f}")


if __name__ == "__main__":
    main()
