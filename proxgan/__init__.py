"""proxgan: proximal optimizers for PyTorch.

A training step is a smooth step followed by the proximal operator of a non-smooth
penalty; the prox is what makes weights exactly zero.
"""
from proxgan import kernels, penalties
from proxgan import _serialization  # noqa: F401  (penalties load with torch.load(weights_only=True))
from proxgan.penalties import NM, L0, L1, L2, Box, CoupledGroupL1, ElasticNet, GroupL1, NonNegative, Penalty
from proxgan import optim
from proxgan.sparsity import sparsity

# Imported on first use (scikit-learn and the compiled solvers take seconds to load):
# ``proxgan.linear_model`` works as an attribute, ``import proxgan.linear_model`` as usual.
_LAZY = ("datafits", "linear_model", "nm", "prune", "solvers")


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"proxgan.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'proxgan' has no attribute {name!r}")

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
