"""N:M projection: Triton kernel (CPU interpreter) and fast PyTorch path against the sort-based reference."""
import itertools

import pytest
import torch

from proxgan.kernels.nm_project import _nm_project_vectorised, nm_project, nm_project_ref, nm_project_torch

CASES = [((3, 4), 2, 4), ((5, 12), 1, 3), ((7, 8, 3, 3), 2, 4), ((2, 16, 1), 3, 8), ((1, 5), 5, 5), ((4, 6), 1, 6),
         ((0, 8), 2, 4), ((257, 4), 2, 4)]
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


@pytest.mark.parametrize("shape,n,m", CASES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_step", [False, True])
def test_kernel_and_fast_path_equal_reference(shape, n, m, dtype, with_step):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
    step = (0.1 + torch.rand(shape, generator=g, dtype=torch.float64)).to(dtype) if with_step else None
    ref = nm_project_ref(x, n, m, step)
    assert torch.equal(nm_project_torch(x, n, m, step), ref)  # numba for float32 / float64
    assert torch.equal(_nm_project_vectorised(x, n, m, step), ref)
    assert torch.equal(nm_project(x, n, m, step), ref)
    if x.numel():  # at most n non-zeros per block, and the kept entries are unchanged
        blocks = ref.movedim(1, -1).reshape(-1, m)
        assert int((blocks != 0).sum(dim=1).max()) <= n
        assert torch.equal(ref[ref != 0], x[ref != 0])


def test_ties_go_to_the_lower_index_and_zero_steps_pin():
    x = torch.tensor([[1.0, -1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 2.0]])
    want = torch.tensor([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]])
    for f in (nm_project_ref, nm_project_torch, _nm_project_vectorised, nm_project):
        assert torch.equal(f(x, 2, 4), want)
    s = torch.tensor([[1.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])  # step 0: entry 2 cannot move
    want = torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 2.0]])
    for f in (nm_project_ref, nm_project_torch, _nm_project_vectorised, nm_project):
        assert torch.equal(f(x, 1, 4, s), want)


def test_metric_projection_is_the_brute_force_minimiser():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 6, dtype=torch.float64, generator=g)
    s = 0.05 + torch.rand(1, 6, dtype=torch.float64, generator=g)
    best = min((((x * torch.tensor([float(i in keep) for i in range(6)], dtype=x.dtype) - x) ** 2 / (2 * s)).sum(), keep)
               for keep in itertools.combinations(range(6), 2))
    y = nm_project_torch(x, 2, 6, s)
    assert torch.isclose(((y - x) ** 2 / (2 * s)).sum(), best[0])


def test_out_in_place_and_bad_input():
    x = torch.randn(3, 8)
    want = nm_project_ref(x, 2, 4)
    y = x.clone()
    assert nm_project_torch(y, 2, 4, out=y) is y and torch.equal(y, want)
    y = x.clone()
    nm_project(y, 2, 4, out=y)
    assert torch.equal(y, want)
    with pytest.raises(ValueError, match="multiple of 4"):
        nm_project_torch(torch.randn(3, 6), 2, 4)
    with pytest.raises(ValueError, match="input dimension"):
        nm_project_ref(torch.randn(8), 2, 4)
    with pytest.raises(ValueError, match="1 <= n <= m"):
        nm_project_torch(x, 5, 4)
    with pytest.raises(ValueError, match="must be an int"):
        nm_project_torch(x, 2.0, 4)


@pytest.mark.parametrize("with_step", [False, True])
def test_nan_scores_as_infinity_everywhere(with_step):
    """A NaN entry is kept and beats the others (as the sort keeps it): divergence stays visible."""
    x = torch.tensor([[1.0, float("nan"), 3.0, 2.0], [float("nan"), 5.0, float("inf"), 0.0]], dtype=torch.float64)
    s = torch.full_like(x, 0.5) if with_step else None
    want = torch.tensor([[0.0, float("nan"), 3.0, 0.0], [float("nan"), 0.0, float("inf"), 0.0]], dtype=torch.float64)
    for f in (nm_project_ref, nm_project_torch, _nm_project_vectorised, nm_project):
        assert torch.equal(f(x, 2, 4, s).isnan(), want.isnan()), f.__name__
        torch.testing.assert_close(f(x, 2, 4, s), want, equal_nan=True, rtol=0, atol=0)
