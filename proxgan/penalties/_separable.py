r"""Separable penalties: L1 (weighted), L2, ElasticNet, L0 and the box indicators.

Each declares its lowering (:meth:`Penalty.lowering`): a code of
:class:`proxgan.kernels.fused_penalty.Code` and its scalar vector, which the fused kernels and
coordinate descent read.
"""
from __future__ import annotations

import math

from proxgan._torch import torch

from proxgan import kernels as _k
from proxgan._validation import check_float_tensor, check_nonneg_number, check_unit_interval
from proxgan.kernels.fused_penalty import Code

from ._base import Param, Penalty, acc_dtype, prox_on_triton, write

__all__ = ["L1", "L2", "ElasticNet", "L0", "Box", "NonNegative"]


def _check_weights(weights: object, name: str) -> torch.Tensor | None:
    if weights is None:
        return None
    if not isinstance(weights, torch.Tensor):
        weights = torch.as_tensor(weights)
    if weights.is_complex() or not weights.is_floating_point():
        raise TypeError(f"{name} must be a real floating tensor, got {weights.dtype}")
    if weights.numel() and not bool(torch.all(torch.isfinite(weights) & (weights >= 0))):
        raise ValueError(f"{name} must be finite and >= 0")
    return weights


def _check_bound(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(float(value)):
        raise ValueError(f"{name} must be a number (inf allowed), got {value!r}")
    return float(value)


def _lowering(code: Code, a: float = 0.0, b: float = 0.0, weights: torch.Tensor | None = None):
    from proxgan._lowering import SeparableProx  # the lowering record lives with lower()

    return SeparableProx(code, a, b, weights)


class L1(Penalty):
    r"""Weighted L1 norm :math:`g(x) = \lambda \sum_i w_i |x_i|`.

    ``prox`` solves :math:`\arg\min_y \tfrac12\lVert y-x\rVert^2 + s\lambda\sum_i w_i|y_i|`:
    soft-thresholding at :math:`s_i \lambda w_i`, which sets every entry with
    :math:`|x_i| \le s_i\lambda w_i` to exactly zero.

    Parameters
    ----------
    lam : float
        Strength :math:`\lambda \ge 0`.
    weights : Tensor, optional
        Non-negative finite weights :math:`w`, broadcastable to the tensors it is applied to.
    """

    lam = Param(check_nonneg_number)
    weights = Param(_check_weights)

    def __init__(self, lam: float, weights: torch.Tensor | None = None) -> None:
        self.lam = lam
        self.weights = weights

    def lowering(self):
        """``L1`` with ``a = lam`` and the weights (coordinate descent folds them into ``a``; the fused
        steps run them as the code ``L1W``)."""
        return _lowering(Code.L1, self.lam, 0.0, None if self.weights is None else self.weights.detach())

    def _check_x(self, x: torch.Tensor) -> None:
        if self.weights is not None:
            try:
                ok = torch.broadcast_shapes(self.weights.shape, x.shape) == x.shape
            except RuntimeError:
                ok = False
            if not ok:
                raise ValueError(
                    f"weights of shape {tuple(self.weights.shape)} do not broadcast to x of shape {tuple(x.shape)}"
                )

    def _w(self, x: torch.Tensor) -> torch.Tensor | float:
        return 1.0 if self.weights is None else self.weights.to(device=x.device, dtype=acc_dtype(x))

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        self._check_x(x)
        return self.lam * (self._w(x) * x.to(acc_dtype(x)).abs()).sum()

    def threshold(self, x: torch.Tensor, step: float | torch.Tensor) -> float | torch.Tensor:
        """The soft-threshold :math:`s\\lambda w` used by ``prox`` (a float when it is one)."""
        if self.weights is None and not isinstance(step, torch.Tensor):
            return step * self.lam
        s = step.to(acc_dtype(x)) if isinstance(step, torch.Tensor) else step
        return torch.as_tensor(s * self.lam * self._w(x)).expand(x.shape)

    def _prox(self, x, step, out):
        thr = self.threshold(x, step)
        if prox_on_triton(x):
            return _k.soft_threshold(x, thr, out=out)
        return _k.soft_threshold_torch(x, thr, out=out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        x, grad = self._check_grad(x, grad)
        lw = self.lam * self._w(x)
        return torch.where(x != 0, (grad + lw * torch.sign(x)).abs(), (grad.abs() - lw).clamp_min(0))


class L2(Penalty):
    r"""Squared L2 norm :math:`g(x) = \tfrac12 \lambda \lVert x\rVert_2^2` (weight decay as a prox).

    ``prox`` solves :math:`\arg\min_y \tfrac12\lVert y-x\rVert^2 + \tfrac{s\lambda}{2}\lVert y\rVert^2`,
    i.e. :math:`y = x / (1 + s\lambda)`. It never produces zeros.

    Parameters
    ----------
    lam : float
        Strength :math:`\lambda \ge 0`.
    """

    lam = Param(check_nonneg_number)

    def __init__(self, lam: float) -> None:
        self.lam = lam

    def lowering(self):
        """``L2`` with ``a = lam``."""
        return _lowering(Code.L2, self.lam)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        xf = x.to(acc_dtype(x))
        return 0.5 * self.lam * (xf * xf).sum()

    def _prox(self, x, step, out):
        s = step.to(acc_dtype(x)) if isinstance(step, torch.Tensor) else step
        y = x.to(acc_dtype(x)) / (1 + s * self.lam)
        return write(y.to(x.dtype), out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        x, grad = self._check_grad(x, grad)
        return (grad + self.lam * x).abs()


class ElasticNet(Penalty):
    r"""Elastic net :math:`g(x) = \lambda\,(\rho \lVert x\rVert_1 + \tfrac12(1-\rho)\lVert x\rVert_2^2)`.

    scikit-learn's convention, with :math:`\rho` = ``l1_ratio`` in [0, 1]. ``prox`` solves
    :math:`\arg\min_y \tfrac12\lVert y-x\rVert^2 + s\,g(y)`:
    :math:`y = S_{s\lambda\rho}(x) / (1 + s\lambda(1-\rho))`.

    Parameters
    ----------
    lam : float
        Strength :math:`\lambda \ge 0`.
    l1_ratio : float
        :math:`\rho \in [0, 1]`.
    """

    lam = Param(check_nonneg_number)
    l1_ratio = Param(check_unit_interval)

    def __init__(self, lam: float, l1_ratio: float = 0.5) -> None:
        self.lam = lam
        self.l1_ratio = l1_ratio

    def lowering(self):
        """``ENET`` with ``(a, b) = (lam rho, lam (1 - rho))``."""
        return _lowering(Code.ENET, self.lam * self.l1_ratio, self.lam * (1.0 - self.l1_ratio))

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        xf = x.to(acc_dtype(x))
        return self.lam * (self.l1_ratio * xf.abs().sum() + 0.5 * (1 - self.l1_ratio) * (xf * xf).sum())

    def _prox(self, x, step, out):
        s = step.to(acc_dtype(x)) if isinstance(step, torch.Tensor) else step
        l1 = self.lam * self.l1_ratio
        l2 = self.lam * (1 - self.l1_ratio)
        thr = s * l1 if isinstance(s, float) else (s * l1).expand(x.shape)
        soft = _k.soft_threshold(x, thr) if prox_on_triton(x) else _k.soft_threshold_torch(x, thr)
        y = soft.to(acc_dtype(x)) / (1 + s * l2)
        return write(y.to(x.dtype), out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        x, grad = self._check_grad(x, grad)
        l1 = self.lam * self.l1_ratio
        g2 = grad + self.lam * (1 - self.l1_ratio) * x
        return torch.where(x != 0, (g2 + l1 * torch.sign(x)).abs(), (g2.abs() - l1).clamp_min(0))


class L0(Penalty):
    r""":math:`g(x) = \lambda \lVert x\rVert_0` (number of non-zeros). Non-convex.

    ``prox`` returns a minimiser of :math:`\tfrac12\lVert y-x\rVert^2 + s\lambda\lVert y\rVert_0`:
    hard-thresholding, keeping :math:`x_i` where :math:`|x_i| > \sqrt{2 s_i\lambda}` and
    zero elsewhere (at equality both are minimisers; zero is returned).
    ``subdiff_distance`` uses the limiting subdifferential: :math:`\{0\}` at
    :math:`x_i \ne 0`, all of :math:`\mathbb R` at :math:`x_i = 0`.

    Parameters
    ----------
    lam : float
        Strength :math:`\lambda \ge 0`.
    """

    lam = Param(check_nonneg_number)

    def __init__(self, lam: float) -> None:
        self.lam = lam

    def lowering(self):
        r"""``L0`` with ``a = 2 lam`` (the hard threshold is :math:`\sqrt{a s}`)."""
        return _lowering(Code.L0, 2.0 * self.lam)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        return self.lam * torch.count_nonzero(x).to(acc_dtype(x))

    def _prox(self, x, step, out):
        if isinstance(step, torch.Tensor):
            thr = torch.sqrt(2 * self.lam * step.to(acc_dtype(x))).expand(x.shape)
        else:
            thr = math.sqrt(2 * self.lam * step)
        if prox_on_triton(x):
            return _k.hard_threshold(x, thr, out=out)
        return _k.hard_threshold_torch(x, thr, out=out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        x, grad = self._check_grad(x, grad)
        return torch.where(x != 0, grad.abs(), torch.zeros_like(grad))


class Box(Penalty):
    r"""Indicator of the box :math:`[lo, hi]` (0 inside, :math:`+\infty` outside).

    ``prox`` is the projection :math:`\operatorname{clip}(x, lo, hi)` for any step.
    ``lo`` may be ``-inf`` and ``hi`` ``+inf``; ``lo > hi`` is an error.

    Parameters
    ----------
    lo, hi : float
        The bounds.
    """

    lo = Param(_check_bound)
    hi = Param(_check_bound)

    def __init__(self, lo: float = -math.inf, hi: float = math.inf) -> None:
        lo, hi = _check_bound(lo, "lo"), _check_bound(hi, "hi")
        self.__dict__["lo"] = lo  # both set before the relation is checked
        self.hi = hi
        self.lo = lo

    def _check_params(self) -> None:
        lo, hi = self.__dict__.get("lo", -math.inf), self.__dict__.get("hi", math.inf)
        if lo > hi:
            raise ValueError(f"lo must be <= hi, got lo={lo!r} > hi={hi!r}")

    def lowering(self):
        """``BOX`` with ``(a, b) = (lo, hi)``."""
        return _lowering(Code.BOX, self.lo, self.hi)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        inside = bool(torch.all((x >= self.lo) & (x <= self.hi)))
        return torch.tensor(0.0 if inside else math.inf, dtype=acc_dtype(x))

    def _prox(self, x, step, out):
        lo = None if self.lo == -math.inf else self.lo
        hi = None if self.hi == math.inf else self.hi
        if lo is None and hi is None:
            return write(x.clone(), out)
        if out is None:
            return torch.clamp(x, lo, hi)
        return torch.clamp(x, lo, hi, out=out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """Distance of ``-grad`` to the normal cone of the box at ``x`` (inf outside the box)."""
        x, grad = self._check_grad(x, grad)
        at_lo = x == self.lo
        at_hi = x == self.hi
        d = grad.abs()
        d = torch.where(at_lo & ~at_hi, (-grad).clamp_min(0), d)
        d = torch.where(at_hi & ~at_lo, grad.clamp_min(0), d)
        d = torch.where(at_lo & at_hi, torch.zeros_like(d), d)
        return torch.where((x < self.lo) | (x > self.hi), torch.full_like(d, math.inf), d)


class NonNegative(Box):
    r"""Indicator of :math:`x \ge 0`; ``prox`` is :math:`\max(x, 0)`."""

    def __init__(self) -> None:
        super().__init__(0.0, math.inf)

    def __repr__(self) -> str:
        return "NonNegative()"


