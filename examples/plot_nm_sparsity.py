"""
N:M structured sparsity
=======================

``NM(2, 4)`` keeps at most 2 non-zeros in every 4 consecutive weights along the input
dimension, the pattern that sparse tensor cores run at twice the dense rate. It is a
projection (the prox of an indicator): in each block the two largest magnitudes stay.
:func:`proxgan.nm.nm_param_groups` puts the eligible weights of a model under that
constraint, so every optimizer step ends 2:4 sparse.
"""
import matplotlib.pyplot as plt
import torch
from torch import nn

from proxgan.nm import is_nm_sparse, nm_param_groups
from proxgan.optim import ProxAdam

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 4))
opt = ProxAdam(nm_param_groups(model, 2, 4), lr=1e-2)
x, target = torch.randn(256, 32), torch.randn(256, 4)
losses = []
for _ in range(60):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), target)
    loss.backward()
    opt.step()
    losses.append(loss.item())

w = model[0].weight.detach()
print("2:4 sparse:", is_nm_sparse(model[0].weight, 2, 4), is_nm_sparse(model[2].weight, 2, 4))
print(f"zeros in the first layer: {float((w == 0).float().mean()):.0%}")

fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
a.imshow((w != 0).float(), cmap="Greys", aspect="auto", interpolation="nearest")
a.set_xlabel("input (blocks of 4)")
a.set_ylabel("output")
a.set_title("Non-zeros of the first layer (black)")
b.plot(losses)
b.set_xlabel("step")
b.set_ylabel("training loss (MSE)")
b.set_title("ProxAdam under the 2:4 constraint")
fig.tight_layout()
plt.show()
