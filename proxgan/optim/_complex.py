r"""Complex parameters in the proximal optimizers: the prox of a penalty of a complex tensor.

torch.optim steps a complex parameter as its real view (real and imaginary parts are two
coordinates, :func:`torch.view_as_real`), and so do ProxSGD and ProxAdam. The penalty is
a function of the complex entries :math:`z_j = a_j + i\,b_j`:

* ``L2(lam)``: :math:`\tfrac{\lambda}{2}\sum_j |z_j|^2 = \tfrac{\lambda}{2}\sum_j (a_j^2 + b_j^2)`,
  separable over the real view: :math:`y = u / (1 + s\lambda)` coordinate by coordinate.
* ``L1(lam, weights)``: :math:`\lambda\sum_j w_j |z_j|` (the modulus, not :math:`|a_j|+|b_j|`).
  Its prox at a scalar step :math:`s` shrinks the modulus and keeps the phase,

  .. math::

      \operatorname{prox}(z) = z\,\max\!\Big(0,\ 1 - \frac{s\lambda w_j}{|z|}\Big),

  and under a diagonal metric (ProxAdam's preconditioned prox: steps :math:`s_a, s_b` for
  the two parts) it is the two-coordinate group prox
  :math:`\arg\min_y \tfrac12\big((y_a-u_a)^2/s_a + (y_b-u_b)^2/s_b\big) + \lambda w_j\lVert y\rVert_2`,
  solved by :func:`proxgan._group_prox.group_prox_diag` (zero exactly when
  :math:`\lVert (u_a/s_a, u_b/s_b)\rVert \le \lambda w_j`).

Other penalties (ElasticNet, L0, Box, group penalties...) have no agreed meaning on complex
numbers and are refused with a ``TypeError``.
"""
from __future__ import annotations

from typing import Any

import torch

from proxgan._group_prox import group_prox_diag
from proxgan.penalties import L1, L2, Penalty

__all__ = ["check_penalty", "real_state", "store_state", "prox_"]

_SUPPORTED = (L1, L2)


def check_penalty(penalty: Penalty | None, who: str) -> None:
    """Raise ``TypeError`` unless ``penalty`` is None, L1 or L2 (the penalties with a complex prox)."""
    if penalty is None or type(penalty) in _SUPPORTED:
        return
    raise TypeError(f"{who} steps complex parameters with the penalties None, L1 and L2 only (the L1 prox shrinks "
                    f"the modulus); got {penalty!r}: use a real parameter (torch.view_as_real) for this penalty")


def real_state(state: dict[str, Any]) -> dict[str, Any]:
    """A view of a parameter's state with every complex tensor seen as its real view."""
    return {k: torch.view_as_real(v) if isinstance(v, torch.Tensor) and v.is_complex() else v
            for k, v in state.items()}


def store_state(state: dict[str, Any], rstate: dict[str, Any]) -> None:
    """Put the entries that a step added to ``rstate`` (a :func:`real_state` view) into ``state``,
    complex again (views of the same memory)."""
    for k, v in rstate.items():
        if k in state and (state[k] is v or (isinstance(v, torch.Tensor) and v._base is state[k])):
            continue
        if k != "step" and isinstance(v, torch.Tensor) and v.is_floating_point() and v.shape[-1:] == (2,):
            v = torch.view_as_complex(v.contiguous())
        state[k] = v


def prox_(penalty: Penalty, xr: torch.Tensor, step: float | torch.Tensor) -> None:
    """Apply the prox of ``penalty`` to a complex tensor given as its real view ``xr`` (in place).

    ``step`` is a number or a tensor of ``xr``'s shape (one step per real coordinate).
    """
    if isinstance(penalty, L2):
        xr.copy_(xr / (1 + step * penalty.lam))
        return
    lam = penalty.lam
    w = 1.0 if penalty.weights is None else penalty.weights.to(device=xr.device, dtype=xr.dtype).unsqueeze(-1)
    if not isinstance(step, torch.Tensor):
        thr = step * lam * w
        modulus = torch.linalg.vector_norm(xr, dim=-1, keepdim=True)
        scale = (1 - thr / torch.where(modulus > 0, modulus, torch.ones_like(modulus))).clamp_min(0)
        xr.copy_(xr * scale)
        return
    steps = torch.broadcast_to(step * lam * w, xr.shape).reshape(-1, 2)
    y = group_prox_diag(xr.detach().reshape(-1, 2), steps.detach(), 1.0)
    xr.copy_(y.to(xr.dtype).reshape(xr.shape))
