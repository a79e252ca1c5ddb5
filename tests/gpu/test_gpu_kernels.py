"""Triton kernels on CUDA against their ``*_ref`` twins, in every dtype, including the 128-bit
body (aligned full tiles) and the scalar tail (odd sizes, misaligned views)."""
import pytest
import torch

from proxgan import kernels as K
from proxgan.kernels import fused_penalty as fp

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
SIZES = [1, 1023, 4096, 4096 * 3 + 5, 1 << 20]
DEV = "cuda"


def _assert_close(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype in (torch.float32, torch.float64):
        assert torch.equal(a, b), (a - b).abs().max()
    else:
        eps = torch.finfo(a.dtype).eps
        torch.testing.assert_close(a.float(), b.float(), rtol=eps, atol=0)
    assert torch.equal(a == 0, b == 0)


def _skewed(t):
    base = torch.empty(t.numel() + 1, dtype=t.dtype, device=t.device)
    v = base[1:].view(t.shape)
    v.copy_(t)
    return v


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["soft", "hard"])
@pytest.mark.parametrize("thr_kind", ["scalar", "tensor"])
def test_threshold_kernels_match_reference(compiled_kernels, dtype, op, thr_kind):
    fn, ref = {"soft": (K.soft_threshold, K.soft_threshold_ref), "hard": (K.hard_threshold, K.hard_threshold_ref)}[op]
    for n in SIZES:
        x = (torch.randn(n, device=DEV, dtype=torch.float64) * 2).to(dtype)
        thr = 0.7 if thr_kind == "scalar" else torch.rand(n, device=DEV) * 2
        expected = ref(x, thr)
        _assert_close(fn(x, thr), expected)
        _assert_close(fn(_skewed(x), _skewed(thr) if thr_kind == "tensor" else thr), expected)
        y = x.clone()
        fn(y, thr, out=y)
        _assert_close(y, expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_group_soft_threshold_matches_reference(compiled_kernels, dtype):
    for shape, dim in [((64, 300), 0), ((17, 5, 3, 3), 0), ((33, 2048), 1)]:
        x = torch.randn(shape, device=DEV, dtype=torch.float64).to(dtype)
        got, want = K.group_soft_threshold(x, 3.0, dim=dim), K.group_soft_threshold_ref(x, 3.0, dim=dim)
        tol = {torch.float64: 1e-12, torch.float32: 1e-5}.get(dtype, 1e-2)
        torch.testing.assert_close(got.double(), want.double(), rtol=tol, atol=tol)


CODES = {"none": (fp.NONE, 0.0, 0.0), "l1": (fp.L1, 30.0, 0.0), "l2": (fp.L2, 0.5, 0.0), "enet": (fp.ENET, 20.0, 3.0),
         "l0": (fp.L0, 0.2, 0.0), "box": (fp.BOX, -0.4, 0.5)}


def _tol(dtype):
    return {torch.float64: (1e-13, 1e-15), torch.float32: (3e-6, 1e-7)}.get(dtype, (1.6e-2, 1e-3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("code", list(CODES))
@pytest.mark.parametrize("amsgrad", [False, True])
def test_fused_prox_adam_multi_matches_reference(compiled_kernels, dtype, code, amsgrad):
    gen = torch.Generator(device=DEV).manual_seed(1)
    cd = torch.float64 if dtype == torch.float64 else torch.float32
    sizes = [5, 4096, 4096 * 2 + 7, 100_003]
    rnd = lambda n, dt, s=1.0: (s * torch.randn(n, generator=gen, device=DEV, dtype=torch.float64)).to(dt)  # noqa: E731
    cols = [[rnd(n, dtype) for n in sizes], [rnd(n, dtype) for n in sizes], [rnd(n, cd, 0.1) for n in sizes],
            [rnd(n, cd, 0.1).abs() for n in sizes], [rnd(n, cd, 0.2).abs() for n in sizes]]
    cols[0][1] = _skewed(cols[0][1])  # one misaligned tensor: tail path for it only
    ref = [[t.clone() for t in col] for col in cols]
    c, a, b = CODES[code]
    kw = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, decoupled=True, maximize=False, step=3,
              preconditioned=True, code=c, a=a, b=b)
    K.fused_prox_adam_multi(cols[0], cols[1], cols[2], cols[3], cols[4] if amsgrad else None, **kw)
    for i in range(len(sizes)):
        K.fused_prox_adam_ref(ref[0][i], ref[1][i], ref[2][i], ref[3][i], ref[4][i] if amsgrad else None, **kw)
    rtol, atol = _tol(dtype)
    for x, y in zip(cols[0] + cols[2], ref[0] + ref[2]):
        torch.testing.assert_close(x.double(), y.double(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("code", list(CODES))
@pytest.mark.parametrize("variant", ["plain", "first", "nesterov-max"])
def test_fused_prox_sgd_multi_matches_reference(compiled_kernels, dtype, code, variant):
    gen = torch.Generator(device=DEV).manual_seed(2)
    cd = torch.float64 if dtype == torch.float64 else torch.float32
    mu = 0.0 if variant == "plain" else 0.9
    sizes = [5, 4096, 4096 * 2 + 7, 100_003]
    ps = [torch.randn(n, generator=gen, device=DEV, dtype=torch.float64).to(dtype) for n in sizes]
    gs = [torch.randn(n, generator=gen, device=DEV, dtype=torch.float64).to(dtype) for n in sizes]
    bufs = [torch.randn(n, generator=gen, device=DEV, dtype=cd) if mu else None for n in sizes]
    ref = [[t.clone() if t is not None else None for t in col] for col in (ps, gs, bufs)]
    c, a, b = {**CODES, "l1": (fp.L1, 0.3, 0.0), "enet": (fp.ENET, 0.2, 0.3), "l0": (fp.L0, 2e-3, 0.0)}[code]
    kw = dict(lr=0.1, momentum=mu, dampening=0.0, nesterov="nesterov" in variant, weight_decay=0.01,
              maximize="max" in variant, first=variant == "first", code=c, a=a, b=b)
    K.fused_prox_sgd_multi(ps, gs, bufs, **kw)
    for i in range(len(sizes)):
        K.fused_prox_sgd_ref(ref[0][i], ref[1][i], ref[2][i], **kw)
    rtol, atol = _tol(dtype)
    for x, y in zip(ps, ref[0]):
        torch.testing.assert_close(x.double(), y.double(), rtol=rtol, atol=atol)
