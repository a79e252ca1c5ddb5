"""
ISTA and FISTA: O(1/k) against O(1/k²)
======================================

Proximal gradient (ISTA) on :math:`F(w) = f(w) + g(w)` with :math:`f` smooth and
:math:`g` the L1 penalty repeats :math:`w_{k+1} = \\operatorname{prox}_{g/L}(w_k - \\nabla f(w_k)/L)`
and satisfies :math:`F(w_k) - F^\\star = O(1/k)`; FISTA adds Nesterov's extrapolation and
reaches :math:`O(1/k^2)` (Beck & Teboulle, 2009). Here both run from
:mod:`proxgan.solvers` on an ill-conditioned Lasso, with a fixed step :math:`1/L`,
recording :math:`F(w_k)` through the ``callback``.
"""
import matplotlib.pyplot as plt
import numpy as np
import torch

from proxgan.datafits import Quadratic
from proxgan.penalties import L1
from proxgan.solvers import fista, ista

rng = np.random.default_rng(0)
n, p = 400, 400
X = rng.standard_normal((n, p)) @ np.diag(np.geomspace(1, 1e-3, p))
y = X[:, :10] @ rng.standard_normal(10) + 0.01 * rng.standard_normal(n)
f = Quadratic(X, y)
lam = 1e-5 * np.abs(X.T @ y).max() / n
penalty = L1(lam)


def objective(w: torch.Tensor) -> float:
    return float(f.value(w) + penalty.value(w))


curves = {}
for name, solver in (("ISTA", ista.solve), ("FISTA (no restart)", fista.solve)):
    values: list[float] = []
    kw = {"restart": False} if solver is fista.solve else {}
    solver(f, penalty, tol=0.0, max_iter=1500, backtracking=False,
           callback=lambda k, w: values.append(objective(w)), **kw)
    curves[name] = np.array(values)

best = fista.solve(f, penalty, tol=1e-12, max_iter=20000)
f_star = min(objective(torch.as_tensor(best.coef)), *(c.min() for c in curves.values()))
k = np.arange(1, 1501)

fig, ax = plt.subplots(figsize=(6, 4))
for name, c in curves.items():
    ax.loglog(k, c - f_star + 1e-16, label=name)
    print(f"{name:<20} F(w_k) - F* after 100 / 1500 iterations: {c[99] - f_star:.2e} / {c[-1] - f_star:.2e}")
gap0 = curves["ISTA"][0] - f_star
ax.loglog(k, gap0 / k, "k:", label="1/k")
ax.loglog(k, gap0 / k**2, "k--", label="1/k²")
ax.set_xlabel("iteration k")
ax.set_ylabel("F(w_k) − F*")
ax.set_title("Convergence rates on a Lasso")
ax.legend()
fig.tight_layout()
plt.show()
