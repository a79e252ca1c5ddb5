"""Estimators and apps on CUDA: Lasso(device="cuda") against scikit-learn, a 2-epoch CNN run."""
import csv

import numpy as np
import pytest
import sklearn.linear_model as skl
from sklearn.datasets import load_diabetes

from proxgan.cli import main
from proxgan.linear_model import Lasso


@pytest.mark.parametrize("ratio", [0.5, 0.05])
def test_lasso_cuda_matches_sklearn(ratio):
    X, y = load_diabetes(return_X_y=True)
    alpha_max = np.abs(X.T @ (y - y.mean())).max() / len(y)
    alpha = ratio * alpha_max
    sk = skl.Lasso(alpha=alpha, tol=1e-10, max_iter=200_000).fit(X, y)
    ours = Lasso(alpha=alpha, device="cuda", tol=1e-10, max_iter=200_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=0, atol=1e-5 * np.abs(sk.coef_).max())
    assert abs(ours.intercept_ - sk.intercept_) <= 1e-4 * abs(sk.intercept_)
    assert np.array_equal(ours.coef_ == 0, sk.coef_ == 0)


def test_train_cnn_two_epochs_on_cuda(tmp_path):
    rc = main(["train", "cnn", "--epochs", "2", "--device", "cuda", "--optimizer", "proxadam", "--penalty", "l1",
               "--lam", "1e-4", "--out", str(tmp_path), "--no-progress", "--no-plots"])
    assert rc == 0
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert len(rows) == 2
    assert float(rows[-1]["test_acc"]) > 0.5
