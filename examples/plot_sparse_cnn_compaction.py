"""
Sparse CNN with channel compaction
==================================

:class:`proxgan.penalties.GroupL1` with ``dim=0`` is
:math:`\\lambda \\sum_c \\lVert W_c \\rVert_2`, one group per output channel; its prox
sets whole channels to zero. :func:`proxgan.prune.compact` then rebuilds a smaller dense
``nn.Sequential`` without them (the constant a dead channel still emits is folded into
the next bias), with the same outputs.

A small CNN on the 8x8 digits, trained by :class:`proxgan.optim.ProxSGD` with momentum.
"""
import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from torch import nn

from proxgan.optim import ProxSGD, param_groups
from proxgan.penalties import GroupL1
from proxgan.prune import compact, count_flops, count_params

torch.manual_seed(0)
torch.set_num_threads(1)
d = load_digits()
x = torch.tensor(d.images[:, None] / 8.0 - 1.0, dtype=torch.float32)
y = torch.tensor(d.target)
xtr, ytr, xte, yte = x[:1400], y[:1400], x[1400:], y[1400:]

model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 16, 64), nn.ReLU(), nn.Linear(64, 10))
opt = ProxSGD(param_groups(model, GroupL1(0.1)), lr=0.05, momentum=0.9)
g = torch.Generator().manual_seed(0)
for epoch in range(6):
    for idx in torch.randperm(len(xtr), generator=g).split(32):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
        opt.step()

model.eval()
small = compact(model).eval()
with torch.no_grad():
    acc = float((model(xte).argmax(1) == yte).float().mean())
    diff = float((model(xte) - small(xte)).abs().max())
layers = [i for i, m in enumerate(model) if isinstance(m, (nn.Conv2d, nn.Linear))]
alive = [int((model[i].weight.flatten(1).abs().sum(1) != 0).sum()) for i in layers]
total = [model[i].weight.shape[0] for i in layers]
print(f"test accuracy {acc:.3f}; channels kept per layer {alive} of {total}")
print(f"parameters {count_params(model)} -> {count_params(small)}, "
      f"FLOPs {count_flops(model, (1, 8, 8))} -> {count_flops(small, (1, 8, 8))}, max output difference {diff:.1e}")

fig, ax = plt.subplots(figsize=(6, 3.5))
labels = [f"{type(model[i]).__name__} {k}" for k, i in enumerate(layers)]
ax.bar(labels, total, color="0.8", label="channels before")
ax.bar(labels, alive, color="C0", label="kept after GroupL1")
ax.set_ylabel("output channels / units")
ax.set_title(f"Compaction: {count_params(model)} → {count_params(small)} parameters")
ax.legend()
fig.tight_layout()
plt.show()
