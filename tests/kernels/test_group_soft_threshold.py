"""Group soft-thresholding: Triton kernel (CPU interpreter) and PyTorch path vs the reference."""
import pytest
import torch

from proxgan import kernels as K
from proxgan.kernels.group_soft_threshold import group_view

CASES = [((1,), 0), ((1023,), 0), ((1025, 1), 0), ((123, 457), 0), ((123, 457), 1), ((123, 457), -1),
         ((8, 3, 5, 5), 0), ((8, 3, 5, 5), 1), ((0, 5), 0), ((5, 0), 0), ((2, 2100), 0)]
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


def _close(a, b, dtype):
    assert a.shape == b.shape and a.dtype == b.dtype
    tol = {torch.float64: 1e-13, torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}[dtype]
    torch.testing.assert_close(a.double(), b.double(), rtol=tol, atol=tol)


def _x(shape, dtype):
    x = torch.randn(shape, dtype=torch.float64)
    return x.to(dtype)


@pytest.mark.parametrize("shape,dim", CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_reference(shape, dim, dtype):
    x = _x(shape, dtype)
    g = x.shape[dim % x.dim()]
    m = x.numel() // max(g, 1)
    thr = 0.8 * m ** 0.5  # about half the groups survive
    expected = K.group_soft_threshold_ref(x, thr, dim)
    for fn in (K.group_soft_threshold, K.group_soft_threshold_torch):
        _close(fn(x, thr, dim), expected, dtype)
        y = x.clone()
        assert fn(y, thr, dim, out=y) is y
        _close(y, expected, dtype)
        # zero groups are exactly zero in every path
        zero_ref = group_view(K.group_soft_threshold_ref(x, thr, dim), dim)[1].abs().sum(1) == 0
        zero = group_view(y, dim)[1].abs().sum(1) == 0
        if dtype in (torch.float32, torch.float64):
            assert torch.equal(zero, zero_ref)
    # a threshold per group
    tg = torch.rand(g, dtype=torch.float64) * 2 * thr
    expected = K.group_soft_threshold_ref(x, tg, dim)
    for fn in (K.group_soft_threshold, K.group_soft_threshold_torch):
        _close(fn(x, tg.to(x.device), dim), expected, dtype)


@pytest.mark.parametrize("fn", [K.group_soft_threshold, K.group_soft_threshold_torch])
def test_non_contiguous(fn):
    base = torch.randn(40, 90, dtype=torch.float64)
    for v, dim in ((base.t(), 0), (base[:, ::3], 0), (base[::2, 5:], 1)):
        expected = K.group_soft_threshold_ref(v, 2.0, dim)
        _close(fn(v, 2.0, dim), expected, torch.float64)
        b2 = base.clone()
        v2 = b2.t() if v.shape == base.t().shape else (b2[:, ::3] if v.shape == base[:, ::3].shape else b2[::2, 5:])
        fn(v2, 2.0, dim, out=v2)
        _close(v2, expected, torch.float64)


@pytest.mark.parametrize("fn", [K.group_soft_threshold, K.group_soft_threshold_torch, K.group_soft_threshold_ref])
def test_norm_exactly_at_threshold(fn):
    x = torch.tensor([[3.0, 4.0], [6.0, 8.0], [0.0, 0.0]], dtype=torch.float64)
    y = fn(x, 5.0, 0)
    assert torch.equal(y[0], torch.zeros(2, dtype=torch.float64))  # ||x_g|| = 5 = thr -> zero
    torch.testing.assert_close(y[1], torch.tensor([3.0, 4.0], dtype=torch.float64))
    assert torch.equal(y[2], torch.zeros(2, dtype=torch.float64))  # zero group stays zero, no NaN


@pytest.mark.parametrize("fn", [K.group_soft_threshold, K.group_soft_threshold_torch])
def test_bad_input_raises_and_leaves_input_untouched(fn):
    x = torch.randn(4, 6)
    before = x.clone()
    for args, exc, msg in [
        ((x, -1.0, 0), ValueError, ">= 0"),
        ((x, float("nan"), 0), ValueError, ">= 0"),
        ((x, 1.0, 2), ValueError, "out of range"),
        ((x, 1.0, -3), ValueError, "out of range"),
        ((x, torch.ones(5), 0), ValueError, r"shape \(4,\)"),
        ((x, torch.ones(4, dtype=torch.int32), 0), TypeError, "floating"),
        ((x, 1.0, 1.5), TypeError, "dim must be an int"),
    ]:
        with pytest.raises(exc, match=msg):
            fn(*args, out=x)
        assert torch.equal(x, before)
    with pytest.raises(ValueError, match="out of range"):
        fn(torch.tensor(1.0), 1.0, 0)
    with pytest.raises(TypeError, match="real floating"):
        fn(torch.ones(3, 3, dtype=torch.int64), 1.0, 0)
