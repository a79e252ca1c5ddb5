"""The functional API (``proxgan.optim.functional``) and the ``Prox`` wrapper around torch optimizers.

* ``prox_adam`` / ``prox_sgd`` give the classes' steps bit for bit, on every implementation;
* ``Prox(base, penalty)`` equals the base optimizer without a penalty, and with one equals
  an independent computation of "base step, then prox at the base's metric" (Adagrad,
  RMSprop, Adam, AdamW, NAdam, SGD and a user-written optimizer); with Adam/AdamW/SGD it
  equals our ProxAdam/ProxAdamW/ProxSGD;
* ``ProxAdagrad`` follows TensorFlow's documented ProximalAdagrad update.
"""
from __future__ import annotations

import pytest
import torch

from proxgan.optim import Prox, ProxAdagrad, ProxAdam, ProxAdamW, ProxSGD
from proxgan.optim.functional import prox_adam, prox_sgd
from proxgan.penalties import L1, ElasticNet

SHAPES = [(4, 3), (7,)]
IMPLS = [dict(fused=True), dict(foreach=True), dict(foreach=False), {}]
IMPL_IDS = ["fused", "foreach", "for-loop", "default"]


def _tensors(seed, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=dtype) for s in SHAPES]


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("amsgrad", [False, True])
def test_prox_adam_equals_the_class(impl, amsgrad):
    params = _tensors(0)
    fparams = [p.clone() for p in params]
    opt = ProxAdam(params, lr=0.05, weight_decay=0.1, amsgrad=amsgrad, penalty=L1(1.0), **impl)
    m = [torch.zeros_like(p) for p in fparams]
    v = [torch.zeros_like(p) for p in fparams]
    vmax = [torch.zeros_like(p) for p in fparams] if amsgrad else []
    steps = [torch.tensor(0.0) for _ in fparams]
    for k in range(5):
        grads = _tensors(10 + k)
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
        prox_adam(fparams, grads, m, v, vmax, steps, amsgrad=amsgrad, beta1=0.9, beta2=0.999, lr=0.05,
                  weight_decay=0.1, eps=1e-8, maximize=False, penalty=L1(1.0), **impl)
    for i, (p, q) in enumerate(zip(params, fparams)):
        assert torch.equal(p, q)
        assert torch.equal(opt.state[p]["exp_avg"], m[i]) and torch.equal(opt.state[p]["exp_avg_sq"], v[i])
        assert float(steps[i]) == 5.0
    assert (fparams[0] == 0).any()


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_prox_sgd_equals_the_class(impl, momentum):
    params = _tensors(0)
    fparams = [p.clone() for p in params]
    opt = ProxSGD(params, lr=0.1, momentum=momentum, weight_decay=0.05, penalty=L1(3.0), **impl)
    bufs = [None] * len(fparams)
    for k in range(5):
        grads = _tensors(10 + k)
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
        prox_sgd(fparams, grads, bufs, weight_decay=0.05, momentum=momentum, lr=0.1, dampening=0.0, nesterov=False,
                 maximize=False, penalty=L1(3.0), **impl)
    for i, (p, q) in enumerate(zip(params, fparams)):
        assert torch.equal(p, q)
        if momentum:
            assert torch.equal(opt.state[p]["momentum_buffer"], bufs[i])
        else:
            assert bufs[i] is None
    assert (fparams[0] == 0).any()


def test_functional_refuses_bad_input_and_writes_nothing():
    p, g = torch.ones(3), torch.ones(3)
    m, v, step = torch.zeros(3), torch.zeros(3), torch.tensor(0.0)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0"):
        prox_adam([p], [g], [m], [v], [], [step], amsgrad=False, beta1=1.0, beta2=0.999, lr=0.1, weight_decay=0.0,
                  eps=1e-8, maximize=False)
    assert torch.equal(p, torch.ones(3)) and float(step) == 0 and not m.any()
    prox_adam([p], [g], [m], [v], [], [step], amsgrad=False, beta1=0.9, beta2=0.999, lr=0.1, weight_decay=0.0,
              eps=1e-8, maximize=False, found_inf=torch.tensor(1.0))  # an inf step: nothing changes
    assert torch.equal(p, torch.ones(3)) and float(step) == 0 and not m.any()


class SignSGD(torch.optim.Optimizer):
    """A user-written optimizer: p -= lr * sign(grad)."""

    def __init__(self, params, lr=0.01):
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(torch.sign(p.grad), alpha=-group["lr"])


def _soft(x, t):
    return torch.sign(x) * torch.clamp(x.abs() - t, min=0)


class Metric:
    """Independent accumulators giving the base optimizer's prox step (its metric)."""

    def __init__(self, kind, lr):
        self.kind, self.lr, self.acc, self.t = kind, lr, None, 0

    def step(self, g):
        self.t += 1
        if self.kind == "scalar":
            return self.lr
        if self.acc is None:
            self.acc = torch.zeros_like(g) if self.kind != "adagrad" else torch.zeros_like(g)
        if self.kind == "adagrad":  # torch defaults: eps=1e-10, no lr decay
            self.acc += g * g
            return self.lr / (self.acc.sqrt() + 1e-10)
        if self.kind == "rmsprop":  # alpha=0.99, eps=1e-8
            self.acc = 0.99 * self.acc + 0.01 * g * g
            return self.lr / (self.acc.sqrt() + 1e-8)
        self.acc = 0.999 * self.acc + 0.001 * g * g  # Adam family: bias-corrected second moment
        return self.lr / ((self.acc / (1 - 0.999 ** self.t)).sqrt() + 1e-8)


BASES = {  # the base optimizer, its metric, a penalty weight that zeroes some entries in 6 steps
    "Adagrad": (lambda ps: torch.optim.Adagrad(ps, lr=0.1), "adagrad", 5.0),
    "RMSprop": (lambda ps: torch.optim.RMSprop(ps, lr=0.01), "rmsprop", 5.0),
    "Adam": (lambda ps: torch.optim.Adam(ps, lr=0.05), "adam", 0.3),
    "AdamW": (lambda ps: torch.optim.AdamW(ps, lr=0.05), "adam", 0.3),
    "NAdam": (lambda ps: torch.optim.NAdam(ps, lr=0.05), "adam", 0.3),
    "SGD": (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), "scalar", 3.0),
    "SignSGD": (lambda ps: SignSGD(ps, lr=0.05), "scalar", 5.0),
}


@pytest.mark.parametrize("name", list(BASES))
def test_prox_wrapper_is_base_step_then_metric_prox(name):
    make, kind, lam = BASES[name]
    p, twin, plain = _tensors(1)[0], _tensors(1)[0], _tensors(1)[0]
    opt = Prox(make([p]), L1(lam))
    base = make([twin])  # the base step alone, followed by our own prox at our own metric
    unpenalised, plain_ref = Prox(make([plain])), make([q := plain.clone()])
    metric = Metric(kind, base.param_groups[0]["lr"])
    for k in range(6):
        g = _tensors(20 + k)[0]
        p.grad, twin.grad, plain.grad, q.grad = g.clone(), g.clone(), g.clone(), g.clone()
        opt.step()
        base.step()
        unpenalised.step()
        plain_ref.step()
        with torch.no_grad():
            twin.copy_(_soft(twin, metric.step(g) * lam))
    torch.testing.assert_close(p, twin, rtol=1e-12, atol=1e-12)
    assert torch.equal(plain, q)  # no penalty: exactly the base optimizer
    assert (p == 0).any() and (p != 0).any()


@pytest.mark.parametrize(("base", "ours"), [
    (lambda ps: torch.optim.Adam(ps, lr=0.05, amsgrad=True), lambda ps: ProxAdam(ps, lr=0.05, amsgrad=True,
                                                                              penalty=L1(0.3), foreach=False)),
    (lambda ps: torch.optim.AdamW(ps, lr=0.05), lambda ps: ProxAdamW(ps, lr=0.05, penalty=L1(0.3), foreach=False)),
    (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: ProxSGD(ps, lr=0.1, momentum=0.9,
                                                                              penalty=L1(0.3), foreach=False)),
], ids=["Adam", "AdamW", "SGD"])
def test_prox_wrapper_agrees_with_our_optimizers(base, ours):
    a, b = _tensors(2), _tensors(2)
    oa, ob = Prox(base(a), L1(0.3)), ours(b)
    for k in range(10):
        for p, q, g in zip(a, b, _tensors(30 + k)):
            p.grad, q.grad = g.clone(), g.clone()
        oa.step()
        ob.step()
    for p, q in zip(a, b):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-12)


def test_prox_wrapper_schedulers_state_dict_and_group_penalties():
    w, b = torch.nn.Parameter(0.1 * torch.randn(5)), torch.nn.Parameter(torch.randn(2))
    opt = Prox(torch.optim.Adam([{"params": [w]}, {"params": [b], "penalty": None}], lr=0.1), L1(10.0))
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    w.grad, b.grad = torch.ones(5), torch.ones(2)
    opt.step()
    sched.step()
    assert opt.base.param_groups[0]["lr"] == 0.05
    assert (w == 0).all() and (b != 0).all()  # the second group is unpenalised
    sd = opt.state_dict()
    again = Prox(torch.optim.Adam([{"params": [w]}, {"params": [b], "penalty": None}], lr=0.1), L1(10.0))
    again.load_state_dict(sd)
    assert float(again.state[w]["step"]) == 1.0


def test_prox_adagrad_is_tensorflows_documented_update():
    """tf.raw_ops.ApplyProximalAdagrad: accum += g^2; prox_v = var - lr*g/sqrt(accum);
    var = sign(prox_v)/(1+lr*l2) * max(|prox_v| - lr*l1, 0)."""
    lr, l1, l2, acc0 = 0.1, 2.0, 0.2, 0.1
    var = _tensors(3)[0]
    p = var.clone()
    opt = ProxAdagrad([p], lr=lr, initial_accumulator_value=acc0, l1=l1, l2=l2)
    accum = torch.full_like(var, acc0)
    for k in range(8):
        g = _tensors(40 + k)[0]
        p.grad = g.clone()
        opt.step()
        accum += g * g
        prox_v = var - lr * g / accum.sqrt()
        var = torch.sign(prox_v) / (1 + lr * l2) * torch.clamp(prox_v.abs() - lr * l1, min=0)
    torch.testing.assert_close(p, var, rtol=0, atol=1e-12)
    assert (var == 0).any()
    assert isinstance(opt.param_groups[0].get("penalty", opt.penalty), ElasticNet)
