"""Applications (GAN and CNN training): users of the public API only.

>>> from proxgan.apps import CNNConfig, OptimConfig
>>> from proxgan.apps.train_cnn import train_cnn
>>> summary = train_cnn(CNNConfig(optim=OptimConfig(penalty="l1", lam=5e-4), out="runs/cnn"))  # doctest: +SKIP

The ``proxgan train cnn|gan`` commands map their flags onto these configurations and
call :func:`proxgan.apps.train_cnn.train_cnn` / :func:`proxgan.apps.train_gan.train_gan`
(the functions are not re-exported here: their names are those of their modules).
"""
from proxgan.apps.config import CNNConfig, GANConfig, OptimConfig

__all__ = ["CNNConfig", "GANConfig", "OptimConfig"]
