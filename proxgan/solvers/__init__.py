"""Full-batch solvers over (X, y, datafit, penalty)."""

__all__: list[str] = []
