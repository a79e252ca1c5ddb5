"""
Proximal operators of the penalties
===================================

The proximal operator of a penalty :math:`g` with step :math:`s` is

.. math::

   \\operatorname{prox}_{s g}(x) = \\arg\\min_y \\tfrac12 \\lVert y - x \\rVert^2 + s\\, g(y).

For :math:`g = \\lambda \\lVert\\cdot\\rVert_1` it is the soft-threshold, which sets every
:math:`|x_i| \\le s\\lambda` to **exactly zero**; for :math:`g = \\lambda\\lVert\\cdot\\rVert_0`
it is the hard threshold at :math:`\\sqrt{2 s \\lambda}`. This example draws
``penalty.prox(x, step)`` for the elementwise penalties of :mod:`proxgan.penalties`.
"""
import matplotlib.pyplot as plt
import torch

from proxgan.penalties import L0, L1, L2, Box, ElasticNet

x = torch.linspace(-3, 3, 601, dtype=torch.float64)
step = 1.0
penalties = {
    "L1(1)": L1(1.0),
    "L0(1)": L0(1.0),
    "ElasticNet(1, l1_ratio=0.5)": ElasticNet(1.0, 0.5),
    "L2(1)": L2(1.0),
    "Box(-1, 1)": Box(-1.0, 1.0),
}

fig, ax = plt.subplots(figsize=(6, 4.5))
ax.plot(x, x, color="0.8", lw=1, label="identity")
for name, pen in penalties.items():
    y = pen.prox(x, step)
    ax.plot(x, y, label=name)
    print(f"{name:<28} zeros on [-3, 3]: {int((y == 0).sum()):3d} of {x.numel()}")
ax.set_xlabel("input x")
ax.set_ylabel("prox(x), step 1")
ax.set_title("Proximal operators of proxgan's elementwise penalties")
ax.legend()
fig.tight_layout()
plt.show()
