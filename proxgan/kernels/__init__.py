"""Triton kernels of proxgan, each with a plain-PyTorch ``*_ref`` twin.

Importing this package never imports Triton: kernels are compiled at their first launch.
``soft_threshold``, ``group_soft_threshold`` and ``hard_threshold`` are the Triton
launchers (CUDA tensors, or CPU tensors under ``TRITON_INTERPRET=1``); the ``*_ref``
functions are the specifications; the ``*_torch`` functions are the fast PyTorch paths
that :mod:`proxgan.penalties` uses when Triton does not apply (the choice is made in
:mod:`proxgan._dispatch`). Kernels take plain numbers and tensors, never penalties.
Each kernel module lists its compiled forms in ``aot_variants()``; ``python -m
proxgan.kernels.aot`` compiles them all for chosen GPU architectures without a GPU.
"""
import sys
import types

# Each name is imported from its module on first use (PEP 562): ``proxgan.kernels._prox_cpu``, which
# the NumPy solvers use, is importable without loading torch.
_WHERE = {
    "TritonUnavailableError": "_lazy", "triton_available": "_lazy",
    **dict.fromkeys(("adam_step_scalars", "fused_prox_adam", "fused_prox_adam_multi", "fused_prox_adam_ref"),
                    "fused_prox_adam"),
    **dict.fromkeys(("fused_prox_sgd", "fused_prox_sgd_multi", "fused_prox_sgd_ref"), "fused_prox_sgd"),
    **dict.fromkeys(("group_soft_threshold", "group_soft_threshold_ref", "group_soft_threshold_torch"),
                    "group_soft_threshold"),
    **dict.fromkeys(("hard_threshold", "hard_threshold_ref", "hard_threshold_torch"), "hard_threshold"),
    **dict.fromkeys(("soft_threshold", "soft_threshold_ref", "soft_threshold_torch"), "soft_threshold"),
}


class _Package(types.ModuleType):
    """Importing the submodule ``soft_threshold`` binds the package attribute of that name to the module;
    the public name is the function: keep the function (the submodule stays in ``sys.modules``)."""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, types.ModuleType) and _WHERE.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "TritonUnavailableError",
    "adam_step_scalars",
    "fused_prox_adam",
    "fused_prox_adam_multi",
    "fused_prox_adam_ref",
    "fused_prox_sgd",
    "fused_prox_sgd_multi",
    "fused_prox_sgd_ref",
    "group_soft_threshold",
    "group_soft_threshold_ref",
    "group_soft_threshold_torch",
    "hard_threshold",
    "hard_threshold_ref",
    "hard_threshold_torch",
    "soft_threshold",
    "soft_threshold_ref",
    "soft_threshold_torch",
    "triton_available",
]
