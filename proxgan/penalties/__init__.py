r"""Penalties :math:`g` and their proximal operators.

Every penalty has

* ``value(x)``: :math:`g(x)` as a 0-d tensor (float64 for float64 input, else float32);
* ``prox(x, step, out=None)``: :math:`\operatorname{prox}_{s g}(x) = \arg\min_y \tfrac12\lVert y-x\rVert^2 + s\,g(y)`.
  ``step`` is a number or a tensor that broadcasts to ``x``. A tensor step means the
  per-coordinate problem :math:`\arg\min_y \sum_i \frac{(y_i - x_i)^2}{2 s_i} + g(y)`
  (the prox in the metric :math:`\operatorname{diag}(1/s)`: the step of a diagonally
  preconditioned optimizer such as ProxAdam). ``out=x`` works in place;
* ``subdiff_distance(x, grad)``: the distance of :math:`-\nabla f(x)` to
  :math:`\partial g(x)`, per coordinate (per group for :class:`GroupL1`): zero exactly
  at a stationary point of :math:`f + g`;
* ``optimality(x, grad)``: the largest such distance, the stopping measure of solvers.

CUDA tensors go to the Triton kernels of :mod:`proxgan.kernels` when Triton is
installed; everything else uses the PyTorch path (:mod:`proxgan._dispatch` decides). Bad arguments raise before anything
is written.

Examples
--------
>>> import torch
>>> from proxgan.penalties import L1
>>> L1(0.5).prox(torch.tensor([-2.0, 0.3, 1.0]), step=1.0)
tensor([-1.5000,  0.0000,  0.5000])
"""
from __future__ import annotations

from ._base import Param, Penalty
from ._group import CoupledGroupL1, GroupL1
from ._nm import NM
from ._nonconvex import MCP, SCAD, LogSum, Lq
from ._separable import L0, L1, L2, Box, ElasticNet, NonNegative
from ._lowrank import NuclearNorm
from ._sorted import SLOPE
from ._sparse_group import SparseGroupL1
from ._tv import TV1D

__all__ = ["Penalty", "Param", "L1", "L2", "ElasticNet", "GroupL1", "L0", "Box", "NonNegative", "CoupledGroupL1", "NM",
           "MCP", "SCAD", "Lq", "LogSum", "SLOPE", "SparseGroupL1", "NuclearNorm", "TV1D"]

if "torch" in __import__("sys").modules:  # torch came first: the checkpoint allowlist now (see proxgan._torch)
    import proxgan._serialization  # noqa: E402, F401
