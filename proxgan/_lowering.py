r"""One lowering of a penalty to the numbers a kernel needs.

Every fast path (the fused optimizer steps on CPU and GPU, the multi-tensor paths,
coordinate descent and the duality gaps of the solvers) reads a penalty through
:func:`lower` and nothing else. The numbers come from the penalty class itself
(:meth:`proxgan.penalties.Penalty.lowering`): the one place that knows its math.

A *separable* penalty whose prox acts coordinate by coordinate in closed form lowers to a
:class:`SeparableProx` ``(code, a, b, weights)``: a :class:`~proxgan.kernels.fused_penalty.Code`
and its scalar vector ``(a, b)`` in the order :data:`~proxgan.kernels.fused_penalty.SCALARS`
defines next to the code (the table of codes and proxes is in
:mod:`proxgan.kernels.fused_penalty`). ``weights`` (a weighted L1) scale ``a`` coordinate by
coordinate (:attr:`SeparableProx.scalar` is False): coordinate descent folds them into its
per-coordinate ``a``; the fused kernels take a weighted ``L1`` as the code ``L1W`` with one
weight tensor per parameter (:meth:`SeparableProx.kernel_weights`).

One block penalty has a fused form too: :class:`~proxgan.penalties.NM` lowers to a
:class:`BlockProx` ``(n, m)``, the projection that keeps the ``n`` entries of largest score
(:math:`u_i^2/s_i`, or :math:`|u_i|` for a scalar step) in every ``m`` consecutive entries
along dimension 1. The fused CPU steps take it; no Triton step does (on CUDA the step is
the multi-tensor one followed by the Triton projection), for blocks of up to
:data:`FUSED_MAX_M` entries.

:func:`lower` returns ``None`` for penalties without a lowering (GroupL1, coupled groups, a
user penalty that gives none) and for any subclass that overrides ``prox`` or ``_prox`` of
the class that defines its lowering: those keep their own ``prox`` and are never silently
replaced by a built-in kernel. ``kernel_args()`` turns a lowering into the ``(code, a, b)``
triple of the kernels and ``block_args()`` into the ``(n, m)`` pair of the fused CPU steps
(``(0, 0)``: no blocks): kernels take plain numbers, never penalties.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from proxgan._torch import torch

from proxgan.kernels.fused_penalty import Code

__all__ = ["SeparableProx", "BlockProx", "lower", "fusable_penalty_names", "NO_PENALTY", "FUSED_MAX_M"]


class SeparableProx(NamedTuple):
    """A separable penalty as plain numbers (see the module docstring)."""

    code: Code
    a: float = 0.0
    b: float = 0.0
    weights: torch.Tensor | None = None

    @property
    def scalar(self) -> bool:
        """True when every field is a number (what the fused kernels accept)."""
        return self.weights is None

    def kernel_args(self) -> tuple[int, float, float]:
        """``(code, a, b)`` for the fused kernels (:mod:`proxgan.kernels.fused_penalty`); a
        weighted ``L1`` is the code ``L1W``, whose weights :meth:`kernel_weights` gives."""
        if not self.scalar:
            if self.code != Code.L1:
                raise ValueError("a weighted penalty other than L1 has no fused kernel")
            return int(Code.L1W), float(self.a), float(self.b)
        return int(self.code), float(self.a), float(self.b)

    def kernel_weights(self, params: list[torch.Tensor], dtype: torch.dtype,
                       memo: dict | None = None) -> list[torch.Tensor] | None:
        """The weights of code ``L1W`` for a fused launch: per parameter, the penalty's weights
        broadcast to its shape, contiguous, in ``dtype`` and on its device (``None`` without weights).

        With a ``memo`` (the optimizer group's) the tensors are made once and reused while the
        weights tensor is not modified in place; a tensor modified in place is checked again
        (finite, ``>= 0``) before it is used, so a bad value is refused before anything is written.

        Parameters
        ----------
        params : list of torch.Tensor
            The parameters of the launch (plain tensors: a DTensor's local shard).
        dtype : torch.dtype
            The kernel's compute dtype.
        memo : dict, optional
            Cache of the tensors, emptied when the group changes.

        Returns
        -------
        list of torch.Tensor or None

        Raises
        ------
        ValueError
            If the weights are no longer finite and non-negative.
        """
        w = self.weights
        if w is None:
            return None
        key = (id(w), w._version, dtype, tuple((p.shape, p.device) for p in params))
        hit = memo.get(("l1w", dtype)) if memo is not None else None
        hit = hit[1] if hit is not None and hit[0] == key else None
        if hit is None:
            if w.numel() and not bool(torch.all(torch.isfinite(w) & (w >= 0))):
                raise ValueError("weights must be finite and >= 0 (modified in place since they were set)")
            hit = [w.to(device=p.device, dtype=dtype).expand(p.shape).contiguous() for p in params]
            if memo is not None:
                memo[("l1w", dtype)] = (key, hit)
        return hit

    def block_args(self) -> tuple[int, int]:
        """``(0, 0)``: no block projection."""
        return 0, 0

    def per_coordinate(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)`` as float64 arrays of length ``n`` (the weights applied to ``a``), for
        coordinate descent."""
        a = np.full(n, float(self.a))
        if self.weights is not None:
            a = a * np.broadcast_to(self.weights.detach().cpu().double().numpy(), (n,))
        return a, np.full(n, float(self.b))

    @property
    def fusable(self) -> bool:
        """Whether a fused step kernel takes this lowering (scalars only, or a weighted L1)."""
        return self.scalar or self.code == Code.L1

    @property
    def on_triton(self) -> bool:
        """Whether the fused Triton steps take it (as the CPU ones)."""
        return self.fusable


#: the largest N:M block the fused CPU steps take (larger ones: multi-tensor step, then projection)
FUSED_MAX_M = 16


class BlockProx(NamedTuple):
    """The N:M projection as plain numbers (see the module docstring)."""

    n: int
    m: int

    scalar = False  # not a per-coordinate closed form

    def kernel_args(self) -> tuple[int, float, float]:
        """The element-wise part of the step: none (the projection follows it)."""
        return int(Code.NONE), 0.0, 0.0

    def block_args(self) -> tuple[int, int]:
        """``(n, m)`` for the fused CPU steps."""
        return self.n, self.m

    @property
    def fusable(self) -> bool:
        """The fused CPU steps take blocks of up to :data:`FUSED_MAX_M` entries (their code
        compares the ``m(m-1)/2`` pairs of a block in straight-line code)."""
        return self.m <= FUSED_MAX_M

    on_triton = False  # no fused Triton step does


NO_PENALTY = SeparableProx(Code.NONE)


def _defining_class(kind: type) -> type | None:
    """The class of ``kind``'s MRO that defines ``lowering`` (``None``: only the base's default)."""
    for base in kind.__mro__:
        if "lowering" in vars(base):
            return None if base.__name__ == "Penalty" and base.__module__.startswith("proxgan.penalties") else base
    return None


def lower(penalty) -> SeparableProx | BlockProx | None:
    """The penalty as a :class:`SeparableProx` or :class:`BlockProx`, or ``None`` when it keeps its own prox.

    Parameters
    ----------
    penalty : Penalty or None
        ``None`` (no penalty) lowers to ``NO_PENALTY``.

    Returns
    -------
    SeparableProx or BlockProx or None

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
    kind = type(penalty)
    owner = _defining_class(kind)
    if owner is None:
        return None
    if any(getattr(kind, name) is not getattr(owner, name) for name in ("prox", "_prox")):
        return None  # a subclass with its own prox: never replaced by the parent's kernel
    return penalty.lowering()


def fusable_penalty_names() -> list[str]:
    """Names (of :data:`proxgan._registry.PENALTIES`) whose default penalty a fused step takes."""
    from proxgan._registry import PENALTIES

    names = []
    for name, spec in PENALTIES.items():
        try:
            pen = spec.make(0.1)
        except Exception:  # noqa: BLE001 - a registry entry that needs more than lam
            continue
        low = lower(pen)
        if low is not None and low.fusable:
            names.append(name)
    return names
