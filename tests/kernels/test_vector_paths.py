"""The 128-bit body and the scalar tail of the streaming kernels, under the interpreter.

Every kernel branches per tile: full tiles of 16-byte aligned tensors take the unmasked body,
the rest (partial tiles, misaligned views) the masked tail (proxgan/kernels/_tile.py). Both must give
the reference's values, and the same values as each other: a tensor computed through the
tail (a misaligned view) equals the same data computed through the body.
"""
from __future__ import annotations

import pytest
import torch

pytest.importorskip("triton")

from proxgan import kernels as K  # noqa: E402
from proxgan.kernels import fused_penalty as fp  # noqa: E402
from proxgan.kernels import fused_prox_adam_multi, fused_prox_adam_ref, fused_prox_sgd_multi, fused_prox_sgd_ref  # noqa: E402
from proxgan.kernels.soft_threshold import aligned16  # noqa: E402

BLOCK = 1024
# sizes: below a tile, exactly one and two tiles (body only), and full tiles plus a tail
SIZES = [5, BLOCK, 2 * BLOCK, 2 * BLOCK + 3]


def misaligned(t: torch.Tensor) -> torch.Tensor:
    """A copy of ``t`` whose storage starts one element past a 16-byte boundary."""
    base = torch.empty(t.numel() + 1, dtype=t.dtype)
    view = base[1:].view(t.shape)
    view.copy_(t)
    assert view.data_ptr() % 16 != 0
    return view


def test_alignment_check():
    x = torch.zeros(64)
    assert aligned16(x, x, None) == 1
    assert aligned16(x, x[1:]) == 0
    assert aligned16(x[4:]) == 1  # 16 bytes further


@pytest.mark.parametrize("op", ["soft", "hard"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("thr_kind", ["scalar", "tensor"])
def test_threshold_body_and_tail_match_reference(op, dtype, thr_kind):
    fn, ref = {"soft": (K.soft_threshold, K.soft_threshold_ref), "hard": (K.hard_threshold, K.hard_threshold_ref)}[op]
    for n in SIZES:
        x = (torch.randn(n, dtype=torch.float64) * 2).to(dtype)
        thr = 0.7 if thr_kind == "scalar" else torch.rand(n, dtype=torch.float32) * 2
        expected = ref(x, thr)
        body = fn(x, thr)
        tail = fn(misaligned(x), misaligned(thr) if thr_kind == "tensor" else thr)
        out = misaligned(torch.zeros_like(x))  # aligned input, misaligned destination
        fn(x, thr, out=out)
        for y in (body, tail, out):
            assert torch.equal(y, expected) if dtype in (torch.float32, torch.float64) else \
                torch.equal(y == 0, expected == 0)
            assert torch.equal(y, body)


ADAM_KW = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, step=3)
ADAM_FLAGS = [dict(weight_decay=0.1, decoupled=False, maximize=False, preconditioned=True),
              dict(weight_decay=0.1, decoupled=True, maximize=True, preconditioned=False),
              dict(weight_decay=0.0, decoupled=False, maximize=False, preconditioned=True)]


def _tensors(sizes, dtype, gen, scale=1.0, positive=False):
    out = []
    for n in sizes:
        t = torch.rand(n, generator=gen, dtype=torch.float64) if positive else torch.randn(n, generator=gen,
                                                                                            dtype=torch.float64)
        out.append((scale * t).to(dtype))
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("flags", range(len(ADAM_FLAGS)))
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_multi_mixed_alignment_matches_reference(dtype, flags, amsgrad):
    """One launch over aligned tensors (body + tail) and misaligned views (tail only)."""
    gen = torch.Generator().manual_seed(5)
    cd = torch.float64 if dtype == torch.float64 else torch.float32
    sizes = SIZES + SIZES
    cols = [_tensors(sizes, dtype, gen), _tensors(sizes, dtype, gen), _tensors(sizes, cd, gen, 0.1),
            _tensors(sizes, cd, gen, 0.1, positive=True), _tensors(sizes, cd, gen, 0.2, positive=True)]
    # the second half: every tensor a misaligned view (one column misaligned is enough for the tail)
    for k in range(len(SIZES), len(sizes)):
        cols[k % 5][k] = misaligned(cols[k % 5][k])
    ref = [[t.clone() for t in col] for col in cols]
    kw = dict(**ADAM_KW, **ADAM_FLAGS[flags], code=fp.L1, a=30.0, b=0.0)
    fused_prox_adam_multi(cols[0], cols[1], cols[2], cols[3], cols[4] if amsgrad else None, **kw)
    for i in range(len(sizes)):
        fused_prox_adam_ref(ref[0][i], ref[1][i], ref[2][i], ref[3][i], ref[4][i] if amsgrad else None, **kw)
    exact = dtype != torch.bfloat16
    for col, rcol in zip(cols, ref):
        for a, b in zip(col, rcol):
            if exact:
                torch.testing.assert_close(a, b, rtol=3e-6 if cd == torch.float32 else 1e-13, atol=1e-7)
            else:
                torch.testing.assert_close(a.float(), b.float(), rtol=1.6e-2, atol=1e-3)


def test_adam_body_and_tail_are_bitwise_equal():
    gen = torch.Generator().manual_seed(6)
    n = 2 * BLOCK + 3
    p, g = _tensors([n], torch.float32, gen)[0], _tensors([n], torch.float32, gen)[0]
    m, v = 0.1 * torch.randn(n, generator=gen), 0.1 * torch.rand(n, generator=gen)
    kw = dict(**ADAM_KW, **ADAM_FLAGS[0], code=fp.ENET, a=20.0, b=3.0)
    aligned = [p.clone(), g.clone(), m.clone(), v.clone()]
    skewed = [misaligned(t) for t in (p, g, m, v)]
    fused_prox_adam_multi(*[[t] for t in aligned], None, **kw)
    fused_prox_adam_multi(*[[t] for t in skewed], None, **kw)
    for a, b in zip(aligned, skewed):
        assert torch.equal(a, b)
    assert (aligned[0] == 0).any() and (aligned[0] != 0).any()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
@pytest.mark.parametrize("variant", ["plain", "first", "momentum", "nesterov-max"])
@pytest.mark.parametrize("code", [fp.L1, fp.L0, fp.BOX])
def test_sgd_multi_mixed_alignment_matches_reference(dtype, variant, code):
    gen = torch.Generator().manual_seed(7)
    cd = torch.float64 if dtype == torch.float64 else torch.float32
    mu = 0.0 if variant == "plain" else 0.9
    sizes = SIZES + SIZES
    cols = [_tensors(sizes, dtype, gen), _tensors(sizes, dtype, gen), _tensors(sizes, cd, gen)]
    for k in range(len(SIZES), len(sizes)):
        cols[k % 3][k] = misaligned(cols[k % 3][k])
    bufs = cols[2] if mu else [None] * len(sizes)
    ref = [[t.clone() for t in col] for col in cols]
    a, b = {fp.L1: (0.3, 0.0), fp.L0: (2e-3, 0.0), fp.BOX: (-0.4, 0.5)}[code]
    kw = dict(lr=0.1, momentum=mu, dampening=0.0 if "nesterov" in variant else 0.1, nesterov="nesterov" in variant,
              weight_decay=0.01, maximize="max" in variant, first=variant == "first", code=code, a=a, b=b)
    fused_prox_sgd_multi(cols[0], cols[1], bufs, **kw)
    for i in range(len(sizes)):
        fused_prox_sgd_ref(ref[0][i], ref[1][i], ref[2][i] if mu else None, **kw)
    tol = {torch.float64: (1e-13, 1e-15), torch.float32: (3e-6, 1e-7), torch.float16: (1e-3, 1e-3)}[dtype]
    for x, y in zip(cols[0], ref[0]):
        torch.testing.assert_close(x.double(), y.double(), rtol=tol[0], atol=tol[1])
        if dtype != torch.float16:
            assert torch.equal(x == 0, y == 0)
    if mu:
        for x, y in zip(cols[2], ref[2]):
            torch.testing.assert_close(x, y, rtol=tol[0], atol=tol[1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("shape", [(37, 64), (5, 2048 + 8), (33, 7), (3, 1030)])
def test_group_threshold_aligned_rows_and_tail_match_reference(dtype, shape):
    """Rows of a multiple of 16 bytes in an aligned matrix take the 128-bit path, the rest the scalar one."""
    x = torch.randn(shape, dtype=torch.float64).to(dtype)
    norms = torch.linalg.vector_norm(x.double(), dim=1).sort().values
    k = shape[0] // 2
    thr = 0.5 * (norms[k - 1] + norms[k]).item()  # between two groups' norms: about half vanish
    expected = K.group_soft_threshold_ref(x, thr)
    body = K.group_soft_threshold(x, thr)
    tail = K.group_soft_threshold(misaligned(x), thr)
    if dtype == torch.bfloat16:
        torch.testing.assert_close(body.float(), expected.float(), rtol=1.6e-2, atol=1e-3)
    else:
        torch.testing.assert_close(body, expected, rtol=1e-12 if dtype == torch.float64 else 1e-5, atol=1e-7)
    assert torch.equal(body, tail)
    assert torch.equal((body == 0).all(dim=1), (expected == 0).all(dim=1))
    assert (body == 0).all(dim=1).any() and (body != 0).any()
