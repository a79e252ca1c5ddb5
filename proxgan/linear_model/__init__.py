"""scikit-learn-compatible linear models."""

__all__: list[str] = []
