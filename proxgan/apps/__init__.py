"""Applications (GAN and CNN training): users of the public API only."""

__all__: list[str] = []
