"""proxgan: proximal optimizers for PyTorch.

A training step is a smooth step followed by the proximal operator of a non-smooth
penalty; the prox is what makes weights exactly zero.
"""
# Nothing is imported here: ``import proxgan.linear_model`` (NumPy, SciPy, numba) must not load
# torch. Each public name is imported on first use (PEP 562); ``from proxgan import L1`` works.
from proxgan._torch import when_torch_imported

#: public name -> the module that defines it
_LAZY = {"kernels": None, "penalties": None, "optim": None, "datafits": None, "linear_model": None, "nm": None,
         "prune": None, "solvers": None, "sparsity": "proxgan.sparsity",
         **{name: "proxgan.penalties" for name in ("NM", "L0", "L1", "L2", "Box", "CoupledGroupL1", "ElasticNet",
                                                   "GroupL1", "NonNegative", "Penalty")}}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        owner = _LAZY[name]
        value = importlib.import_module(f"proxgan.{name}") if owner is None else getattr(
            importlib.import_module(owner), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'proxgan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def _register_checkpoint_classes() -> None:
    import proxgan._serialization  # noqa: F401  (penalties load with torch.load(weights_only=True))


# the penalty classes join torch.load's weights_only allowlist as soon as torch is imported, by anyone
when_torch_imported(_register_checkpoint_classes)

__version__ = "0.1.0"

__all__ = [
    "Box",
    "CoupledGroupL1",
    "ElasticNet",
    "GroupL1",
    "L0",
    "L1",
    "L2",
    "NM",
    "NonNegative",
    "Penalty",
    "__version__",
    "datafits",
    "kernels",
    "linear_model",
    "nm",
    "optim",
    "penalties",
    "prune",
    "solvers",
    "sparsity",
]
