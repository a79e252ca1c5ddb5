"""The fused N:M step (one pass: the smooth step, then each block projected) against the reference.

ProxAdam and ProxSGD with :class:`~proxgan.penalties.NM` take the fused CPU kernels by
default (:func:`proxgan._dispatch.step_impl`); ``foreach=False`` is the for-loop
reference (the smooth step, then :func:`proxgan.kernels.nm_project.nm_project_torch`).
The shapes cover linear weights (blocks of contiguous entries), convolution weights
(blocks strided by the kernel size), a tensor split over several parallel tiles, and
several tensors in one call.
"""
from __future__ import annotations

import pytest
import torch

from proxgan._dispatch import step_impl
from proxgan._lowering import FUSED_MAX_M, lower
from proxgan.nm import is_nm_sparse
from proxgan.optim import ProxAdam, ProxSGD
from proxgan.penalties import NM

SHAPES = [(8, 12), (6, 8, 3, 3), (5, 16, 2), (3, 4, 5, 1)]
BIG = [(40, 2048)]  # 81,920 entries: two tiles, the parallel kernel when torch has 2 threads
CONFIGS = {
    "adam": (ProxAdam, dict(lr=0.05)),
    "adam-scalar-prox": (ProxAdam, dict(lr=0.05, prox="scalar")),
    "adam-amsgrad-wd-maximize": (ProxAdam, dict(lr=0.05, amsgrad=True, weight_decay=0.1, maximize=True)),
    "adamw": (ProxAdam, dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True)),
    "sgd-momentum": (ProxSGD, dict(lr=0.05, momentum=0.9)),
    "sgd-nesterov-wd": (ProxSGD, dict(lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.1)),
}


def trajectory(cls, kw, penalty, shapes, dtype, steps=4, **flags):
    gen = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(s, dtype=torch.float64, generator=gen).to(dtype)) for s in shapes]
    opt = cls(params, penalty=penalty, **kw, **flags)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, dtype=torch.float64, generator=gen).to(dtype)
        opt.step()
    return params, opt


def assert_paths_agree(fused, ref, dtype):
    # float64: to rounding; float32: to a few ulps of the step (the fused kernel ranks u²·D,
    # the reference u²/(lr/D): equal orders up to rounding)
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)
    for p, q in zip(fused, ref):
        assert torch.equal(p == 0, q == 0)
        torch.testing.assert_close(p, q, **tol)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("cfg", list(CONFIGS))
def test_fused_nm_step_equals_the_reference(cfg, dtype):
    cls, kw = CONFIGS[cfg]
    fused, opt = trajectory(cls, kw, NM(2, 4), SHAPES, dtype)
    assert {step_impl(p, foreach=None, fused=None, lowering=lower(NM(2, 4))) for p in fused} == {"fused"}
    ref, opt_ref = trajectory(cls, kw, NM(2, 4), SHAPES, dtype, foreach=False)
    assert_paths_agree(fused, ref, dtype)
    for p, q in zip(fused, ref):
        assert is_nm_sparse(p, 2, 4)
        for k, v in opt_ref.state[q].items():
            if k != "step":
                torch.testing.assert_close(opt.state[p][k], v, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("n,m,dtype", [(3, 8, torch.float32), (2, 3, torch.float32)])
def test_other_patterns(n, m, dtype):  # 8 float32 lanes hold one 3:8 block; 2:3 has no lane form (generic code)
    shapes = [(6, 2 * m + 8 * m), (4, m, 3, 3)]
    fused, _ = trajectory(ProxAdam, dict(lr=0.05), NM(n, m), shapes, dtype)
    ref, _ = trajectory(ProxAdam, dict(lr=0.05), NM(n, m), shapes, dtype, foreach=False)
    assert_paths_agree(fused, ref, dtype)
    assert all(is_nm_sparse(p, n, m) for p in fused)


@pytest.mark.parametrize("threads", [1, 2])
def test_tiles_and_threads(threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        fused, _ = trajectory(ProxAdam, dict(lr=0.05), NM(2, 4), BIG + SHAPES, torch.float32, steps=2)
    finally:
        torch.set_num_threads(before)
    ref, _ = trajectory(ProxAdam, dict(lr=0.05), NM(2, 4), BIG + SHAPES, torch.float32, steps=2, foreach=False)
    assert_paths_agree(fused, ref, torch.float32)


def test_dispatch_of_nm():
    f32 = torch.nn.Parameter(torch.randn(4, 8))
    bf16 = torch.nn.Parameter(torch.randn(4, 8, dtype=torch.bfloat16))
    nm = lower(NM(2, 4))
    assert step_impl(f32, foreach=None, fused=None, lowering=nm) == "fused"
    assert step_impl(bf16, foreach=None, fused=None, lowering=nm) == "foreach"
    assert step_impl(f32, foreach=None, fused=False, lowering=nm) == "foreach"
    wide = lower(NM(2, 2 * FUSED_MAX_M))  # too wide a block for the straight-line kernel
    assert step_impl(torch.nn.Parameter(torch.randn(2, 2 * FUSED_MAX_M)), foreach=None, fused=None,
                     lowering=wide) == "foreach"
    with pytest.raises(ValueError, match="fused=True supports"):
        ProxAdam([torch.nn.Parameter(torch.randn(2, 2 * FUSED_MAX_M))], penalty=NM(2, 2 * FUSED_MAX_M), fused=True)
    ProxAdam([f32], penalty=NM(2, 4), fused=True)  # accepted


def test_triton_mode_keeps_nm_on_the_cpu_kernel():
    from proxgan._dispatch import set_kernels_mode
    from proxgan.kernels import triton_available

    if not triton_available():
        pytest.skip("Triton is not installed")
    set_kernels_mode("triton")  # restored by the autouse fixture
    assert step_impl(torch.nn.Parameter(torch.randn(4, 8)), foreach=None, fused=None,
                     lowering=lower(NM(2, 4))) == "fused"


def test_nan_gradient_is_kept_not_hidden():
    fused, _ = trajectory(ProxAdam, dict(lr=0.05), NM(2, 4), [(2, 8)], torch.float64, steps=1)
    p = fused[0]
    p.grad = torch.zeros_like(p)
    p.grad[0, 1] = float("nan")
    opt = ProxAdam([p], lr=0.05, penalty=NM(2, 4))
    ref = torch.nn.Parameter(p.detach().clone())
    ref.grad = p.grad.clone()
    opt_ref = ProxAdam([ref], lr=0.05, penalty=NM(2, 4), foreach=False)
    opt.step()
    opt_ref.step()
    assert p[0, 1].isnan() and ref[0, 1].isnan()
    torch.testing.assert_close(p, ref, equal_nan=True)
