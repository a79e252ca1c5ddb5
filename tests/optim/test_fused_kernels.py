"""The fused Triton step kernels under the interpreter (TRITON_INTERPRET=1, CPU tensors).

tests/conftest.py sets TRITON_INTERPRET=1 before Triton is first imported.
"""
from __future__ import annotations

import os

import pytest
import torch

from proxgan._dispatch import set_kernels_mode

pytest.importorskip("triton")

from proxgan.kernels import fused_penalty as fp  # noqa: E402
from proxgan.kernels import fused_prox_adam, fused_prox_adam_ref, fused_prox_sgd, fused_prox_sgd_ref  # noqa: E402
from proxgan.optim import ProxAdam, ProxSGD  # noqa: E402
from proxgan.penalties import L1  # noqa: E402

from _infos import penalties_for  # noqa: E402

assert os.environ.get("TRITON_INTERPRET") == "1"

CODES = {"none": (fp.NONE, 0.0, 0.0), "l1": (fp.L1, 0.3, 0.0), "l2": (fp.L2, 0.5, 0.0),
         "enet": (fp.ENET, 0.2, 0.3), "l0": (fp.L0, 2e-3, 0.0), "box": (fp.BOX, -0.4, 0.5)}
# Adam's preconditioned step lr/D is small: larger strengths so that both zeros and survivors occur
CODES_ADAM = {**CODES, "l1": (fp.L1, 30.0, 0.0), "enet": (fp.ENET, 20.0, 3.0), "l0": (fp.L0, 0.2, 0.0)}
SIZES = [1, 1023, 1025]


def tol(dtype):
    return {torch.float64: (1e-13, 1e-15), torch.float32: (3e-6, 1e-7), torch.bfloat16: (1.6e-2, 1e-3)}[dtype]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
@pytest.mark.parametrize("code", list(CODES_ADAM))
@pytest.mark.parametrize("variant", ["precond", "scalar-amsgrad-max", "adamw"])
def test_fused_prox_adam_kernel_matches_reference(variant, code, dtype):
    gen = torch.Generator().manual_seed(1)
    cd = torch.float64 if dtype == torch.float64 else torch.float32
    kw = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, decoupled=variant == "adamw",
              maximize="max" in variant, step=3, preconditioned=variant != "scalar-amsgrad-max")
    c, a, b = CODES_ADAM[code]
    for n in SIZES:
        p = torch.randn(n, generator=gen, dtype=torch.float64).to(dtype)
        g = torch.randn(n, generator=gen, dtype=torch.float64).to(dtype)
        m = 0.1 * torch.randn(n, generator=gen, dtype=cd)
        v = 0.1 * torch.rand(n, generator=gen, dtype=cd)
        vm = 1.5 * v if "amsgrad" in variant else None
        ref = [t.clone() if t is not None else None for t in (p, g, m, v, vm)]
        fused_prox_adam(p, g, m, v, vm, code=c, a=a, b=b, **kw)
        fused_prox_adam_ref(*ref, code=c, a=a, b=b, **kw)
        rtol, atol = tol(dtype)
        torch.testing.assert_close(p.double(), ref[0].double(), rtol=rtol, atol=atol)
        torch.testing.assert_close(m, ref[2], rtol=rtol, atol=atol)
        torch.testing.assert_close(v, ref[3], rtol=rtol, atol=atol)
        if vm is not None:
            torch.testing.assert_close(vm, ref[4], rtol=rtol, atol=atol)
        if dtype != torch.bfloat16:
            assert torch.equal(p == 0, ref[0] == 0)
        if code in ("l1", "l0", "enet") and n > 1:
            assert (p == 0).any() and (p != 0).any()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("code", list(CODES))
@pytest.mark.parametrize("variant", ["plain", "first", "momentum", "nesterov-max"])
def test_fused_prox_sgd_kernel_matches_reference(variant, code, dtype):
    gen = torch.Generator().manual_seed(2)
    mu = 0.0 if variant == "plain" else 0.9
    kw = dict(lr=0.1, momentum=mu, dampening=0.0 if "nesterov" in variant else 0.1,
              nesterov="nesterov" in variant, weight_decay=0.01, maximize="max" in variant,
              first=variant == "first")
    c, a, b = CODES[code]
    for n in SIZES:
        p = torch.randn(n, generator=gen, dtype=dtype)
        g = torch.randn(n, generator=gen, dtype=dtype)
        buf = torch.randn(n, generator=gen, dtype=dtype) if mu else None
        ref = [t.clone() if t is not None else None for t in (p, g, buf)]
        fused_prox_sgd(p, g, buf, code=c, a=a, b=b, **kw)
        fused_prox_sgd_ref(*ref, code=c, a=a, b=b, **kw)
        rtol, atol = tol(dtype)
        torch.testing.assert_close(p, ref[0], rtol=rtol, atol=atol)
        assert torch.equal(p == 0, ref[0] == 0)
        if code in ("l1", "l0", "enet") and n > 1:
            assert (p == 0).any() and (p != 0).any()
        if mu:
            torch.testing.assert_close(buf, ref[2], rtol=rtol, atol=atol)


def test_launcher_rejects_bad_state():
    p = torch.randn(8)
    with pytest.raises(ValueError, match="exp_avg must be a contiguous torch.float32 tensor"):
        fused_prox_adam(p, torch.randn(8), torch.zeros(8, dtype=torch.float64), torch.zeros(8), None, lr=0.1,
                        beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.0, decoupled=False, maximize=False,
                        step=1, preconditioned=True, code=0, a=0.0, b=0.0)


PENALTIES = list(penalties_for("fused", fused=True).values())


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
@pytest.mark.parametrize("cls, kw", [(ProxAdam, dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
                                     (ProxAdam, dict(lr=0.05, prox="scalar", maximize=True)),
                                     (ProxSGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1))])
def test_optimizer_triton_path_equals_reference(monkeypatch, penalty, cls, kw):
    """PROXGAN_KERNELS=triton sends CPU tensors to the Triton kernels (interpreted)."""
    def run():
        gen = torch.Generator().manual_seed(0)
        ps = [torch.nn.Parameter(torch.randn(s, dtype=torch.float64, generator=gen)) for s in [(1,), (1025,), (7, 9)]]
        opt = cls(ps, penalty=penalty, **kw, **flags)
        for _ in range(3):
            for p in ps:
                p.grad = torch.randn(p.shape, dtype=torch.float64, generator=gen)
            opt.step()
        return ps

    flags = dict(foreach=False, fused=False)
    ref = run()
    set_kernels_mode("triton")
    flags = dict(fused=True)
    out = run()
    for p, q in zip(out, ref):
        torch.testing.assert_close(p, q, rtol=1e-13, atol=1e-15)
        assert torch.equal(p == 0, q == 0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_multi_tensor_launch_equals_per_tensor_reference(dtype):
    from proxgan.kernels import fused_prox_adam_multi, fused_prox_sgd_multi

    gen = torch.Generator().manual_seed(4)
    cd = torch.float64 if dtype == torch.float64 else torch.float32
    sizes = [1, 1023, 0, 1025, 2049]
    ps = [torch.randn(n, generator=gen, dtype=torch.float64).to(dtype) for n in sizes]
    gs = [torch.randn(n, generator=gen, dtype=torch.float64).to(dtype) for n in sizes]
    ms = [0.1 * torch.randn(n, generator=gen, dtype=cd) for n in sizes]
    vs = [0.1 * torch.rand(n, generator=gen, dtype=cd) for n in sizes]
    ref = [[t.clone() for t in col] for col in (ps, gs, ms, vs)]
    kw = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False, maximize=False,
              step=2, preconditioned=True, code=fp.L1, a=30.0, b=0.0)
    fused_prox_adam_multi(ps, gs, ms, vs, None, **kw)
    for i in range(len(sizes)):
        fused_prox_adam_ref(ref[0][i], ref[1][i], ref[2][i], ref[3][i], None, **kw)
    rtol, atol = tol(dtype)
    for i in range(len(sizes)):
        torch.testing.assert_close(ps[i].double(), ref[0][i].double(), rtol=rtol, atol=atol)
        torch.testing.assert_close(ms[i], ref[2][i], rtol=rtol, atol=atol)
    bufs = [torch.randn(n, generator=gen, dtype=cd) for n in sizes]
    ref = [[t.clone() for t in col] for col in (ps, gs, bufs)]
    kw = dict(lr=0.1, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.0, maximize=False, first=False,
              code=fp.L1, a=0.3, b=0.0)
    fused_prox_sgd_multi(ps, gs, bufs, **kw)
    for i in range(len(sizes)):
        fused_prox_sgd_ref(ref[0][i], ref[1][i], ref[2][i], **kw)
        torch.testing.assert_close(ps[i].double(), ref[0][i].double(), rtol=rtol, atol=atol)
        torch.testing.assert_close(bufs[i], ref[2][i], rtol=rtol, atol=atol)
    with pytest.raises(ValueError, match="one dtype and device"):
        fused_prox_sgd_multi([torch.zeros(3), torch.zeros(3, dtype=torch.float64)], [torch.zeros(3)] * 2, [None] * 2,
                             **{**kw, "momentum": 0.0, "nesterov": False})


def test_optimizer_triton_path_bfloat16(monkeypatch):
    """bfloat16 parameters with float32 moments in one launch, against the float32 reference."""
    def run(dtype, flags):
        gen = torch.Generator().manual_seed(0)
        ps = [torch.nn.Parameter(torch.randn(s, dtype=torch.float64, generator=gen).to(dtype))
              for s in [(3,), (1025,), (7, 9)]]
        opt = ProxAdam(ps, lr=0.05, penalty=L1(0.3), **flags)
        for _ in range(3):
            for p in ps:
                p.grad = torch.randn(p.shape, dtype=torch.float64, generator=gen).to(dtype)
            opt.step()
        return ps, opt

    ref, _ = run(torch.bfloat16, dict(foreach=False, fused=False))
    set_kernels_mode("triton")
    out, opt = run(torch.bfloat16, dict(fused=True))
    for p, q in zip(out, ref):
        assert p.dtype == torch.bfloat16 and opt.state[p]["exp_avg"].dtype == torch.float32
        torch.testing.assert_close(p.float(), q.float(), rtol=3e-2, atol=1e-2)  # a few bf16 ulps over 3 steps
