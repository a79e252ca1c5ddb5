"""
GAN with an L1 penalty on the generator
=======================================

Eight Gaussians on a ring, a small MLP generator and discriminator, the non-saturating
loss with an R1 gradient penalty on the discriminator (what ``proxgan train gan`` does
by default). The generator is trained by :class:`proxgan.optim.ProxAdam` with
``L1(3e-4)`` on its weights, so it ends with exact zeros; the discriminator by plain
Adam. ``proxgan train gan --g-penalty l1 --g-lam 3e-4`` runs the same recipe longer,
with metrics, checkpoints and plots.
"""
import matplotlib.pyplot as plt
import torch
from torch import nn

from proxgan import sparsity
from proxgan.apps.data import mixture_centers, sample_mixture
from proxgan.apps.models import mlp_discriminator, mlp_generator
from proxgan.apps.stabilisers import r1_penalty
from proxgan.optim import ProxAdam, param_groups
from proxgan.penalties import L1

torch.manual_seed(0)
torch.set_num_threads(1)
gen = torch.Generator().manual_seed(0)
G, D = mlp_generator(latent_dim=16, hidden=64), mlp_discriminator(hidden=64)
opt_g = ProxAdam(param_groups(G, L1(3e-4)), lr=1e-3, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
softplus = nn.functional.softplus

for step in range(1500):
    real, _ = sample_mixture("ring8", 256, generator=gen)
    fake = G(torch.randn(256, 16, generator=gen))
    d_loss = softplus(-D(real)).mean() + softplus(D(fake.detach())).mean() + r1_penalty(D, real, gamma=0.1)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = softplus(-D(G(torch.randn(256, 16, generator=gen)))).mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()

with torch.no_grad():
    samples = G(torch.randn(2000, 16, generator=gen))
centers = mixture_centers("ring8")
near = torch.cdist(samples, centers).min(1).values
covered = int((torch.cdist(samples, centers).argmin(1)[near < 0.3].bincount(minlength=8) > 20).sum())
print(f"generator exact zeros: {sparsity(G).fraction:.1%}; modes covered: {covered}/8")

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4, label="generated")
ax.scatter(centers[:, 0], centers[:, 1], c="r", marker="x", label="modes")
ax.set_xlabel("x₁")
ax.set_ylabel("x₂")
ax.set_aspect("equal")
ax.set_title(f"ProxAdam(L1) on G: {sparsity(G).fraction:.0%} exact zeros")
ax.legend(loc="upper right")
fig.tight_layout()
plt.show()
