"""ProxSGD: the three implementations agree, it is torch SGD plus a prox, pruned weights stay pruned."""
from __future__ import annotations

import pytest
import torch

from proxgan.optim import ProxSGD
from proxgan.penalties import L1

from _infos import IMPLS, OPTIMIZER_INFOS, penalties_for, penalty_flag_cases

PENALTIES = penalties_for("sgd")
FLAGS = OPTIMIZER_INFOS["sgd"].flags
SHAPES = [(1,), (1023,), (1025,), (33, 31), (16385,), (129, 131)]  # >= 16384: the threaded loops


def trajectory(impl, penalty, flags, steps=5):
    gen = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(0.1 * torch.randn(s, dtype=torch.float64, generator=gen)) for s in SHAPES]
    opt = ProxSGD(params, lr=0.05, penalty=penalty, **flags, **IMPLS[impl])
    for _ in range(steps):
        for p in params:
            g = torch.randn(tuple(reversed(p.shape)), dtype=torch.float64, generator=gen)
            p.grad = g.t() if p.dim() == 2 else g  # non-contiguous for the matrix
        opt.step()
    return params, opt


@pytest.mark.parametrize("pen, flags", penalty_flag_cases("sgd"))
def test_all_paths_equal_the_reference_in_float64(pen, flags):
    ref, opt_ref = trajectory("reference", PENALTIES[pen], FLAGS[flags])
    for impl in ("foreach", "fused"):
        out, opt = trajectory(impl, PENALTIES[pen], FLAGS[flags])
        for p, q in zip(out, ref):
            torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)
            assert torch.equal(p == 0, q == 0)
            if "momentum" in FLAGS[flags]:
                torch.testing.assert_close(opt.state[p]["momentum_buffer"], opt_ref.state[q]["momentum_buffer"],
                                           rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.parametrize("flags", list(FLAGS))
def test_without_penalty_it_is_torch_sgd(impl, flags):
    gen = torch.Generator().manual_seed(0)
    ps = [torch.nn.Parameter(torch.randn(s, dtype=torch.float64, generator=gen)) for s in SHAPES]
    qs = [torch.nn.Parameter(p.detach().clone()) for p in ps]
    ours = ProxSGD(ps, lr=0.01, **FLAGS[flags], **IMPLS[impl])
    theirs = torch.optim.SGD(qs, lr=0.01, **FLAGS[flags], foreach=False)
    for _ in range(6):
        for p, q in zip(ps, qs):
            p.grad = torch.randn(p.shape, dtype=torch.float64, generator=gen)
            q.grad = p.grad.clone()
        ours.step()
        theirs.step()
    for p, q in zip(ps, qs):
        torch.testing.assert_close(p, q, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("impl", list(IMPLS))
def test_l1_prox_is_soft_threshold_at_lr_lambda(impl):
    p = torch.nn.Parameter(torch.tensor([0.5, -0.5, 0.02, -0.01, 0.0], dtype=torch.float64))
    opt = ProxSGD([p], lr=0.1, penalty=L1(0.5), **IMPLS[impl])
    p.grad = torch.tensor([1.0, 1.0, -0.1, 0.0, 0.6], dtype=torch.float64)
    opt.step()
    # u = p - 0.1 g = [0.4, -0.6, 0.03, -0.01, -0.06]; threshold 0.05
    expected = torch.tensor([0.35, -0.55, 0.0, 0.0, -0.01], dtype=torch.float64)
    torch.testing.assert_close(p.detach(), expected, rtol=1e-14, atol=1e-15)
    assert p[2] == 0 and p[3] == 0


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.parametrize("nesterov", [False, True])
def test_pruned_weights_stay_zero_under_momentum(impl, nesterov):
    """Momentum accumulates g/(1 - mu) (plus g with Nesterov); a pruned weight must stay exactly
    zero while that direction is below lam, and move once it is not (masking keeps it at zero
    forever; an L1 term in the loss makes it oscillate)."""
    mu, lam, lr = 0.9, 0.1, 0.05
    gain = (1 + mu / (1 - mu)) if nesterov else 1 / (1 - mu)  # steady-state |d| / |g|
    p = torch.nn.Parameter(torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0], dtype=torch.float64))
    opt = ProxSGD([p], lr=lr, momentum=mu, nesterov=nesterov, penalty=L1(lam), **IMPLS[impl])
    g = torch.tensor([0.9, -0.97, 1.5, -2.0, 0.0], dtype=torch.float64) * lam / gain
    for t in range(300):
        p.grad = g.clone()
        opt.step()
        assert p[0] == 0 and p[1] == 0, t
    assert p[2] < 0 and p[3] > 0  # a gradient that really exceeds the threshold moves them
    assert p[4] == 0  # and the prox drove the unpenalised-by-gradient weight to zero


def test_lr_zero_changes_nothing_but_momentum():
    p = torch.nn.Parameter(torch.randn(10, dtype=torch.float64))
    before = p.detach().clone()
    opt = ProxSGD([p], lr=0.0, momentum=0.9, penalty=L1(10.0))
    p.grad = torch.ones_like(p)
    opt.step()
    assert torch.equal(p, before)
    assert torch.equal(opt.state[p]["momentum_buffer"], torch.ones_like(p))
