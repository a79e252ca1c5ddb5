r"""One lowering of a penalty to the numbers a kernel needs.

Every fast path (the fused optimizer steps on CPU and GPU, the multi-tensor paths, the
compiled coordinate-descent loops) reads a penalty through :func:`lower` and nothing
else. A *separable* penalty whose prox acts coordinate by coordinate with a closed form
is lowered to

.. math::

    g(x) = \sum_i\ l_1 |x_i| + \tfrac12\, l_2\, x_i^2 + \iota_{[lo, hi]}(x_i)
    \qquad\text{or, for } L0,\qquad g(x) = l_0 \lVert x\rVert_0,

a :class:`SeparableProx` ``(code, l1, l2, lo, hi)`` whose prox at step :math:`s` is

* ``NONE``: :math:`u`;
* ``L1``: :math:`u - \operatorname{clip}(u, -s\,l_1, s\,l_1)` (soft threshold);
* ``L2``: :math:`u / (1 + s\,l_2)`;
* ``ENET``: :math:`\operatorname{soft}(u, s\,l_1) / (1 + s\,l_2)`;
* ``L0``: :math:`u` if :math:`|u| > \sqrt{2 s\,l_1}` else 0 (``l1`` holds :math:`\lambda`);
* ``BOX``: :math:`\operatorname{clip}(u, lo, hi)`.

``l1`` is a tensor for a weighted L1 (one weight per coordinate): such a lowering is
usable by the coordinate-descent loops, not by the fused kernels
(:attr:`SeparableProx.scalar` is False).

One block penalty has a fused form too: :class:`~proxgan.penalties.NM` lowers to a
:class:`BlockProx` ``(n, m)``, the projection that keeps the ``n`` entries of largest score
(:math:`u_i^2/s_i`, or :math:`|u_i|` for a scalar step) in every ``m`` consecutive entries
along dimension 1. The fused CPU steps take it; no Triton step does (on CUDA the step is
the multi-tensor one followed by the Triton projection), for blocks of up to
:data:`FUSED_MAX_M` entries.

:func:`lower` returns ``None`` for the other non-separable penalties (GroupL1, coupled
groups) and for any subclass that overrides ``prox`` or ``_prox``: those keep their own
``prox`` and are never silently replaced by a built-in kernel. ``kernel_args()`` turns a
lowering into the ``(code, a, b)`` triple of :mod:`proxgan.kernels.fused_penalty` and
``block_args()`` into the ``(n, m)`` pair of the fused CPU steps (``(0, 0)``: no blocks):
kernels take plain numbers, never penalties.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from proxgan import penalties as _pen
from proxgan.kernels.fused_penalty import BOX, ENET, L0, L1, L2, NONE

__all__ = ["SeparableProx", "BlockProx", "lower", "NO_PENALTY"]


class SeparableProx(NamedTuple):
    """A separable penalty as plain numbers (see the module docstring)."""

    code: int
    l1: float | torch.Tensor = 0.0
    l2: float = 0.0
    lo: float = -math.inf
    hi: float = math.inf

    @property
    def scalar(self) -> bool:
        """True when every field is a number (what the fused kernels accept)."""
        return not isinstance(self.l1, torch.Tensor)

    def kernel_args(self) -> tuple[int, float, float]:
        """``(code, a, b)`` for the fused kernels (:mod:`proxgan.kernels.fused_penalty`)."""
        if not self.scalar:
            raise ValueError("a weighted L1 has one threshold per coordinate: no fused kernel takes it")
        if self.code == L1:
            return L1, self.l1, 0.0
        if self.code == L2:
            return L2, self.l2, 0.0
        if self.code == ENET:
            return ENET, self.l1, self.l2
        if self.code == L0:
            return L0, 2.0 * self.l1, 0.0
        if self.code == BOX:
            return BOX, self.lo, self.hi
        return NONE, 0.0, 0.0

    def block_args(self) -> tuple[int, int]:
        """``(0, 0)``: no block projection."""
        return 0, 0

    @property
    def fusable(self) -> bool:
        """Whether a fused step kernel takes this lowering."""
        return self.scalar

    @property
    def on_triton(self) -> bool:
        """Whether the fused Triton steps take it (as the CPU ones)."""
        return self.scalar


#: the largest N:M block the fused CPU steps take (larger ones: multi-tensor step, then projection)
FUSED_MAX_M = 16


class BlockProx(NamedTuple):
    """The N:M projection as plain numbers (see the module docstring)."""

    n: int
    m: int

    scalar = False  # not a per-coordinate closed form

    def kernel_args(self) -> tuple[int, float, float]:
        """The element-wise part of the step: none (the projection follows it)."""
        return NONE, 0.0, 0.0

    def block_args(self) -> tuple[int, int]:
        """``(n, m)`` for the fused CPU steps."""
        return self.n, self.m

    @property
    def fusable(self) -> bool:
        """The fused CPU steps take blocks of up to :data:`FUSED_MAX_M` entries (their code
        compares the ``m(m-1)/2`` pairs of a block in straight-line code)."""
        return self.m <= FUSED_MAX_M

    on_triton = False  # no fused Triton step does


NO_PENALTY = SeparableProx(NONE)


def _l1(p: _pen.L1) -> SeparableProx:
    return SeparableProx(L1, p.lam if p.weights is None else p.lam * p.weights.detach())


_RULES = {
    _pen.L1: _l1,
    _pen.L2: lambda p: SeparableProx(L2, 0.0, p.lam),
    _pen.ElasticNet: lambda p: SeparableProx(ENET, p.lam * p.l1_ratio, p.lam * (1.0 - p.l1_ratio)),
    _pen.L0: lambda p: SeparableProx(L0, p.lam),
    _pen.Box: lambda p: SeparableProx(BOX, 0.0, 0.0, p.lo, p.hi),
    _pen.NM: lambda p: BlockProx(p.n, p.m),
}


def _rule(kind: type):
    """The lowering rule of ``kind``: its own, or its base's when it keeps the base's prox."""
    for base in kind.__mro__:
        rule = _RULES.get(base)
        if rule is not None:
            same = all(getattr(kind, name) is getattr(base, name) for name in ("prox", "_prox"))
            return rule if same else None
    return None


def lower(penalty: _pen.Penalty | None) -> SeparableProx | BlockProx | None:
    """The penalty as a :class:`SeparableProx` or :class:`BlockProx`, or ``None`` when it keeps its own prox.

    Parameters
    ----------
    penalty : Penalty or None
        ``None`` (no penalty) lowers to ``NO_PENALTY``.

    Examples
    --------
    >>> from proxgan.penalties import NM, ElasticNet, GroupL1
    >>> lower(ElasticNet(1.0, 0.25)).kernel_args()
    (3, 0.25, 0.75)
    >>> lower(GroupL1(0.1)) is None
    True
    >>> lower(NM(2, 4)).block_args()
    (2, 4)
    """
    if penalty is None:
        return NO_PENALTY
    rule = _rule(type(penalty))
    return None if rule is None else rule(penalty)
