"""Proximal optimizers (torch.optim.Optimizer subclasses), one algorithm per file."""
from proxgan.optim._groups import param_groups
from proxgan.optim.prox_adam import ProxAdam
from proxgan.optim.prox_sgd import ProxSGD

__all__: list[str] = ["ProxAdam", "ProxSGD", "param_groups"]
