"""What torch.optim users rely on, for every proximal optimizer configuration.

ONE table (``CONFIGS``) drives all the shared behaviour tests: state_dict round trip,
schedulers, closures, GradScaler, parameters without grad, add_param_group, rejected
calls, dtypes and maximize.
"""
from __future__ import annotations

import io
import math

import pytest
import torch

from proxgan._dispatch import set_kernels_mode

from proxgan.optim import ProxAdam, ProxSGD
from proxgan.penalties import L0, L1, L2, Box, ElasticNet, GroupL1

CONFIGS = {
    "sgd-l1-fused": lambda ps: ProxSGD(ps, lr=0.1, penalty=L1(0.3), fused=True),
    "sgd-mom-l1-foreach": lambda ps: ProxSGD(ps, lr=0.1, momentum=0.9, penalty=L1(0.3), foreach=True, fused=False),
    "sgd-nesterov-l0-ref": lambda ps: ProxSGD(ps, lr=0.1, momentum=0.9, nesterov=True, penalty=L0(0.01),
                                              foreach=False, fused=False),
    "sgd-mom-wd-box-fused": lambda ps: ProxSGD(ps, lr=0.05, momentum=0.5, dampening=0.1, weight_decay=0.01,
                                               penalty=Box(-0.5, 0.5), fused=True),
    "adam-l1-fused": lambda ps: ProxAdam(ps, lr=0.05, penalty=L1(0.3), fused=True),
    "adam-l1-foreach": lambda ps: ProxAdam(ps, lr=0.05, penalty=L1(0.3), foreach=True, fused=False),
    "adam-l1-ref": lambda ps: ProxAdam(ps, lr=0.05, penalty=L1(0.3), foreach=False, fused=False),
    "adam-amsgrad-adamw-enet-fused": lambda ps: ProxAdam(ps, lr=0.05, amsgrad=True, weight_decay=0.1,
                                                         decoupled_weight_decay=True,
                                                         penalty=ElasticNet(0.3, 0.7), fused=True),
    "adam-scalar-l2-default": lambda ps: ProxAdam(ps, lr=0.05, weight_decay=0.01, penalty=L2(0.1), prox="scalar"),
    "adam-grouplasso-default": lambda ps: ProxAdam(ps, lr=0.05, penalty=GroupL1(0.3)),
}
IDS = list(CONFIGS)

SHAPES = [(1,), (1023,), (33, 31), (4, 3, 5)]


def make_params(dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(s, dtype=torch.float64, generator=gen).to(dtype)) for s in SHAPES]


def set_grads(params, seed):
    gen = torch.Generator().manual_seed(1000 + seed)
    for p in params:
        p.grad = torch.randn(p.shape, dtype=torch.float64, generator=gen).to(p.dtype)


def run(opt, params, steps, start=0):
    for k in range(start, start + steps):
        set_grads(params, k)
        opt.step()


def snapshot(opt, params):
    state = {i: {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in opt.state[p].items()}
             for i, p in enumerate(params)}
    return [p.detach().clone() for p in params], state


def assert_same(a, b):
    (pa, sa), (pb, sb) = a, b
    for x, y in zip(pa, pb):
        assert x.dtype == y.dtype and torch.equal(x, y)
    assert sa.keys() == sb.keys()
    for i in sa:
        assert sa[i].keys() == sb[i].keys()
        for k in sa[i]:
            if isinstance(sa[i][k], torch.Tensor):
                assert sa[i][k].dtype == sb[i][k].dtype and torch.equal(sa[i][k], sb[i][k]), (i, k)
            else:
                assert sa[i][k] == sb[i][k], (i, k)


@pytest.mark.parametrize("cfg", IDS)
def test_state_dict_resume_is_bit_exact(cfg):
    params = make_params()
    opt = CONFIGS[cfg](params)
    run(opt, params, 6)
    straight = snapshot(opt, params)

    params = make_params()
    opt = CONFIGS[cfg](params)
    run(opt, params, 3)
    buf = io.BytesIO()
    torch.save({"model": [p.detach() for p in params], "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)  # penalties are stored as plain data
    params2 = make_params(seed=99)
    with torch.no_grad():
        for p, q in zip(params2, saved["model"]):
            p.copy_(q)
    opt2 = CONFIGS[cfg](params2)
    opt2.load_state_dict(saved["opt"])
    assert opt2.param_groups[0]["penalty"] == opt.param_groups[0]["penalty"]
    run(opt2, params2, 3, start=3)
    assert_same(snapshot(opt2, params2), straight)


@pytest.mark.parametrize("cfg", IDS)
@pytest.mark.parametrize("lr_kind", ["float", "tensor"])
def test_scheduler_lr_is_used(cfg, lr_kind):
    """The scheduled lr reaches the step; a tensor lr is filled in place by the scheduler
    (nothing derived from the group may be kept stale), and a negative value written into it
    is refused at the next step with nothing changed."""
    params, twin = make_params(), make_params()
    opt, opt_twin = CONFIGS[cfg](params), CONFIGS[cfg](twin)
    lr0 = opt_twin.param_groups[0]["lr"]
    if lr_kind == "tensor":
        opt.param_groups[0]["lr"] = torch.tensor(lr0, dtype=torch.float64)
        if isinstance(opt, ProxAdam) and opt.param_groups[0]["foreach"]:  # refused, as by torch.optim.Adam
            with pytest.raises(ValueError, match="lr as a Tensor is not supported for capturable=False and foreach"):
                opt.step()
            return
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for k in range(5):
        opt_twin.param_groups[0]["lr"] = lr0 * 0.5 ** (k // 2)
        set_grads(params, k)
        set_grads(twin, k)
        opt.step()
        opt_twin.step()
        sched.step()
    assert float(opt.param_groups[0]["lr"]) == pytest.approx(lr0 / 4)
    for p, q in zip(params, twin):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    # and the schedule matters: a constant lr gives a different result
    const = make_params()
    run(CONFIGS[cfg](const), const, 5)
    assert not all(torch.equal(p, q) for p, q in zip(params, const))
    if lr_kind == "tensor":
        before = snapshot(opt, params)
        opt.param_groups[0]["lr"].fill_(-1.0)
        with pytest.raises(ValueError, match="lr"):
            opt.step()
        assert_same(snapshot(opt, params), before)


@pytest.mark.parametrize("cfg", IDS)
def test_closure_and_params_without_grad(cfg):
    params = make_params()
    frozen = params[2]
    before = frozen.detach().clone()
    opt = CONFIGS[cfg](params)
    gen = torch.Generator().manual_seed(5)
    target = [torch.randn(p.shape, dtype=p.dtype, generator=gen) for p in params]
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = sum(((p - t) ** 2).sum() for i, (p, t) in enumerate(zip(params, target)) if i != 2)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert len(calls) == 1 and torch.is_tensor(loss) and loss.item() > 0
    assert frozen.grad is None and torch.equal(frozen, before) and len(opt.state[frozen]) == 0
    assert not torch.equal(params[1], make_params()[1])

    # the same step with the gradient computed by hand
    twin = make_params()
    opt2 = CONFIGS[cfg](twin)
    loss2 = sum(((p - t) ** 2).sum() for i, (p, t) in enumerate(zip(twin, target)) if i != 2)
    loss2.backward()
    opt2.step()
    for p, q in zip(params, twin):
        assert torch.equal(p, q)


@pytest.mark.parametrize("cfg", IDS)
def test_zero_grad_then_step_changes_nothing(cfg):
    params = make_params()
    opt = CONFIGS[cfg](params)
    run(opt, params, 2)
    snap = snapshot(opt, params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    opt.step()
    assert_same(snapshot(opt, params), snap)
    set_grads(params, 0)
    opt.zero_grad(set_to_none=False)
    assert all(torch.count_nonzero(p.grad) == 0 for p in params)


@pytest.mark.parametrize("cfg", IDS)
def test_grad_scaler_skips_nonfinite_and_unscales(cfg):
    params, twin = make_params(), make_params()
    opt, opt_twin = CONFIGS[cfg](params), CONFIGS[cfg](twin)
    run(opt, params, 2)
    run(opt_twin, twin, 2)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8)
    snap = snapshot(opt, params)
    for bad in (math.inf, math.nan):
        opt.zero_grad()
        scaler.scale(sum((p * p).sum() for p in params)).backward()
        params[1].grad[5] = bad
        scale = scaler.get_scale()
        scaler.step(opt)
        scaler.update()
        assert scaler.get_scale() == scale / 2
        assert_same(snapshot(opt, params), snap)  # skipped: parameters and state untouched
    # a finite step through the scaler equals the unscaled step (power-of-two scale: exact)
    set_grads(params, 7)
    set_grads(twin, 7)
    for p in params:
        p.grad.mul_(scaler.get_scale())
    scaler.step(opt)
    scaler.update()
    opt_twin.step()
    for p, q in zip(params, twin):
        assert torch.equal(p, q)


@pytest.mark.parametrize("cfg", IDS)
def test_add_param_group(cfg):
    params = make_params()
    opt = CONFIGS[cfg](params[:2])
    extra = torch.nn.Parameter(torch.full((50,), 0.01, dtype=torch.float64))
    opt.add_param_group({"params": [extra], "penalty": L1(1.0), "lr": 0.1})
    assert opt.param_groups[1]["penalty"] == L1(1.0) and opt.param_groups[1]["lr"] == 0.1
    n = len(opt.param_groups)
    with pytest.raises(ValueError, match="lr must be a finite number >= 0, got -1"):
        opt.add_param_group({"params": [params[2]], "lr": -1.0})
    with pytest.raises(TypeError, match="penalty must be"):
        opt.add_param_group({"params": [params[2]], "penalty": "l1"})
    assert len(opt.param_groups) == n
    extra.grad = torch.full_like(extra, 1e-3)
    opt.step()
    # a strong L1 on small weights with a tiny gradient: exactly zero after one step
    assert torch.count_nonzero(extra) == 0


@pytest.mark.parametrize("cfg", IDS)
def test_rejected_step_leaves_everything_untouched(cfg):
    params = make_params()
    emb = torch.nn.Parameter(torch.randn(10, 3, dtype=torch.float64))
    opt = CONFIGS[cfg](params)
    opt.add_param_group({"params": [emb]})
    run(opt, params, 2)
    snap = snapshot(opt, params)
    set_grads(params, 5)
    emb.grad = torch.sparse_coo_tensor(torch.tensor([[1, 4]]), torch.ones(2, 3, dtype=torch.float64), (10, 3),
                                       check_invariants=True)
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        opt.step()
    assert_same(snapshot(opt, params), snap)
    emb.grad = None
    opt.param_groups[-1]["lr"] = float("nan")
    with pytest.raises(ValueError, match="lr must be a finite number >= 0, got nan"):
        opt.step()
    opt.param_groups[-1]["lr"] = 0.1
    opt.param_groups[-1]["penalty"] = GroupL1(0.1, dim=3)  # out of range for the parameters
    emb.grad = torch.zeros_like(emb)
    with pytest.raises(ValueError, match="out of range|fused=True supports the penalties"):
        opt.step()
    assert_same(snapshot(opt, params), snap)


@pytest.mark.parametrize("cfg", IDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_low_precision_params_keep_float32_state(cfg, dtype):
    params = make_params(dtype)
    if dtype == torch.bfloat16 and "fused" in cfg:  # numba has no bfloat16: fused=True says so
        with pytest.raises(ValueError, match="fused=True needs contiguous float32/float64 CPU"):
            CONFIGS[cfg](params)
        return
    ref = make_params(torch.float64)
    opt, opt_ref = CONFIGS[cfg](params), CONFIGS[cfg](ref)
    for k in range(3):
        set_grads(ref, k)
        for p, q in zip(params, ref):
            p.grad = q.grad.to(dtype)
        opt.step()
        opt_ref.step()
    for p in params:
        assert p.dtype == dtype
        for v in opt.state[p].values():
            if isinstance(v, torch.Tensor):
                assert v.dtype == torch.float32
    sd = opt.state_dict()
    opt2 = CONFIGS[cfg](params)
    opt2.load_state_dict(sd)
    for p in params:
        for v in opt2.state[p].values():
            if isinstance(v, torch.Tensor):
                assert v.dtype == torch.float32  # torch.optim would have cast it to bfloat16
    tol = 1e-5 if dtype == torch.float32 else 3e-2
    for p, q in zip(params, ref):
        torch.testing.assert_close(p.double(), q.detach(), rtol=tol, atol=tol)


@pytest.mark.parametrize("cfg", IDS)
def test_maximize_is_minimize_of_the_negated_gradient(cfg):
    params, twin = make_params(), make_params()
    opt = CONFIGS[cfg](params)
    opt_max = CONFIGS[cfg](twin)
    for g in opt_max.param_groups:
        g["maximize"] = True
    for k in range(3):
        set_grads(params, k)
        set_grads(twin, k)
        for q in twin:
            q.grad.neg_()
        opt.step()
        opt_max.step()
    for p, q in zip(params, twin):
        torch.testing.assert_close(p, q, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("cfg", IDS)
def test_produces_exact_zeros(cfg):
    params = make_params()
    for p in params:
        with torch.no_grad():
            p.mul_(0.05)
    opt = CONFIGS[cfg](params)
    run(opt, params, 5)
    zeros = sum(int((p == 0).sum()) for p in params)
    if "l2" in cfg or "box" in cfg:
        assert zeros == 0  # the prox of L2 shrinks and a box projects: neither makes zeros
    else:
        assert zeros > 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1), "lr must be a finite number >= 0, got -1"),
    (dict(lr=float("inf")), "lr must be a finite number >= 0, got inf"),
    (dict(lr="0.1"), "lr must be a finite number >= 0"),
    (dict(weight_decay=-0.1), "weight_decay must be a finite number >= 0"),
    (dict(maximize=1), "maximize must be True or False"),
    (dict(foreach=True, fused=True), "cannot both be set"),
    (dict(fused=True, penalty=GroupL1(0.1)), "fused=True supports the penalties"),
])
@pytest.mark.parametrize("cls", [ProxSGD, ProxAdam])
def test_bad_hyperparameters_raise_in_init(cls, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        cls([torch.nn.Parameter(torch.randn(3))], **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(betas=(1.0, 0.999)), r"betas\[0\] must be a number in \[0, 1\)"),
    (dict(betas=(0.9, -0.1)), r"betas\[1\] must be a number in \[0, 1\)"),
    (dict(betas=0.9), "betas must be a pair"),
    (dict(eps=-1e-8), "eps must be a finite number >= 0"),
    (dict(prox="diagonal"), "prox must be 'preconditioned' or 'scalar'"),
    (dict(amsgrad=None), "amsgrad must be True or False"),
])
def test_bad_adam_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProxAdam([torch.nn.Parameter(torch.randn(3))], **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(momentum=-0.9), "momentum must be a finite number >= 0"),
    (dict(dampening=float("nan")), "dampening must be a finite number >= 0"),
    (dict(nesterov=True), "nesterov=True needs momentum > 0 and dampening == 0"),
    (dict(nesterov=True, momentum=0.9, dampening=0.1), "nesterov=True needs"),
])
def test_bad_sgd_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProxSGD([torch.nn.Parameter(torch.randn(3))], **kwargs)


def test_fused_true_refuses_bfloat16_on_cpu():
    with pytest.raises(ValueError, match="fused=True needs contiguous float32/float64 CPU parameters"):
        ProxAdam([torch.nn.Parameter(torch.randn(3, dtype=torch.bfloat16))], fused=True)


def test_default_dispatch_fuses_what_it_can():
    from proxgan._dispatch import step_impl
    from proxgan._lowering import lower

    f32 = torch.nn.Parameter(torch.randn(4))
    f64 = torch.nn.Parameter(torch.randn(4, dtype=torch.float64))
    bf16 = torch.nn.Parameter(torch.randn(4, dtype=torch.bfloat16))
    noncontig = torch.nn.Parameter(torch.randn(4, 3).t())
    ps = [f32, f64, bf16, noncontig]

    def impls(penalty, foreach=None, fused=None):
        return [step_impl(p, foreach=foreach, fused=fused, lowering=lower(penalty)) for p in ps]

    assert impls(L1(0.1)) == ["fused", "fused", "foreach", "foreach"]
    assert impls(GroupL1(0.1)) == ["foreach"] * 4  # no fused kernel for GroupL1
    assert impls(L1(0.1, weights=torch.ones(1))) == ["fused", "fused", "foreach", "foreach"]  # code L1W
    assert impls(L1(0.1), foreach=False) == ["reference"] * 4
    assert impls(L1(0.1), foreach=True) == ["foreach"] * 4  # torch.optim: foreach=True is the multi-tensor path
    assert impls(L1(0.1), fused=False) == ["foreach"] * 4
    set_kernels_mode("triton")
    assert impls(L1(0.1)) == ["triton", "triton", "triton", "foreach"]
    assert impls(L1(0.1, weights=torch.ones(1))) == ["triton", "triton", "triton", "foreach"]


def test_subclass_overriding_prox_is_never_fused():
    from proxgan._lowering import lower

    class Shifted(L1):
        def _prox(self, x, step, out):
            return super()._prox(x - 1, step, out)

    class Plain(L1):
        pass

    assert lower(Shifted(0.1)) is None and lower(Plain(0.1)) == lower(L1(0.1))
    p = torch.nn.Parameter(torch.zeros(3))
    opt = ProxSGD([p], lr=1.0, penalty=Shifted(0.0))
    p.grad = torch.zeros(3)
    opt.step()
    assert torch.equal(p.detach(), torch.full((3,), -1.0))  # its own prox ran, not the L1 kernel
    with pytest.raises(ValueError, match="fused=True supports"):
        ProxSGD([p], penalty=Shifted(0.1), fused=True)


@pytest.mark.parametrize("cfg", [c for c in IDS if "group" not in c])  # GroupL1 needs a dim to group along
def test_empty_and_scalar_parameters(cfg):
    empty = torch.nn.Parameter(torch.zeros(0, 3, dtype=torch.float64))
    scalar = torch.nn.Parameter(torch.tensor(0.5, dtype=torch.float64))
    opt = CONFIGS[cfg]([empty, scalar])
    for _ in range(2):
        empty.grad = torch.zeros_like(empty)
        scalar.grad = torch.tensor(1.0, dtype=torch.float64)
        opt.step()
    assert empty.shape == (0, 3) and scalar.shape == () and torch.isfinite(scalar)
    assert scalar.item() != 0.5
