"""
L1 in the loss oscillates; the prox makes exact zeros
=====================================================

Adding :math:`\\lambda \\lVert w \\rVert_1` to the loss and following its subgradient moves
a weight that should be zero back and forth across zero: it never *is* zero. Taking the
proximal operator of the penalty after each step instead (:class:`proxgan.optim.ProxAdam`)
sets it to exactly zero and keeps it there.

A linear regression with 20 features, of which only 4 matter, trained by Adam with the
penalty in the loss and by ProxAdam with the same penalty, same learning rate.
"""
import matplotlib.pyplot as plt
import torch

from proxgan.optim import ProxAdam
from proxgan.penalties import L1

g = torch.Generator().manual_seed(0)
n, p, lam, lr, steps = 200, 20, 0.05, 0.02, 400
X = torch.randn(n, p, generator=g)
w_true = torch.zeros(p)
w_true[:4] = torch.tensor([2.0, -1.5, 1.0, 0.5])
y = X @ w_true + 0.1 * torch.randn(n, generator=g)


def run(prox: bool) -> tuple[list[float], list[int]]:
    w = torch.zeros(p, requires_grad=True)
    opt = ProxAdam([w], lr=lr, penalty=L1(lam)) if prox else torch.optim.Adam([w], lr=lr)
    trace, zeros = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * (X @ w - y).square().mean()
        if not prox:
            loss = loss + lam * w.abs().sum()
        loss.backward()
        opt.step()
        trace.append(w[10].item())        # a feature that plays no role
        zeros.append(int((w == 0).sum().item()))
    return trace, zeros


loss_trace, loss_zeros = run(prox=False)
prox_trace, prox_zeros = run(prox=True)
print(f"exact zeros after {steps} steps: Adam + L1 in the loss {loss_zeros[-1]}, ProxAdam(L1) {prox_zeros[-1]} "
      f"(16 features are irrelevant)")

fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6))
a.plot(loss_trace, label="Adam, L1 in the loss")
a.plot(prox_trace, label="ProxAdam(L1)")
a.set_xlabel("step")
a.set_ylabel("weight of an irrelevant feature")
a.set_title("One weight that should be zero")
a.legend()
b.plot(loss_zeros, label="Adam, L1 in the loss")
b.plot(prox_zeros, label="ProxAdam(L1)")
b.set_xlabel("step")
b.set_ylabel("exact zeros (of 20 weights)")
b.set_title("Exact zeros")
b.legend()
fig.tight_layout()
plt.show()
