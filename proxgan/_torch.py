"""torch, imported on first use, so that the NumPy side of proxgan (``proxgan.linear_model``,
``proxgan.solvers.cd``, the penalties' parameter checks and lowering) never loads it.

Modules that need torch only inside functions write ``from proxgan._torch import torch`` instead
of ``import torch``: :data:`torch` is a stand-in whose first attribute access imports the real
module, and each attribute it hands out is then kept on the stand-in (a plain attribute lookup
afterwards). Such modules must not touch ``torch.<name>`` at import time (annotations are fine
under ``from __future__ import annotations``).

* :func:`is_tensor` answers "is this a torch tensor?" without importing torch: no tensor can
  exist before torch is imported.
* Once torch is imported, by anyone, the stand-in is replaced by the real module everywhere in
  proxgan (so that compiled code sees plain module attributes).
* :func:`when_torch_imported` runs a callback as soon as torch is imported, by anyone (now, if it
  already is): proxgan's checkpoint allowlist is registered that way.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Any, Callable

__all__ = ["torch", "is_tensor", "when_torch_imported"]


class _LazyTorch:
    """Stand-in for the ``torch`` module (see the module docstring)."""

    def __getattr__(self, name: str) -> Any:
        value = getattr(importlib.import_module("torch"), name)
        object.__setattr__(self, name, value)  # later lookups skip __getattr__
        return value

    def __repr__(self) -> str:
        return f"<lazy torch, loaded: {'torch' in sys.modules}>"


torch: Any = _LazyTorch()


def is_tensor(x: object) -> bool:
    """``isinstance(x, torch.Tensor)``, without importing torch.

    Parameters
    ----------
    x : object
        Anything.
    """
    mod = sys.modules.get("torch")
    return mod is not None and isinstance(x, getattr(mod, "Tensor", ()))


_CALLBACKS: list[Callable[[], None]] = []


class _TorchImportHook(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps torch's loader so that :data:`_CALLBACKS` run after torch's import."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("torch")
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_notify(module):
            exec_module(module)
            for cb in _CALLBACKS:
                try:
                    cb()
                except ImportError:
                    # a module the callback needs is itself still being imported (torch was first
                    # imported from inside it): never fail torch's import for that; such a module
                    # runs its own registration when it is done (see proxgan.penalties)
                    pass

        spec.loader.exec_module = exec_then_notify
        return spec


def when_torch_imported(callback: Callable[[], None]) -> None:
    """Run ``callback()`` once torch is imported (immediately if it already is).

    Parameters
    ----------
    callback : callable
        Called with no argument, once.
    """
    if "torch" in sys.modules:
        callback()
        return
    _CALLBACKS.append(callback)
    if not any(isinstance(f, _TorchImportHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _TorchImportHook())


def _swap_in_real_torch() -> None:
    """Once torch is imported, every proxgan module holding the stand-in gets the real module
    (and so do later ``from proxgan._torch import torch``): attribute lookups are then plain
    module lookups again, which ``torch.compile`` traces without a graph break (the stand-in's
    ``__getattr__`` calls ``importlib.import_module``, which Dynamo does not trace)."""
    global torch
    real, stand_in = sys.modules["torch"], torch
    if real is stand_in:
        return
    torch = real
    for name, mod in list(sys.modules.items()):
        if (name == "proxgan" or name.startswith("proxgan.")) and getattr(mod, "torch", None) is stand_in:
            mod.torch = real


when_torch_imported(_swap_in_real_torch)
