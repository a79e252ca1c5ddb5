"""param_groups: weights penalised; biases and normalisation parameters not."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from proxgan.optim import ProxAdam, exclude_bias_and_norm, param_groups
from proxgan.optim._groups import default_exclude
from proxgan.penalties import L1


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.body = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.GroupNorm(4, 16))
        self.head = nn.Linear(16, 2, bias=False)
        self.tied = self.head  # shared module: its weight must appear once


def names(model, group):
    ids = {id(p) for p in group["params"]}
    return [n for n, p in model.named_parameters() if id(p) in ids]


def test_default_groups():
    model = Net()
    pen = L1(1e-3)
    groups = param_groups(model, pen)
    assert len(groups) == 2
    assert groups[0]["penalty"] is pen and groups[1]["penalty"] is None
    assert names(model, groups[0]) == ["conv.weight", "body.0.weight", "head.weight"]
    assert names(model, groups[1]) == ["conv.bias", "bn.weight", "bn.bias", "body.0.bias", "body.1.weight",
                                       "body.1.bias", "body.2.weight", "body.2.bias"]
    total = sum(len(g["params"]) for g in groups)
    assert total == len(list(model.parameters()))


def test_patterns_add_to_the_default_and_callables_replace_it():
    model = Net()
    g = param_groups(model, L1(1e-3), exclude="head.*")
    assert names(model, g[0]) == ["conv.weight", "body.0.weight"]
    g = param_groups(model, L1(1e-3), exclude=["conv.*", "body.*"])
    assert names(model, g[0]) == ["head.weight"]
    g = param_groups(model, L1(1e-3), exclude=lambda name, module, p: False)
    assert len(g) == 1 and len(g[0]["params"]) == len(list(model.parameters()))
    g = param_groups(model, L1(1e-3), exclude=lambda name, module, p: p.dim() < 2, lr=0.5)
    assert names(model, g[0]) == ["conv.weight", "body.0.weight", "head.weight"]
    assert all(gr["lr"] == 0.5 for gr in g)


def test_default_exclude_rule():
    assert default_exclude("x.bias", nn.Linear(2, 2), torch.zeros(2))
    assert default_exclude("bn.weight", nn.BatchNorm1d(2), torch.zeros(2))
    assert not default_exclude("fc.weight", nn.Linear(2, 2), torch.zeros(2, 2))
    assert not default_exclude("fc.bias_like", nn.Linear(2, 2), torch.zeros(2))


def test_bad_arguments():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        param_groups([torch.zeros(2)], L1(1.0))
    with pytest.raises(TypeError, match="penalty must be"):
        param_groups(Net(), 0.1)
    with pytest.raises(TypeError, match="exclude patterns must be strings"):
        param_groups(Net(), L1(1.0), exclude=[1])


def test_groups_drive_the_optimizer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 30), nn.LayerNorm(30), nn.Linear(30, 1))
    opt = ProxAdam(param_groups(model, L1(0.05)), lr=0.05)
    x, y = torch.randn(256, 20), torch.randn(256, 1)
    for _ in range(50):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    w0, b0, ln_w = model[0].weight, model[0].bias, model[1].weight
    assert (w0 == 0).float().mean() > 0.3  # penalised weights: many exact zeros
    assert (b0 == 0).sum() == 0 and (ln_w == 0).sum() == 0  # biases and norm scales untouched by the prox


class HandMadeRMSNorm(nn.Module):  # what transformer libraries write: not an nn.LayerNorm
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm = HandMadeRMSNorm(8)
        self.q_proj = nn.Linear(8, 8, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(8))  # a bias by name only
        self.q_norm = HandMadeRMSNorm(8)
        self.mlp = nn.Linear(8, 8)
        self.bn = nn.BatchNorm1d(8)
        self.norm = HandMadeRMSNorm(8)
        self.normalizer = nn.Linear(8, 8, bias=False)  # "norm" inside a longer word: a weight


def test_exclude_bias_and_norm_leaves_out_biases_and_norms_by_name():
    model = Block()
    assert names(model, param_groups(model, L1(1e-3))[0]) == [
        "q_bias", "input_layernorm.weight", "q_proj.weight", "q_norm.weight", "mlp.weight", "norm.weight",
        "normalizer.weight"]
    groups = param_groups(model, L1(1e-3), exclude=exclude_bias_and_norm)
    assert names(model, groups[0]) == ["q_proj.weight", "mlp.weight", "normalizer.weight"]
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(list(model.parameters()))
