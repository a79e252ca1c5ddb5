r"""Separable non-convex penalties: MCP, SCAD, :math:`\ell_q` (q = 1/2, 2/3) and log-sum.

Each prox returns a global minimiser of the 1-D problem
:math:`\arg\min_y \tfrac12 (y - x)^2 + s\,g(y)` coordinate by coordinate, for every step
:math:`s` (a tensor step gives one problem per coordinate: ProxAdam's preconditioned prox),
including steps at which that problem is not convex; at a tie the smaller :math:`|y|` (zero)
is returned. The formulas are those of :func:`proxgan.kernels.fused_penalty.prox_code_ref`
(the specification the numba and Triton kernels are tested against).

These penalties have no duality gap. ``subdiff_distance`` measures stationarity with the
limiting (Clarke, for MCP/SCAD/log-sum) subdifferential, and the solvers stop on the largest
fixed-point violation of the prox-gradient map: the result is a stationary point (a local
minimiser), not a certified global one.
"""
from __future__ import annotations

import math
import numbers

from proxgan._torch import torch

from proxgan._validation import check_float_tensor, check_nonneg_number
from proxgan.kernels.fused_penalty import Code, prox_code_ref

from ._base import Param, Penalty, acc_dtype, write

__all__ = ["MCP", "SCAD", "Lq", "LogSum"]


def _number_above(bound: float):
    def check(value: object, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a finite number > {bound:g}, got {value!r}")
        value = float(value)
        if not math.isfinite(value) or value <= bound:
            raise ValueError(f"{name} must be a finite number > {bound:g}, got {value!r}")
        return value
    return check


class _Separable(Penalty):
    """Shared plumbing: the prox is the code's reference formula, in the compute dtype."""

    def _code(self) -> tuple[Code, float, float]:
        raise NotImplementedError  # pragma: no cover

    def lowering(self):
        """The kernel code and its scalar vector (:data:`proxgan.kernels.fused_penalty.SCALARS`)."""
        from proxgan._lowering import SeparableProx

        return SeparableProx(*self._code())

    def _prox(self, x, step, out):
        code, a, b = self._code()
        s = step.to(acc_dtype(x)) if isinstance(step, torch.Tensor) else step
        return write(prox_code_ref(x.to(acc_dtype(x)), s, code, a, b).to(x.dtype), out)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        return self._g(x.to(acc_dtype(x)).abs()).sum()

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """Distance of ``-grad`` to the subdifferential: :math:`|g_i + g'(x_i)|` at :math:`x_i \\ne 0`,
        :math:`\\max(|g_i| - g'(0^+), 0)` at :math:`x_i = 0`."""
        x, grad = self._check_grad(x, grad)
        ax = x.abs()
        slope0 = self._slope(torch.zeros_like(ax))
        return torch.where(x != 0, (grad + torch.sign(x) * self._slope(ax)).abs(), (grad.abs() - slope0).clamp_min(0))

    def _g(self, ax):  # pragma: no cover - abstract
        raise NotImplementedError

    def _slope(self, ax):  # pragma: no cover - abstract
        raise NotImplementedError


class MCP(_Separable):
    r"""Minimax concave penalty (Zhang 2010): :math:`g(x) = \sum_i \lambda|x_i| - \frac{x_i^2}{2\gamma}` for
    :math:`|x_i| \le \gamma\lambda`, :math:`\tfrac12\gamma\lambda^2` beyond.

    ``prox`` at step :math:`s < \gamma` is the firm threshold: 0 for :math:`|x| \le s\lambda`,
    :math:`\operatorname{sign}(x)(|x| - s\lambda)/(1 - s/\gamma)` up to :math:`\gamma\lambda`, :math:`x`
    beyond; at :math:`s \ge \gamma` a hard threshold at :math:`\lambda\sqrt{s\gamma}`.

    Parameters
    ----------
    lam : float
        :math:`\lambda \ge 0`.
    gamma : float
        :math:`\gamma > 0` (skglm's and the literature's default: 3).
    """

    lam = Param(check_nonneg_number)
    gamma = Param(_number_above(0.0))

    def __init__(self, lam: float, gamma: float = 3.0) -> None:
        self.lam = lam
        self.gamma = gamma

    def _code(self):
        return Code.MCP, self.lam, self.gamma

    def _g(self, ax):
        lam, gam = self.lam, self.gamma
        return torch.where(ax <= gam * lam, lam * ax - ax * ax / (2 * gam), torch.full_like(ax, 0.5 * gam * lam * lam))

    def _slope(self, ax):
        return (self.lam - ax / self.gamma).clamp_min(0)


class SCAD(_Separable):
    r"""Smoothly clipped absolute deviation (Fan & Li 2001): :math:`\lambda|x|` up to :math:`\lambda`,
    :math:`(2\gamma\lambda|x| - x^2 - \lambda^2)/(2(\gamma - 1))` up to :math:`\gamma\lambda`,
    :math:`\lambda^2(\gamma + 1)/2` beyond (per coordinate, summed).

    ``prox`` takes the best of the three pieces' minimisers (soft threshold; the middle piece's
    stationary point :math:`((\gamma-1)x - \operatorname{sign}(x)s\gamma\lambda)/(\gamma - 1 - s)` when
    :math:`s < \gamma - 1`; :math:`x`), a global minimiser at every step.

    Parameters
    ----------
    lam : float
        :math:`\lambda \ge 0`.
    gamma : float
        :math:`\gamma > 2` (default 3.7, Fan & Li's choice).
    """

    lam = Param(check_nonneg_number)
    gamma = Param(_number_above(2.0))

    def __init__(self, lam: float, gamma: float = 3.7) -> None:
        self.lam = lam
        self.gamma = gamma

    def _code(self):
        return Code.SCAD, self.lam, self.gamma

    def _g(self, ax):
        lam, gam = self.lam, self.gamma
        mid = (2 * gam * lam * ax - ax * ax - lam * lam) / (2 * (gam - 1))
        return torch.where(ax <= lam, lam * ax, torch.where(ax <= gam * lam, mid, torch.full_like(ax, lam * lam * (gam + 1) / 2)))

    def _slope(self, ax):
        lam, gam = self.lam, self.gamma
        return torch.where(ax <= lam, torch.full_like(ax, lam), ((gam * lam - ax) / (gam - 1)).clamp_min(0))


def _check_q(value: object, name: str) -> float:
    for q in (0.5, 2.0 / 3.0):
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and abs(float(value) - q) < 1e-12:
            return q
    raise ValueError(f"{name} must be 1/2 or 2/3 (the closed-form proxes), got {value!r}")


class Lq(_Separable):
    r""":math:`g(x) = \lambda\sum_i |x_i|^q` with :math:`q \in \{1/2, 2/3\}`, whose proxes have closed forms:
    half thresholding (Xu et al. 2012) and 2/3 thresholding (Cao et al. 2013), as in ProxGen.

    With :math:`\mu = 2s\lambda`, ``prox`` is 0 up to :math:`\tfrac{54^{1/3}}{4}\mu^{2/3}` (q = 1/2) or
    :math:`\tfrac23(3\mu^3)^{1/4}` (q = 2/3), and the larger stationary point beyond.
    ``subdiff_distance`` uses the limiting subdifferential (all of :math:`\mathbb R` at 0).

    Parameters
    ----------
    lam : float
        :math:`\lambda \ge 0`.
    q : float
        1/2 or 2/3.
    """

    lam = Param(check_nonneg_number)
    q = Param(_check_q)

    def __init__(self, lam: float, q: float = 0.5) -> None:
        self.lam = lam
        self.q = q

    def _code(self):
        return (Code.LQ12 if self.q == 0.5 else Code.LQ23), self.lam, 0.0

    def _g(self, ax):
        return self.lam * ax ** self.q

    def _slope(self, ax):
        safe = torch.where(ax > 0, ax, torch.ones_like(ax))
        return torch.where(ax > 0, self.lam * self.q * safe ** (self.q - 1), torch.full_like(ax, math.inf))


class LogSum(_Separable):
    r"""Log-sum penalty :math:`g(x) = \lambda\sum_i \log(1 + |x_i|/\epsilon)`.

    ``prox`` keeps the larger root of :math:`y^2 + (\epsilon - |x|)y + s\lambda - |x|\epsilon` (times
    :math:`\operatorname{sign}(x)`) where it is real, positive and has a lower objective than 0.

    Parameters
    ----------
    lam : float
        :math:`\lambda \ge 0`.
    eps : float
        :math:`\epsilon > 0`.
    """

    lam = Param(check_nonneg_number)
    eps = Param(_number_above(0.0))

    def __init__(self, lam: float, eps: float = 1.0) -> None:
        self.lam = lam
        self.eps = eps

    def _code(self):
        return Code.LOGSUM, self.lam, self.eps

    def _g(self, ax):
        return self.lam * torch.log1p(ax / self.eps)

    def _slope(self, ax):
        return self.lam / (self.eps + ax)
