"""ProxAdam / ProxAdamW / ProxSGD as drop-ins for torch.optim: the interface around the step.

Signatures and positional order, state kept like torch's, ``fused=True`` with meta
parameters, GradScaler's fused protocol, complex parameters, ``differentiable=True``
under autograd and ``capturable=True`` (CUDA-graph capture when a GPU is present).
"""
from __future__ import annotations

import inspect

import pytest
import torch

from proxgan.optim import ProxAdam, ProxAdamW, ProxSGD
from proxgan.penalties import L1, L2, ElasticNet, GroupL1

PAIRS = [(ProxAdam, torch.optim.Adam), (ProxAdamW, torch.optim.AdamW), (ProxSGD, torch.optim.SGD)]
PAIR_IDS = [ours.__name__ for ours, _ in PAIRS]


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=PAIR_IDS)
def test_signature_is_torch_signature(ours, theirs):
    """Same positional parameters in the same order, same keyword-only names and defaults;
    our extra parameters (penalty, prox) are keyword-only."""
    a = inspect.signature(ours.__init__).parameters
    b = inspect.signature(theirs.__init__).parameters
    positional = [n for n, p in b.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert [n for n, p in a.items() if p.kind is p.POSITIONAL_OR_KEYWORD] == positional
    for name, p in b.items():
        assert name in a and a[name].kind == p.kind, name
        assert a[name].default == p.default, (name, a[name].default, p.default)
    extra = [n for n in a if n not in b]
    assert extra and all(a[n].kind is a[n].KEYWORD_ONLY for n in extra)


def test_positional_arguments_mean_what_they_mean_in_torch():
    p = [torch.nn.Parameter(torch.zeros(2))]
    for args in [(1e-3, (0.9, 0.999), 1e-8, 0.0, True)]:
        assert ProxAdam(p, *args).defaults["amsgrad"] is torch.optim.Adam(p, *args).defaults["amsgrad"] is True
        assert ProxAdam(p, *args).defaults["decoupled_weight_decay"] is False
    sgd = ProxSGD(p, 0.1, 0.9, 0.0, 0.25, True)
    assert (sgd.defaults["weight_decay"], sgd.defaults["nesterov"]) == (0.25, True)
    assert ProxAdamW(p).defaults["weight_decay"] == torch.optim.AdamW(p).defaults["weight_decay"] == 1e-2


@pytest.mark.parametrize("impl", [dict(fused=True), dict(foreach=True), dict(foreach=False), {}],
                         ids=["fused", "foreach", "for-loop", "default"])
def test_sgd_without_momentum_keeps_no_state(impl):
    ps = [torch.nn.Parameter(torch.randn(4)), torch.nn.Parameter(torch.randn(3, 2))]
    opt, ref = ProxSGD(ps, lr=0.1, penalty=L1(0.1), **impl), torch.optim.SGD(ps, lr=0.1)
    for p in ps:
        p.grad = torch.randn_like(p)
    opt.step()
    ref.step()
    assert len(opt.state) == len(ref.state) == 0
    assert opt.state_dict()["state"] == {}


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=PAIR_IDS)
def test_fused_meta_parameters_refused_at_step_not_construction(ours, theirs):
    """As torch: a fused optimizer builds on ``meta`` parameters (deferred initialisation) and
    refuses to step them, with torch's error and nothing written."""
    for cls in (ours, theirs):
        with torch.device("meta"):
            model = torch.nn.Linear(3, 2)
        opt = cls(model.parameters(), lr=0.1, fused=True)
        for p in model.parameters():
            p.grad = torch.ones_like(p)
        with pytest.raises(RuntimeError, match="`fused=True` requires all the params to be floating point"):
            opt.step()
        if cls is ours:
            assert len(opt.state) == 0


def _scaled_run(cls, kwargs, scale_inf_at=2):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    opt = cls(model.parameters(), **kwargs)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8, growth_interval=1)
    x, y = torch.randn(8, 4), torch.randn(8, 3)
    trace = []
    for k in range(5):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        scaler.scale(loss).backward()
        if k == scale_inf_at:
            model.weight.grad[0, 0] = float("inf")
        before = [p.detach().clone() for p in model.parameters()]
        state_before = {i: {k2: v.clone() for k2, v in opt.state[p].items()} for i, p in enumerate(model.parameters())}
        used = scaler.get_scale()
        scaler.step(opt)
        scaler.update()
        if k == scale_inf_at:  # an inf step leaves parameters and state untouched
            for p, q in zip(model.parameters(), before):
                assert torch.equal(p.detach(), q)
            for i, p in enumerate(model.parameters()):
                assert opt.state[p].keys() == state_before[i].keys()
                for k2, v in opt.state[p].items():
                    assert torch.equal(v, state_before[i][k2])
        trace.append(([p.detach().clone() for p in model.parameters()],
                      [p.grad.clone() for p in model.parameters()], used))
    return trace


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), [
    (ProxAdam, torch.optim.Adam, dict(lr=0.05, fused=True)),
    (ProxAdamW, torch.optim.AdamW, dict(lr=0.05, fused=True)),
    (ProxSGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, fused=True)),
], ids=PAIR_IDS)
def test_gradscaler_fused_protocol_matches_torch(ours, theirs, kwargs):
    """With fused=True, GradScaler hands grad_scale/found_inf to the step instead of unscaling:
    the same parameters as torch's fused optimizer. The fused CPU Adam step divides by the
    scale inside its one pass and leaves ``.grad`` scaled; SGD's unscales ``.grad`` first
    (as torch's fused steps leave it)."""
    assert ours([torch.nn.Parameter(torch.zeros(1))], **kwargs)._step_supports_amp_scaling
    assert not ours([torch.nn.Parameter(torch.zeros(1))], lr=0.1)._step_supports_amp_scaling
    a, b = _scaled_run(ours, kwargs), _scaled_run(theirs, kwargs)
    folded = ours._folds_grad_scale
    for k, ((pa, ga, scale), (pb, gb, _)) in enumerate(zip(a, b)):
        for x, y in zip(pa, pb):
            torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-6)
        if k != 2:  # (at the inf step neither optimizer unscales)
            for x, y in zip(ga, gb):
                torch.testing.assert_close(x / scale if folded else x, y, rtol=1e-6, atol=1e-6)


CPLX_IMPLS = [dict(foreach=False), dict(foreach=True), {}]


@pytest.mark.parametrize("impl", CPLX_IMPLS, ids=["for-loop", "foreach", "default"])
@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=PAIR_IDS)
def test_complex_parameters_without_penalty_equal_torch(ours, theirs, impl):
    gen = torch.Generator().manual_seed(0)
    p0 = [torch.randn(3, 2, dtype=torch.complex128, generator=gen), torch.randn(4, dtype=torch.complex64, generator=gen)]
    extra = dict(momentum=0.9) if ours is ProxSGD else dict(amsgrad=True)
    pa, pb = [p.clone() for p in p0], [p.clone() for p in p0]
    oa, ob = ours(pa, lr=0.05, **extra, **impl), theirs(pb, lr=0.05, **extra, **impl)
    for k in range(20):
        grads = [torch.randn(p.shape, dtype=p.dtype, generator=gen) for p in p0]
        for p, q, g in zip(pa, pb, grads):
            p.grad, q.grad = g, g.clone()
        oa.step()
        ob.step()
    for p, q in zip(pa, pb):
        tol = 1e-6 if p.dtype == torch.complex64 else 1e-12
        torch.testing.assert_close(p, q, rtol=0, atol=tol)
    for p, q in zip(pa, pb):  # complex state, as torch keeps it
        assert {k: v.dtype for k, v in oa.state[p].items()} == {k: v.dtype for k, v in ob.state[q].items()}


def test_complex_l1_prox_shrinks_the_modulus():
    """Scalar step (SGD, Adam's scalar prox): z * max(0, 1 - t/|z|), phase kept, exact zeros."""
    z = torch.tensor([3 + 4j, 0.3 - 0.4j, -1j, 0j], dtype=torch.complex128)
    for cls, kw in ((ProxSGD, {}), (ProxAdam, dict(prox="scalar", betas=(0.0, 0.0)))):
        p = z.clone()
        opt = cls([p], lr=0.5, penalty=L1(2.0), **kw)
        p.grad = torch.zeros_like(p)
        opt.step()
        t = 0.5 * 2.0
        expected = z * torch.clamp(1 - t / torch.where(z.abs() > 0, z.abs(), torch.ones(4, dtype=torch.float64)),
                                   min=0)
        torch.testing.assert_close(p, expected, rtol=0, atol=1e-15)
        assert p[1] == 0 and p[3] == 0 and p[0] != 0


def test_complex_l1_preconditioned_prox_is_the_metric_group_prox():
    """ProxAdam's prox of a complex entry under Adam's diagonal metric (steps s_re, s_im):
    y minimises 1/2 sum (y - u)^2 / s + lam |y|: checked by its optimality conditions."""
    gen = torch.Generator().manual_seed(3)
    p = torch.randn(200, dtype=torch.complex128, generator=gen)
    lam, lr = 0.7, 0.1
    opt = ProxAdam([p], lr=lr, penalty=L1(lam))
    ref = torch.optim.Adam([u := p.clone()], lr=lr)  # the smooth step alone
    g = torch.randn(200, dtype=torch.complex128, generator=gen)
    p.grad, u.grad = g, g.clone()
    opt.step()
    ref.step()
    s = lr / (torch.view_as_real(ref.state[u]["exp_avg_sq"]).sqrt() / (1 - 0.999) ** 0.5 + 1e-8)
    y, ur = torch.view_as_real(p.detach()), torch.view_as_real(u.detach())
    norm = torch.linalg.vector_norm(y, dim=-1, keepdim=True)
    nz = norm[:, 0] > 0
    assert nz.any() and (~nz).any()
    kkt = (y - ur) / s + lam * y / torch.where(norm > 0, norm, torch.ones_like(norm))
    assert kkt[nz].abs().max() < 1e-9
    assert (torch.linalg.vector_norm(ur / s, dim=-1)[~nz] <= lam + 1e-12).all()


@pytest.mark.parametrize("penalty", [ElasticNet(0.1, 0.5), GroupL1(0.1)], ids=["enet", "group"])
def test_complex_parameters_refuse_other_penalties(penalty):
    p = torch.nn.Parameter(torch.randn(3, 2, dtype=torch.complex64))
    with pytest.raises(TypeError, match="complex parameters with the penalties None, L1 and L2"):
        ProxAdam([p], penalty=penalty)
    opt = ProxSGD([p], lr=0.1)
    opt.param_groups[0]["penalty"] = penalty
    p.grad, before = torch.ones_like(p), p.detach().clone()
    with pytest.raises(TypeError, match="None, L1 and L2"):
        opt.step()
    assert torch.equal(p.detach(), before) and len(opt.state) == 0


def test_complex_l2_is_separable():
    p = torch.tensor([3 + 4j], dtype=torch.complex128)
    opt = ProxSGD([p], lr=0.5, penalty=L2(2.0))
    p.grad = torch.zeros_like(p)
    opt.step()
    torch.testing.assert_close(p, torch.tensor([(3 + 4j) / 2.0], dtype=torch.complex128), rtol=0, atol=1e-15)


def _diff_step(cls, kwargs, state_keys):
    """torch's recipe for differentiable optimizers: the updated parameter as a function of
    the parameter, the gradient and the state tensors."""
    def fn(p0, grad, *state):
        p = p0.clone()
        p.grad = grad
        opt = cls([p], differentiable=True, **kwargs)
        opt.state[p].update(dict(zip(state_keys, [s.clone() for s in state])))
        if cls is not ProxSGD:
            opt.state[p]["step"] = torch.tensor(4.0)
        opt.step()
        return (p,) + tuple(opt.state[p][k] for k in state_keys)
    return fn


@pytest.mark.parametrize(("cls", "kwargs", "keys"), [
    (ProxSGD, dict(lr=0.2, momentum=0.9, penalty=L1(0.3)), ("momentum_buffer",)),
    (ProxAdam, dict(lr=0.2, weight_decay=0.1, penalty=L1(0.3)), ("exp_avg", "exp_avg_sq")),
    (ProxAdamW, dict(lr=0.2, amsgrad=True, penalty=L1(0.3), prox="scalar"), ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")),
], ids=["sgd", "adam", "adamw-amsgrad"])
def test_differentiable_step_passes_gradcheck(cls, kwargs, keys):
    """The step is differentiable (away from the thresholds, where the prox has a kink); the
    entries set exactly to zero have zero derivative."""
    gen = torch.Generator().manual_seed(0)
    n = 6
    p0 = torch.tensor([2.0, -1.5, 0.0, 0.0, 1.0, 0.5], dtype=torch.float64, requires_grad=True)
    grad = (torch.randn(n, dtype=torch.float64, generator=gen) * 0.1).requires_grad_()
    state = [(0.01 * torch.rand(n, dtype=torch.float64, generator=gen)).requires_grad_() for _ in keys]
    fn = _diff_step(cls, kwargs, keys)
    out = fn(p0, grad, *state)[0]
    assert (out == 0).any() and (out != 0).any()
    assert torch.autograd.gradcheck(fn, (p0, grad, *state), eps=1e-6, atol=1e-5)
    jac = torch.autograd.functional.jacobian(lambda x: fn(x, grad, *state)[0], p0)
    assert (jac[out == 0] == 0).all()


def test_capturable_needs_cuda_and_is_refused_at_step():
    p = torch.nn.Parameter(torch.randn(3))
    opt = ProxAdam([p], capturable=True)
    p.grad = torch.ones_like(p)
    with pytest.raises(RuntimeError, match="If capturable=True, params and state_steps must be on supported devices"):
        opt.step()
    assert len(opt.state) == 0 and torch.is_tensor(p)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA-graph capture needs a CUDA GPU")
@pytest.mark.parametrize("cls", [ProxAdam, ProxAdamW])
def test_capturable_step_is_captured_in_a_cuda_graph(cls):
    """A captured ProxAdam(capturable=True) step replayed 5 times equals 5 eager steps."""
    dev = torch.device("cuda")
    gen = torch.Generator(device="cpu").manual_seed(0)
    p0 = torch.randn(64, 33, generator=gen).to(dev)
    grads = [torch.randn(64, 33, generator=gen).to(dev) for _ in range(8)]
    eager = p0.clone()
    opt_e = cls([eager], lr=0.01, penalty=L1(0.5), foreach=False)
    for g in grads:
        eager.grad = g
        opt_e.step()
    p = p0.clone()
    p.grad = torch.zeros_like(p)
    opt = cls([p], lr=0.01, penalty=L1(0.5), capturable=True)
    for g in grads[:3]:  # warm-up on a side stream, as torch's recipe
        p.grad.copy_(g)
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            opt.step()
        torch.cuda.current_stream().wait_stream(s)
    assert opt.state[p]["step"].device.type == "cuda"
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        opt.step()
    for g in grads[3:]:
        p.grad.copy_(g)
        graph.replay()
    torch.cuda.synchronize()
    torch.testing.assert_close(p, eager, rtol=0, atol=1e-5)
    assert float(opt.state[p]["step"]) == len(grads)


def test_user_guide_snippets_run():
    """Every Python block of docs/guide/torch_dropin.md runs as written."""
    import pathlib
    import re

    page = pathlib.Path(__file__).resolve().parents[2] / "docs" / "guide" / "torch_dropin.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    assert len(blocks) >= 4
    for block in blocks:
        exec(compile(block, str(page), "exec"), {})


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(foreach=True, fused=True), "`fused` and `foreach` cannot be `True` together"),
    (dict(fused=True, differentiable=True), "`fused` does not support `differentiable`"),
], ids=["fused-foreach", "fused-differentiable"])
@pytest.mark.parametrize("cls", [ProxAdam, ProxAdamW, ProxSGD])
def test_flag_conflicts_raise_torchs_error(cls, kwargs, message):
    """torch's CUDA error inputs, checked on every device (a RuntimeError, also a ValueError)."""
    p = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(RuntimeError, match=message):
        cls([p], **kwargs)
    with pytest.raises(RuntimeError, match=message):
        torch.optim.Adam([p], **kwargs)
