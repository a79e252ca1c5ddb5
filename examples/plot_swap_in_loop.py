"""
A two-line swap in an existing training loop
============================================

A plain PyTorch loop on scikit-learn's 8x8 digits (shipped with scikit-learn), trained
twice: with ``torch.optim.Adam``, and with :class:`proxgan.optim.ProxAdam` and an L1
penalty. The loop is identical; only the import and the optimizer line change.
:func:`proxgan.optim.param_groups` leaves biases unpenalised, and
:func:`proxgan.sparsity` counts the exact zeros.
"""
import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from torch import nn

from proxgan import sparsity
from proxgan.optim import ProxAdam, param_groups      # change 1 of 2: the import
from proxgan.penalties import L1


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def train(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, epochs: int = 4) -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(32):
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


torch.set_num_threads(1)
d = load_digits()
x = torch.tensor(d.images[:, None] / 8.0 - 1.0, dtype=torch.float32)
y = torch.tensor(d.target)
xtr, ytr, xte, yte = x[:1400], y[:1400], x[1400:], y[1400:]

dense = make_model()
opt = torch.optim.Adam(dense.parameters(), lr=3e-3)
train(dense, opt, xtr, ytr)

sparse = make_model()
opt = ProxAdam(param_groups(sparse, L1(1e-3)), lr=3e-3)  # change 2 of 2: the optimizer
train(sparse, opt, xtr, ytr)

names, accs, zeros = [], [], []
for name, m in (("Adam", dense), ("ProxAdam + L1(1e-3)", sparse)):
    with torch.no_grad():
        acc = float((m(xte).argmax(1) == yte).float().mean())
    names.append(name)
    accs.append(acc)
    zeros.append(sparsity(m).fraction)
    print(f"{name:<22} test accuracy {acc:.3f}   exact zeros {sparsity(m).fraction:.1%}")

fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.2))
a.bar(names, accs, color=["C0", "C1"])
a.set_ylabel("test accuracy")
a.set_ylim(0, 1)
a.set_title("Accuracy")
b.bar(names, [100 * z for z in zeros], color=["C0", "C1"])
b.set_ylabel("exact zeros (% of parameters)")
b.set_title("Sparsity")
fig.tight_layout()
plt.show()
