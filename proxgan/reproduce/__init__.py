"""``proxgan reproduce NAME``: one command per published table.

Each reproduction writes a Markdown table, CSVs and a PNG figure into
``results/NAME/``; ``quick=True`` shrinks it to seconds (the CI smoke test), the default
is the full size. Names:

========================  ===========================================================
``glmnet-table1``         Friedman, Hastie & Tibshirani (2010), Table 1: Lasso path timings
``lasso-benchopt``        suboptimality vs time and time to tolerance on problems L1–L5
``fista``                 Beck & Teboulle (2009): F(x_k) − F* for ISTA and FISTA
``proxgen``               ProxGen-style sparsity/accuracy table (Adam+L1 in loss, ProxSGD, ProxAdam)
``sparse-gan``            GAN sample quality vs sparsity with L1 on G, on D, on both
``kernels``               soft-threshold and optimizer-step throughput against torch
``sparsity-speed``        accuracy against measured CPU latency along λ paths (L1, coupled GroupL1, N:M)
========================  ===========================================================
"""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

__all__ = ["REPRODUCTIONS", "reproduce"]

#: name -> module (each has ``run(out_dir, quick=False, progress=True)``)
REPRODUCTIONS: dict[str, str] = {
    "glmnet-table1": "proxgan.reproduce.glmnet_table1",
    "lasso-benchopt": "proxgan.reproduce.lasso_benchopt",
    "fista": "proxgan.reproduce.fista_rates",
    "proxgen": "proxgan.reproduce.proxgen",
    "sparse-gan": "proxgan.reproduce.sparse_gan",
    "kernels": "proxgan.reproduce.kernels_throughput",
    "sparsity-speed": "proxgan.reproduce.sparsity_speed",
}


def reproduce(name: str, out_dir: str | Path | None = None, quick: bool = False,
              progress: bool = True, **options) -> dict[str, Path]:
    """Run the reproduction ``name`` and return the paths it wrote (default ``results/NAME``).

    ``options`` (e.g. ``data="cifar10", data_root="~/data"``) go to reproductions that take
    them; ``None`` values are dropped, and an option a reproduction does not take is an error.
    """
    if name not in REPRODUCTIONS:
        raise ValueError(f"unknown reproduction {name!r}; choose from {', '.join(REPRODUCTIONS)}")
    module = importlib.import_module(REPRODUCTIONS[name])
    options = {k: v for k, v in options.items() if v is not None}
    accepted = inspect.signature(module.run).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"reproduction {name!r} does not take {', '.join(unknown)}")
    out = Path(out_dir) if out_dir is not None else Path("results") / name
    return module.run(out, quick=quick, progress=progress, **options)
