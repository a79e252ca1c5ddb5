r""":class:`SLOPE`: the sorted L1 norm, prox by pool-adjacent-violators."""
from __future__ import annotations

import numpy as np
from proxgan._torch import torch

from proxgan._validation import check_float_tensor

from ._base import Param, Penalty, acc_dtype, write
from ._scalar_step import scalar_step

__all__ = ["SLOPE", "slope_prox_ref", "pav_ref"]


def _check_lams(lams: object, name: str) -> torch.Tensor:
    if not isinstance(lams, torch.Tensor):
        try:
            lams = torch.as_tensor(lams, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name} must be a 1-D sequence of numbers, got {lams!r}") from None
    if lams.is_complex() or not (lams.is_floating_point() or lams.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"{name} must be a real tensor, got {lams.dtype}")
    lams = lams.detach().to(device="cpu", dtype=torch.float64)
    if lams.dim() != 1 or lams.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {tuple(lams.shape)}")
    if not bool(torch.all(torch.isfinite(lams) & (lams >= 0))):
        raise ValueError(f"{name} must be finite and >= 0")
    if bool(torch.any(lams[1:] > lams[:-1])):
        raise ValueError(f"{name} must be non-increasing (lams[0] >= lams[1] >= ...)")
    return lams


def pav_ref(z: np.ndarray) -> np.ndarray:
    """Readable twin of the PAV loop: the non-increasing fit of ``z`` clipped at 0, as a
    bounded least-squares problem (``u = T d`` with ``T`` upper-triangular ones and ``d >= 0``
    makes ``u`` non-increasing and non-negative), solved exactly by scipy's BVLS."""
    from scipy.optimize import lsq_linear

    z = np.asarray(z, dtype=np.float64)
    if z.size == 0:
        return z.copy()
    t = np.triu(np.ones((z.size, z.size)))
    d = lsq_linear(t, z, bounds=(0, np.inf), method="bvls", tol=1e-14).x
    return t @ d


def slope_prox_ref(x: torch.Tensor, lams: torch.Tensor, step: float) -> torch.Tensor:
    """Readable twin of :meth:`SLOPE.prox` (float64): sort, :func:`pav_ref`, unsort, signs."""
    v = x.detach().double().reshape(-1).numpy()
    order = np.argsort(-np.abs(v), kind="stable")
    fit = pav_ref(np.abs(v)[order] - step * lams.numpy()[: v.size])
    y = np.empty_like(v)
    y[order] = fit
    return torch.from_numpy(np.sign(v) * y).reshape(x.shape)


class SLOPE(Penalty):
    r"""Sorted L1 norm :math:`g(x) = \sum_i \lambda_i \lvert x\rvert_{(i)}` (SLOPE, Bogdan et al. 2015).

    :math:`\lvert x\rvert_{(1)} \ge \lvert x\rvert_{(2)} \ge \dots` are the magnitudes sorted in
    decreasing order and :math:`\lambda_1 \ge \lambda_2 \ge \dots \ge 0`: the largest weight goes
    to the largest entry. A tensor is one vector (all its entries, flattened); a tensor of
    :math:`n` entries uses the first :math:`n` weights (the largest ones), so ``lams`` needs at
    least as many entries as the largest tensor it is applied to. With all weights equal it
    is :class:`L1`.

    ``prox`` at a scalar step :math:`s`: sort :math:`|x|`, take the non-increasing isotonic fit
    of :math:`|x|_{(i)} - s\lambda_i` by pool-adjacent-violators, clip at 0, put the entries
    back in place with their signs: exact, :math:`O(n \log n)` (the sort). Ties in
    :math:`|x|` get equal outputs. A per-coordinate step has no closed form: refused.

    Parameters
    ----------
    lams : sequence of float or Tensor
        The weights, 1-D, non-increasing, finite and :math:`\ge 0`.
    """

    separable = False
    #: no closed-form prox under a diagonal metric (ProxAdam refuses prox="preconditioned")
    diagonal_prox = False

    lams = Param(_check_lams)

    def __init__(self, lams) -> None:
        self.lams = lams

    def _check_x(self, x: torch.Tensor) -> None:
        if x.numel() > self.lams.numel():
            raise ValueError(f"SLOPE with {self.lams.numel()} weights cannot take a tensor of {x.numel()} entries: "
                             "give at least one weight per entry")

    def _weights(self, x: torch.Tensor) -> torch.Tensor:
        return self.lams[: x.numel()].to(device=x.device, dtype=acc_dtype(x))

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        self._check_x(x)
        mag = x.to(acc_dtype(x)).reshape(-1).abs().sort(descending=True).values
        return (self._weights(x) * mag).sum()

    def _prox(self, x, step, out):
        s = scalar_step(step, "SLOPE")
        if x.numel() == 0:
            return write(x.clone(), out)
        from proxgan.kernels._pav_cpu import pav_nonincreasing_clip

        v = x.detach().reshape(-1).to(device="cpu", dtype=torch.float64)
        mag, order = v.abs().sort(descending=True, stable=True)
        z = (mag - s * self.lams[: v.numel()]).numpy()
        fit = np.empty_like(z)
        pav_nonincreasing_clip(z, fit)
        y = torch.empty_like(v)
        y[order] = torch.from_numpy(fit)
        y = (torch.sign(v) * y).reshape(x.shape).to(device=x.device, dtype=x.dtype)
        return write(y, out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        r"""The exact distance of :math:`-\nabla f` to :math:`\partial g(x)`, as a 1-element tensor.

        Entries of equal non-zero magnitude form a cluster holding a run of ranks
        :math:`R`; there :math:`\partial g` is the signed permutohedron of :math:`\lambda_R` (all
        vectors whose sorted partial sums are at most those of :math:`\lambda_R`, with the same
        total). The zero entries take the ball :math:`\{w: \text{sorted partial sums of } |w|
        \le \text{those of } \lambda_R\}`. The distance adds up over clusters: to the
        permutohedron by one isotonic fit, to the ball by Moreau's identity (it is
        :math:`\lVert\operatorname{prox}_{J_{\lambda_R}}(w)\rVert`)."""
        from proxgan.kernels._pav_cpu import pav_nonincreasing_clip

        x, grad = self._check_grad(x, grad)
        xv = x.reshape(-1).double().cpu()
        w = (-grad).reshape(-1).double().cpu()
        lam = self.lams[: xv.numel()]
        mag, order = xv.abs().sort(descending=True, stable=True)
        total = 0.0
        i, n = 0, xv.numel()
        while i < n:
            j = i
            while j + 1 < n and mag[j + 1] == mag[i]:
                j += 1
            idx = order[i: j + 1]
            lr = lam[i: j + 1].numpy()
            if mag[i] == 0:  # the zero cluster: distance = |prox of the tail sorted-L1 at w|
                a, o2 = w[idx].abs().sort(descending=True)
                fit = np.empty(len(idx))
                pav_nonincreasing_clip((a.numpy() - lr), fit)
                total += float((fit ** 2).sum())
            else:  # a permutohedron: project the signed values by the isotonic fit of (sorted - lam)
                u = (w[idx] * torch.sign(xv[idx])).numpy()
                srt = np.sort(u)[::-1]
                total += float(_iso_dec_sq(srt - lr))
            i = j + 1
        return torch.tensor([total ** 0.5], dtype=x.dtype)


def _iso_dec_sq(z: np.ndarray) -> float:
    """Squared norm of the non-increasing least-squares fit of ``z`` whose total is that of
    ``z`` (the distance of a sorted point to the permutohedron: Negrinho & Martins 2014)."""
    sums, lens = [], []
    for v in z:
        sums.append(float(v))
        lens.append(1)
        while len(sums) > 1 and sums[-2] * lens[-1] <= sums[-1] * lens[-2]:
            s, n = sums.pop(), lens.pop()
            sums[-1] += s
            lens[-1] += n
    return sum(s * s / n for s, n in zip(sums, lens))
