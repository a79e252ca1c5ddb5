"""NM penalty: the projection in ProxSGD / ProxAdam, and the 2:4 export's mask pattern."""
import pytest
import torch
from torch import nn

from proxgan.nm import is_nm_sparse, nm_param_groups, semi_structured_layers, to_semi_structured
from proxgan.optim import ProxAdam, ProxSGD
from proxgan.penalties import NM


def _task(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(128, 16, generator=g)
    w = torch.randn(16, 3, generator=g) * (torch.rand(16, 1, generator=g) > 0.5)
    return x, (x @ w).argmax(dim=1)


@pytest.mark.parametrize("opt_cls,kw", [(ProxSGD, dict(lr=0.1, momentum=0.9)), (ProxAdam, dict(lr=0.01)),
                                         (ProxAdam, dict(lr=0.01, foreach=False)), (ProxAdam, dict(lr=0.01, prox="scalar"))])
def test_training_keeps_every_weight_2_4_and_learns(opt_cls, kw):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 3))
    x, y = _task()
    opt = opt_cls(nm_param_groups(model, 2, 4), **kw)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
        assert is_nm_sparse(model[0].weight) and is_nm_sparse(model[2].weight)
    assert loss.item() < 0.6 * first
    assert semi_structured_layers(model) == ["0", "2"]
    assert float((model[0].weight == 0).float().mean()) >= 0.5


def test_adam_step_projects_by_u2_over_s():
    torch.manual_seed(0)
    w = nn.Parameter(torch.randn(4, 8))
    ref = nn.Parameter(w.detach().clone())
    opt = ProxAdam([w], lr=0.1, penalty=NM(1, 4))
    plain = ProxAdam([ref], lr=0.1)
    g = torch.randn(4, 8)
    w.grad, ref.grad = g.clone(), g.clone()
    opt.step()
    plain.step()
    steps = 0.1 / ((plain.state[ref]["exp_avg_sq"] / (1 - 0.999)).sqrt() + 1e-8)
    from proxgan.kernels.nm_project import nm_project_ref

    assert torch.equal(w.detach(), nm_project_ref(ref.detach(), 1, 4, steps))


def test_value_and_errors():
    pen = NM(2, 4)
    assert float(pen.value(torch.tensor([[1.0, 0.0, 2.0, 0.0]]))) == 0.0
    assert float(pen.value(torch.tensor([[1.0, 3.0, 2.0, 0.0]]))) == float("inf")
    with pytest.raises(ValueError, match="multiple of 4"):
        ProxSGD([nn.Parameter(torch.zeros(3, 6))], lr=0.1, penalty=pen)
    with pytest.raises(ValueError, match="1 <= n <= m"):
        NM(3, 2)
    with pytest.raises(ValueError, match="fused=True supports"):  # blocks too wide for the fused kernels
        ProxAdam([nn.Parameter(torch.zeros(3, 64))], lr=0.1, penalty=NM(2, 64), fused=True)


def test_param_groups_leave_out_what_cannot_be_nm():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, 3), nn.Flatten(), nn.Linear(8, 2))
    groups = nm_param_groups(model, 2, 4)
    assert [p.shape for p in groups[0]["params"]] == [torch.Size([8, 8, 3, 3]), torch.Size([2, 8])]
    assert isinstance(groups[0]["penalty"], NM) and groups[1]["penalty"] is None


def test_export_on_cpu_checks_the_pattern_and_says_why_it_cannot_convert():
    model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        model[0].weight.copy_(NM(2, 4).prox(model[0].weight))
    assert semi_structured_layers(model) == ["0"]
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            to_semi_structured(model)


def test_cli_train_cnn_penalty_nm(tmp_path):
    from proxgan.cli import main

    rc = main(["train", "cnn", "--epochs", "1", "--max-steps", "3", "--batch-size", "16", "--optimizer", "proxadam",
               "--penalty", "nm", "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["model"]
    nm = [k for k, w in state.items() if k.endswith("weight") and w.dim() >= 2 and w.shape[1] % 4 == 0]
    assert nm and all(is_nm_sparse(state[k], 2, 4) for k in nm)
    assert main(["train", "cnn", "--penalty", "nm", "--optimizer", "proxadam", "--penalty-mode", "loss",
                 "--out", str(tmp_path / "x")]) == 2


def test_guide_nm_example_runs_as_written():
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "guide" / "structured_sparsity.md"
    code = re.search(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S).group(1)
    scope: dict = {}
    exec(compile(code, "docs/guide/structured_sparsity.md", "exec"), scope)  # noqa: S102
    assert scope["model"][0].weight.count_nonzero() <= scope["model"][0].weight.numel() // 2
