r""":class:`TV1D`: total variation along the last dimension (fused lasso), prox by Condat's algorithm."""
from __future__ import annotations

import numpy as np
from proxgan._torch import torch

from proxgan._validation import check_float_tensor, check_nonneg_number

from ._base import Param, Penalty, acc_dtype, write
from ._scalar_step import scalar_step

__all__ = ["TV1D", "tv1d_prox_ref"]


def tv1d_prox_ref(x: torch.Tensor, lam: float) -> torch.Tensor:
    r"""Readable twin of :meth:`TV1D.prox` (float64, for small inputs): the dual problem.

    With :math:`D` the forward difference, :math:`y = x - D^\top u` where :math:`u` solves the
    bounded least squares :math:`\min_{|u_j|\le\lambda} \lVert D^\top u - x\rVert^2`, solved
    exactly by scipy's BVLS, one row at a time.
    """
    from scipy.optimize import lsq_linear

    rows = x.detach().double().reshape(-1, x.shape[-1]).numpy() if x.dim() else x.double().reshape(1, 1).numpy()
    n = rows.shape[1]
    out = rows.copy()
    if n < 2 or lam == 0:
        return torch.from_numpy(out).reshape(x.shape)
    dt = np.zeros((n, n - 1))  # (D^T u)_i = u_{i-1} - u_i
    dt[np.arange(n - 1), np.arange(n - 1)] = -1.0
    dt[np.arange(1, n), np.arange(n - 1)] = 1.0
    for r, row in enumerate(rows):
        u = lsq_linear(dt, row, bounds=(-lam, lam), method="bvls", tol=1e-15).x
        out[r] = row - dt @ u
    return torch.from_numpy(out).reshape(x.shape)


class TV1D(Penalty):
    r"""Total variation along the last dimension: :math:`g(x) = \lambda\sum_r\sum_i \lvert x_{r,i+1} - x_{r,i}\rvert`.

    The fused-lasso penalty of 1-D signals: it makes neighbouring entries exactly equal
    (piecewise-constant rows), not zero. Every row (all leading dimensions) is one signal.
    ``prox`` at a scalar step :math:`s` is Condat's direct algorithm with :math:`s\lambda`,
    exact, linear time on typical inputs (:mod:`proxgan.kernels._tv1d_cpu`, float64 on the
    CPU). A per-coordinate step has no closed form: refused.

    Parameters
    ----------
    lam : float
        Strength :math:`\lambda \ge 0`.
    """

    separable = False
    #: no closed-form prox under a diagonal metric (ProxAdam refuses prox="preconditioned")
    diagonal_prox = False

    lam = Param(check_nonneg_number)

    def __init__(self, lam: float) -> None:
        self.lam = lam

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        if x.dim() == 0:
            return torch.zeros((), dtype=acc_dtype(x))
        return self.lam * x.to(acc_dtype(x)).diff(dim=-1).abs().sum()

    def _prox(self, x, step, out):
        t = scalar_step(step, "TV1D") * self.lam
        if x.dim() == 0 or x.shape[-1] < 2 or x.numel() == 0 or t == 0:
            return write(x.clone() if out is None else x, out)
        from proxgan.kernels._tv1d_cpu import tv1d_rows

        rows = x.detach().reshape(-1, x.shape[-1]).to(device="cpu", dtype=torch.float64).contiguous()
        y = torch.empty_like(rows)
        tv1d_rows(rows.numpy(), y.numpy(), t)
        return write(y.reshape(x.shape).to(device=x.device, dtype=x.dtype), out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        r"""Per row, an upper bound of the distance of :math:`w = -\nabla f` to :math:`\partial g(x)`,
        zero exactly at a stationary point.

        :math:`\partial g(x) = \{D^\top u\}` with :math:`u_j = \lambda\operatorname{sign}(x_{j+1} - x_j)`
        where the row jumps and :math:`u_j \in [-\lambda, \lambda]` where it does not. The one
        :math:`u` with :math:`D^\top u = w` on the first :math:`n-1` entries is
        :math:`u_j = -\sum_{i\le j} w_i`; it is projected on those constraints and the
        distance :math:`\lVert w - D^\top u\rVert` is returned (0 iff :math:`w\in\partial g(x)`).
        """
        x, grad = self._check_grad(x, grad)
        if x.dim() == 0:
            return grad.abs().reshape(1)
        xr, w = x.reshape(-1, x.shape[-1]), (-grad).reshape(-1, x.shape[-1])
        u = -w.cumsum(dim=1)[:, :-1]
        jump = xr.diff(dim=1)
        u = torch.where(jump != 0, self.lam * torch.sign(jump), u.clamp(-self.lam, self.lam))
        zero = u.new_zeros(u.shape[0], 1)
        dtu = torch.cat([zero, u], dim=1) - torch.cat([u, zero], dim=1)
        return torch.linalg.vector_norm(w - dtu, dim=1)
