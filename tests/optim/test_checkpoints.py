"""Loading state_dicts across optimizers: mapped when it makes sense, a clear error otherwise.

A rejected load names both optimizers and leaves the optimizer exactly as it was; a
mapped one never drops the configured penalty.
"""
from __future__ import annotations

import io

import pytest
import torch

from proxgan.optim import ProxAdam, ProxSGD
from proxgan.penalties import L1


def model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Linear(5, 2))


def train(opt, m, steps, seed=0):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        for p in m.parameters():
            p.grad = torch.randn(p.shape, generator=gen)
        opt.step()


def roundtrip(sd):
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def frozen(opt):
    return repr(opt.param_groups), {id(p): {k: (v.clone() if isinstance(v, torch.Tensor) else v)
                                            for k, v in st.items()} for p, st in opt.state.items()}


def assert_unchanged(opt, before):
    groups, state = before
    assert repr(opt.param_groups) == groups
    now = {id(p): st for p, st in opt.state.items()}
    assert now.keys() == state.keys()
    for pid, st in state.items():
        assert now[pid].keys() == st.keys()
        for k, v in st.items():
            assert torch.equal(now[pid][k], v) if isinstance(v, torch.Tensor) else now[pid][k] == v


def test_torch_adam_state_loads_into_prox_adam_and_keeps_the_penalty():
    m = model()
    adam = torch.optim.Adam(m.parameters(), lr=0.01)
    train(adam, m, 5)
    sd = roundtrip(adam.state_dict())
    m2 = model()
    m2.load_state_dict(m.state_dict())
    prox = ProxAdam(m2.parameters(), lr=0.5, penalty=L1(0.2))
    prox.load_state_dict(sd)
    group = prox.param_groups[0]
    assert group["penalty"] == L1(0.2) and group["prox"] == "preconditioned"
    assert group["lr"] == 0.01  # hyperparameters come from the checkpoint, as in torch.optim
    for p, q in zip(m.parameters(), m2.parameters()):
        assert float(prox.state[q]["step"]) == 5.0
        assert torch.equal(prox.state[q]["exp_avg"], adam.state[p]["exp_avg"])
    group["lr"] = 0.5
    train(prox, m2, 1, seed=9)  # continues with Adam's moments and bias correction: zeros appear
    assert sum(int((p == 0).sum()) for p in m2.parameters()) > 0
    ref = ProxAdam(model().parameters(), lr=0.5, penalty=L1(0.2))  # the mapped state round-trips
    ref.load_state_dict(roundtrip(prox.state_dict()))
    assert ref.param_groups[0]["penalty"] == L1(0.2)


def test_torch_sgd_state_loads_into_prox_sgd():
    m = model()
    sgd = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    train(sgd, m, 3)
    prox = ProxSGD(model().parameters(), lr=0.1, momentum=0.9, penalty=L1(0.1))
    prox.load_state_dict(roundtrip(sgd.state_dict()))
    assert prox.param_groups[0]["penalty"] == L1(0.1)
    p0 = next(iter(prox.state))
    assert torch.equal(prox.state[p0]["momentum_buffer"], sgd.state[next(m.parameters())]["momentum_buffer"])


@pytest.mark.parametrize("src, dst, names", [
    (lambda ps: ProxAdam(ps, penalty=L1(0.1)), lambda ps: ProxSGD(ps, momentum=0.9, penalty=L1(0.1)),
     ("ProxAdam", "ProxSGD")),
    (lambda ps: ProxSGD(ps, momentum=0.9), lambda ps: ProxAdam(ps, penalty=L1(0.1)), ("ProxSGD", "ProxAdam")),
    (lambda ps: torch.optim.Adam(ps), lambda ps: ProxSGD(ps, momentum=0.9, penalty=L1(0.1)),
     ("Adam", "ProxSGD")),
    (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: ProxAdam(ps, penalty=L1(0.1)),
     ("SGD", "ProxAdam")),
])
def test_state_of_another_kind_is_refused_naming_both(src, dst, names):
    m = model()
    a = src(m.parameters())
    train(a, m, 2)
    b = dst(model().parameters())
    train(b, model(), 1)
    before = frozen(b)
    with pytest.raises(ValueError) as err:
        b.load_state_dict(roundtrip(a.state_dict()))
    assert all(n in str(err.value) for n in names), str(err.value)
    assert_unchanged(b, before)


def test_state_of_the_wrong_shape_is_refused_before_anything_changes():
    m = model()
    a = ProxAdam(m.parameters(), penalty=L1(0.1))
    train(a, m, 2)
    sd = a.state_dict()
    first = next(iter(sd["state"]))
    sd["state"][first]["exp_avg"] = torch.zeros(3)
    b = ProxAdam(model().parameters(), penalty=L1(0.1))
    before = frozen(b)
    with pytest.raises(ValueError, match="shape"):
        b.load_state_dict(sd)
    assert_unchanged(b, before)


def test_integer_step_counts_of_older_checkpoints_load():
    m = model()
    a = ProxAdam(m.parameters(), lr=0.05, penalty=L1(0.1))
    train(a, m, 3)
    sd = a.state_dict()
    for st in sd["state"].values():
        st["step"] = int(st["step"])
    b = ProxAdam(model().parameters(), lr=0.05, penalty=L1(0.1))
    b.load_state_dict(sd)
    assert all(isinstance(st["step"], torch.Tensor) and float(st["step"]) == 3 for st in b.state.values())
    train(b, model(), 1)
