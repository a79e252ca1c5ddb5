"""proxgan.prune: compaction keeps outputs (to 1e-6), removes what it should, counts FLOPs exactly."""
import pytest
import torch
from torch import nn

from proxgan.apps.models import lenet, small_vgg
from proxgan.prune import compact, compaction_report, count_flops, count_params, zero_channels


def _zero_rows(layer: nn.Module, rows: list[int]) -> None:
    with torch.no_grad():
        layer.weight[rows] = 0


def test_lenet_digits_zero_filters_and_rows_removed_outputs_equal():
    torch.manual_seed(1)
    m = lenet(1, 8, 10).eval()
    convs = [l for l in m if isinstance(l, nn.Conv2d)]
    lins = [l for l in m if isinstance(l, nn.Linear)]
    _zero_rows(convs[0], [0, 3, 5, 15])      # biases stay non-zero: constants must be folded
    _zero_rows(convs[1], list(range(0, 32, 3)))
    _zero_rows(lins[0], [1, 2, 40])
    with torch.no_grad():
        convs[0].bias[3] = 0.7
        convs[0].bias[5] = -0.4                 # relu(-0.4) = 0
    x = torch.randn(17, 1, 8, 8)
    small = compact(m)
    sc = [l for l in small if isinstance(l, nn.Conv2d)]
    sl = [l for l in small if isinstance(l, nn.Linear)]
    assert sc[0].out_channels == 12 and sc[1].in_channels == 12
    assert sc[1].out_channels == 32 - 11 and sl[0].in_features == (32 - 11) * 4
    assert sl[0].out_features == 61 and sl[1].in_features == 61
    assert sl[-1].out_features == 10
    assert (small(x) - m(x)).abs().max() <= 1e-6
    assert count_params(small) < count_params(m)
    assert count_flops(small, (1, 8, 8)) < count_flops(m, (1, 8, 8))
    # the original is untouched
    assert int(zero_channels(convs[0]).sum()) == 4 and convs[0].out_channels == 16


def test_lenet5_28x28_equal():
    torch.manual_seed(2)
    m = lenet(1, 28, 10).eval()
    _zero_rows(m[0], [1, 4])
    _zero_rows(m[3], [0, 7, 9])
    x = torch.randn(5, 1, 28, 28)
    small = compact(m)
    assert small[0].out_channels == 4 and small[3].out_channels == 13
    assert (small(x) - m(x)).abs().max() <= 1e-6


def test_padded_conv_keeps_nonzero_constant_channels():
    """Before a padded convolution only channels whose constant is 0 can go (border effects)."""
    torch.manual_seed(3)
    m = small_vgg(3, 32, 10, widths=(8, 8, 8))
    with torch.no_grad():
        for bn in (l for l in m if isinstance(l, nn.BatchNorm2d)):
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-1, 1)
    m.eval()
    conv0, bn0 = m[0], m[1]
    _zero_rows(conv0, [0, 1, 2])
    with torch.no_grad():   # BN(0) = bias - mean*w/sqrt(var+eps): make it negative (ReLU -> 0) for 0 and 1 only
        bn0.running_mean[:3] = 0
        bn0.bias[0], bn0.bias[1], bn0.bias[2] = -0.5, -0.1, 0.3
    x = torch.randn(4, 3, 32, 32)
    small = compact(m)
    assert small[0].out_channels == 6 and small[1].num_features == 6 and small[4].in_channels == 6
    assert (small(x) - m(x)).abs().max() <= 1e-6
    # last conv before Flatten+Linear: any zero filter goes
    _zero_rows(m[8], [2, 5])
    small = compact(m)
    assert small[8].out_channels == 6
    assert (small(x) - m(x)).abs().max() <= 1e-6


def test_linear_chain_and_all_zero_layer():
    torch.manual_seed(4)
    m = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Sequential(nn.Linear(6, 4), nn.ReLU()), nn.Linear(4, 3)).eval()
    _zero_rows(m[0], list(range(6)))          # all rows zero: one is kept so shapes stay valid
    x = torch.randn(7, 5)
    small = compact(m)
    assert small[0].out_features == 1
    assert (small(x) - m(x)).abs().max() <= 1e-6


def test_nothing_to_remove_and_type_error():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    x = torch.randn(2, 3)
    assert torch.equal(compact(m)(x), m(x))
    with pytest.raises(TypeError, match="nn.Sequential"):
        compact(nn.Linear(2, 2))


def test_count_flops_by_hand():
    m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    # conv: out 3x4x4 = 48 outputs, each 2*3*3 = 18 MACs; linear 48*5 MACs; 2 FLOPs per MAC
    assert count_flops(m, (2, 6, 6)) == 2 * (48 * 18 + 48 * 5)
    assert count_params(m) == 3 * 2 * 9 + 3 + 48 * 5 + 5


def test_compaction_report_fields():
    torch.manual_seed(5)
    m = lenet(1, 8, 10)
    _zero_rows(m[0], [0, 1])
    r = compaction_report(m, torch.randn(8, 1, 8, 8), repeats=2)
    assert r["params_after"] == r["params_before"] - 2 * (9 + 1) - 2 * 32 * 9
    assert r["flops_after"] < r["flops_before"]
    assert r["max_abs_output_diff"] <= 1e-6 and r["time_before_s"] > 0 and r["time_after_s"] > 0
    assert m.training  # mode restored


# ---------------------------------------------------------------- traced models (Torch-Pruning)
class _VGG(nn.Module):
    """VGG with batch norm, not a Sequential: the traced path."""

    def __init__(self):
        super().__init__()
        self.features = small_vgg(3, 16, 10, widths=(8, 16))[:-1]
        self.head = nn.Linear(self.features(torch.zeros(1, 3, 16, 16)).shape[1], 10)

    def forward(self, x):
        return self.head(self.features(x))


class _SkipMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp, self.a, self.b, self.out = nn.Linear(6, 12), nn.Linear(12, 9), nn.Linear(9, 12), nn.Linear(12, 3)
        self.norm = nn.BatchNorm1d(12)

    def forward(self, x):
        h = torch.relu(self.inp(x))
        h = torch.relu(self.norm(h + self.b(torch.relu(self.a(h)))))
        return self.out(h)


def _zero_half_of_every_group(model, x):
    from proxgan.penalties import CoupledGroupL1

    pen = CoupledGroupL1.from_model(model, 0.1, x)
    assert pen.sets and pen.skipped == []
    with torch.no_grad():
        for st in pen.sets:
            for k, idx in st["items"]:
                pen.params[k].reshape(pen.params[k].shape[0], -1)[idx[::2]] = 0
    for mod in model.modules():  # non-trivial running statistics
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            mod.running_mean.normal_()
            mod.running_var.uniform_(0.5, 2.0)
    return pen


@pytest.mark.parametrize("make,shape", [
    (lambda: __import__("proxgan.apps.models", fromlist=["x"]).small_resnet(3, 10, widths=(8, 16), blocks=2), (3, 16, 16)),
    (_VGG, (3, 16, 16)), (_SkipMLP, (6,))])
def test_compact_traced_models_removes_zero_coupled_groups_outputs_equal(make, shape):
    pytest.importorskip("torch_pruning")
    torch.manual_seed(0)
    m = make()
    x = torch.randn(5, *shape)
    _zero_half_of_every_group(m, x[:1])
    m.eval()
    small = compact(m, example_inputs=x[:1])
    assert (small(x) - m(x)).abs().max() <= 1e-5
    assert count_params(small) < 0.75 * count_params(m)
    assert count_flops(small, shape) < 0.75 * count_flops(m, shape)
    assert not small.training or m.training
    # the original is untouched, and a second compaction has nothing left to remove
    assert count_params(make()) == count_params(m)
    assert count_params(compact(small, example_inputs=x[:1])) == count_params(small)


def test_compact_traced_keeps_groups_with_a_nonzero_slice():
    pytest.importorskip("torch_pruning")
    from proxgan.apps.models import small_resnet

    torch.manual_seed(0)
    m = small_resnet(3, 10, widths=(8, 16)).eval()
    with torch.no_grad():
        m.layers[0].conv1.weight[:4] = 0  # the rows only: batch-norm shift still emits a constant
    x = torch.randn(3, 3, 16, 16)
    small = compact(m, example_inputs=x[:1])
    assert count_params(small) == count_params(m)
    assert torch.allclose(small(x), m(x))


def test_compact_needs_example_inputs_off_the_sequential_path(monkeypatch):
    from proxgan.apps.models import small_resnet
    import sys

    with pytest.raises(TypeError, match="example_inputs"):
        compact(small_resnet(3, 10, widths=(4,)))
    monkeypatch.setitem(sys.modules, "torch_pruning", None)
    with pytest.raises(ImportError, match=r"pip install 'proxgan\[pruning\]'"):
        compact(small_resnet(3, 10, widths=(4,)), example_inputs=torch.zeros(1, 3, 8, 8))
