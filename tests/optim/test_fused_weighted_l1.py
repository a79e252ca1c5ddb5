"""``L1(lam, weights=w)`` on the fused paths: the numba CPU step and the Triton step (under
``TRITON_INTERPRET=1``, see tests/conftest.py) equal the reference on awkward weights, and a bad
weight written after the optimizer was built is refused before anything moves."""
from __future__ import annotations

import copy

import pytest
import torch

from proxgan._dispatch import set_kernels_mode, step_impl
from proxgan._lowering import lower
from proxgan.kernels import fused_penalty as fp
from proxgan.optim import ProxAdam, ProxSGD
from proxgan.penalties import L1

from _infos import IMPLS

OPTIMS = {
    "sgd-momentum": (ProxSGD, dict(lr=0.1, momentum=0.9, weight_decay=0.05)),
    "adam-precond": (ProxAdam, dict(lr=0.05, amsgrad=True)),
    "adam-scalar": (ProxAdam, dict(lr=0.05, prox="scalar", maximize=True)),
}
SHAPES = [(1,), (7, 9), (1025,)]


def awkward_weights(shape, gen):
    """Zeros (no shrinkage), huge weights (always zero), ordinary ones."""
    w = 2.0 * torch.rand(shape, dtype=torch.float64, generator=gen)
    flat = w.view(-1)
    flat[::5] = 0.0
    flat[1::7] = 1e30
    return w


def run(cls, kw, dtype, impl, steps=3, shapes=SHAPES, lam=0.4):
    gen = torch.Generator().manual_seed(0)
    ps = [torch.nn.Parameter(torch.randn(s, dtype=torch.float64, generator=gen).to(dtype)) for s in shapes]
    pens = [L1(lam, weights=awkward_weights(s, gen)) for s in shapes]
    opt = cls([{"params": [p], "penalty": pen} for p, pen in zip(ps, pens)], **kw, **IMPLS[impl])
    for _ in range(steps):
        for p in ps:
            p.grad = torch.randn(p.shape, dtype=torch.float64, generator=gen).to(dtype)
        opt.step()
    return ps, pens


def tol(dtype):
    return {torch.float64: dict(rtol=1e-13, atol=1e-15), torch.float32: dict(rtol=1e-5, atol=1e-6)}[dtype]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("name", list(OPTIMS))
def test_fused_cpu_step_equals_the_reference(name, dtype):
    cls, kw = OPTIMS[name]
    ref, _ = run(cls, kw, dtype, "reference")
    out, pens = run(cls, kw, dtype, "fused")
    for p, q, pen in zip(out, ref, pens):
        assert step_impl(p, foreach=None, fused=None, lowering=lower(pen)) == "fused"
        torch.testing.assert_close(p, q, **tol(dtype))
        assert torch.equal(p == 0, q == 0)
        w = pen.weights.view(-1)
        assert bool((p.detach().view(-1)[1::7][w[1::7] > 1e29] == 0).all())  # huge weights: exact zeros


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("name", ["sgd-momentum", "adam-scalar"])
def test_fused_cpu_step_at_the_threshold(name, dtype):
    """A zero gradient at the first step leaves u = p and a threshold lr*lam*w: weights set to
    |p| / (lr*lam) put every entry exactly on it (zeroed); slightly smaller ones keep the entry."""
    cls, kw = OPTIMS[name]
    kw = {**kw, "lr": 1.0, "weight_decay": 0.0}
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(64, dtype=torch.float64, generator=gen).to(dtype)
    w = x.abs().double()
    w[1::2] *= 0.5
    outs = {}
    for impl in ("reference", "fused"):
        p = torch.nn.Parameter(x.clone())
        opt = cls([p], penalty=L1(1.0, weights=w), **kw, **IMPLS[impl])
        p.grad = torch.zeros_like(p)
        opt.step()
        outs[impl] = p.detach()
    assert torch.equal(outs["fused"] == 0, outs["reference"] == 0)
    assert bool((outs["fused"][0::2] == 0).all()) and bool((outs["fused"][1::2] != 0).all())
    torch.testing.assert_close(outs["fused"], outs["reference"], **tol(dtype))


def test_broadcast_weights_and_non_contiguous_parameters():
    """Weights broadcast to several parameters of one group; a non-contiguous parameter takes the
    multi-tensor path (the fused kernels need contiguous ones) and agrees as well."""
    gen = torch.Generator().manual_seed(1)
    w = awkward_weights((9,), gen)
    base = [torch.randn(s, dtype=torch.float64, generator=gen) for s in [(4, 9), (9, 6)]]
    grads = [torch.randn(3, *b.shape, dtype=torch.float64, generator=gen) for b in base]
    res = {}
    for impl in ("reference", "fused"):
        ps = [torch.nn.Parameter(base[0].clone()), torch.nn.Parameter(base[1].clone().t())]  # (6, 9), strided
        opt = ProxAdam(ps, lr=0.05, penalty=L1(0.3, weights=w), **IMPLS[impl])
        for k in range(3):
            ps[0].grad, ps[1].grad = grads[0][k], grads[1][k].t()
            opt.step()
        res[impl] = ps
    assert step_impl(res["fused"][0], foreach=None, fused=None, lowering=lower(L1(0.3, weights=w))) == "fused"
    for p, q in zip(res["fused"], res["reference"]):
        torch.testing.assert_close(p, q, rtol=1e-13, atol=1e-15)
        assert torch.equal(p == 0, q == 0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", list(OPTIMS))
def test_triton_step_equals_the_reference(name, dtype):
    pytest.importorskip("triton")
    cls, kw = OPTIMS[name]
    ref, _ = run(cls, kw, dtype, "reference")
    set_kernels_mode("triton")
    try:
        out, pens = run(cls, kw, dtype, "fused")
        assert step_impl(out[0], foreach=None, fused=True, lowering=lower(pens[0])) == "triton"
    finally:
        set_kernels_mode("auto")
    t = {torch.bfloat16: dict(rtol=3e-2, atol=1e-2)}.get(dtype) or tol(dtype)  # a few bf16 ulps over 3 steps
    for p, q in zip(out, ref):
        torch.testing.assert_close(p.double(), q.double(), **t)
        if dtype != torch.bfloat16:  # bf16 rounding may move an entry across its threshold
            assert torch.equal(p == 0, q == 0)


def test_triton_kernels_against_their_reference_on_awkward_weights():
    pytest.importorskip("triton")
    from proxgan.kernels import fused_prox_sgd, fused_prox_sgd_ref

    gen = torch.Generator().manual_seed(2)
    p0 = torch.randn(1025, dtype=torch.float64, generator=gen)
    g = torch.randn(1025, dtype=torch.float64, generator=gen)
    w = awkward_weights((1025,), gen)
    w[2::11] = (p0 - 0.5 * g).abs()[2::11] * 4.0  # at the threshold lr*a*w (powers of 2: exact)
    outs = []
    for fn in (fused_prox_sgd, fused_prox_sgd_ref):
        p = p0.clone()
        fn(p, g, None, lr=0.5, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False,
           first=False, code=int(fp.Code.L1W), a=0.5, b=0.0, weights=w)
        outs.append(p)
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-13, atol=1e-15)
    assert torch.equal(outs[0] == 0, outs[1] == 0) and bool((outs[0][2::11] == 0).all())
    with pytest.raises(ValueError, match="weights"):
        fused_prox_sgd(p0.clone(), g, None, lr=0.1, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
                       maximize=False, first=False, code=int(fp.Code.L1W), a=0.5, b=0.0, weights=w[:10])


def _snapshot(p, opt):
    return p.detach().clone(), copy.deepcopy(opt.state_dict()["state"])


def _assert_unchanged(p, opt, snap):
    assert torch.equal(p.detach(), snap[0])
    st = opt.state_dict()["state"]
    for k in snap[1]:
        for key, v in snap[1][k].items():
            assert torch.equal(torch.as_tensor(st[k][key]), torch.as_tensor(v)), key


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.parametrize("cls", [ProxSGD, ProxAdam])
def test_bad_weights_written_around_the_check_are_refused(cls, impl):
    p = torch.nn.Parameter(torch.randn(4, 6, dtype=torch.float64))
    pen = L1(0.1, weights=torch.rand(4, 6, dtype=torch.float64))
    opt = cls([p], lr=0.05, penalty=pen, **IMPLS[impl])
    p.grad = torch.randn_like(p)
    opt.step()
    pen.__dict__["weights"] = -torch.ones(4, 6, dtype=torch.float64)  # around the check
    snap = _snapshot(p, opt)
    with pytest.raises(ValueError, match="weights must be finite and >= 0"):
        opt.step()
    _assert_unchanged(p, opt, snap)
    pen.weights = torch.ones(4, 6, dtype=torch.float64)  # a good value: steps again
    opt.step()
    assert not torch.equal(p.detach(), snap[0])


@pytest.mark.parametrize("cls", [ProxSGD, ProxAdam])
def test_weights_made_negative_in_place_are_refused_by_the_fused_step(cls):
    w = torch.rand(4, 6, dtype=torch.float64)
    p = torch.nn.Parameter(torch.randn(4, 6, dtype=torch.float64))
    opt = cls([p], lr=0.05, penalty=L1(0.1, weights=w))
    p.grad = torch.randn_like(p)
    opt.step()
    w[0, 0] = -1.0  # in place: the same tensor, a new version
    snap = _snapshot(p, opt)
    with pytest.raises(ValueError, match="weights must be finite and >= 0"):
        opt.step()
    _assert_unchanged(p, opt, snap)
    w[0, 0] = 3.0  # an in-place change to a good value is used at the next step
    opt.step()
    assert not torch.equal(p.detach(), snap[0])
