r""":class:`NuclearNorm`: the sum of singular values of a matrix, prox by SVD soft-thresholding."""
from __future__ import annotations

from proxgan._torch import torch

from proxgan._validation import check_float_tensor, check_nonneg_number

from ._base import Param, Penalty, acc_dtype, write
from ._scalar_step import scalar_step

__all__ = ["NuclearNorm", "nuclear_prox_ref", "numerical_rank"]


def numerical_rank(s: torch.Tensor, shape: tuple[int, ...]) -> int:
    """The number of singular values ``s`` (decreasing) above ``max(shape) * eps * s[0]``."""
    if s.numel() == 0 or float(s[0]) == 0.0:
        return 0
    tol = max(shape) * torch.finfo(s.dtype).eps * float(s[0])
    return int((s > tol).sum())


def nuclear_prox_ref(x: torch.Tensor, t: float) -> torch.Tensor:
    """Readable twin of :meth:`NuclearNorm.prox` (float64): the full SVD, thresholded one
    singular value at a time."""
    u, s, vh = torch.linalg.svd(x.detach().double(), full_matrices=False)
    y = torch.zeros_like(x, dtype=torch.float64)
    for i in range(s.numel()):
        if s[i] > t:
            y += (s[i] - t) * torch.outer(u[:, i], vh[i])
    return y


class NuclearNorm(Penalty):
    r"""Nuclear norm :math:`g(X) = \lambda\lVert X\rVert_* = \lambda\sum_i \sigma_i(X)` of a 2-D weight.

    The convex surrogate of the rank: it drives singular values, not entries, to exactly zero,
    and a linear layer of rank :math:`r` then runs as two layers
    (:func:`proxgan.prune.compact` with ``low_rank=True``). ``prox`` at a scalar step
    :math:`s` soft-thresholds the singular values: :math:`Y = U\max(\Sigma - s\lambda, 0)V^\top`
    (one SVD, computed in float64 on the tensor's device); singular values at most
    :math:`s\lambda` vanish exactly, and :math:`Y` is built from the kept ones only. A
    per-coordinate step has no closed form: refused. Only 2-D tensors are accepted (put
    biases and norm scales in another parameter group).

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

    def _check_x(self, x: torch.Tensor) -> None:
        if x.dim() != 2:
            raise ValueError(f"NuclearNorm takes 2-D weights (a linear layer's matrix), got a tensor of shape "
                             f"{tuple(x.shape)}: give biases and other tensors another parameter group")

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        self._check_x(x)
        s = torch.linalg.svdvals(x.to(torch.float64))
        return (self.lam * s.sum()).to(acc_dtype(x))

    def _prox(self, x, step, out):
        t = scalar_step(step, "NuclearNorm") * self.lam
        if x.numel() == 0 or t == 0:
            return write(x.clone() if out is None else x, out)
        u, s, vh = torch.linalg.svd(x.detach().to(torch.float64), full_matrices=False)
        keep = int((s > t).sum())
        y = (u[:, :keep] * (s[:keep] - t)) @ vh[:keep]
        return write(y.to(x.dtype), out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        r"""The distance of :math:`W = -\nabla f` to :math:`\partial g(X)`, as a 1-element tensor.

        With :math:`X = U_r\Sigma_r V_r^\top` (:func:`numerical_rank`),
        :math:`\partial g(X) = \lambda U_rV_r^\top + \{Z : U_r^\top Z = 0,\ ZV_r = 0,\ \lVert Z\rVert_2\le\lambda\}`.
        Split :math:`W` into its part on the tangent space :math:`T` and the rest
        :math:`P_\perp W = (I - U_rU_r^\top)W(I - V_rV_r^\top)`; the squared distance is
        :math:`\lVert P_T W - \lambda U_rV_r^\top\rVert_F^2 + \sum_i \max(\sigma_i(P_\perp W) - \lambda, 0)^2`.
        """
        x, grad = self._check_grad(x, grad)
        x, w = x.double(), -grad.double()
        u, s, vh = torch.linalg.svd(x, full_matrices=False)
        r = numerical_rank(s, tuple(x.shape))
        ur, vr = u[:, :r], vh[:r].T
        perp = w - ur @ (ur.T @ w)
        perp = perp - (perp @ vr) @ vr.T
        tang = w - perp - self.lam * ur @ vr.T
        excess = (torch.linalg.svdvals(perp) - self.lam).clamp_min(0)
        d = (tang.square().sum() + excess.square().sum()).sqrt()
        return d.reshape(1).to(acc_dtype(grad))
