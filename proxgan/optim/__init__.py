"""Proximal optimizers (torch.optim.Optimizer subclasses), one algorithm per file."""

__all__: list[str] = []
