r""":class:`SparseGroupL1`: the sparse-group lasso (L1 plus group L1), prox by composition."""
from __future__ import annotations

from proxgan._torch import torch

from proxgan import kernels as _k
from proxgan._validation import check_float_tensor, check_nonneg_number, check_unit_interval

from ._base import Param, Penalty, acc_dtype
from ._group import GroupL1, _check_dim, _check_group_weights, _group_view

__all__ = ["SparseGroupL1"]


class SparseGroupL1(Penalty):
    r"""Sparse-group lasso :math:`g(x) = \lambda\big(\rho\lVert x\rVert_1 + (1-\rho)\sum_g w_g\lVert x_g\rVert_2\big)`.

    One group per index along ``dim`` (as :class:`GroupL1`), :math:`\rho` = ``l1_ratio`` in
    [0, 1] (skglm's and scikit-learn's convention: 1 is the lasso, 0 the group lasso). It
    zeroes whole groups and single entries inside the groups it keeps.

    ``prox`` is the composition: soft-threshold at :math:`s\lambda\rho`, then the group prox
    of :class:`GroupL1` at :math:`s\lambda(1-\rho)w_g`. It is exact for a scalar step and
    also for a per-coordinate step :math:`s_i` (ProxAdam's preconditioned prox): the
    optimality conditions of :math:`\sum_i (y_i-x_i)^2/(2s_i) + g(y)` give
    :math:`y_i = z_i\,t/(t + s_i\lambda(1-\rho)w_g)` with :math:`z = \operatorname{soft}(x, s\lambda\rho)`
    and :math:`t = \lVert y_g\rVert`, which is the metric group prox of :math:`z`; a group is
    zero iff :math:`\lVert z_g/s_g\rVert \le \lambda(1-\rho)w_g`. The group step is then the
    root-find of :mod:`proxgan._group_prox` where the step varies inside a group.

    Parameters
    ----------
    lam : float
        Strength :math:`\lambda \ge 0`.
    l1_ratio : float
        :math:`\rho \in [0, 1]`.
    dim : int
        The dimension whose indices are the groups.
    weights : sequence of float or Tensor, optional
        One finite weight :math:`w_g \ge 0` per group on the group term.
    """

    separable = False

    lam = Param(check_nonneg_number)
    l1_ratio = Param(check_unit_interval)
    dim = Param(_check_dim)
    weights = Param(_check_group_weights)

    def __init__(self, lam: float, l1_ratio: float, dim: int = 0, weights=None) -> None:
        self.lam = lam
        self.l1_ratio = l1_ratio
        self.dim = dim
        self.weights = weights

    def _group(self) -> GroupL1:
        return GroupL1(self.lam * (1.0 - self.l1_ratio), self.dim, self.weights)

    def _check_x(self, x: torch.Tensor) -> None:
        self._group()._check_x(x)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        l1 = self.lam * self.l1_ratio * x.to(acc_dtype(x)).abs().sum()
        return l1 + self._group().value(x)

    def _prox(self, x, step, out):
        s = step.to(acc_dtype(x)) if isinstance(step, torch.Tensor) else step
        z = _k.soft_threshold_torch(x, torch.as_tensor(s * self.lam * self.l1_ratio).expand(x.shape)
                                    if isinstance(s, torch.Tensor) else s * self.lam * self.l1_ratio)
        return self._group()._prox(z, step, out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        r"""Per group, the exact distance of :math:`-\nabla f` to :math:`\partial g(x)`.

        A non-zero group: on its non-zero entries :math:`\partial g` is the single value
        :math:`\lambda\rho\operatorname{sign}(x_i) + \lambda(1-\rho)w_g x_i/\lVert x_g\rVert`, on its zeros
        the interval :math:`[-\lambda\rho, \lambda\rho]`. A zero group: the distance of
        :math:`-\nabla f` to
        :math:`\{a + b: \lVert a\rVert_\infty\le\lambda\rho,\ \lVert b\rVert\le\lambda(1-\rho)w_g\}`,
        :math:`\max(\lVert\operatorname{soft}(\nabla f, \lambda\rho)\rVert - \lambda(1-\rho)w_g, 0)`."""
        x, grad = self._check_grad(x, grad)
        _, xm = _group_view(x, self.dim)
        _, gm = _group_view(grad, self.dim)
        l1 = self.lam * self.l1_ratio
        lg = self._group()._lam_g(x)
        lg = lg if isinstance(lg, torch.Tensor) else torch.full((xm.shape[0],), lg, dtype=xm.dtype, device=xm.device)
        norms = torch.linalg.vector_norm(xm, dim=1)
        safe = torch.where(norms > 0, norms, torch.ones_like(norms))
        on = gm + l1 * torch.sign(xm) + lg[:, None] * xm / safe[:, None]
        off = (gm.abs() - l1).clamp_min(0)
        nz = torch.linalg.vector_norm(torch.where(xm != 0, on, off), dim=1)
        z = (torch.linalg.vector_norm(off, dim=1) - lg).clamp_min(0)
        return torch.where(norms > 0, nz, z)
