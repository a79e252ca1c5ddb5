"""Proximal optimizers (torch.optim.Optimizer subclasses), one algorithm per file."""
from proxgan.optim._groups import exclude_bias_and_norm, param_groups
from proxgan.optim.prox_adam import ProxAdam
from proxgan.optim.prox_sgd import ProxSGD

__all__: list[str] = ["ProxAdam", "ProxSGD", "exclude_bias_and_norm", "param_groups"]

# ISTA / FISTA / block-coordinate proximal gradient (issue 4)
from proxgan.optim.coordinate_descent import CoordinateDescent  # noqa: E402
from proxgan.optim.fista import FISTA, ISTA  # noqa: E402

__all__ += ["CoordinateDescent", "FISTA", "ISTA"]
