"""ProxAdam: the three implementations agree, the prox is the ProxGen one, zeros stay zero."""
from __future__ import annotations

import math

import pytest
import torch

from proxgan.optim import ProxAdam
from proxgan.penalties import L0, L1, GroupL1

from _infos import IMPLS, OPTIMIZER_INFOS, penalties_for, penalty_flag_cases

PENALTIES = penalties_for("adam")
FLAGS = OPTIMIZER_INFOS["adam"].flags
SHAPES = [(1,), (1023,), (1025,), (33, 31), (16385,), (129, 131)]  # >= 16384: the threaded loops


def trajectory(impl, penalty, prox, flags, steps=5):
    gen = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(0.1 * torch.randn(s, dtype=torch.float64, generator=gen)) for s in SHAPES]
    opt = ProxAdam(params, lr=0.05, penalty=penalty, prox=prox, **flags, **IMPLS[impl])
    for _ in range(steps):
        for p in params:
            g = torch.randn(tuple(reversed(p.shape)), dtype=torch.float64, generator=gen)
            p.grad = g.t() if p.dim() == 2 else g  # non-contiguous for the matrix
        opt.step()
    return params, opt


@pytest.mark.parametrize("prox", ["preconditioned", "scalar"])
@pytest.mark.parametrize("pen, flags", penalty_flag_cases("adam"))
def test_all_paths_equal_the_reference_in_float64(pen, prox, flags):
    penalty = PENALTIES[pen]
    ref, opt_ref = trajectory("reference", penalty, prox, FLAGS[flags])
    # GroupL1 under a diagonal metric is a root-find to 1e-12 relative to the group norm:
    # rounding-level differences in its input move its output by about that much
    atol = 1e-10 if pen == "group" and prox == "preconditioned" else 1e-14
    for impl in ("foreach", "fused"):
        out, opt = trajectory(impl, penalty, prox, FLAGS[flags])
        for p, q in zip(out, ref):
            torch.testing.assert_close(p, q, rtol=1e-12, atol=atol)
            assert torch.equal(p == 0, q == 0)
        for p, q in zip(out, ref):
            for k, v in opt_ref.state[q].items():
                if isinstance(v, torch.Tensor):
                    torch.testing.assert_close(opt.state[p][k], v, rtol=1e-12, atol=max(atol, 1e-15))
                else:
                    assert opt.state[p][k] == v


def test_weighted_l1_paths():  # weights broadcast along the last dim: a matrix of its own
    w = torch.linspace(0, 2, 31, dtype=torch.float64)
    outs = []
    for impl in IMPLS:
        gen = torch.Generator().manual_seed(0)
        p = torch.nn.Parameter(0.1 * torch.randn(33, 31, dtype=torch.float64, generator=gen))
        opt = ProxAdam([p], lr=0.05, penalty=L1(0.4, weights=w), **IMPLS[impl])
        for _ in range(4):
            p.grad = torch.randn(33, 31, dtype=torch.float64, generator=gen)
            opt.step()
        outs.append(p.detach().clone())
    assert (outs[0][:, 0] != 0).all()  # weight 0: never thresholded
    assert (outs[0] == 0).sum() > 100
    for o in outs[1:]:
        torch.testing.assert_close(o, outs[0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("decoupled", [False, True])
def test_without_penalty_it_is_torch_adam(amsgrad, decoupled):
    gen = torch.Generator().manual_seed(0)
    ps = [torch.nn.Parameter(torch.randn(s, dtype=torch.float64, generator=gen)) for s in SHAPES]
    qs = [torch.nn.Parameter(p.detach().clone()) for p in ps]
    ours = ProxAdam(ps, lr=0.01, weight_decay=0.1, decoupled_weight_decay=decoupled, amsgrad=amsgrad)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    theirs = cls(qs, lr=0.01, weight_decay=0.1, amsgrad=amsgrad, foreach=False)
    for _ in range(6):
        for p, q in zip(ps, qs):
            p.grad = torch.randn(p.shape, dtype=torch.float64, generator=gen)
            q.grad = p.grad.clone()
        ours.step()
        theirs.step()
    for p, q in zip(ps, qs):
        torch.testing.assert_close(p, q, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("impl", list(IMPLS))
def test_l1_threshold_is_lr_lambda_over_preconditioner(impl):
    # first step from zero moments: m_hat = g, v_hat = g^2, D = |g| + eps
    lr, lam, eps = 0.1, 0.5, 1e-8
    p0 = torch.tensor([0.30, 0.30, -0.02, 0.06, 0.0], dtype=torch.float64)
    g = torch.tensor([0.10, 4.00, -1.00, -0.50, 0.3], dtype=torch.float64)
    for prox in ("preconditioned", "scalar"):
        p = torch.nn.Parameter(p0.clone())
        opt = ProxAdam([p], lr=lr, eps=eps, penalty=L1(lam), prox=prox, **IMPLS[impl])
        p.grad = g.clone()
        opt.step()
        D = g.abs() + eps
        u = p0 - lr * g / D
        thr = lr * lam / D if prox == "preconditioned" else torch.full_like(D, lr * lam)
        expected = torch.sign(u) * torch.clamp(u.abs() - thr, min=0)
        torch.testing.assert_close(p.detach(), expected, rtol=1e-14, atol=1e-16)
        # concretely: u = [0.2, 0.2, 0.08, 0.16, -0.1]
        if prox == "preconditioned":  # thresholds lr*lam/|g| = [0.5, 0.0125, 0.05, 0.1, 0.1667]
            assert p[0] == 0 and p[4] == 0 and p[1] > 0.18 and p[2] > 0 and p[3] > 0
        else:  # threshold 0.05 everywhere
            assert p[0] > 0 and p[4] < 0


def test_l0_keeps_entries_above_preconditioned_threshold():
    lr, lam = 0.1, 0.02
    p0 = torch.tensor([0.5, 0.5, 0.5, 0.5], dtype=torch.float64)
    g = torch.tensor([0.01, 0.1, 1.0, 100.0], dtype=torch.float64)
    p = torch.nn.Parameter(p0.clone())
    opt = ProxAdam([p], lr=lr, eps=0.0, penalty=L0(lam))
    p.grad = g
    opt.step()
    u = p0 - lr  # m_hat / D = 1 (up to rounding)
    thr = torch.sqrt(2 * lam * lr / g)  # [0.632, 0.2, 0.063, 0.0063]: keep |u| = 0.4 > thr
    expected = torch.where(u.abs() > thr, u, torch.zeros_like(u))
    torch.testing.assert_close(p.detach(), expected, rtol=1e-14, atol=0)
    assert p[0] == 0 and p[1] != 0 and p[2] != 0 and p[3] != 0


@pytest.mark.parametrize("impl", list(IMPLS))
def test_zero_weights_stay_zero_while_mhat_is_below_lambda(impl):
    lam = 0.1
    p = torch.nn.Parameter(torch.zeros(4, dtype=torch.float64))
    opt = ProxAdam([p], lr=0.01, penalty=L1(lam), **IMPLS[impl])
    g = torch.tensor([0.5 * lam, -0.99 * lam, 2 * lam, -3 * lam], dtype=torch.float64)
    for t in range(200):
        p.grad = g * (1 + 0.001 * math.sin(t))
        opt.step()
        assert p[0] == 0 and p[1] == 0  # exactly, at every step, momentum or not
    assert p[2] < 0 and p[3] > 0  # a gradient beyond the threshold does move them


def test_grouplasso_under_the_preconditioner_solves_the_metric_prox():
    """One step; the result must satisfy the optimality conditions of
    argmin_y sum_i (y_i - u_i)^2 / (2 s_i) + lam * sum_g ||y_g||, s = lr / D."""
    gen = torch.Generator().manual_seed(3)
    lr, lam, eps = 0.1, 1.5, 1e-8
    p0 = torch.randn(40, 12, dtype=torch.float64, generator=gen) * torch.linspace(0.001, 1, 40)[:, None]
    g = torch.randn(40, 12, dtype=torch.float64, generator=gen) * torch.rand(40, 12, generator=gen, dtype=torch.float64)
    p = torch.nn.Parameter(p0.clone())
    opt = ProxAdam([p], lr=lr, eps=eps, penalty=GroupL1(lam))
    p.grad = g.clone()
    opt.step()
    D = g.abs() + eps
    u = p0 - lr * g / D
    s = lr / D
    y = p.detach()
    norms = y.norm(dim=1)
    zero = norms == 0
    assert 0 < int(zero.sum()) < 40  # both kinds of groups occur
    # zero groups: ||u_g / s_g|| <= lam
    assert torch.all((u[zero] / s[zero]).norm(dim=1) <= lam * (1 + 1e-12))
    # non-zero groups: (y - u)/s + lam * y/||y|| = 0, relative to the size of the terms
    nz = ~zero
    resid = (y[nz] - u[nz]) / s[nz] + lam * y[nz] / norms[nz, None]
    scale = (u[nz] / s[nz]).abs().max(dim=1).values[:, None] + lam
    assert torch.all(resid.abs() / scale < 1e-10)
