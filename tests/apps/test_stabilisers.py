"""proxgan.apps.stabilisers: the R1 term against its closed form, the EMA's average, warm-up and zeros."""
import pytest
import torch
from torch import nn

from proxgan.apps.stabilisers import WeightEMA, r1_penalty


def test_r1_matches_closed_form_for_a_quadratic_discriminator():
    # D(x) = x^T A x / 2 + b^T x: grad = A x + b, so R1 = gamma/2 * mean_i ||A x_i + b||^2
    torch.manual_seed(0)
    A = torch.randn(3, 3, dtype=torch.float64)
    A = A + A.T
    b = torch.randn(3, dtype=torch.float64)

    class Quad(nn.Module):
        def __init__(self):
            super().__init__()
            self.A, self.b = nn.Parameter(A.clone()), nn.Parameter(b.clone())

        def forward(self, x):
            return 0.5 * ((x @ self.A) * x).sum(1, keepdim=True) + x @ self.b[:, None]

    d, x = Quad(), torch.randn(7, 3, dtype=torch.float64)
    r1 = r1_penalty(d, x, gamma=0.3)
    expected = 0.15 * ((x @ A.T + b) ** 2).sum(1).mean()
    assert float(r1.detach()) == pytest.approx(float(expected), rel=1e-12)
    r1.backward()  # differentiable in D's weights (double backprop): d/db = gamma * mean(A x + b)
    assert torch.allclose(d.b.grad, 0.3 * (x @ A.T + b).mean(0))
    assert not x.requires_grad  # the caller's batch is untouched


def test_r1_on_images_sums_over_pixels():
    d = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    with torch.no_grad():
        d[1].weight.copy_(torch.tensor([[1.0, 2.0, 0.0, -2.0]]))
    assert float(r1_penalty(d, torch.randn(5, 1, 2, 2), gamma=2.0).detach()) == pytest.approx(9.0)


def test_ema_average_warmup_and_zeros():
    src = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        src.weight.copy_(torch.tensor([[1.0, 1.0]]))
    ema = WeightEMA(src, 0.9)
    with torch.no_grad():
        src.weight.copy_(torch.tensor([[3.0, 0.0]]))  # the second weight became exactly zero (a prox zeroed it)
    ema.update()  # step 1: beta = min(0.9, 2/11)
    beta = 2 / 11
    w = ema.module.weight.detach()
    assert float(w[0, 0]) == pytest.approx(beta * 1 + (1 - beta) * 3) and float(w[0, 1]) == 0.0
    for _ in range(200):
        ema.update()
    assert float(ema.module.weight[0, 0].detach()) == pytest.approx(3.0, abs=1e-6)
    assert ema.steps == 201 and ema.module is not src
    assert WeightEMA(src, 0.0).module is src
    with pytest.raises(ValueError, match="decay must be in"):
        WeightEMA(src, 1.0)


def test_default_ring8_gan_improves_quickly(tmp_path, fid_cache):
    """750 steps of the defaults: the Fréchet distance drops tenfold and the samples reach the modes."""
    from proxgan.apps.config import GANConfig
    from proxgan.apps.train_gan import train_gan

    s = train_gan(GANConfig(data="ring8", epochs=3, max_steps=250, n_eval=1000, out=str(tmp_path), progress=False,
                            plots=False, fid_cache=fid_cache, threads=1))
    import json

    rows = json.load(open(tmp_path / "metrics.json"))
    assert rows[-1]["frechet"] < rows[0]["frechet"] / 10
    assert rows[-1]["hq_rate"] > rows[0]["hq_rate"]
    assert rows[-1]["r1_penalty"] > 0 and s["frechet_floor"] > 0
