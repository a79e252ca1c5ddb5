"""Models of the training apps, all plain ``nn.Sequential`` so that :func:`proxgan.prune.compact` can shrink them.

* :func:`lenet`: LeNet-style CNN. Convolutions have no padding, so a channel zeroed by a
  group penalty can be removed exactly (its constant output folds into the next bias).
* :func:`small_vgg`: VGG-style CNN for 32x32 inputs (3x3 convolutions, batch norm).
* :func:`dcgan_generator` / :func:`dcgan_discriminator`: DCGAN-style pair sized to the images.
* :func:`mlp_generator` / :func:`mlp_discriminator` / :func:`mlp_classifier`: for 2-D mixtures.

Examples
--------
>>> import torch
>>> from proxgan.apps.models import lenet
>>> lenet(1, 8, 10)(torch.zeros(2, 1, 8, 8)).shape
torch.Size([2, 10])
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["lenet", "small_vgg", "cnn_for", "features", "dcgan_generator", "dcgan_discriminator",
           "mlp_generator", "mlp_discriminator", "mlp_classifier"]


def _flat_size(body: nn.Module, in_ch: int, size: int) -> int:
    with torch.no_grad():
        return int(body(torch.zeros(1, in_ch, size, size)).numel())


def lenet(in_ch: int, size: int, n_classes: int) -> nn.Sequential:
    """LeNet-style CNN for ``size x size`` images with ``in_ch`` channels.

    For ``size >= 28`` it is LeNet-5 (conv 5x5 6 → pool → conv 5x5 16 → pool → 120 → 84);
    for smaller images (8x8 digits) conv 3x3 16 → conv 3x3 32 → pool → 64.

    Parameters
    ----------
    in_ch : int
        Input channels.
    size : int
        Image height and width.
    n_classes : int
        Number of classes.
    """
    if size >= 28:
        body = [nn.Conv2d(in_ch, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
        hidden = [120, 84]
    elif size >= 6:
        body = [nn.Conv2d(in_ch, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
        hidden = [64]
    else:
        raise ValueError(f"lenet needs images of at least 6x6, got {size}x{size}")
    n = _flat_size(nn.Sequential(*body), in_ch, size)
    layers: list[nn.Module] = list(body)
    for h in hidden:
        layers += [nn.Linear(n, h), nn.ReLU()]
        n = h
    layers.append(nn.Linear(n, n_classes))
    return nn.Sequential(*layers)


def small_vgg(in_ch: int, size: int, n_classes: int, widths: tuple[int, ...] = (32, 64, 128)) -> nn.Sequential:
    """VGG-style CNN: per width a 3x3 convolution (padding 1), batch norm, ReLU and 2x2 max-pool; then 256 → classes.

    Parameters
    ----------
    in_ch : int
        Input channels.
    size : int
        Image height and width.
    n_classes : int
        Number of classes.
    widths : tuple of int
        Channels of each convolution.
    """
    layers: list[nn.Module] = []
    c = in_ch
    for w in widths:
        layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
        c = w
    layers.append(nn.Flatten())
    n = _flat_size(nn.Sequential(*layers).eval(), in_ch, size)
    layers += [nn.Linear(n, 256), nn.ReLU(), nn.Linear(256, n_classes)]
    return nn.Sequential(*layers)


def cnn_for(shape: tuple[int, int, int], n_classes: int, model: str = "auto") -> nn.Sequential:
    """The CNN for images of ``shape = (C, H, W)``: ``auto`` picks the VGG for 32x32 and LeNet otherwise.

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(C, H, W)``.
    n_classes : int
        Number of classes.
    model : {'auto', 'lenet', 'vgg'}
        Which CNN.
    """
    c, h, _ = shape
    if model == "auto":
        model = "vgg" if h >= 32 else "lenet"
    if model == "lenet":
        return lenet(c, h, n_classes)
    if model == "vgg":
        return small_vgg(c, h, n_classes)
    raise ValueError(f"model must be 'auto', 'lenet' or 'vgg', got {model!r}")


def features(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """Penultimate activations of a classifier built here (everything but the last layer).

    Parameters
    ----------
    model : torch.nn.Sequential
        A classifier built here.
    x : torch.Tensor
        Inputs.
    """
    return model[:-1](x)


def _dcgan_plan(size: int) -> tuple[int, int]:
    """``(base, k)`` with ``size = base * 2**k``, ``2 <= base <= 7`` and ``1 <= k <= 4``."""
    for k in (4, 3, 2, 1):
        base, rem = divmod(size, 2**k)
        if rem == 0 and 2 <= base <= 7:
            return base, k
    raise ValueError(f"no DCGAN layout for {size}x{size} images (need size = base * 2**k with 2 <= base <= 7)")


def dcgan_generator(latent_dim: int, shape: tuple[int, int, int], width: int = 64) -> nn.Sequential:
    """DCGAN generator: linear to ``(width·2^(k-1), base, base)``, then ``k`` stride-2 transposed convolutions, ``tanh``.

    Parameters
    ----------
    latent_dim : int
        Size of the noise vector.
    shape : tuple of int
        Image shape ``(C, H, W)``.
    width : int
        Channels of the last hidden layer.
    """
    c, size, _ = shape
    base, k = _dcgan_plan(size)
    ch = width * 2 ** (k - 1)
    layers: list[nn.Module] = [nn.Linear(latent_dim, ch * base * base), nn.Unflatten(1, (ch, base, base)), nn.BatchNorm2d(ch), nn.ReLU()]
    for _ in range(k - 1):
        layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU()]
        ch //= 2
    layers += [nn.ConvTranspose2d(ch, c, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers)


def dcgan_discriminator(shape: tuple[int, int, int], width: int = 64) -> nn.Sequential:
    """DCGAN discriminator: ``k`` stride-2 4x4 convolutions with LeakyReLU(0.2), then one logit.

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(C, H, W)``.
    width : int
        Channels of the first convolution.
    """
    c, size, _ = shape
    base, k = _dcgan_plan(size)
    layers: list[nn.Module] = [nn.Conv2d(c, width, 4, 2, 1), nn.LeakyReLU(0.2)]
    ch = width
    for _ in range(k - 1):
        layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2)]
        ch *= 2
    layers += [nn.Flatten(), nn.Linear(ch * base * base, 1)]
    return nn.Sequential(*layers)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def mlp_generator(latent_dim: int = 2, hidden: int = 128, depth: int = 3) -> nn.Sequential:
    """MLP generator for 2-D mixtures: ``depth`` hidden ReLU layers of width ``hidden``, 2 outputs.

    Parameters
    ----------
    latent_dim : int
        Size of the noise vector.
    hidden : int
        Width of the hidden layers.
    depth : int
        Number of hidden layers.
    """
    return _mlp([latent_dim] + [hidden] * depth + [2])


def mlp_discriminator(hidden: int = 128, depth: int = 3, in_dim: int = 2) -> nn.Sequential:
    """MLP discriminator for 2-D points: ``depth`` hidden ReLU layers, one logit.

    Parameters
    ----------
    hidden : int
        Width of the hidden layers.
    depth : int
        Number of hidden layers.
    in_dim : int
        Input size (2, or 2K for packs of K points).
    """
    return _mlp([in_dim] + [hidden] * depth + [1])


def mlp_classifier(n_classes: int, hidden: int = 64) -> nn.Sequential:
    """Small MLP that classifies 2-D points by mixture mode (the feature network of the Fréchet distance).

    Parameters
    ----------
    n_classes : int
        Number of modes.
    hidden : int
        Width of the hidden layers.
    """
    return _mlp([2, hidden, hidden, n_classes])


class _BasicBlock(nn.Module):
    """ResNet basic block: conv3x3-BN-ReLU-conv3x3-BN plus the shortcut, then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class SmallResNet(nn.Module):
    """A CIFAR-style ResNet: 3x3 stem, stages of basic blocks (stride 2 between stages),
    global average pooling and a linear head. Residual additions couple the channels of
    every layer that writes into the same stage.

    Parameters
    ----------
    in_ch : int
        Input channels.
    n_classes : int
        Number of classes.
    widths : tuple of int
        Channels of each stage.
    blocks : int
        Basic blocks per stage.
    """

    def __init__(self, in_ch: int = 3, n_classes: int = 10, widths: tuple[int, ...] = (16, 32, 64),
                 blocks: int = 1) -> None:
        super().__init__()
        if not widths or any(int(w) < 1 for w in widths) or int(blocks) < 1:
            raise ValueError(f"widths must be positive ints and blocks >= 1, got widths={widths!r}, blocks={blocks!r}")
        self.stem = nn.Sequential(nn.Conv2d(in_ch, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        layers, c = [], widths[0]
        for i, w in enumerate(widths):
            for b in range(blocks):
                layers.append(_BasicBlock(c, w, 2 if (i > 0 and b == 0) else 1))
                c = w
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


def small_resnet(in_ch: int = 3, n_classes: int = 10, widths: tuple[int, ...] = (16, 32, 64),
                 blocks: int = 1) -> SmallResNet:
    """A small torchvision-free ResNet (see :class:`SmallResNet`) for CIFAR-shaped inputs.

    Parameters
    ----------
    in_ch : int
        Input channels.
    n_classes : int
        Number of classes.
    widths : tuple of int
        Channels of each stage.
    blocks : int
        Basic blocks per stage.
    """
    return SmallResNet(in_ch, n_classes, widths, blocks)


__all__ += ["SmallResNet", "small_resnet"]
