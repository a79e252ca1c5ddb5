"""Penalties inside checkpoints that load with ``torch.load(..., weights_only=True)``.

proxgan's optimizers store their penalties as plain data in ``state_dict()``. Other code
pickles the penalty objects themselves: ``ZeroRedundancyOptimizer.state_dict()`` copies the
parameter groups as they are, and users save ``{"penalty": L1(1e-4), ...}`` in their own
checkpoints. ``torch.load(weights_only=True)`` (torch's default since 2.6) rebuilds only the
classes named in its allowlist, so importing proxgan adds its penalty classes to it with
:func:`torch.serialization.add_safe_globals`. They are plain records of numbers and tensors
(no ``__reduce__``/``__setstate__``), so rebuilding one runs no code of the checkpoint's
choosing.

A penalty class of your own is not allowlisted: ``weights_only=True`` trusts a class only
when someone names it, and proxgan cannot vouch for a class it did not write. Name it
yourself, once, before loading::

    torch.serialization.add_safe_globals([MyPenalty])
"""
from __future__ import annotations

import torch

from proxgan import penalties as _penalties

__all__ = ["SAFE_PENALTIES", "register_safe_globals"]

#: The penalty classes that ``torch.load(weights_only=True)`` accepts once proxgan is imported.
SAFE_PENALTIES: tuple[type, ...] = tuple(getattr(_penalties, name) for name in _penalties.__all__
                                         if name != "Penalty")


def register_safe_globals() -> bool:
    """Allowlist :data:`SAFE_PENALTIES` for ``weights_only`` loading; False on a torch without it (< 2.4)."""
    add = getattr(torch.serialization, "add_safe_globals", None)
    if add is None:
        return False
    add(list(SAFE_PENALTIES))
    return True


register_safe_globals()
