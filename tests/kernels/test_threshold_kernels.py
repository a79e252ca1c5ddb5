"""Triton soft/hard-thresholding kernels (under the CPU interpreter) and the fast PyTorch
paths, against the plain-PyTorch references."""
import pytest
import torch

from proxgan import kernels as K

SHAPES = [(1,), (1023,), (1025,), (123, 457), (0,)]
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
OPS = {
    "soft": (K.soft_threshold, K.soft_threshold_torch, K.soft_threshold_ref),
    "hard": (K.hard_threshold, K.hard_threshold_torch, K.hard_threshold_ref),
}


def _assert_close(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype in (torch.float32, torch.float64):
        assert torch.equal(a, b), (a - b).abs().max()
    else:  # half types: one rounding of an fp32 result; allow one unit in the last place
        eps = torch.finfo(a.dtype).eps
        torch.testing.assert_close(a.float(), b.float(), rtol=eps, atol=0)
    # zeros land in the same places
    assert torch.equal(a == 0, b == 0)


def _x(shape, dtype):
    return (torch.randn(shape, dtype=torch.float64) * 2).to(dtype)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("thr_kind", ["scalar", "tensor", "0d"])
def test_kernel_and_fast_path_match_reference(op, shape, dtype, thr_kind):
    triton_fn, torch_fn, ref = OPS[op]
    x = _x(shape, dtype)
    if thr_kind == "scalar":
        thr = 0.7
    elif thr_kind == "0d":
        thr = torch.tensor(0.7, dtype=torch.float64)
    else:
        thr = torch.rand(shape, dtype=torch.float32) * 2
    expected = ref(x, thr)
    _assert_close(triton_fn(x, thr), expected)
    _assert_close(torch_fn(x, thr), expected)
    # in place
    for fn in (triton_fn, torch_fn):
        y = x.clone()
        res = fn(y, thr, out=y)
        assert res is y
        _assert_close(y, expected)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_non_contiguous_views(op, dtype):
    triton_fn, torch_fn, ref = OPS[op]
    base = _x((64, 130), dtype)
    views = [base[:, ::2], base.t(), base[3:50, 7:129:3]]
    for v in views:
        assert not v.is_contiguous()
        expected = ref(v, 0.5)
        _assert_close(triton_fn(v, 0.5), expected)
        _assert_close(torch_fn(v, 0.5), expected)
        thr = torch.rand(v.shape, dtype=dtype).t().contiguous().t()  # non-contiguous threshold too
        _assert_close(triton_fn(v, thr), ref(v, thr))
        # in place on a view writes through to the base tensor and nowhere else
        for fn in (triton_fn, torch_fn):
            b2 = base.clone()
            v2 = b2.t() if v.shape == base.t().shape else (b2[:, ::2] if v.shape == base[:, ::2].shape else b2[3:50, 7:129:3])
            fn(v2, 0.5, out=v2)
            _assert_close(v2, expected)
            mask = torch.ones_like(b2, dtype=torch.bool)
            if v2.shape == b2.t().shape:
                mask[:] = False
            elif v2.shape == b2[:, ::2].shape:
                mask[:, ::2] = False
            else:
                mask[3:50, 7:129:3] = False
            assert torch.equal(b2[mask], base[mask])


@pytest.mark.parametrize("dtype", DTYPES)
def test_exactly_at_threshold(dtype):
    thr = 0.5  # exactly representable in every dtype
    x = torch.tensor([-0.5, 0.5, -0.5, 0.5, 0.0, 1.5, -1.5], dtype=dtype)
    for fn in (K.soft_threshold, K.soft_threshold_torch, K.soft_threshold_ref):
        y = fn(x, thr)
        assert torch.equal(y, torch.tensor([0, 0, 0, 0, 0, 1.0, -1.0], dtype=dtype))
        assert (y[:5] == 0).all()  # -0.0 counts as an exact zero (torch softshrink returns it)
    for fn in (K.hard_threshold, K.hard_threshold_torch, K.hard_threshold_ref):
        y = fn(x, thr)  # survive only strictly above the threshold
        assert torch.equal(y, torch.tensor([0, 0, 0, 0, 0, 1.5, -1.5], dtype=dtype))
    # per-element thresholds equal to |x|
    t = x.abs().to(torch.float32)
    assert (K.soft_threshold(x, t) == 0).all() and (K.hard_threshold(x, t) == 0).all()


def test_zero_threshold_is_identity():
    x = torch.randn(1025)
    assert torch.equal(K.soft_threshold(x, 0.0), x)
    assert torch.equal(K.hard_threshold(x, 0.0), x)


BAD_CALLS = [
    (lambda x: (x, -1.0), ValueError, "thr must be a finite number >= 0"),
    (lambda x: (x, float("nan")), ValueError, "finite number >= 0"),
    (lambda x: (x, float("inf")), ValueError, "finite number >= 0"),
    (lambda x: (x, torch.rand(7)), ValueError, "does not broadcast"),
    (lambda x: (x, torch.ones(x.shape, dtype=torch.int64)), TypeError, "floating"),
    (lambda x: (x, "0.5"), TypeError, "finite number"),
]


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("bad", range(len(BAD_CALLS)))
def test_bad_threshold_raises_and_leaves_input_untouched(op, which, bad):
    fn = OPS[op][which]
    make, exc, msg = BAD_CALLS[bad]
    x = torch.randn(5, 4)
    before = x.clone()
    args = make(x)
    with pytest.raises(exc, match=msg):
        fn(*args, out=x)
    assert torch.equal(x, before)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize("x", [torch.arange(5), torch.ones(3, dtype=torch.complex64), torch.ones(3, dtype=torch.bool)])
def test_integer_complex_bool_tensors_rejected(op, which, x):
    with pytest.raises(TypeError, match="real floating dtype"):
        OPS[op][which](x, 0.5)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("which", [0, 1])
def test_bad_out_rejected(op, which):
    fn = OPS[op][which]
    x = torch.randn(6)
    out = torch.zeros(6, dtype=torch.float64)
    with pytest.raises(ValueError, match="out must match x"):
        fn(x, 0.1, out=out)
    assert torch.equal(out, torch.zeros(6, dtype=torch.float64))
    with pytest.raises(ValueError, match="out must match x"):
        fn(x, 0.1, out=torch.zeros(5))


def test_sparse_tensor_rejected():
    x = torch.randn(4, 4).to_sparse()
    with pytest.raises(TypeError, match="dense"):
        K.soft_threshold(x, 0.1)
    with pytest.raises(TypeError, match="dense"):
        K.soft_threshold_ref(x, 0.1)


def test_launcher_refuses_cpu_tensor_without_interpreter(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(K.TritonUnavailableError, match="CUDA tensors"):
        K.soft_threshold(torch.randn(3), 0.1)
