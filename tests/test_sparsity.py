"""proxgan.sparsity: exact zeros per tensor, overall, and zero rows/channels."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import proxgan
from proxgan import sparsity


def model_with_zeros():
    m = nn.Sequential(nn.Linear(4, 3), nn.Conv2d(2, 5, 3))
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(1.0)
        m[0].weight[1] = 0.0  # one zero row (output feature) of 3
        m[0].weight[0, 2] = -0.0  # a negative zero counts
        m[1].weight[[0, 3]] = 0.0  # two zero filters of 5
        m[1].weight[1, 0, 0, 0] = 0.0  # a zero inside a live filter
        m[1].bias[4] = 0.0
    return m


def test_counts_per_tensor_and_overall():
    r = sparsity(model_with_zeros())
    assert proxgan.sparsity is sparsity
    t = r.tensors
    assert list(t) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert (t["0.weight"].zeros, t["0.weight"].numel) == (5, 12)
    assert (t["0.weight"].zero_groups, t["0.weight"].groups) == (1, 3)
    assert (t["1.weight"].zeros, t["1.weight"].numel) == (37, 90)
    assert (t["1.weight"].zero_groups, t["1.weight"].groups) == (2, 5)
    assert t["1.bias"].zeros == 1 and t["1.bias"].groups is None and t["1.bias"].group_fraction is None
    assert r.zeros == 5 + 0 + 37 + 1 and r.numel == 12 + 3 + 90 + 5
    assert r.fraction == pytest.approx(43 / 110)
    assert t["1.weight"].fraction == pytest.approx(37 / 90)
    assert t["1.weight"].group_fraction == pytest.approx(0.4)


def test_other_dim_counts_input_channels():
    w = torch.ones(4, 6)
    w[:, 2] = 0
    w[:, 5] = 0
    r = sparsity({"w": w}, dim=1)
    assert (r.tensors["w"].zero_groups, r.tensors["w"].groups) == (2, 6)
    assert sparsity({"w": w}).tensors["w"].zero_groups == 0
    assert sparsity(w).tensors["tensor"].zeros == 8
    assert sparsity([("a", w)]).zeros == 8


def test_table_and_edge_cases():
    text = str(sparsity(model_with_zeros()))
    assert "1.weight" in text and "2/5" in text and text.splitlines()[-1].startswith("total")
    empty = sparsity({"e": torch.zeros(0, 3)})
    assert empty.fraction == 0.0 and empty.tensors["e"].zero_groups == 0
    with pytest.raises(ValueError, match="dim 2 is out of range"):
        sparsity({"w": torch.zeros(2, 2)}, dim=2)
    with pytest.raises(TypeError, match="sparsity\\(\\) takes"):
        sparsity([torch.zeros(2)])
