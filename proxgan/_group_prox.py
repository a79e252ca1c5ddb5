r"""Group-lasso prox under a diagonal metric (no closed form): a safeguarded 1-D root-find.

For one group with per-coordinate steps :math:`s_i > 0` we solve

.. math::

    y = \arg\min_y \ \sum_i \frac{(y_i - x_i)^2}{2 s_i} + \lambda \lVert y \rVert_2 .

If :math:`\lVert x / s \rVert_2 \le \lambda` the answer is 0. Otherwise
:math:`y_i = x_i\, t / (t + \lambda s_i)` where :math:`t = \lVert y \rVert_2 > 0` is the
root of the decreasing function

.. math::

    \varphi(t) = \sum_i \frac{x_i^2}{(t + \lambda s_i)^2} - 1 ,

bracketed by :math:`\lVert x\rVert - \lambda \max s \le t \le \lVert x\rVert - \lambda \min s`.
We run Newton steps, falling back to bisection whenever a step leaves the bracket, all
groups at once, in float64, until the bracket is below ``rtol`` relative to
:math:`\lVert x\rVert` (default 1e-12) or 100 iterations. With a uniform step this reduces
to group soft-thresholding.
"""
from __future__ import annotations

from proxgan._torch import torch

__all__ = ["group_prox_diag"]


def group_prox_diag(xm: torch.Tensor, sm: torch.Tensor, lam: float, rtol: float = 1e-12,
                    max_iter: int = 100) -> torch.Tensor:
    """Solve the metric group prox for the rows of ``xm`` (shape ``(G, M)``).

    ``sm`` holds the steps, broadcastable to ``xm``, finite and >= 0 (a zero step pins its
    coordinate: :math:`y_i = x_i`). Returns float64 of ``xm``'s shape.
    """
    x = xm.to(torch.float64)
    s = torch.broadcast_to(sm.to(torch.float64), x.shape)
    a = lam * s
    xnorm = torch.linalg.vector_norm(x, dim=1)
    # zero groups: ||x / s|| <= lam (a zero step with x_i != 0 makes the group survive)
    with torch.no_grad():
        ratio = torch.where(s > 0, x / torch.where(s > 0, s, torch.ones_like(s)),
                            torch.where(x != 0, torch.full_like(x, float("inf")), torch.zeros_like(x)))
    zero = torch.linalg.vector_norm(ratio, dim=1) <= lam
    lo = (xnorm - a.max(dim=1).values).clamp_min(0)
    hi = (xnorm - a.min(dim=1).values).clamp_min(0)
    t = hi.clone()
    tol = rtol * xnorm.clamp_min(torch.finfo(torch.float64).tiny)
    for _ in range(max_iter):
        denom = t[:, None] + a
        safe = torch.where(denom > 0, denom, torch.ones_like(denom))
        q = torch.where(denom > 0, x / safe, torch.zeros_like(x))
        phi = (q * q).sum(dim=1) - 1.0
        dphi = -2.0 * (q * q / safe).sum(dim=1)
        # phi is decreasing: phi > 0 means the root lies above t
        lo = torch.where(phi > 0, t, lo)
        hi = torch.where(phi <= 0, t, hi)
        newton = t - phi / torch.where(dphi < 0, dphi, -torch.ones_like(dphi))
        inside = (newton > lo) & (newton < hi)
        t = torch.where(inside, newton, 0.5 * (lo + hi))
        if bool(torch.all(((hi - lo) <= tol) | zero | (phi.abs() <= 1e-15))):
            break
    y = x * (t[:, None] / (t[:, None] + a).clamp_min(torch.finfo(torch.float64).tiny))
    y = torch.where(s == 0, x, y)
    return torch.where(zero[:, None], torch.zeros_like(y), y)
