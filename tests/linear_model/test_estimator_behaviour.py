"""Bad input, convergence warnings, certificates, input types, dtype, warm start, device."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from lm_datasets import dataset
from sklearn.exceptions import ConvergenceWarning

from proxgan.linear_model import (ElasticNet, ElasticNetCV, Lasso, LassoCV, LogisticRegression, Ridge, enet_path,
                                  lasso_path)

REGRESSORS = [Lasso, ElasticNet, Ridge, LassoCV]


def xy():
    return dataset("dense-n>>p")


@pytest.mark.parametrize("Est", REGRESSORS + [LogisticRegression])
@pytest.mark.parametrize("bad", ["nan", "inf", "y-nan"])
def test_non_finite_input(Est, bad):
    X, y = xy()
    X, y = X.copy(), (y > 2).astype(float) if Est is LogisticRegression else y.copy()
    if bad == "y-nan":
        y[3] = np.nan
    else:
        X[2, 1] = np.nan if bad == "nan" else np.inf
    with pytest.raises(ValueError, match="NaN|infinity"):
        Est().fit(X, y)


@pytest.mark.parametrize("Est", REGRESSORS + [LogisticRegression])
def test_shapes(Est):
    X, y = xy()
    y = (y > 2).astype(int) if Est is LogisticRegression else y
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Est().fit(X, y[:-1])
    with pytest.raises(ValueError, match="0 sample"):
        Est().fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="0 feature"):
        Est().fit(X[:, :0], y)
    with pytest.raises(ValueError, match="dim 3|3-D|3D"):
        Est().fit(X.reshape(X.shape[0], 5, 6), y)


def _range(est, name, rng):
    return rf"The '{name}' parameter of {est} must be .*{rng}"


@pytest.mark.parametrize("Est,kw,msg", [
    (Lasso, dict(alpha=-1.0), _range("Lasso", "alpha", r"\[0.0, inf\)")),
    (ElasticNet, dict(alpha=-0.5), _range("ElasticNet", "alpha", r"\[0.0, inf\)")),
    (ElasticNet, dict(l1_ratio=1.5), _range("ElasticNet", "l1_ratio", r"\[0.0, 1.0\]")),
    (ElasticNet, dict(l1_ratio=-0.1), _range("ElasticNet", "l1_ratio", r"\[0.0, 1.0\]")),
    (ElasticNetCV, dict(l1_ratio=[0.5, 2.0]), r"l1_ratio must be a number in \[0, 1\]"),
    (Ridge, dict(alpha=-2.0), _range("Ridge", "alpha", r"\[0.0, inf\)")),
    (Lasso, dict(solver="lbfgs"), "The 'solver' parameter of Lasso must be a str among"),
    (Lasso, dict(max_iter=0), _range("Lasso", "max_iter", r"\[1, inf\)")),
    (Lasso, dict(tol=-1.0), _range("Lasso", "tol", r"\[0.0, inf\)")),
    (Lasso, dict(device="tpu"), "device must be 'cpu' or 'cuda'"),
    (LogisticRegression, dict(C=-1.0), _range("LogisticRegression", "C", r"\(0.0, inf\]")),
    (LogisticRegression, dict(penalty="l3"), "The 'penalty' parameter of LogisticRegression must be"),
    (LogisticRegression, dict(penalty="l1"), "Solver lbfgs supports only 'l2' or None penalties, got l1"),
    (LogisticRegression, dict(l1_ratio=2.0), _range("LogisticRegression", "l1_ratio", r"\[0.0, 1.0\]")),
])
def test_bad_parameters(Est, kw, msg):
    X, y = xy()
    y = (y > 2).astype(int) if Est is LogisticRegression else y
    with pytest.raises(ValueError, match=msg):
        Est(**kw).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
@pytest.mark.parametrize("Est", [Lasso, Ridge, LogisticRegression])
def test_cuda_without_gpu(Est):
    X, y = xy()
    y = (y > 2).astype(int) if Est is LogisticRegression else y
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        Est(device="cuda").fit(X, y)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        lasso_path(X, y, device="cuda")


def test_cd_on_cuda_rejected_message():
    from proxgan.linear_model._base import check_solver
    with pytest.raises(ValueError, match="solver='cd' runs on the CPU"):
        check_solver("cd", "cuda")
    assert check_solver("auto", "cuda") == "fista" and check_solver("auto", "cpu") == "cd"


@pytest.mark.parametrize("solver", ["cd", "fista", "ista"])
def test_max_iter_warns_and_reports_gap(solver):
    X, y = dataset("dense-p>>n")
    with pytest.warns(ConvergenceWarning, match="Duality gap"):
        m = Lasso(alpha=0.001, max_iter=2, tol=1e-12, solver=solver).fit(X, y)
    assert m.dual_gap_ > 1e-12 * np.var(y) and m.n_iter_ <= 2
    with pytest.warns(ConvergenceWarning, match="Optimality violation"):
        LogisticRegression(C=100.0, l1_ratio=1.0, max_iter=1, tol=1e-12, solver=solver).fit(X, (y > 0).astype(int))


def test_converged_fit_does_not_warn_and_certifies():
    X, y = xy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = Lasso(alpha=0.01, tol=1e-8).fit(X, y)
    assert 0 <= m.dual_gap_ <= 1e-8 * np.sum((y - y.mean()) ** 2) / len(y)


@pytest.mark.parametrize("kind", ["numpy", "csc", "csr", "torch", "torch-f32", "torch-sparse"])
def test_input_types_give_the_same_model(kind):
    X, y = xy()
    ref = Lasso(alpha=0.02, tol=1e-12).fit(X, y)
    conv = {"numpy": lambda a: a, "csc": sp.csc_matrix, "csr": sp.csr_matrix, "torch": torch.from_numpy,
            "torch-f32": lambda a: torch.from_numpy(a).float(),
            "torch-sparse": lambda a: torch.from_numpy(a).to_sparse_csr()}
    Xk = conv[kind](X)
    yk = torch.from_numpy(y) if kind.startswith("torch") else y
    m = Lasso(alpha=0.02, tol=1e-12).fit(Xk, yk)
    atol = 1e-5 if kind == "torch-f32" else 1e-9
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=atol)
    assert m.coef_.dtype == (np.float32 if kind == "torch-f32" else np.float64)
    pred = m.predict(Xk)
    assert isinstance(pred, np.ndarray)
    np.testing.assert_allclose(pred, ref.predict(X), atol=1e-4 if kind == "torch-f32" else 1e-9)


def test_dtype_follows_input():
    X, y = xy()
    assert Lasso(alpha=0.1).fit(X.astype(np.float32), y).coef_.dtype == np.float32
    assert Ridge().fit(X.astype(np.float32), y).coef_.dtype == np.float32
    assert LogisticRegression().fit(X.astype(np.float32), y > 2).coef_.dtype == np.float32
    assert enet_path(X.astype(np.float32), y, alphas=3)[1].dtype == np.float32


def test_warm_start_reuses_coefficients():
    X, y = dataset("dense-p>>n")
    m = Lasso(alpha=0.01, tol=1e-10, warm_start=True).fit(X, y)
    first = m.n_iter_
    m.set_params(alpha=0.0095).fit(X, y)
    cold = Lasso(alpha=0.0095, tol=1e-10).fit(X, y)
    assert m.n_iter_ < cold.n_iter_ and first > 0
    np.testing.assert_allclose(m.coef_, cold.coef_, atol=1e-6)


def test_exact_zeros_and_alpha_max():
    X, y = dataset("dense-p>>n")
    amax = np.abs((X - X.mean(0)).T @ (y - y.mean())).max() / len(y)
    assert not np.any(Lasso(alpha=amax * 1.0000001).fit(X, y).coef_)
    m = Lasso(alpha=amax * 0.5).fit(X, y)
    assert 0 < np.count_nonzero(m.coef_) < 10


def test_alpha_zero_warns_like_sklearn_and_gives_least_squares():
    from sklearn.linear_model import LinearRegression
    X, y = xy()
    with pytest.warns(UserWarning, match="alpha=0"):
        m = Lasso(alpha=0.0, tol=1e-14, max_iter=100000).fit(X, y)
    ols = LinearRegression().fit(X, y)
    np.testing.assert_allclose(m.coef_, ols.coef_, atol=1e-6)
    assert m.intercept_ == pytest.approx(ols.intercept_, abs=1e-6)


def test_logistic_single_class_and_labels():
    X, y = xy()
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegression().fit(X, np.ones(len(y)))
    with pytest.raises(ValueError, match="Unknown label type"):
        LogisticRegression().fit(X, y)
    labels = np.where(y > 2, "yes", "no")
    m = LogisticRegression().fit(X, labels)
    assert set(m.predict(X)) <= {"yes", "no"} and m.score(X, labels) > 0.8


def test_precompute_gives_the_same_model():
    X, y = dataset("diabetes")
    a = ElasticNet(alpha=0.01, l1_ratio=0.8, tol=1e-12, max_iter=100000).fit(X, y)
    b = ElasticNet(alpha=0.01, l1_ratio=0.8, tol=1e-12, max_iter=100000, precompute=True).fit(X, y)
    np.testing.assert_allclose(b.coef_, a.coef_, atol=1e-9)
    assert b.intercept_ == pytest.approx(a.intercept_, abs=1e-9)
    _, c1, g1 = lasso_path(X, y - y.mean(), alphas=10, tol=1e-12, precompute=True)
    _, c2, g2 = lasso_path(X, y - y.mean(), alphas=10, tol=1e-12, precompute=False)
    np.testing.assert_allclose(c1, c2, atol=1e-9)
    with pytest.raises(ValueError, match="Gram matrix passed in via 'precompute' parameter did not pass"):
        Lasso(precompute=np.eye(10), fit_intercept=False).fit(X, y)
    G = X.T @ X
    c = Lasso(alpha=0.01, precompute=G, fit_intercept=False, tol=1e-12, max_iter=100000).fit(X, y)
    d = Lasso(alpha=0.01, fit_intercept=False, tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(c.coef_, d.coef_, atol=1e-9)


def test_input_is_never_modified():
    X, y = dataset("dense-n>>p")
    Xf = np.asfortranarray(X.copy())
    y0 = y.copy()
    for fi in (True, False):
        Lasso(alpha=0.01, fit_intercept=fi).fit(Xf, y, sample_weight=np.linspace(1, 2, len(y)))
        Lasso(alpha=0.01, fit_intercept=fi, solver="fista").fit(Xf, y)
        lasso_path(Xf, y, alphas=3)
    np.testing.assert_array_equal(Xf, X)
    np.testing.assert_array_equal(y, y0)
