"""Penalties: values, prox formulas, dispatch, optimality measure and bad input."""
import math

import pytest
import torch

from proxgan._dispatch import set_kernels_mode

from proxgan.penalties import L0, L1, L2, Box, ElasticNet, GroupL1, NonNegative

D = torch.float64


def t(*v):
    return torch.tensor(v, dtype=D)


ALL = [L1(0.3), L1(0.3, weights=t(1.0, 0.0, 2.0, 0.5)), L2(0.7), ElasticNet(0.6, 0.3), ElasticNet(0.6, 1.0),
       ElasticNet(0.6, 0.0), GroupL1(0.4), GroupL1(0.4, dim=1), L0(0.2), Box(-0.5, 0.25), NonNegative()]


def test_values():
    x = t(-2.0, 0.0, 1.0, 3.0)
    assert L1(0.5).value(x).item() == pytest.approx(3.0)
    assert L1(0.5, weights=t(1, 1, 0, 2)).value(x).item() == pytest.approx(0.5 * (2 + 0 + 0 + 6))
    assert L2(2.0).value(x).item() == pytest.approx(14.0)
    assert ElasticNet(2.0, 0.25).value(x).item() == pytest.approx(2.0 * (0.25 * 6 + 0.5 * 0.75 * 14))
    assert L0(0.5).value(x).item() == pytest.approx(1.5)
    x2 = t(3.0, 4.0, 0.0, 0.0, 6.0, 8.0).reshape(3, 2)
    assert GroupL1(1.5).value(x2).item() == pytest.approx(1.5 * 15)
    assert GroupL1(1.0, dim=1).value(x2).item() == pytest.approx(math.hypot(3, 6) + math.hypot(4, 8))
    assert Box(-2, 3).value(x).item() == 0 and Box(-1, 3).value(x).item() == math.inf
    assert NonNegative().value(x).item() == math.inf and NonNegative().value(x.abs()).item() == 0


def test_prox_closed_forms():
    x = t(-2.0, -0.3, 0.0, 0.5, 1.0)
    torch.testing.assert_close(L1(0.5).prox(x, 2.0), t(-1.0, 0, 0, 0, 0))
    torch.testing.assert_close(L1(1.0, weights=t(1, 0, 1, 1, 0.5)).prox(x, 0.4), t(-1.6, -0.3, 0, 0.1, 0.8))
    torch.testing.assert_close(L2(1.0).prox(x, 3.0), x / 4)
    torch.testing.assert_close(ElasticNet(1.0, 0.5).prox(x, 1.0), t(-1.5, 0, 0, 0, 0.5) / 1.5)
    torch.testing.assert_close(L0(0.5).prox(x, 1.0), t(-2.0, 0, 0, 0, 0))  # threshold sqrt(2*1*0.5) = 1
    torch.testing.assert_close(Box(-0.5, 0.5).prox(x, 10.0), t(-0.5, -0.3, 0, 0.5, 0.5))
    torch.testing.assert_close(NonNegative().prox(x), t(0, 0, 0, 0.5, 1.0))
    g = GroupL1(1.0).prox(t(3.0, 4.0, 0.3, 0.4).reshape(2, 2), 1.0)
    torch.testing.assert_close(g, t(2.4, 3.2, 0, 0).reshape(2, 2))


def test_per_coordinate_step():
    x = t(-2.0, 1.0, 1.0, 3.0)
    s = t(1.0, 0.5, 3.0, 0.0)
    torch.testing.assert_close(L1(1.0).prox(x, s), t(-1.0, 0.5, 0.0, 3.0))
    torch.testing.assert_close(L2(1.0).prox(x, s), x / (1 + s))
    torch.testing.assert_close(L0(1.0).prox(x, s), t(-2.0, 0.0, 0.0, 3.0))  # thresholds sqrt(2s); |x| = 1 at 1 -> 0
    # a step broadcast along rows
    w = torch.randn(4, 5, dtype=D)
    srow = torch.rand(4, 1, dtype=D)
    torch.testing.assert_close(L1(0.3).prox(w, srow), torch.stack([L1(0.3).prox(w[i], srow[i, 0].item()) for i in range(4)]))
    # GroupL1 with one step per group is exact group soft-thresholding
    torch.testing.assert_close(GroupL1(0.3).prox(w, srow), torch.stack([GroupL1(0.3, dim=0).prox(w[i:i + 1], srow[i, 0].item())[0] for i in range(4)]))


@pytest.mark.parametrize("pen", ALL, ids=repr)
@pytest.mark.parametrize("step_kind", ["scalar", "tensor"])
def test_prox_point_is_stationary(pen, step_kind):
    """y = prox_{s g}(x) satisfies (x - y)/s in the subdifferential of g at y."""
    x = torch.randn(4, 4, dtype=D) * 2
    s = 0.7 if step_kind == "scalar" else torch.rand(4, 4, dtype=D) + 0.2
    y = pen.prox(x, s)
    grad = (y - x) / s  # gradient at y of the quadratic part, scaled by the metric
    assert pen.optimality(y, grad) < 1e-9
    # and a point that is not a prox point is detected
    if not isinstance(pen, (Box,)):
        assert pen.optimality(y + 0.5, grad) > 1e-3 or isinstance(pen, L0)


def test_group_metric_prox_accuracy():
    """Steps that vary inside a group: the root-find solves the KKT system to ~1e-12."""
    x = torch.randn(50, 7, dtype=D)
    s = torch.rand(50, 7, dtype=D) + 0.5
    pen = GroupL1(3.0)
    y = pen.prox(x, s)
    assert (y.abs().sum(1) == 0).any() and (y.abs().sum(1) > 0).any()
    assert pen.optimality(y, (y - x) / s) < 1e-10
    # uniform steps inside each group reduce to the closed form
    scol = torch.rand(50, 1, dtype=D)
    su = scol.expand(50, 7).contiguous()  # a full tensor: solved by the root-find
    torch.testing.assert_close(pen.prox(x, su), pen.prox(x, scol), rtol=1e-10, atol=1e-10)  # closed form
    # a zero step pins its coordinate
    s0 = s.clone()
    s0[:, 0] = 0
    y0 = pen.prox(x, s0)
    assert torch.equal(y0[:, 0], x[:, 0])


@pytest.mark.parametrize("pen", ALL, ids=repr)
def test_in_place_and_out(pen):
    x = torch.randn(4, 4, dtype=D)
    expected = pen.prox(x, 0.5)
    y = x.clone()
    assert pen.prox(y, 0.5, out=y) is y
    torch.testing.assert_close(y, expected)
    o = torch.empty(4, 4, dtype=D)
    pen.prox(x, 0.5, out=o)
    torch.testing.assert_close(o, expected)


@pytest.mark.parametrize("pen", ALL, ids=repr)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_low_precision_follows_float64(pen, dtype):
    x = torch.randn(4, 4, dtype=D)
    y = pen.prox(x.to(dtype), 0.5)
    assert y.dtype == dtype
    tol = {torch.float32: 1e-6, torch.float16: 2e-3, torch.bfloat16: 2e-2}[dtype]
    torch.testing.assert_close(y.double(), pen.prox(x.to(dtype).double(), 0.5), rtol=tol, atol=tol)


@pytest.mark.parametrize("pen", ALL, ids=repr)
def test_triton_dispatch_matches_torch_path(pen, monkeypatch):
    x = torch.randn(33, 4, dtype=torch.float32)
    for s in (0.5, torch.rand(33, 4) + 0.1):
        set_kernels_mode("torch")
        a = pen.prox(x, s)
        set_kernels_mode("triton")
        b = pen.prox(x, s)
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
        assert torch.equal(a == 0, b == 0)


def test_empty_and_scalar_tensors():
    for pen in ALL:
        if (isinstance(pen, GroupL1) and pen.dim == 1) or getattr(pen, "weights", None) is not None:
            continue
        e = torch.empty(0, dtype=D)
        assert pen.prox(e, 0.3).shape == (0,)
    assert L1(1.0).prox(torch.tensor(0.5, dtype=D), 1.0).item() == 0
    with pytest.raises(ValueError, match="out of range"):
        GroupL1(1.0).prox(torch.tensor(0.5), 1.0)


@pytest.mark.parametrize("make,exc,msg", [
    (lambda: L1(-1), ValueError, "lam must be a finite number >= 0, got -1"),
    (lambda: L1(float("nan")), ValueError, "lam must be a finite number >= 0"),
    (lambda: L2(float("inf")), ValueError, "lam must be a finite number >= 0"),
    (lambda: L0("1"), TypeError, "lam must be a finite number"),
    (lambda: L1(True), TypeError, "lam must be a finite number"),
    (lambda: ElasticNet(1.0, 1.5), ValueError, r"l1_ratio must be a number in \[0, 1\]"),
    (lambda: ElasticNet(1.0, -0.1), ValueError, r"l1_ratio must be a number in \[0, 1\]"),
    (lambda: ElasticNet(1.0, float("nan")), ValueError, r"l1_ratio"),
    (lambda: Box(1.0, 0.0), ValueError, "lo must be <= hi"),
    (lambda: Box(float("nan"), 0.0), ValueError, "lo must be a number"),
    (lambda: GroupL1(1.0, dim=0.5), TypeError, "dim must be an int"),
    (lambda: L1(1.0, weights=torch.tensor([1.0, -1.0])), ValueError, "weights must be finite and >= 0"),
    (lambda: L1(1.0, weights=torch.tensor([1, 2])), TypeError, "weights must be a real floating"),
])
def test_bad_hyperparameters(make, exc, msg):
    with pytest.raises(exc, match=msg):
        make()


@pytest.mark.parametrize("pen", ALL, ids=repr)
def test_bad_calls_raise_and_leave_input_untouched(pen):
    x = torch.randn(4, 4, dtype=D)
    before = x.clone()
    bad = [
        ((x, -0.1), ValueError, "step must be a finite number >= 0"),
        ((x, float("nan")), ValueError, "step must be a finite number >= 0"),
        ((x, torch.ones(3, dtype=D)), ValueError, "does not broadcast"),
        ((x, torch.ones(4, 4, dtype=torch.int64)), TypeError, "real floating"),
        ((x, torch.tensor([[-1.0]], dtype=D)), ValueError, "finite numbers >= 0"),
        ((x, torch.full((4, 1), float("nan"), dtype=D)), ValueError, "finite numbers >= 0"),
    ]
    for args, exc, msg in bad:
        with pytest.raises(exc, match=msg):
            pen.prox(*args, out=x)
        assert torch.equal(x, before)
    with pytest.raises(ValueError, match="out must match"):
        pen.prox(x, 0.1, out=torch.zeros(4, 4, dtype=torch.float32))
    for bad_x in (torch.ones(4, 4, dtype=torch.int64), torch.ones(4, 4, dtype=torch.complex128), [1.0, 2.0]):
        with pytest.raises(TypeError):
            pen.prox(bad_x, 0.1)
    with pytest.raises(ValueError, match="does not match"):
        pen.optimality(x, torch.zeros(3, dtype=D))


def test_group_dim_out_of_range_and_weights_shape():
    x = torch.randn(3, 4)
    before = x.clone()
    with pytest.raises(ValueError, match="out of range"):
        GroupL1(1.0, dim=2).prox(x, 1.0, out=x)
    with pytest.raises(ValueError, match="out of range"):
        GroupL1(1.0, dim=-3).value(x)
    with pytest.raises(ValueError, match="do not broadcast"):
        L1(1.0, weights=torch.ones(5)).prox(x, 1.0, out=x)
    assert torch.equal(x, before)


def test_penalties_compare_and_pickle():
    import pickle

    for pen in ALL:
        assert pickle.loads(pickle.dumps(pen)) == pen
    assert L1(0.1) != L1(0.2) and L1(0.1) != L2(0.1)
    assert "lam=0.3" in repr(L1(0.3))
