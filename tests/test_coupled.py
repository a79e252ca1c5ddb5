"""CoupledGroupL1: exact prox over groups spanning several tensors, in ProxSGD and ProxAdam."""
import copy
import sys

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from proxgan.apps.models import small_resnet
from proxgan.optim import ProxAdam, ProxSGD
from proxgan.penalties import CoupledGroupL1, GroupL1

pytest.importorskip("torch_pruning")  # the 'pruning' extra, installed by the 'dev' extra


def _toy(seed=0, dtype=torch.float64):
    """Three tensors, one set of 3 channels: rows perm of A (3x2), entries of b (3,), rows of C (3x2x2)."""
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(3, 2, generator=g, dtype=dtype), torch.randn(3, generator=g, dtype=dtype),
              torch.randn(3, 2, 2, generator=g, dtype=dtype)]
    sets = [{"items": [(0, torch.tensor([2, 0, 1])), (1, torch.tensor([0, 1, 2])), (2, torch.tensor([1, 2, 0]))]}]
    return params, sets


def _objective(pen, xs, steps, flat):
    ys, i = [], 0
    for x in xs:
        ys.append(torch.as_tensor(flat[i:i + x.numel()]).reshape(x.shape))
        i += x.numel()
    quad = sum((((y - x) ** 2) / (2 * s)).sum() for y, x, s in zip(ys, xs, steps))
    return float(quad + pen.value(ys))


@pytest.mark.parametrize("metric", ["scalar", "diagonal"])
@pytest.mark.parametrize("lam", [0.3, 1.5])
def test_prox_minimises_the_objective_against_a_numerical_solve(metric, lam):
    params, sets = _toy()
    pen = CoupledGroupL1(lam, params, sets)
    g = torch.Generator().manual_seed(1)
    steps = [0.7] * 3 if metric == "scalar" else [0.2 + torch.rand(x.shape, generator=g, dtype=x.dtype) for x in params]
    ys = pen.prox_tensors(params, steps)
    ours = _objective(pen, params, [torch.as_tensor(s) for s in steps], np.concatenate([y.flatten().numpy() for y in ys]))
    best = np.inf
    for start in range(6):  # brute force: Powell from several starts, including ours perturbed
        x0 = np.concatenate([x.flatten().numpy() for x in params]) * (0.25 * start)
        res = minimize(lambda f: _objective(pen, params, [torch.as_tensor(s) for s in steps], f), x0,
                       method="Powell", options={"xtol": 1e-10, "ftol": 1e-13, "maxfev": 40000})
        best = min(best, res.fun)
    assert ours <= best + 1e-8
    # KKT per channel: (y - x)/s + lam y/||y|| = 0 at a non-zero group; ||x/s|| <= lam at a zero one
    from proxgan._coupled import gather
    full = [torch.broadcast_to(torch.as_tensor(s, dtype=torch.float64), x.shape) for s, x in zip(steps, params)]
    xm, ym, sm = (gather(t, sets[0]["items"]) for t in (params, ys, full))
    for c in range(3):
        n = torch.linalg.vector_norm(ym[c])
        if n > 0:
            assert torch.allclose((ym[c] - xm[c]) / sm[c] + lam * ym[c] / n, torch.zeros_like(n), atol=1e-9)
        else:
            assert torch.linalg.vector_norm(xm[c] / sm[c]) <= lam + 1e-12


def test_single_tensor_equals_group_l1_under_a_diagonal_metric():
    g = torch.Generator().manual_seed(3)
    w = torch.randn(6, 5, generator=g, dtype=torch.float64)
    s = 0.1 + torch.rand(6, 5, generator=g, dtype=torch.float64)
    pen = CoupledGroupL1(0.8, [w], [{"items": [(0, torch.arange(6))]}])
    assert torch.allclose(pen.prox_tensors([w], [s])[0], GroupL1(0.8, dim=0).prox(w, s), atol=1e-12)
    assert torch.allclose(pen.prox_tensors([w], 0.5)[0], GroupL1(0.8, dim=0).prox(w, 0.5), atol=1e-12)


def test_resnet_groups_span_the_residual_stream():
    m = small_resnet(3, 10, widths=(8, 16))
    pen = CoupledGroupL1.from_model(m, 0.1, torch.zeros(1, 3, 16, 16))
    assert pen.skipped == []
    names = {id(p): n for n, p in m.named_parameters()}
    spans = [{names[id(pen.params[k])] for k, _ in st["items"]} for st in pen.sets]
    stage2 = next(s for s in spans if "layers.1.shortcut.0.weight" in s)
    assert {"layers.1.conv2.weight", "layers.1.bn2.weight", "layers.1.shortcut.1.bias"} <= stage2
    assert all("fc.weight" not in s for s in spans)  # the output layer keeps its channels
    covered = {n for s in spans for n in s}
    assert "stem.0.weight" in covered and "layers.0.conv1.weight" in covered


def _train(opt_cls, model, pen, steps=8, seed=0, **kw):
    opt = opt_cls(pen.param_groups(model), **kw)
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(16, 3, 16, 16, generator=g), torch.randint(0, 10, (16,), generator=g)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return opt


@pytest.mark.parametrize("opt_cls,kw", [(ProxSGD, dict(lr=0.05, momentum=0.9)),
                                         (ProxAdam, dict(lr=0.01)), (ProxAdam, dict(lr=0.01, foreach=False)),
                                         (ProxSGD, dict(lr=0.05, foreach=False))])
def test_optimizer_step_equals_smooth_step_then_joint_prox(opt_cls, kw):
    torch.manual_seed(0)
    m = small_resnet(3, 10, widths=(8, 16))
    plain = copy.deepcopy(m)
    pen = CoupledGroupL1.from_model(m, 0.05, torch.zeros(1, 3, 16, 16))
    _train(opt_cls, m, pen, steps=1, **kw)
    opt = _train(opt_cls, plain, CoupledGroupL1.from_model(plain, 0.0, torch.zeros(1, 3, 16, 16)), steps=1, **kw)
    ppen = opt.param_groups[0]["penalty"]
    if opt_cls is ProxAdam:  # steps lr / D of the preconditioned prox
        steps = [kw["lr"] / ((opt.state[p]["exp_avg_sq"] / (1 - 0.999)).sqrt() + 1e-8) for p in ppen.params]
    else:
        steps = kw["lr"]
    want = pen.prox_tensors([p.detach() for p in ppen.params], steps)
    for got, w in zip(pen.params, want):
        assert torch.allclose(got.detach(), w, atol=1e-6)


def test_small_resnet_trains_and_zeros_whole_coupled_groups():
    torch.manual_seed(0)
    m = small_resnet(3, 10, widths=(8, 16))
    pen = CoupledGroupL1.from_model(m, 0.02, torch.zeros(1, 3, 16, 16))
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 3, 16, 16, generator=g), torch.randint(0, 4, (64,), generator=g)
    opt = ProxAdam(pen.param_groups(m), lr=0.02)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    norms = torch.cat(pen.group_norms())
    assert 0 < int((norms == 0).sum()) < norms.numel()
    from proxgan._coupled import gather
    for st, n in zip(pen.sets, pen.group_norms()):  # a zero group is zero in every tensor it spans
        for k, idx in st["items"]:
            rows = pen.params[k].detach().reshape(pen.params[k].shape[0], -1)[idx[n == 0]]
            assert torch.all(rows == 0)


def test_bad_use_is_refused_with_clear_messages(monkeypatch):
    m = small_resnet(3, 10, widths=(4, 8))
    pen = CoupledGroupL1.from_model(m, 0.1, torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="not one of its parameters"):
        ProxSGD([{"params": list(m.parameters()), "penalty": pen}], lr=0.1)
    with pytest.raises(TypeError, match="prox_tensors"):
        pen.prox(pen.params[0], 1.0)
    opt = ProxSGD(pen.param_groups(m), lr=0.1)
    m(torch.randn(2, 3, 8, 8)).sum().backward()
    pen.params[0].grad = None
    with pytest.raises(RuntimeError, match="gradient"):
        opt.step()
    with pytest.raises(ValueError, match="out of range"):
        CoupledGroupL1(0.1, [torch.zeros(2, 2)], [{"items": [(0, torch.tensor([0, 5]))]}])
    monkeypatch.setitem(sys.modules, "torch_pruning", None)
    with pytest.raises(ImportError, match=r"proxgan\[pruning\]"):
        CoupledGroupL1.from_model(m, 0.1, torch.zeros(1, 3, 8, 8))


def test_state_dict_round_trip_binds_the_restored_penalty():
    import io

    torch.manual_seed(0)
    m = small_resnet(3, 10, widths=(4, 8))
    pen = CoupledGroupL1.from_model(m, 0.05, torch.zeros(1, 3, 8, 8))
    opt = ProxAdam(pen.param_groups(m), lr=1e-2)
    x = torch.randn(4, 3, 8, 8)
    m(x).square().mean().backward()
    opt.step()
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    buf.seek(0)
    twin = copy.deepcopy(m)
    tpen = CoupledGroupL1.from_model(twin, 0.05, torch.zeros(1, 3, 8, 8))
    topt = ProxAdam(tpen.param_groups(twin), lr=1e-2)
    topt.load_state_dict(torch.load(buf, weights_only=True))
    restored = topt.param_groups[0]["penalty"]
    assert restored is not tpen and all(a is b for a, b in zip(restored.params, tpen.params))
    for model, o in ((m, opt), (twin, topt)):
        o.zero_grad()
        model(x).square().mean().backward()
        o.step()
    for a, b in zip(m.parameters(), twin.parameters()):
        assert torch.equal(a, b)


def test_flops_weighting_prices_channels_by_their_multiply_adds():
    m = small_resnet(3, 10, widths=(8, 16))
    x = torch.zeros(1, 3, 16, 16)
    pen = CoupledGroupL1.from_model(m, 0.3, x, weighting="flops")
    names = {id(p): n for n, p in m.named_parameters()}
    w = {frozenset(names[id(pen.params[k])] for k, _ in st["items"]): wt for st, wt in zip(pen.sets, pen.set_weights)}
    # by hand: stage 1 at 16x16 (stem 27 + block conv2 72 per row), stage 2 at 8x8 (conv2 144 + shortcut 8)
    cost = {"layers.0.conv1.weight": 72 * 256, "stem.0.weight": (27 + 72) * 256,
            "layers.1.conv1.weight": 72 * 64, "layers.1.conv2.weight": (144 + 8) * 64}
    chans = {"layers.0.conv1.weight": 8, "stem.0.weight": 8, "layers.1.conv1.weight": 16, "layers.1.conv2.weight": 16}
    mean = sum(cost[k] * chans[k] for k in cost) / sum(chans.values())
    for key, c in cost.items():
        got = next(v for names_, v in w.items() if key in names_)
        assert got == pytest.approx(c / mean)
    # the weighted prox is the plain one with lam * w per set
    plain = CoupledGroupL1(0.3, pen.params, pen.sets)
    xs = [p.detach().clone() for p in pen.params]
    got = pen.prox_tensors(xs, 0.5)
    for st, wt in zip(pen.sets, pen.set_weights):
        one = CoupledGroupL1(0.3 * wt, pen.params, [st]).prox_tensors(xs, 0.5)
        from proxgan._coupled import gather
        assert torch.allclose(gather(got, st["items"]), gather(one, st["items"]))
    with pytest.raises(ValueError, match="set_weights"):
        CoupledGroupL1(0.1, pen.params, pen.sets, weighting="flops")
    assert plain.weighting == "none"
