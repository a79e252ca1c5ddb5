"""proxgan.optim.CoordinateDescent: block-cyclic proximal gradient reaches the Lasso with intercept."""
import numpy as np
import pytest
import torch

from proxgan.linear_model import Lasso
from proxgan.optim import CoordinateDescent
from proxgan.penalties import L1


def test_two_blocks_reach_lasso_with_intercept():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(80, 8, generator=g, dtype=torch.float64)
    y = X[:, 0] * 2 - X[:, 3] + 3.0 + 0.1 * torch.randn(80, generator=g, dtype=torch.float64)
    w = torch.zeros(8, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = CoordinateDescent([{"params": [w], "penalty": L1(0.05)}, {"params": [b]}], lr=5.0)

    def closure():
        opt.zero_grad()
        loss = 0.5 * ((X @ w + b - y) ** 2).mean()
        loss.backward()
        return loss

    values = []
    for _ in range(400):
        opt.step(closure)
        with torch.no_grad():
            values.append(float(0.5 * ((X @ w + b - y) ** 2).mean() + 0.05 * w.abs().sum()))
    ref = Lasso(alpha=0.05, tol=1e-14).fit(X.numpy(), y.numpy())
    np.testing.assert_allclose(w.detach().numpy(), ref.coef_, atol=1e-6)
    assert b.item() == pytest.approx(ref.intercept_, abs=1e-6)
    assert np.array_equal(w.detach().numpy() == 0, ref.coef_ == 0)
    assert all(v2 <= v1 + 1e-12 for v1, v2 in zip(values, values[1:]))  # monotone


def test_needs_closure():
    opt = CoordinateDescent([torch.zeros(2, requires_grad=True)])
    with pytest.raises(RuntimeError, match="needs a closure"):
        opt.step()
