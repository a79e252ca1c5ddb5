r"""The order of the fused steps' hyperparameter vectors, defined once.

Every fused step reads its scalars from one small vector in the compute dtype (one
host-to-device copy per step; float64 stays float64). Builders and kernels both take the
positions from here: :func:`vector` fills a vector by name, and each kernel reads a value at
``index(ORDER, name)`` (numba: module constants; Triton: ``tl.constexpr`` globals, see
:mod:`proxgan.kernels._lazy`).

``ADAM_HP``: ``lr``; ``omb1 = 1 - beta1``; ``b2 = beta2``; ``omb2 = 1 - beta2``; ``eps``; ``wd``
(coupled weight decay); ``decay`` (``1 - lr wd`` with decoupled decay, else 1); ``a, b`` (the
penalty's scalar vector, :data:`proxgan.kernels.fused_penalty.SCALARS`); ``sign`` (-1 with
``maximize``); ``ss = lr / (1 - beta1^t)``; ``bc2s = sqrt(1 - beta2^t)``; ``precond`` (1 for the
preconditioned prox). The numba kernels read the first :data:`ADAM_CPU` entries followed by
``1`` and ``0`` in the parameter dtype (their bias corrections are per tensor, computed in the
kernel; ``precond`` is an argument).

``SGD_HP``: ``lr``; ``omd = 1 - dampening``; ``wd``; ``mu`` (momentum); ``a, b``; ``sign``;
``nesterov`` and ``first`` (1 or 0). The numba kernels read the first :data:`SGD_CPU` entries
followed by ``1`` and ``0``.

``ADAM_INPUTS`` / ``SGD_INPUTS``: the hyperparameters as the user gives them, the order of the
float64 tensor that a compiled step hands to the fused CPU operators.
"""
from __future__ import annotations

__all__ = ["ADAM_HP", "SGD_HP", "ADAM_CPU", "SGD_CPU", "ADAM_INPUTS", "SGD_INPUTS", "index", "vector"]

ADAM_HP = ("lr", "omb1", "b2", "omb2", "eps", "wd", "decay", "a", "b", "sign", "ss", "bc2s", "precond")
SGD_HP = ("lr", "omd", "wd", "mu", "a", "b", "sign", "nesterov", "first")
#: how many leading entries the numba kernels read (then 1 and 0)
ADAM_CPU = ADAM_HP.index("sign") + 1
SGD_CPU = SGD_HP.index("sign") + 1

#: the user-level hyperparameters a compiled step passes to the fused CPU operators
#: (:mod:`proxgan.optim._cpu_step`), in the order of their float64 ``hp`` tensor
ADAM_INPUTS = ("lr", "beta1", "beta2", "eps", "weight_decay", "a", "b")
SGD_INPUTS = ("lr", "momentum", "dampening", "weight_decay", "a", "b")


def index(order: tuple[str, ...], name: str) -> int:
    """Position of ``name`` in the vector ``order``."""
    return order.index(name)


def vector(order: tuple[str, ...], values: dict[str, float], n: int | None = None) -> tuple[float, ...]:
    """The first ``n`` (all by default) entries of ``order`` as floats, from ``values`` by name."""
    names = order if n is None else order[:n]
    return tuple(float(values[k]) for k in names)
