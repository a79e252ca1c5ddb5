"""Datafits: values and gradients against autograd, Lipschitz constants, sparse == dense, offsets."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from proxgan.datafits import Logistic, Quadratic


def data(seed=0, n=40, p=12):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * (rng.random((n, p)) < 0.5)
    return X, rng.standard_normal(n)


@pytest.mark.parametrize("cls", [Quadratic, Logistic])
@pytest.mark.parametrize("sparse", [False, True])
def test_value_grad_against_autograd(cls, sparse):
    X, y = data()
    if cls is Logistic:
        y = np.sign(y)
    mu = X.mean(axis=0) if cls is Quadratic else None
    df = cls(sp.csc_matrix(X) if sparse else X, y, X_offset=mu)
    Xc = X - (0 if mu is None else mu)
    w = torch.randn(X.shape[1], dtype=torch.float64, requires_grad=True)
    Xt, yt = torch.from_numpy(Xc), torch.from_numpy(y)
    if cls is Quadratic:
        ref = 0.5 * ((yt - Xt @ w) ** 2).mean()
    else:
        ref = torch.nn.functional.softplus(-yt * (Xt @ w)).mean()
    ref.backward()
    wd = w.detach()
    assert float(df.value(wd)) == pytest.approx(float(ref.detach()), rel=1e-12)
    np.testing.assert_allclose(df.grad(wd).numpy(), w.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("cls,factor", [(Quadratic, 1.0), (Logistic, 0.25)])
def test_lipschitz_constants(cls, factor):
    X, y = data()
    df = cls(X, np.sign(y))
    true = np.linalg.norm(X, 2) ** 2 / X.shape[0] * factor
    assert true <= df.lipschitz() <= 1.02 * true
    np.testing.assert_allclose(df.lipschitz_coords(), factor * (X ** 2).sum(0) / X.shape[0], rtol=1e-12)


def test_torch_input_and_errors():
    X, y = data()
    df = Quadratic(torch.from_numpy(X), torch.from_numpy(y))
    np.testing.assert_array_equal(df.X, X)
    with pytest.raises(ValueError, match="samples"):
        Quadratic(X, y[:-1])
    with pytest.raises(ValueError, match="2-D"):
        Quadratic(X[None], y)
    with pytest.raises(ValueError, match=r"\{-1, 1\}"):
        Logistic(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        Logistic(X, np.sign(y), sample_weight=-np.ones(len(y)))


def test_weighted_logistic():
    X, y = data()
    y = np.sign(y)
    sw = np.linspace(0.5, 2, len(y))
    df = Logistic(X, y, sample_weight=sw)
    w = torch.randn(X.shape[1], dtype=torch.float64)
    z = torch.from_numpy(y) * (torch.from_numpy(X) @ w)
    ref = (torch.from_numpy(sw) * torch.nn.functional.softplus(-z)).mean()
    assert float(df.value(w)) == pytest.approx(float(ref), rel=1e-12)
    np.testing.assert_allclose(df.lipschitz_coords(), (X ** 2).T @ sw / (4 * len(y)), rtol=1e-12)
