r""":class:`NM`: N:M structured sparsity (a projection)."""
from __future__ import annotations

import math

from proxgan._torch import torch

from proxgan._validation import check_float_tensor

from ._base import Param, Penalty, acc_dtype, prox_on_triton, write

__all__ = ["NM"]


class NM(Penalty):
    r"""N:M structured sparsity: the indicator of "at most ``n`` non-zeros in every ``m``
    consecutive weights along the input dimension" (dimension 1; for a convolution, over
    input channels at each kernel position). 2:4 is what semi-structured sparse GPU
    kernels run (:func:`proxgan.nm.to_semi_structured`).

    ``value`` is 0 on the set and :math:`+\infty` off it. ``prox`` is the projection:
    keep the ``n`` entries of largest :math:`|u_i|` in every block (a scalar step), or, in
    the metric of a per-coordinate step :math:`s` (ProxAdam), the ``n`` of largest
    :math:`u_i^2/s_i`, the exact minimiser of :math:`\sum_i (y_i-u_i)^2/(2s_i)` over the set.
    Ties go to the lower index; a NaN ranks as :math:`+\infty` (it is kept). The set is not
    convex: in an optimizer this is projected gradient, a hard constraint from the first step on.

    In ProxAdam and ProxSGD the projection runs inside the fused CPU step (float32/float64,
    blocks of up to 16). There ProxAdam ranks by :math:`u_i^2 D_i` (:math:`s_i = lr/D_i`), the
    same order as :math:`u_i^2/s_i`; at ``lr = 0`` that is the limit as ``lr`` goes to 0, where
    the unfused path, whose steps are then all 0, keeps the first ``n`` non-zeros of a block.

    Tensors need at least 2 dimensions and ``shape[1]`` a multiple of ``m`` (a clear error
    otherwise): keep biases, norms and e.g. a 3-channel input convolution out of the group.

    Parameters
    ----------
    n : int, default 2
        Most non-zeros kept in every block, ``1 <= n <= m``.
    m : int, default 4
        Size of a block: ``m`` consecutive entries along dimension 1.

    Examples
    --------
    >>> import torch
    >>> NM(2, 4).prox(torch.tensor([[1.0, -3.0, 2.0, 0.5]]))
    tensor([[ 0., -3.,  2.,  0.]])
    """

    separable = False

    n = Param(lambda v, name: v)  # checked with m, by _check_params
    m = Param(lambda v, name: v)

    def __init__(self, n: int = 2, m: int = 4) -> None:
        from proxgan.kernels.nm_project import check_nm

        self.__dict__["n"], self.__dict__["m"] = check_nm(n, m)

    def _check_params(self) -> None:
        from proxgan.kernels.nm_project import check_nm

        self.__dict__["n"], self.__dict__["m"] = check_nm(self.n, self.m)

    def lowering(self):
        """A :class:`proxgan._lowering.BlockProx` ``(n, m)`` (the fused CPU steps take it)."""
        from proxgan._lowering import BlockProx

        return BlockProx(self.n, self.m)

    def _check_x(self, x: torch.Tensor) -> None:
        from proxgan.kernels.nm_project import nm_blocks

        if not self.applies_to(x):
            nm_blocks(x, self.m)  # raises the error that says what is wrong

    def applies_to(self, x: torch.Tensor) -> bool:
        """Whether ``x`` has an input dimension that is a multiple of ``m``."""
        return x.dim() >= 2 and x.shape[1] % self.m == 0

    def _mask_ok(self, x: torch.Tensor) -> bool:
        from proxgan.kernels.nm_project import nm_blocks

        return bool(((nm_blocks(x, self.m) != 0).sum(dim=1) <= self.n).all())

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        self._check_x(x)
        return torch.tensor(0.0 if self._mask_ok(x) else math.inf, dtype=acc_dtype(x))

    def _prox(self, x, step, out):
        from proxgan.kernels import nm_project as _nm

        s = step if isinstance(step, torch.Tensor) and step.numel() > 1 else None
        if prox_on_triton(x):
            return _nm.nm_project(x, self.n, self.m, s, out=out)
        return _nm.nm_project_torch(x, self.n, self.m, s, out=out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """An upper bound of the distance of ``-grad`` to the normal cone of the set: ``|grad|``
        on non-zeros and on the zeros of blocks with fewer than ``n`` non-zeros, 0 on the
        zeros of full blocks (inf off the set)."""
        from proxgan.kernels.nm_project import _unblocks, nm_blocks

        x, grad = self._check_grad(x, grad)
        xb, gb = nm_blocks(x, self.m), nm_blocks(grad, self.m)
        count = (xb != 0).sum(dim=1, keepdim=True)
        d = torch.where((xb == 0) & (count == self.n), torch.zeros_like(gb), gb.abs())
        d = torch.where(count > self.n, torch.full_like(d, math.inf), d)
        return _unblocks(d, x).contiguous()
