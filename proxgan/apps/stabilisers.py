r"""GAN stabilisers: the R1 gradient penalty, an exponential moving average of G's weights, packing.

R1 (Mescheder, Geiger & Nowozin, 2018) penalises the discriminator's gradient on real data,

.. math:: R_1(D) = \frac{\gamma}{2}\,\mathbb{E}_{x \sim p_{data}} \lVert \nabla_x D(x) \rVert_2^2 ,

which keeps D from growing sharp walls around the data and lets simultaneous gradient
descent converge locally. The EMA of the generator (Yazıcı et al., 2019) evaluates

.. math:: \bar\theta_t = \beta_t \bar\theta_{t-1} + (1 - \beta_t)\,\theta_t, \qquad
          \beta_t = \min\bigl(\beta, \tfrac{1 + t}{10 + t}\bigr),

instead of the last iterate :math:`\theta_t`, which averages out the rotation of GAN
dynamics around an equilibrium (the warm-up :math:`\beta_t` lets short runs follow G).
Where G's weight is exactly zero (a penalty's prox zeroed it) the average is set to zero
too, so the evaluated generator has exactly G's sparsity pattern.

Packing (PacGAN, Lin et al., 2018) shows the discriminator :math:`K` samples at once, all
real or all generated, concatenated along the channel (or feature) axis: a batch of
:math:`B` samples of shape :math:`(C, H, W)` becomes :math:`B / K` packs of shape
:math:`(KC, H, W)` (:func:`pack`). A generator that repeats itself makes packs whose
members look alike, which a packed discriminator can tell from real packs; this is
what penalises mode collapse.

Examples
--------
>>> import torch
>>> from torch import nn
>>> from proxgan.apps.stabilisers import r1_penalty
>>> d = nn.Linear(2, 1)
>>> with torch.no_grad():
...     _ = d.weight.copy_(torch.tensor([[3.0, 4.0]]))
>>> float(r1_penalty(d, torch.zeros(5, 2), gamma=2.0).detach())  # (gamma/2) * ||(3, 4)||^2
25.0
"""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

__all__ = ["r1_penalty", "WeightEMA", "pack"]


def pack(x: torch.Tensor, k: int) -> torch.Tensor:
    """Group consecutive samples of ``x`` in packs of ``k``, concatenated along axis 1 (PacGAN's packing).

    ``x[j*k : (j+1)*k]`` becomes pack ``j``: for images ``(B, C, H, W)`` the result is
    ``(B // k, k*C, H, W)`` with channels ``[i*C, (i+1)*C)`` holding sample ``j*k + i``; for
    points ``(B, F)`` it is ``(B // k, k*F)``. ``k = 1`` returns ``x`` itself.

    Parameters
    ----------
    x : torch.Tensor
        A batch, samples along axis 0.
    k : int
        Samples per pack; must divide the batch size.
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"pack must be an int >= 1, got {k!r}")
    if k == 1:
        return x
    if len(x) % k:
        raise ValueError(f"a batch of {len(x)} samples cannot be split into packs of {k}")
    return x.reshape(len(x) // k, k * x.shape[1], *x.shape[2:])


def r1_penalty(d: nn.Module, real: torch.Tensor, gamma: float) -> torch.Tensor:
    r""":math:`\frac{\gamma}{2}` times the mean over the batch of :math:`\lVert\nabla_x D(x)\rVert^2`, differentiable in D's weights.

    It runs D on a detached copy of ``real`` that requires grad, so the caller's batch is untouched.

    Parameters
    ----------
    d : torch.nn.Module
        The discriminator.
    real : torch.Tensor
        A batch of real samples.
    gamma : float
        Weight :math:`\gamma`.
    """
    x = real.detach().requires_grad_(True)
    out = d(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return 0.5 * gamma * grad.pow(2).flatten(1).sum(1).mean()


class WeightEMA:
    """Exponential moving average of a module's parameters (buffers are copied), masked to its exact zeros.

    Parameters
    ----------
    module : nn.Module
        The network being trained (G).
    decay : float
        :math:`\\beta` in [0, 1). 0 makes ``module`` the tracked network itself (no copy).
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0 <= decay < 1:
            raise ValueError(f"decay must be in [0, 1), got {decay!r}")
        self.source, self.decay, self.steps = module, float(decay), 0
        self.module = copy.deepcopy(module) if decay > 0 else module

    @torch.no_grad()
    def update(self) -> None:
        """Move the average one step towards the source's current weights."""
        self.steps += 1
        if self.decay == 0:
            return
        beta = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for avg, p in zip(self.module.parameters(), self.source.parameters()):
            avg.lerp_(p, 1 - beta)
            avg.mul_(p != 0)
        for avg, b in zip(self.module.buffers(), self.source.buffers()):
            avg.copy_(b)

    def state_dict(self) -> dict[str, Any]:
        return {"module": self.module.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.steps = int(state["steps"])
