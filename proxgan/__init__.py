"""proxgan: proximal optimizers for PyTorch.

A training step is a smooth step followed by the proximal operator of a non-smooth
penalty; the prox is what makes weights exactly zero.
"""
from proxgan import kernels, penalties
from proxgan.penalties import L0, L1, L2, Box, ElasticNet, GroupL1, NonNegative, Penalty
from proxgan import optim
from proxgan.sparsity import sparsity
from proxgan import prune
from proxgan import datafits, linear_model, solvers

__version__ = "0.1.0"

__all__ = [
    "Box",
    "ElasticNet",
    "GroupL1",
    "L0",
    "L1",
    "L2",
    "NonNegative",
    "Penalty",
    "__version__",
    "datafits",
    "kernels",
    "linear_model",
    "optim",
    "penalties",
    "prune",
    "solvers",
    "sparsity",
]
