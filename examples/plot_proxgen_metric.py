"""
ProxAdam: the preconditioned prox against the scalar step
=========================================================

Adam scales each coordinate's step by :math:`1/(\\sqrt{\\hat v} + \\epsilon)`. ProxGen
(Yun, Lozano & Yang, 2021) takes the prox in that same metric,

.. math::

   w \\leftarrow \\arg\\min_y \\tfrac12 \\lVert y - u \\rVert_D^2 + \\eta\\, g(y),
   \\qquad D = \\operatorname{diag}(\\sqrt{\\hat v} + \\epsilon),

which for L1 soft-thresholds coordinate :math:`i` at :math:`\\eta\\lambda/(\\sqrt{\\hat v_i} + \\epsilon)`:
``ProxAdam(prox="preconditioned")``, the default. ``prox="scalar"`` thresholds every
coordinate at :math:`\\eta\\lambda`, ignoring the metric. The two make very different
numbers of zeros for the same :math:`\\lambda`; the preconditioned one is the proximal
step of the problem Adam actually solves.
"""
import matplotlib.pyplot as plt
import torch
from torch import nn

from proxgan import sparsity
from proxgan.optim import ProxAdam, param_groups
from proxgan.penalties import L1

torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
X = torch.randn(512, 64, generator=g)
y = (X[:, :8].sum(1, keepdim=True) > 0).float()
lams = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
results = {"preconditioned": [], "scalar": []}
for mode in results:
    for lam in lams:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
        opt = ProxAdam(param_groups(model, L1(lam)), lr=1e-2, prox=mode)
        for _ in range(200):
            opt.zero_grad()
            nn.functional.binary_cross_entropy_with_logits(model(X), y).backward()
            opt.step()
        results[mode].append(sparsity(model).fraction)
        print(f"prox={mode!r:<17} lam={lam:<7g} exact zeros {results[mode][-1]:.1%}")

fig, ax = plt.subplots(figsize=(6, 3.8))
for mode, zeros in results.items():
    ax.semilogx(lams, [100 * z for z in zeros], "o-", label=f'prox="{mode}"')
ax.set_xlabel("lambda of L1")
ax.set_ylabel("exact zeros (% of parameters)")
ax.set_title("ProxAdam: sparsity against lambda, 200 steps")
ax.legend()
fig.tight_layout()
plt.show()
