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


# --- per-sample datafits: Huber, Poisson, Gamma, Quantile ------------------------------------
from proxgan.datafits import Gamma, Huber, Poisson, Quantile  # noqa: E402


def glm_data(kind, seed=0, n=60, p=8):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * (rng.random((n, p)) < 0.6)
    w = rng.standard_normal(p) * (rng.random(p) < 0.5) * 0.3
    z = X @ w + 0.2
    if kind is Poisson:
        y = rng.poisson(np.exp(z)).astype(float)
    elif kind is Gamma:
        y = rng.gamma(2.0, np.exp(z) / 2.0)
    else:
        y = z + rng.standard_t(2, n)
    return X, y, rng.uniform(0.2, 3.0, n)


def make(kind, X, y, sw, intercept, sparse=False):
    Xs = sp.csc_matrix(X) if sparse else X
    extra = {Huber: {"epsilon": 1.1}, Quantile: {"quantile": 0.3, "smoothing": 0.2}}.get(kind, {})
    return kind(Xs, y, sample_weight=sw, intercept=intercept, **extra)


@pytest.mark.parametrize("kind", [Huber, Poisson, Gamma, Quantile])
@pytest.mark.parametrize("sparse,intercept", [(False, True), (True, False)])
def test_glm_gradient_against_finite_differences(kind, sparse, intercept):
    X, y, sw = glm_data(kind)
    df = make(kind, X, y, sw, intercept, sparse)
    rng = np.random.default_rng(1)
    w = torch.from_numpy(rng.standard_normal(df.n_features) * 0.3)
    g = df.grad(w).numpy()
    h = 1e-6
    fd = np.array([(float(df.value(w + h * e)) - float(df.value(w - h * e))) / (2 * h)
                   for e in torch.eye(df.n_features, dtype=torch.float64)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    assert float(df.value(w)) == pytest.approx(df.value_np(w.numpy()), rel=1e-13)


def test_glm_values_against_formulas():
    X, y, sw = glm_data(Poisson)
    w = np.full(X.shape[1], 0.1)
    z = X @ w
    np.testing.assert_allclose(Poisson(X, y, sample_weight=sw).value_np(w), sw @ (np.exp(z) - y * z) / sw.sum())
    np.testing.assert_allclose(Gamma(X, y + 1, sample_weight=sw).value_np(w), sw @ (z + (y + 1) * np.exp(-z)) / sw.sum())
    r = y - z
    hub = np.where(np.abs(r) <= 1.0, 0.5 * r ** 2, np.abs(r) - 0.5)
    np.testing.assert_allclose(Huber(X, y, 1.0).value_np(w), hub.mean())
    pin = np.maximum(0.3 * r, -0.7 * r)
    np.testing.assert_allclose(Quantile(X, y, 0.3).value_np(w), pin.mean())
    # the smoothing is below the pinball loss by at most max(tau, 1 - tau)^2 mu / 2
    gap = Quantile(X, y, 0.3).value_np(w) - Quantile(X, y, 0.3, smoothing=0.05).value_np(w)
    assert 0 <= gap <= 0.5 * 0.7 ** 2 * 0.05


def test_glm_bad_input():
    X, y, _ = glm_data(Huber)
    with pytest.raises(ValueError, match="epsilon"):
        Huber(X, y, epsilon=0)
    with pytest.raises(ValueError, match="quantile"):
        Quantile(X, y, quantile=1.0)
    with pytest.raises(ValueError, match="smoothing"):
        Quantile(X, y, smoothing=-1.0)
    with pytest.raises(ValueError, match="y >= 0"):
        Poisson(X, y - 100)
    with pytest.raises(ValueError, match="y > 0"):
        Gamma(X, np.zeros_like(y))
    with pytest.raises(ValueError, match="sample_weight"):
        Huber(X, y, sample_weight=np.zeros_like(y))
    with pytest.raises(ValueError, match="no gradient"):
        Quantile(X, y).grad(torch.zeros(X.shape[1], dtype=torch.float64))


@pytest.mark.parametrize("kind,a,m", [(Huber, 1.1, 0.0), (Poisson, 0.0, 0.0), (Gamma, 0.0, 0.0), (Quantile, 0.3, 0.2)])
def test_loss_np_matches_torch_and_compiled_twins(kind, a, m):
    """The NumPy loss of the L-BFGS / Newton solvers against the torch (FISTA) and numba (CD) twins,
    on points at and around the kinks."""
    from proxgan.solvers._cd_glm import d2phi, dphi, phi

    rng = np.random.default_rng(0)
    y = rng.uniform(0.5, 3.0, 40)
    z = np.concatenate([y + a, y - a, y - (a - 1) * m, y - a * m, rng.normal(size=8) + 1.0])[:40]
    y = y[: z.shape[0]]
    extra = {Huber: {"epsilon": a}, Quantile: {"quantile": a, "smoothing": m}}.get(kind, {})
    df = kind(np.zeros((y.shape[0], 1)), y, **extra)
    v, d1, d2 = kind.loss_np(y, z, a, m)
    yt, zt = torch.from_numpy(y), torch.from_numpy(z)
    np.testing.assert_allclose(v, df._phi(yt, zt).numpy(), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(d1, df._dphi(yt, zt).numpy(), rtol=1e-14, atol=1e-14)
    k = kind.KIND
    np.testing.assert_allclose(v, [phi(k, yi, zi, a, m) for yi, zi in zip(y, z)], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(d1, [dphi(k, yi, zi, a, m) for yi, zi in zip(y, z)], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(d2, [d2phi(k, yi, zi, a, m) for yi, zi in zip(y, z)], rtol=1e-13, atol=1e-14)
    assert len(kind.loss_np(y, z, a, m, order=0)) == 1
