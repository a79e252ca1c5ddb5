"""Exact-zero counts of a model's parameters: per tensor, overall, and zero rows/channels.

Only exact zeros count (``x == 0``, so ``-0.0`` too): a proximal optimizer produces them,
an L1 term in the loss does not. Rows/channels are the slices along ``dim`` (``dim=0``:
output features of a Linear layer, output channels/filters of a convolution), the groups
of :class:`proxgan.penalties.GroupL1` with the same ``dim``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Union

import torch
from torch import nn

__all__ = ["sparsity", "SparsityReport", "TensorSparsity"]

Tensors = Union[nn.Module, torch.Tensor, Mapping[str, torch.Tensor], Iterable[tuple[str, torch.Tensor]]]


@dataclass(frozen=True)
class TensorSparsity:
    """Exact zeros of one tensor; ``groups``/``zero_groups`` are ``None`` for tensors with < 2 dims.

    Parameters
    ----------
    shape : tuple of int
        Shape of the tensor.
    numel : int
        Number of entries.
    zeros : int
        Exact zeros.
    groups : int or None
        Number of groups (slices along ``dim``).
    zero_groups : int or None
        Groups that are entirely zero.
    """

    shape: tuple[int, ...]
    numel: int
    zeros: int
    groups: int | None
    zero_groups: int | None

    @property
    def fraction(self) -> float:
        """Fraction of entries that are exactly zero (0.0 for an empty tensor)."""
        return self.zeros / self.numel if self.numel else 0.0

    @property
    def group_fraction(self) -> float | None:
        """Fraction of rows/channels that are entirely zero."""
        if self.groups is None:
            return None
        return self.zero_groups / self.groups if self.groups else 0.0


@dataclass(frozen=True)
class SparsityReport:
    """Per-tensor :class:`TensorSparsity` plus the overall counts; ``str()`` prints a table.

    Parameters
    ----------
    tensors : dict of str to TensorSparsity
        Counts of each tensor, by name.
    dim : int
        Dimension along which groups are counted.
    """

    tensors: dict[str, TensorSparsity] = field(default_factory=dict)
    dim: int = 0

    @property
    def numel(self) -> int:
        return sum(t.numel for t in self.tensors.values())

    @property
    def zeros(self) -> int:
        return sum(t.zeros for t in self.tensors.values())

    @property
    def fraction(self) -> float:
        """Overall fraction of exact zeros over all tensors."""
        n = self.numel
        return self.zeros / n if n else 0.0

    def __str__(self) -> str:
        width = max([len(n) for n in self.tensors] + [6])
        rows_title = f"zero rows (dim {self.dim})"
        lines = [f"{'tensor':<{width}}  {'shape':<18} {'zeros':>12} {'fraction':>9} {rows_title:>20}"]
        for name, t in self.tensors.items():
            rows = "-" if t.groups is None else f"{t.zero_groups}/{t.groups}"
            lines.append(f"{name:<{width}}  {str(t.shape):<18} {t.zeros:>12} {t.fraction:>9.4f} {rows:>20}")
        lines.append(f"{'total':<{width}}  {'':<18} {self.zeros:>12} {self.fraction:>9.4f}")
        return "\n".join(lines)


def _named(x: Tensors) -> list[tuple[str, torch.Tensor]]:
    if isinstance(x, nn.Module):
        return list(x.named_parameters())
    if isinstance(x, torch.Tensor):
        return [("tensor", x)]
    if isinstance(x, Mapping):
        return list(x.items())
    items = list(x)
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], torch.Tensor)):
            raise TypeError("sparsity() takes a module, a tensor, a mapping name -> tensor or (name, tensor) pairs")
    return items


def sparsity(model: Tensors, dim: int = 0) -> SparsityReport:
    """Count exact zeros per tensor and overall, and all-zero rows/channels along ``dim``.

    Parameters
    ----------
    model : nn.Module, Tensor, mapping or iterable of (name, tensor)
        A module (its ``named_parameters()``), one tensor, or named tensors.
    dim : int
        The dimension whose slices are the rows/channels (as ``GroupL1(dim=...)``); only
        tensors with at least two dimensions get a row count.

    Returns
    -------
    SparsityReport
        ``report.fraction`` (overall), ``report.tensors[name].fraction``,
        ``report.tensors[name].zero_groups``; ``print(report)`` shows a table.

    Examples
    --------
    >>> import torch
    >>> from proxgan import sparsity
    >>> lin = torch.nn.Linear(3, 2)
    >>> with torch.no_grad():
    ...     lin.weight[0] = 0.0
    ...     _ = lin.bias.fill_(1.0)
    >>> r = sparsity(lin)
    >>> r.tensors["weight"].zero_groups, round(r.fraction, 3)
    (1, 0.375)
    """
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {dim!r}")
    out: dict[str, TensorSparsity] = {}
    for name, t in _named(model):
        t = t.detach()
        zero = t == 0
        groups = zero_groups = None
        if t.dim() >= 2:
            if not -t.dim() <= dim < t.dim():
                raise ValueError(f"dim {dim} is out of range for {name!r} of shape {tuple(t.shape)}")
            d = dim % t.dim()
            groups = t.shape[d]
            zero_groups = int(zero.movedim(d, 0).reshape(groups, -1).all(dim=1).sum()) if t.numel() else groups
        out[name] = TensorSparsity(tuple(t.shape), t.numel(), int(zero.sum()), groups, zero_groups)
    return SparsityReport(out, dim)
