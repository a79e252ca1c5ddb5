"""Swap a proximal optimizer into a plain PyTorch training loop: two changed lines.

A small CNN on scikit-learn's 8x8 digits (embedded, no download), trained twice:

* with ``torch.optim.Adam`` (the usual loop), and
* with :class:`proxgan.optim.ProxAdam` and an L1 penalty on the weights.

The loop itself is identical; only the optimizer line changes (plus one import).
Biases stay unpenalised (:func:`proxgan.optim.param_groups`). The second model ends up
with exact zeros; :func:`proxgan.sparsity` counts them.

Run: ``python examples/swap_in_prox_optimizer.py`` (well under a minute on an idle laptop CPU).
"""
import torch
from sklearn.datasets import load_digits
from torch import nn

from proxgan import sparsity
from proxgan.optim import ProxAdam, param_groups      # change 1 of 2: the import
from proxgan.penalties import L1


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def train(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, epochs: int = 10) -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(32):
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def main() -> None:
    d = load_digits()
    x = torch.tensor(d.images[:, None] / 8.0 - 1.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    xtr, ytr, xte, yte = x[:1400], y[:1400], x[1400:], y[1400:]

    dense = make_model()
    opt = torch.optim.Adam(dense.parameters(), lr=1e-3)
    train(dense, opt, xtr, ytr)

    sparse = make_model()
    opt = ProxAdam(param_groups(sparse, L1(1e-3)), lr=1e-3)  # change 2 of 2: the optimizer
    train(sparse, opt, xtr, ytr)

    for name, m in (("Adam", dense), ("ProxAdam + L1(1e-3)", sparse)):
        with torch.no_grad():
            acc = float((m(xte).argmax(1) == yte).float().mean())
        print(f"{name:<22} test accuracy {acc:.3f}   exact zeros {sparsity(m).fraction:.1%}")
    print()
    print(sparsity(sparse))


if __name__ == "__main__":
    main()
