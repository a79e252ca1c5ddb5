"""Penalty parameters are checked when set, not only at construction, and a value written around
the check is refused at the next step of every optimizer and solver, before anything moves."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from proxgan.datafits import Logistic, Quadratic
from proxgan.optim import FISTA, ISTA, CoordinateDescent
from proxgan.penalties import L0, L1, L2, NM, Box, ElasticNet, GroupL1
from proxgan.solvers import cd, fista, ista, prox_newton

from _infos import IMPLS, OPTIMIZER_INFOS

BAD = [
    (lambda: L1(0.1), "lam", [-10.0, math.nan, math.inf, "0.1", None, True]),
    (lambda: L1(0.1), "weights", [torch.tensor([1.0, -1.0]), torch.tensor([1, 2]), torch.tensor([math.nan])]),
    (lambda: L2(0.1), "lam", [-1.0, math.nan]),
    (lambda: ElasticNet(0.1, 0.5), "lam", [-1.0]),
    (lambda: ElasticNet(0.1, 0.5), "l1_ratio", [1.5, -0.1, math.nan, "a"]),
    (lambda: L0(0.1), "lam", [-1e-3, math.inf]),
    (lambda: Box(-1.0, 1.0), "lo", [2.0, math.nan, "x"]),
    (lambda: Box(-1.0, 1.0), "hi", [-2.0, math.nan]),
    (lambda: GroupL1(0.1), "lam", [-1.0]),
    (lambda: GroupL1(0.1), "dim", [0.5, "0", True]),
    (lambda: NM(2, 4), "n", [5, 0, 2.0]),
    (lambda: NM(2, 4), "m", [1, "4"]),
]


@pytest.mark.parametrize("make, name, values", BAD, ids=[f"{m().__class__.__name__}.{n}" for m, n, _ in BAD])
def test_assigning_a_bad_value_raises_at_once_and_keeps_the_old_one(make, name, values):
    pen = make()
    before = copy.deepcopy(pen)
    for v in values:
        with pytest.raises((ValueError, TypeError), match=name if name not in ("n", "m") else "n"):
            setattr(pen, name, v)
        assert pen == before


def test_good_assignments_take_effect():
    pen = L1(0.1)
    pen.lam = 0.5
    assert pen.prox(torch.tensor([1.0]), 1.0).item() == 0.5
    box = Box(-1.0, 1.0)
    box.hi = 3.0
    box.lo = 2.0
    assert (box.lo, box.hi) == (2.0, 3.0)


def _bypass(pen):
    pen.__dict__["lam"] = -10.0  # written around the check: the next step must refuse it


OPTIM_PATHS = [(name, impl) for name in OPTIMIZER_INFOS for impl in IMPLS]


@pytest.mark.parametrize("name, impl", OPTIM_PATHS, ids=[f"{n}-{i}" for n, i in OPTIM_PATHS])
@pytest.mark.parametrize("make", [lambda: L1(0.01), lambda: GroupL1(0.01)], ids=["l1", "group"])
def test_prox_optimizers_refuse_a_bad_penalty_and_change_nothing(name, impl, make):
    info = OPTIMIZER_INFOS[name]
    pen = make()
    p = torch.nn.Parameter(torch.randn(4, 6, dtype=torch.float64))
    opt = info.build([p], penalty=pen, flags=list(info.flags)[-1], impl=impl)
    p.grad = torch.randn_like(p)
    opt.step()
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        pen.lam = -10.0
    assert pen.lam == 0.01
    _bypass(pen)
    p0, st0 = p.detach().clone(), copy.deepcopy(opt.state_dict()["state"])
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        opt.step()
    assert torch.equal(p.detach(), p0)
    st1 = opt.state_dict()["state"]
    for k in st0:
        for key, v in st0[k].items():
            assert torch.equal(torch.as_tensor(st1[k][key]), torch.as_tensor(v)), key
    pen.lam = 0.01  # a good value: steps again
    opt.step()
    assert not torch.equal(p.detach(), p0)


@pytest.mark.parametrize("cls", [ISTA, FISTA, CoordinateDescent])
def test_prox_gradient_optimizers_refuse_a_bad_penalty(cls):
    w = torch.nn.Parameter(torch.randn(5, dtype=torch.float64))
    pen = L1(0.1)
    opt = cls([w], lr=0.1, penalty=pen)

    def closure():
        opt.zero_grad()
        loss = ((w - 1.0) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with pytest.raises(ValueError):
        pen.lam = math.nan
    _bypass(pen)
    w0 = w.detach().clone()
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        opt.step(closure)
    assert torch.equal(w.detach(), w0)


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 6))
    return X, X[:, 0] + 0.1 * rng.standard_normal(20)


@pytest.mark.parametrize("solver", ["cd", "fista", "ista", "prox_newton"])
def test_solvers_refuse_a_bad_penalty(solver):
    X, y = _data()
    pen = L1(0.1)
    _bypass(pen)
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        if solver == "prox_newton":
            prox_newton.solve(Logistic(X, np.sign(y)), pen)
        else:
            {"cd": cd, "fista": fista, "ista": ista}[solver].solve(Quadratic(X, y), pen, max_iter=5)
