"""Proximal optimizers (torch.optim.Optimizer subclasses), one algorithm per file."""
from proxgan.optim import functional
from proxgan.optim._groups import exclude_bias_and_norm, param_groups
from proxgan.optim.prox import Prox, ProxAdagrad
from proxgan.optim.prox_adam import ProxAdam
from proxgan.optim.prox_adamw import ProxAdamW
from proxgan.optim.prox_sgd import ProxSGD

__all__: list[str] = ["Prox", "ProxAdagrad", "ProxAdam", "ProxAdamW", "ProxSGD", "exclude_bias_and_norm",
                      "functional", "param_groups"]

# ISTA / FISTA / block-coordinate proximal gradient (issue 4)
from proxgan.optim.coordinate_descent import CoordinateDescent  # noqa: E402
from proxgan.optim.fista import FISTA, ISTA  # noqa: E402

__all__ += ["CoordinateDescent", "FISTA", "ISTA"]
