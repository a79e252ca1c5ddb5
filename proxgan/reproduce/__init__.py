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
========================  ===========================================================
"""
from __future__ import annotations

import importlib
from pathlib import Path

__all__ = ["REPRODUCTIONS", "reproduce"]

#: name -> module (each has ``run(out_dir, quick=False, progress=True)``)
REPRODUCTIONS: dict[str, str] = {
    "glmnet-table1": "proxgan.reproduce.glmnet_table1",
    "lasso-benchopt": "proxgan.reproduce.lasso_benchopt",
    "fista": "proxgan.reproduce.fista_rates",
    "kernels": "proxgan.reproduce.kernels_throughput",
}


def reproduce(name: str, out_dir: str | Path | None = None, quick: bool = False,
              progress: bool = True) -> dict[str, Path]:
    """Run the reproduction ``name`` and return the paths it wrote (default ``results/NAME``)."""
    if name not in REPRODUCTIONS:
        raise ValueError(f"unknown reproduction {name!r}; choose from {', '.join(REPRODUCTIONS)}")
    module = importlib.import_module(REPRODUCTIONS[name])
    out = Path(out_dir) if out_dir is not None else Path("results") / name
    return module.run(out, quick=quick, progress=progress)
