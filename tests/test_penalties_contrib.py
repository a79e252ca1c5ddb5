"""The CONTRIBUTING.md recipe, proved: separable penalties defined only in this file (a class and,
optionally, a lowering; nothing in the package) run in coordinate descent, FISTA, ProxSGD and
ProxAdam. With a lowering the optimizers take the fused path; without one, the multi-tensor path
(and coordinate descent says it needs a lowering)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from proxgan import _dispatch
from proxgan._lowering import SeparableProx, lower
from proxgan._validation import check_nonneg_number
from proxgan.datafits import Quadratic
from proxgan.kernels.fused_penalty import Code
from proxgan.optim import ProxAdam, ProxSGD
from proxgan.penalties import L1, Param, Penalty
from proxgan.solvers import cd, fista

from _infos import IMPLS


class ScaledL1(Penalty):
    r""":math:`g(x) = \lambda c \sum_i |x_i|`: soft-thresholding at :math:`s\lambda c` (a kernel spec: code L1)."""

    lam = Param(check_nonneg_number)
    scale = Param(check_nonneg_number)

    def __init__(self, lam: float, scale: float = 2.0) -> None:
        self.lam = lam
        self.scale = scale

    def value(self, x):
        return self.lam * self.scale * x.abs().sum()

    def _prox(self, x, step, out):
        t = step * self.lam * self.scale
        y = torch.sign(x) * torch.clamp(x.abs() - t, min=0)
        return y if out is None else out.copy_(y)

    def subdiff_distance(self, x, grad):
        t = self.lam * self.scale
        return torch.where(x != 0, (grad + t * torch.sign(x)).abs(), (grad.abs() - t).clamp_min(0))

    def lowering(self):
        return SeparableProx(Code.L1, self.lam * self.scale)


class ShiftedL1(Penalty):
    r""":math:`g(x) = \lambda \sum_i |x_i - c|`; prox :math:`c + \operatorname{soft}(x - c, s\lambda)` (no kernel spec)."""

    lam = Param(check_nonneg_number)

    def __init__(self, lam: float, center: float = 0.1) -> None:
        self.lam = lam
        self.center = center

    def value(self, x):
        return self.lam * (x - self.center).abs().sum()

    def _prox(self, x, step, out):
        d = x - self.center
        y = self.center + torch.sign(d) * torch.clamp(d.abs() - step * self.lam, min=0)
        return y if out is None else out.copy_(y)

    def subdiff_distance(self, x, grad):
        d = x - self.center
        return torch.where(d != 0, (grad + self.lam * torch.sign(d)).abs(), (grad.abs() - self.lam).clamp_min(0))


def _problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 12))
    y = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(40)
    return X, y


def test_lowered_penalty_runs_in_cd_and_fista_to_the_same_minimiser():
    X, y = _problem()
    pen = ScaledL1(0.05, scale=2.0)
    got = cd.solve(Quadratic(X, y), pen, tol=1e-12)
    ref = cd.solve(Quadratic(X, y), L1(0.1), tol=1e-12)  # the same penalty, built in
    fis = fista.solve(Quadratic(X, y), pen, tol=1e-10, max_iter=20000)
    assert got.converged and fis.converged
    np.testing.assert_allclose(got.coef, ref.coef, atol=1e-10)
    np.testing.assert_allclose(np.asarray(fis.coef), got.coef, atol=1e-6)
    assert 0 < np.count_nonzero(got.coef) < 12


def test_unlowered_penalty_runs_in_fista_and_cd_refuses_it_clearly():
    X, y = _problem()
    pen = ShiftedL1(0.05, center=0.1)
    res = fista.solve(Quadratic(X, y), pen, tol=1e-10, max_iter=20000)
    assert res.converged
    w = torch.as_tensor(np.asarray(res.coef))
    grad = Quadratic(X, y).grad(w)
    assert float(pen.subdiff_distance(w, grad).max()) <= 1e-8  # stationary: -grad in the subdifferential
    assert int((w == 0.1).sum()) > 0  # coordinates held exactly at the shift
    with pytest.raises(TypeError, match="needs a separable penalty with a lowering"):
        cd.solve(Quadratic(X, y), pen)


def _run(cls, pen, impl, steps=4, **kw):
    gen = torch.Generator().manual_seed(0)
    ps = [torch.nn.Parameter(0.1 * torch.randn(s, dtype=torch.float64, generator=gen)) for s in [(7,), (33, 5)]]
    opt = cls(ps, lr=0.05, penalty=pen, **IMPLS[impl], **kw)
    for _ in range(steps):
        for p in ps:
            p.grad = torch.randn(p.shape, dtype=torch.float64, generator=gen)
        opt.step()
    return ps


@pytest.mark.parametrize("cls, kw", [(ProxSGD, dict(momentum=0.9)), (ProxAdam, dict())], ids=["sgd", "adam"])
def test_optimizers_take_the_fused_path_with_a_kernel_spec_and_multi_tensor_without(cls, kw):
    lowered, plain = ScaledL1(0.2, 2.0), ShiftedL1(0.4, 0.1)
    p = torch.zeros(3, dtype=torch.float64)
    assert _dispatch.step_impl(p, foreach=None, fused=None, lowering=lower(lowered)) == "fused"
    assert _dispatch.step_impl(p, foreach=None, fused=None, lowering=lower(plain)) == "foreach"
    for pen, builtin in ((lowered, L1(0.4)), (plain, None)):
        ref = _run(cls, pen, "reference", **kw)
        for impl in ("foreach", "fused"):
            for a, b in zip(_run(cls, pen, impl, **kw), ref):
                torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
        if builtin is not None:  # the spec is the built-in L1 at lam * scale
            for a, b in zip(_run(cls, builtin, "fused", **kw), ref):
                torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    assert any(bool((p == 0).any()) for p in _run(cls, lowered, "fused", **kw))
    assert any(bool((p == 0.1).any()) for p in _run(cls, plain, "fused", **kw))
    with pytest.raises(ValueError, match="fused=True supports"):
        cls([torch.nn.Parameter(torch.zeros(3))], lr=0.1, penalty=plain, fused=True)


def test_a_subclass_that_overrides_prox_keeps_its_own():
    class Mine(ScaledL1):
        def _prox(self, x, step, out):
            return super()._prox(x, step, out)

    assert lower(ScaledL1(0.1)) is not None
    assert lower(Mine(0.1)) is None
