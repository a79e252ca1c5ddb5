"""proxgan.apps.optimizers and the config checks: which optimizer, which params, what goes into the loss."""
import pytest
import torch
from torch import nn

from proxgan.apps.config import OptimConfig
from proxgan.apps.optimizers import build_optimizer, make_penalty, penalty_loss
from proxgan.penalties import L0, L1, L2, ElasticNet, GroupL1



def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 2))


def test_make_penalty():
    assert make_penalty("none", 1.0) is None
    assert make_penalty("l1", 0.1) == L1(0.1) and make_penalty("l2", 0.1) == L2(0.1)
    assert make_penalty("elasticnet", 0.1) == ElasticNet(0.1, 0.5)
    assert make_penalty("group", 0.1) == GroupL1(0.1, dim=0) and make_penalty("l0", 0.1) == L0(0.1)
    with pytest.raises(ValueError, match="penalty must be one of"):
        make_penalty("l3", 0.1)


def test_loss_mode_adds_penalty_of_weights_only():
    m = _model()
    opt, groups = build_optimizer(m, OptimConfig("adam", 1e-3, "l1", 0.5, "loss"))
    assert isinstance(opt, torch.optim.Adam)
    assert all("penalty" not in g for g in opt.param_groups)
    expected = 0.5 * (m[0].weight.abs().sum() + m[3].weight.abs().sum())
    assert torch.allclose(penalty_loss(groups), expected)
    penalised = {id(p) for g in groups for p in g["params"]}
    assert id(m[0].bias) not in penalised and id(m[3].bias) not in penalised


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_torch_optimizers_no_penalty(name):
    opt, groups = build_optimizer(_model(), OptimConfig(name, 1e-2))
    assert type(opt).__name__ == {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}[name]
    assert groups == [] and penalty_loss(groups) == 0.0


@pytest.mark.parametrize("name", ["proxsgd", "proxadam"])
def test_prox_mode_makes_exact_zeros(name):
    m = _model()
    opt, groups = build_optimizer(m, OptimConfig(name, 0.1, "l1", 10.0, "prox", momentum=0.0))
    assert groups == []
    assert type(opt).__name__ == {"proxsgd": "ProxSGD", "proxadam": "ProxAdam"}[name]
    for _ in range(3):
        loss = m(torch.randn(4, 1, 4, 4)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert bool((m[0].weight == 0).all()) and bool((m[3].weight == 0).all())  # huge lambda: everything thresholded
    assert bool((m[3].bias != 0).any())  # biases are not penalised
