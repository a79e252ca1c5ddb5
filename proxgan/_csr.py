r"""Inference with compressed-sparse-row weights (``torch.sparse``): what very high unstructured
sparsity buys on a CPU.

:func:`to_csr` copies a model and replaces the weight of every ``Linear`` and ``Conv2d``
(``groups=1``) layer by a CSR matrix: a linear layer computes :math:`y = (W x^\top)^\top + b`
with a sparse-dense product, a convolution unfolds its input (im2col) and multiplies the
:math:`(C_{out}, C_{in} k_h k_w)` CSR matrix by the columns. Outputs equal the dense model's
up to rounding; only exact zeros are dropped.
"""
from __future__ import annotations

import copy
import warnings

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CSRLinear", "CSRConv2d", "to_csr"]


class CSRLinear(nn.Module):
    """``nn.Linear`` with a CSR weight (inference only)."""

    def __init__(self, lin: nn.Linear) -> None:
        super().__init__()
        self.weight = lin.weight.detach().to_sparse_csr()
        self.bias = None if lin.bias is None else lin.bias.detach().clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        y = torch.sparse.mm(self.weight, flat.t()).t()
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], y.shape[-1])


class CSRConv2d(nn.Module):
    """``nn.Conv2d`` (``groups=1``, zero padding) with a CSR weight, by im2col (inference only)."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError("CSRConv2d takes convolutions with groups=1, numeric zero padding")
        self.weight = conv.weight.detach().reshape(conv.out_channels, -1).to_sparse_csr()
        self.bias = None if conv.bias is None else conv.bias.detach().clone()
        self.out_channels = conv.out_channels
        self.args = dict(kernel_size=conv.kernel_size, dilation=conv.dilation, padding=conv.padding,
                         stride=conv.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        cols = F.unfold(x, **self.args)  # (B, C k k, L)
        k, L = cols.shape[1], cols.shape[2]
        y = torch.sparse.mm(self.weight, cols.transpose(0, 1).reshape(k, b * L))  # (O, B L)
        y = y.reshape(self.out_channels, b, L).transpose(0, 1)
        if self.bias is not None:
            y = y + self.bias[:, None]
        kh, kw = self.args["kernel_size"]
        (ph, pw), (sh, sw), (dh, dw) = self.args["padding"], self.args["stride"], self.args["dilation"]
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        return y.reshape(b, self.out_channels, oh, ow)


def to_csr(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (in eval mode) whose Linear / Conv2d weights are CSR matrices."""
    new = copy.deepcopy(model).eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        _swap(new)
    return new


def _swap(new: nn.Module) -> None:
    for name, mod in list(new.named_modules()):
        for child_name, child in list(mod.named_children()):
            if isinstance(child, nn.Linear):
                setattr(mod, child_name, CSRLinear(child))
            elif isinstance(child, nn.Conv2d) and child.groups == 1 and child.padding_mode == "zeros" \
                    and not isinstance(child.padding, str):
                setattr(mod, child_name, CSRConv2d(child))
