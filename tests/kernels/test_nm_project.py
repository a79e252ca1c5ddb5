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


@pytest.mark.parametrize("shape,prox,dtype", [((8, 12), "preconditioned", torch.float32),
                                              ((6, 8, 3, 3), "scalar", torch.float64),
                                              ((5, 16, 2), "preconditioned", torch.float64)])
def test_fused_adam_nm_step_equals_the_multi_tensor_step_then_projection(shape, prox, dtype):
    from proxgan.kernels import adam_step_scalars
    from proxgan.kernels.nm_project import fused_adam_nm_cpu
    from proxgan.optim import ProxAdam
    from proxgan.penalties import NM

    g = torch.Generator().manual_seed(0)
    w = torch.randn(shape, dtype=dtype, generator=g)
    ref = torch.nn.Parameter(w.clone())
    opt = ProxAdam([ref], lr=0.05, penalty=NM(2, 4), prox=prox, foreach=True)
    m, v = torch.zeros_like(w), torch.zeros_like(w)
    for t in range(1, 4):
        grad = torch.randn(shape, dtype=dtype, generator=g)
        ref.grad = grad.clone()
        opt.step()
        fused_adam_nm_cpu([w], [grad], [m], [v], 2, 4, adam_step_scalars(0.05, 0.9, 0.999, 1e-8, 0.0, False, t),
                          preconditioned=prox == "preconditioned")
        assert torch.equal(grad, ref.grad)  # the gradient is read only
        assert torch.equal(w == 0, ref.detach() == 0)
        torch.testing.assert_close(w, ref.detach(), rtol=0, atol=4 * torch.finfo(dtype).eps)
    with pytest.raises(ValueError, match="weight decay"):
        fused_adam_nm_cpu([w], [grad], [m], [v], 2, 4, adam_step_scalars(0.05, 0.9, 0.999, 1e-8, 0.1, False, 1))
    with pytest.raises(ValueError, match="multiple of 4"):
        fused_adam_nm_cpu([w[:, :3].contiguous()], [grad[:, :3].contiguous()], [m[:, :3].contiguous()],
                          [v[:, :3].contiguous()], 2, 4, adam_step_scalars(0.05, 0.9, 0.999, 1e-8, 0.0, False, 1))
