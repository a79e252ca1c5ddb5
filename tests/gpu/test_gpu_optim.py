"""ProxAdam and ProxSGD on CUDA: fused (Triton) and foreach against the for-loop reference,
bit-exact resume, GradScaler with float16 autocast."""
import io
import math

import pytest
import torch

from proxgan.optim import ProxAdam, ProxSGD
from proxgan.penalties import L0, L1, Box, ElasticNet

DEV = "cuda"
SHAPES = [(1,), (1025,), (64, 3, 3, 3), (300, 513)]
CONFIGS = {
    "adam-l1": lambda ps, **f: ProxAdam(ps, lr=0.05, penalty=L1(0.3), **f),
    "adamw-amsgrad-enet": lambda ps, **f: ProxAdam(ps, lr=0.05, weight_decay=0.1, decoupled_weight_decay=True,
                                                   amsgrad=True, penalty=ElasticNet(0.3, 0.5), **f),
    "adam-scalar-max-l0": lambda ps, **f: ProxAdam(ps, lr=0.05, prox="scalar", maximize=True, penalty=L0(1e-3), **f),
    "sgd-nesterov-l1": lambda ps, **f: ProxSGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1,
                                               penalty=L1(0.3), **f),
    "sgd-box": lambda ps, **f: ProxSGD(ps, lr=0.05, penalty=Box(-0.2, 0.3), **f),
}


def make_params(dtype=torch.float32, seed=0):
    gen = torch.Generator(device=DEV).manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(s, generator=gen, device=DEV, dtype=torch.float64).to(dtype))
            for s in SHAPES]


def run(opt, params, steps, start=0):
    for k in range(start, start + steps):
        gen = torch.Generator(device=DEV).manual_seed(1000 + k)
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen, device=DEV, dtype=torch.float64).to(p.dtype)
        opt.step()


@pytest.mark.parametrize("cfg", list(CONFIGS))
@pytest.mark.parametrize("impl", ["fused", "foreach"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fast_paths_match_for_loop_reference(cfg, impl, dtype):
    ref = make_params(dtype)
    run(CONFIGS[cfg](ref, foreach=False, fused=False), ref, 4)
    out = make_params(dtype)
    flags = dict(fused=True) if impl == "fused" else dict(foreach=True, fused=False)
    run(CONFIGS[cfg](out, **flags), out, 4)
    tol = (3e-6, 1e-6) if dtype == torch.float32 else (1e-12, 1e-14)
    for p, q in zip(out, ref):
        torch.testing.assert_close(p, q, rtol=tol[0], atol=tol[1])
    if "l1" in cfg or "enet" in cfg:
        assert any((p == 0).any() for p in out)


@pytest.mark.parametrize("cfg", list(CONFIGS))
def test_resume_is_bit_exact_on_one_device(cfg):
    params = make_params()
    opt = CONFIGS[cfg](params, fused=True)
    run(opt, params, 6)
    straight = [p.detach().clone() for p in params]
    params = make_params()
    opt = CONFIGS[cfg](params, fused=True)
    run(opt, params, 3)
    buf = io.BytesIO()
    torch.save({"model": [p.detach() for p in params], "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    params2 = make_params(seed=99)
    with torch.no_grad():
        for p, q in zip(params2, saved["model"]):
            p.copy_(q)
    opt2 = CONFIGS[cfg](params2, fused=True)
    opt2.load_state_dict(saved["opt"])
    run(opt2, params2, 3, start=3)
    for p, q in zip(params2, straight):
        assert torch.equal(p, q)


@pytest.mark.parametrize("cfg", ["adam-l1", "sgd-nesterov-l1"])
def test_grad_scaler_with_float16_autocast(cfg):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).to(DEV)
    twin = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).to(DEV)
    twin.load_state_dict(model.state_dict())
    opt, opt_twin = CONFIGS[cfg](list(model.parameters()), fused=True), CONFIGS[cfg](list(twin.parameters()), fused=True)
    scaler = torch.amp.GradScaler("cuda", init_scale=2.0 ** 10)
    x, y = torch.randn(32, 64, device=DEV), torch.randint(0, 10, (32,), device=DEV)
    before = [p.detach().clone() for p in model.parameters()]
    for bad in (math.inf, math.nan):
        opt.zero_grad()
        with torch.autocast("cuda", dtype=torch.float16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        next(model.parameters()).grad.view(-1)[3] = bad
        scale = scaler.get_scale()
        scaler.step(opt)
        scaler.update()
        assert scaler.get_scale() == scale / 2
        for p, q in zip(model.parameters(), before):
            assert torch.equal(p, q)  # skipped step
    # a finite step through the scaler equals a plain step on the unscaled gradients
    # (dividing by a power-of-two scale is exact)
    opt.zero_grad()
    with torch.autocast("cuda", dtype=torch.float16):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    scaler.scale(loss).backward()
    scale = scaler.get_scale()
    twin.load_state_dict(model.state_dict())
    opt_twin.load_state_dict(opt.state_dict())
    for p, q in zip(model.parameters(), twin.parameters()):
        q.grad = p.grad.detach() / scale
    scaler.step(opt)
    scaler.update()
    opt_twin.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        assert torch.equal(p, q)
    assert any((p == 0).any() for p in model.parameters())
